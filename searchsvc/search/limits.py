"""Every bound a search request has, in one place: the web layer checks
requests against them, the OpenAPI description states them, and the query
code keeps to them, so no request costs more than they allow."""

from __future__ import annotations

#: Characters of a query, as sent.
MAX_QUERY_CHARS = 1000
#: Words one query searches (of a longer one, its phrases and rarest words:
#: :mod:`.bounds`; synonyms only within what is left).
MAX_WORDS = 32
#: Index terms one prefix, wildcard or fuzzy word may stand for (the most frequent win).
MAX_EXPANSIONS = 50
#: Terms scanned in the index to find those expansions.
MAX_SCANNED = 2000
#: Index terms all the prefixes, wildcards, fuzzy words and ranges of ONE
#: query may stand for together: past it, the later ones are not searched
#: (and the answer says so), so no query reads more than a few normal ones.
MAX_QUERY_EXPANSIONS = 200
#: Scans of the vocabulary (each of at most MAX_SCANNED terms) one query may
#: make for its expansions; those already made for the generation are free.
MAX_QUERY_SCANS = 8
#: Postings all of a query's expansions may read together, in articles of
#: the index: 2 is two words found in every article (« a* » reads 2.6 times
#: the articles at 1,000,000: 0.15 s); never fewer than MIN_EXPANDED_POSTINGS
#: (a few milliseconds' reading), for small indexes.
MAX_EXPANDED_POSTINGS = 2
MIN_EXPANDED_POSTINGS = 100_000
#: Unknown words of one query looked up for their nearest words (each a
#: scan of the vocabulary near it); later unknown words are searched as typed.
MAX_TYPO_LOOKUPS = 8

#: Hits on one page.
MAX_PER_PAGE = 100
#: How deep a reader may page: past this many hits, pages are refused.
MAX_DEPTH = 1000
#: The orders a reader may ask for.
SORTS = ("relevance", "date")
#: Values one filter (``source``, ``year``) may be given.
MAX_FILTER_VALUES = 50
#: Sources listed in the facets (the most frequent; those filtered on always).
MAX_FACET_SOURCES = 20

#: Matches counted exactly: a query with a word in at least this many live
#: articles is ranked without reading every posting (:mod:`.pruning`), and
#: its total and facet counts are then lower bounds ("gte", Elasticsearch's
#: ``track_total_hits`` default).
TRACK_TOTAL_HITS = 10_000
