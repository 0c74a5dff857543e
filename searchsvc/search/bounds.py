"""Every query bounded: prefixes, wildcards, fuzzy words and ranges of words expanded to at
most :data:`~.limits.MAX_EXPANSIONS` terms (the most frequent, read in one
scan and remembered per generation), at most :data:`~.limits.MAX_WORDS`
words searched (of a longer text, its phrases and rarest words, as
Lucene's "more like this" keeps a text's most telling terms), question
words and lone stop words left out."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from itertools import islice

from whoosh import query as wq
from whoosh.reading import IndexReader

from ..text.analysis import STOP_WORDS, stem
from ..text.normalize import fold
from ..text.schema import has_positions
from .cache import BoundedCache
from .clauses import Clauses
from .limits import (
    MAX_EXPANDED_POSTINGS,
    MAX_EXPANSIONS,
    MAX_QUERY_EXPANSIONS,
    MAX_QUERY_SCANS,
    MAX_SCANNED,
    MAX_WORDS,
    MIN_EXPANDED_POSTINGS,
)
from .postings import doc_frequency, reader_key, scan_terms
from .typos import within_distance
from .weighting import FIELD_BOOSTS

#: Words that ask rather than say: left out of a question's ranking (they
#: match any article), kept when they are all the query has.
QUESTION_WORDS = frozenset(
    fold(w)
    for w in """qui que quoi quel quelle quels quelles lequel laquelle lesquels lesquelles
    auquel auxquels auxquelles duquel desquels desquelles dont où comment combien pourquoi
    quand est-ce""".replace("-", " ").split()
)


_QUESTION_TERMS = QUESTION_WORDS | frozenset(stem(w) for w in QUESTION_WORDS)


def _top_terms(pairs) -> list[tuple[str, int]]:
    """The most frequent (term, documents) of ``pairs`` read (at most
    :data:`MAX_SCANNED` of them), :data:`MAX_EXPANSIONS` at most, none absent."""
    scanned = [(t.decode("utf-8") if isinstance(t, bytes) else t, n) for t, n in islice(pairs, MAX_SCANNED) if n]
    scanned.sort(key=lambda pair: -pair[1])
    return scanned[:MAX_EXPANSIONS]


#: Expansions already computed, per generation: a prefix typed by many readers
#: (or 32 times in one query) reads the vocabulary once.
_EXPANSIONS: BoundedCache[list[tuple[str, int]]] = BoundedCache(10_000)


def _expansions(q: wq.Query, reader: IndexReader) -> list[tuple[str, int]]:
    """The terms ``q`` (prefix, wildcard or fuzzy word) stands for, with the
    number of documents holding each. Prefixes and wildcards read the terms'
    frequencies as they scan (no look-up per term)."""
    fieldname = q.fieldname
    if isinstance(q, wq.FuzzyTerm):
        candidates = [q.text] + within_distance(
            reader, fieldname, q.text, min(q.maxdist, 2), prefix=max(q.prefixlength, 1)
        )
        return _top_terms((t, doc_frequency(reader, fieldname, t)) for t in candidates)
    if isinstance(q, wq.Prefix):
        return _top_terms(_with_prefix(reader, fieldname, q.text))
    if isinstance(q, wq.TermRange):
        return _top_terms(_in_range(q, reader))
    # Wildcard: scan from its literal prefix, keep what the pattern matches
    prefix = re.split(r"[*?]", q.text, maxsplit=1)[0]
    if not prefix:
        return []  # a leading wildcard would scan the whole vocabulary
    pattern = re.compile(q._get_pattern())
    scanned = islice(_with_prefix(reader, fieldname, prefix), MAX_SCANNED)  # however few match
    return _top_terms((t, n) for t, n in scanned if pattern.match(t.decode("utf-8") if isinstance(t, bytes) else t))


def _with_prefix(reader: IndexReader, fieldname: str, prefix: str) -> Iterator[tuple[str | bytes, int]]:
    """The (term, documents) of the vocabulary starting with ``prefix``, in
    order, the first MAX_SCANNED at least: from the packed term lists when
    the generation has them, else through Whoosh."""
    scanned = scan_terms(reader, fieldname, prefix, MAX_SCANNED)
    if scanned is None:
        yield from ((t, info.doc_frequency()) for t, info in reader.iter_prefix(fieldname, prefix))
        return
    for term, n in scanned:
        if not term.startswith(prefix):
            return
        yield term, n


def _in_range(q: wq.TermRange, reader: IndexReader) -> Iterator[tuple[str | bytes, int]]:
    """The (term, documents) of ``q``'s range in the vocabulary, in order,
    from its start, the first MAX_SCANNED at least: Whoosh's own range query
    reads every term up to its end (13 s for ``[a TO z]`` on 3,000 articles)."""
    start = (q.start or "").encode("utf-8")
    end = q.end.encode("utf-8") if q.end is not None else None
    scanned = scan_terms(reader, q.fieldname, q.start or "", MAX_SCANNED + (1 if q.startexcl else 0))
    pairs = (
        ((t.encode("utf-8"), n) for t, n in scanned)
        if scanned is not None
        else ((t, info.doc_frequency()) for t, info in reader.iter_field(q.fieldname, start))
    )
    for t, n in pairs:
        if q.startexcl and t == start:
            continue
        if end is not None and (t > end or (q.endexcl and t == end)):
            return
        yield t, n


@dataclass
class Budget:
    """What one query may still spend: words searched; for its expansions,
    index terms, scans of the vocabulary and postings (see :mod:`.limits`);
    ``notes`` says what was left out for want of it."""

    words: int = 0
    expansions: int = MAX_QUERY_EXPANSIONS
    scans: int = MAX_QUERY_SCANS
    postings: float = float("inf")
    notes: list[str] = field(default_factory=list)

    @classmethod
    def for_index(cls, reader: IndexReader) -> Budget:
        return cls(postings=max(MAX_EXPANDED_POSTINGS * reader.doc_count_all(), MIN_EXPANDED_POSTINGS))

    def note(self, text: str) -> None:
        if text not in self.notes:
            self.notes.append(text)


def _expand(q: wq.Query, reader: IndexReader, budget: Budget) -> wq.Query:
    """A prefix, wildcard, fuzzy or range query as an OR of at most
    MAX_EXPANSIONS terms, fewer when the query's budget is nearly spent."""
    fieldname = q.fieldname
    if fieldname not in reader.schema or not reader.schema[fieldname].scorable:
        return wq.NullQuery
    key = (reader_key(reader), type(q).__name__, fieldname, getattr(q, "text", None), getattr(q, "maxdist", 0),
           getattr(q, "prefixlength", 0), getattr(q, "start", None), getattr(q, "end", None),
           getattr(q, "startexcl", None), getattr(q, "endexcl", None))  # fmt: skip
    if key not in _EXPANSIONS:
        if budget.scans <= 0:
            budget.note(f"at most {MAX_QUERY_SCANS} prefixes, wildcards, fuzzy words or ranges not searched "
                        "before are expanded per query: the others were not searched")  # fmt: skip
            return wq.NullQuery
        budget.scans -= 1
    kept = []
    for term, frequency in _EXPANSIONS.get(key, lambda: _expansions(q, reader)):  # most frequent first
        if len(kept) >= budget.expansions or frequency > budget.postings:
            budget.note(
                f"prefixes, wildcards, fuzzy words and ranges stand for at most {MAX_QUERY_EXPANSIONS} words "
                f"and {MAX_EXPANDED_POSTINGS} times the articles' postings in all per query: "
                "the last ones were searched in part or not at all"
            )
            break
        kept.append((term, frequency))
        budget.postings -= frequency
    budget.expansions -= len(kept)
    terms = kept
    if not terms:
        return wq.NullQuery
    # Weighted by frequency, so that a rare expansion (high idf) does not
    # outrank the common word the reader most likely meant.
    top = max(f for _, f in terms) or 1
    return wq.Or([wq.Term(fieldname, t, boost=q.boost * (f / top) ** 0.5) for t, f in terms])


