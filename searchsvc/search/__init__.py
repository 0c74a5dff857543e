"""A reader's query in, a page of ranked, highlighted hits out: the read side.

From the request to the page, in the order a search meets them:

* :mod:`.searching`: :func:`~.searching.search`, the one search path (the
  page, the JSON endpoint and ``searchsvc eval`` all call it), with the
  request and page records; :mod:`.limits` holds every bound a request has;
* :mod:`.parsing`: what was typed to a bounded Whoosh query, through the
  index's own analysers, with the parser plugins of :mod:`.typos` (words
  that match nothing searched as the nearest ones), :mod:`.synonym_query`
  (the site's synonyms added) and :mod:`.bounds` (prefixes, wildcards and
  fuzzy words expanded within limits); :mod:`.proximity` builds the bonus
  for query words found side by side, :mod:`.dates` lets a date typed
  (« 29 août ») match the articles published that day, and :mod:`.recency`
  blends the articles' dates in, when the site wants the newer first;
* :mod:`.ranking`: the order (the documents holding all the words of
  :mod:`.clauses` first, BM25 from :mod:`.weighting`, the bonus, or by
  date), computed by :mod:`.scoring` over the posting arrays of
  :mod:`.postings`, or for a query with a very common word by
  :mod:`.pruning` (the same hits from fewer postings); :mod:`.contrast`
  counts the words few of the best candidates hold for more among them, and
  :mod:`.closeness` adds how close in meaning each is to the query;
  :mod:`.facets` filters and counts; :mod:`.collapse` shows wire copies once;
* :mod:`.snippets`: extracts with the matches marked; :mod:`.spelling`:
  "did you mean"; :mod:`.completion`: suggestions as a reader types;
* :mod:`.live`: the generation in use, switched without a restart;
  :mod:`.lookup`: one document of it, by id;
  :mod:`.cache` and :mod:`.result_cache`: bounded caches per generation;
  :mod:`.threadlocal`: per-thread state that stays per OS thread under gevent.

May import: :mod:`searchsvc.text`, :mod:`searchsvc.index` and the package's
top. Never the web or the command line.
"""