def bound(q: wq.Query, reader: IndexReader, excluded: set[str], budget: Budget | None = None) -> wq.Query:
    """Rewrite ``q``: expansions bounded, at most MAX_WORDS words; the words
    excluded (``-word``, ``NOT word``) are added to ``excluded``, and what
    was left out to ``budget.notes``."""
    budget = Budget() if budget is None else budget
    return _bound(_rarest_words(q, reader, budget), reader, excluded, budget)


def _rarest_words(q: wq.Query, reader: IndexReader, budget: Budget) -> wq.Query:
    """A query of more than MAX_WORDS optional words (a pasted paragraph, a
    lead) without its commonest ones: its phrases, prefixes and the like
    first (syntax the reader chose), then its words from the rarest, which
    tell the article apart, rather than its first MAX_WORDS in the order
    typed. Cutting a lead at its 32nd word instead cost 0.0015 nDCG@10 on
    the news leads (``bench/tune_relevance.py``)."""
    if not RAREST_WORDS:
        return q
    if type(q) is wq.AndNot:
        return wq.AndNot(_rarest_words(q.a, reader, budget), q.b)
    if type(q) is not Clauses:
        return q  # one word, or words required with + (kept as typed)
    counts = [_words_in(sub) for sub in q.subqueries]
    if sum(counts) <= MAX_WORDS:
        return q
    order = sorted(range(len(counts)), key=lambda i: (_frequency(q.subqueries[i], reader), i))
    kept, used = set(), 0
    for i in order:
        if used + counts[i] <= MAX_WORDS:
            kept.add(i)
            used += counts[i]
    budget.note(f"only {MAX_WORDS} words of a query are searched: of a longer one, its rarest")
    return Clauses([sub for i, sub in enumerate(q.subqueries) if i in kept], boost=q.boost)


#: Whether a long query keeps its rarest words, not its first (a lever of
#: ``bench/tune_relevance.py``).
RAREST_WORDS = True


def _words_in(q: wq.Query) -> int:
    """The words ``q`` counts against MAX_WORDS, as :func:`_bound` counts them."""
    count = 0
    for leaf in [q] if q.is_leaf() else q.leaves():
        if isinstance(leaf, (wq.Prefix, wq.Wildcard, wq.FuzzyTerm, wq.TermRange)):
            count += 1
        elif isinstance(leaf, wq.Term):
            count += leaf.fieldname != "exact" and not (leaf.fieldname in FIELD_BOOSTS and leaf.text in _QUESTION_TERMS)
        elif isinstance(leaf, wq.Phrase) and not (leaf.fieldname == "exact" and all(w in STOP_WORDS for w in leaf.words)):
            count += len(leaf.words)
    return count


def _frequency(q: wq.Query, reader: IndexReader) -> int:
    """How common a query word is: the fewest articles holding one of its
    stemmed terms; -1 (first) for a phrase, prefix or other syntax."""
    leaves = [q] if q.is_leaf() else list(q.leaves())
    if any(not isinstance(leaf, wq.Term) for leaf in leaves):
        return -1
    found = [doc_frequency(reader, leaf.fieldname, leaf.text) for leaf in leaves if leaf.fieldname == "text"]
    return min(found) if found else reader.doc_count_all()


def _bound(q: wq.Query, reader: IndexReader, excluded: set[str], budget: Budget) -> wq.Query:
    if isinstance(q, (wq.Prefix, wq.Wildcard, wq.FuzzyTerm, wq.TermRange)):
        budget.words += 1
        return _expand(q, reader, budget) if _within(budget) else wq.NullQuery
    if isinstance(q, wq.Every):
        return wq.NullQuery  # "*" alone: not a search
    if isinstance(q, wq.Not):
        excluded.update(t for _, t in q.query.iter_all_terms())
        return q
    if isinstance(q, wq.AndNot):  # `a NOT b`, `a -b`
        excluded.update(t for _, t in q.b.iter_all_terms())
    if isinstance(q, wq.Term):
        if q.fieldname == "exact" and q.text in STOP_WORDS:
            return wq.NullQuery  # matches nearly every article: no signal, much work
        if q.fieldname in FIELD_BOOSTS and q.text in _QUESTION_TERMS:
            return wq.NullQuery
        if q.fieldname != "exact":  # the exact-form bonus rides along with its word
            budget.words += 1
        return q if _within(budget) else wq.NullQuery
    if isinstance(q, wq.Phrase):
        if q.fieldname == "exact" and all(w in STOP_WORDS for w in q.words):
            # « qu'elle », « est-ce », « a-t-on »: stop words only, as a lone
            # stop word is. Its positions would be read in most articles (3 s
            # for one question at 250,000) for no signal. A query of nothing
            # else is searched by _stop_words_only (see parsing.parse).
            return wq.NullQuery
        budget.words += len(q.words)
        if not has_positions(reader.schema, q.fieldname):
            # `title:"premier ministre"`: the title field keeps no positions,
            # so the words are required there, in any order.
            return wq.And([wq.Term(q.fieldname, w, boost=q.boost) for w in q.words[:MAX_WORDS]])
        if len(q.words) > MAX_WORDS:
            _within(budget)
            return wq.Phrase(q.fieldname, q.words[:MAX_WORDS], slop=q.slop, boost=q.boost)
        return q
    if q.is_leaf():
        return q
    return q.apply(lambda sub: _bound(sub, reader, excluded, budget)).normalize()


def _within(budget: Budget) -> bool:
    """Whether the words counted so far are within MAX_WORDS (noted when not)."""
    if budget.words <= MAX_WORDS:
        return True
    budget.note(f"only the first {MAX_WORDS} words of a query are searched")
    return False
