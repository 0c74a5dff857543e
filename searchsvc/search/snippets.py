"""Snippets and highlighted titles: escaped HTML with ``<mark>`` around matches.

Matching runs through the index's own analyser, so a query typed without
accents (``etats-unis``) highlights the words as written (« États-Unis »).
Each distinct word of a text is analysed once and remembered (per analyser),
so a snippet costs a regex pass over the body and dictionary lookups: Whoosh's
highlighter, which re-runs the whole chain token by token, took more time
than ranking itself.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterable
from html import escape
from typing import NamedTuple

from whoosh.analysis import Analyzer
from whoosh.fields import Schema

from ..text.analysis import TOKEN_PATTERN, analyze_word, split_word
from ..text.normalize import APOSTROPHES, HYPHENS, fold

SNIPPET_CHARS = 240
#: Context kept before a fragment's first match and after its last.
SURROUND_CHARS = 80
#: At most this many fragments, joined by `` … ``, best first chosen, shown in text order.
MAX_FRAGMENTS = 2
#: Text shown when nothing in the body matched (a title-only match).
LEAD_CHARS = 200


class Span(NamedTuple):
    start: int
    end: int
    term: str | None


class _WordTerms:
    """The term each word gives in one analyser, remembered, and the words
    seen for each term: the analyser is context-free (a word's term never
    depends on its neighbours), so a text's matching words are found with set
    operations, without a Python step per word."""

    MAX_WORDS = 200_000

    def __init__(self, analyzer) -> None:
        self.analyzer = analyzer
        self.terms: dict[str, tuple[Span, ...]] = {}
        self.words_of: dict[str, set[str]] = {}
        #: The first two letters of each part of a word, folded: a term keeps
        #: them (the stemmer changes endings only), so a word whose parts
        #: share none with a mark cannot hold it and is not analysed.
        self.heads: dict[str, frozenset[str]] = {}
        self.lock = threading.Lock()

    def matching(self, words: set[str], marks: frozenset[str]) -> dict[str, tuple[Span, ...]]:
        """The ``words`` holding a term in ``marks``, with their parts."""
        with self.lock:
            unknown = words.difference(self.terms)
            if len(self.terms) + len(unknown) > self.MAX_WORDS or len(self.heads) > self.MAX_WORDS:
                self.terms.clear()
                self.words_of.clear()
                self.heads.clear()
                unknown = words
            wanted = {m[:2] for m in marks}
            for word in unknown:
                heads = self.heads.get(word)
                if heads is None:
                    heads = self.heads[word] = frozenset(fold(part)[:2] for part, _, _ in split_word(word))
                if heads.isdisjoint(wanted):
                    continue
                spans = tuple(
                    Span(p.start, p.end, None if p.stopped else p.term) for p in analyze_word(self.analyzer, word)
                )
                self.terms[word] = spans
                for span in spans:
                    if span.term is not None:
                        self.words_of.setdefault(span.term, set()).add(word)
            found = set().union(*(self.words_of.get(m, ()) for m in marks)) & words
            return {word: self.terms[word] for word in found}


_CACHES: OrderedDict[int, _WordTerms] = OrderedDict()
_CACHES_LOCK = threading.Lock()


def _word_terms(analyzer) -> _WordTerms:
    """The cache for ``analyzer`` (kept by identity; the entry holds the
    analyser, so its id cannot be reused while cached)."""
    with _CACHES_LOCK:
        cache = _CACHES.get(id(analyzer))
        if cache is None:
            cache = _CACHES[id(analyzer)] = _WordTerms(analyzer)
            while len(_CACHES) > 8:
                _CACHES.popitem(last=False)
        return cache


def stems_to_mark(terms: Iterable[tuple[str, str]], schema: Schema) -> frozenset[str]:
    """The ranking-field terms to highlight: the query's own, and the stems of
    words it searched in the ``exact`` field (phrases, prefixes, typos)."""
    analyzer = schema["text"].analyzer
    marks = set()
    for fieldname, text in terms:
        if fieldname in ("title", "text"):
            marks.add(text)
        elif fieldname == "exact":
            marks.update(t.text for t in analyzer(text, mode="query"))
    return frozenset(marks)


def _matches(text: str, marks: frozenset[str], analyzer: Analyzer) -> list[tuple[int, int, str]]:
    """(start, end, term) of every word of ``text`` whose term is in ``marks``,
    in text order. The distinct words are found first (``findall``, in C),
    and only the few that match are then located in the text."""
    hits = _word_terms(analyzer).matching(set(TOKEN_PATTERN.findall(text)), marks)
    found = []
    for word, spans in hits.items():
        for base in _occurrences(text, word):
            found.extend((base + start, base + end, term) for start, end, term in spans if term in marks)
    found.sort()
    return found


_JOINERS = frozenset(APOSTROPHES + HYPHENS)


def _occurrences(text: str, word: str) -> list[int]:
    """Where ``word`` stands in ``text`` as a whole token: not the tail or
    head of a longer one (``Unis`` alone, not in ``États-Unis``)."""
    found, at, size = [], text.find(word), len(word)
    while at != -1:
        before = text[max(0, at - 2) : at]
        after = text[at + size : at + size + 2]
        if not (
            (before[-1:].isalnum() or (before[-1:] in _JOINERS and before[:1].isalnum()))
            or (after[:1].isalnum() or (after[:1] in _JOINERS and after[1:2].isalnum()))
        ):
            found.append(at)
        at = text.find(word, at + 1)
    return found


def _render(text: str, start: int, end: int, matches: list[tuple[int, int, str]]) -> str:
    """``text[start:end]`` escaped, with the matches inside it marked."""
    out, at = [], start
    for m_start, m_end, _ in matches:
        if m_start < start or m_end > end:
            continue
        out.append(escape(text[at:m_start], quote=False))
        out.append(f"<mark>{escape(text[m_start:m_end], quote=False)}</mark>")
        at = m_end
    out.append(escape(text[at:end], quote=False))
    return "".join(out)


def _fragments(text: str, matches: list[tuple[int, int, str]]) -> list[tuple[int, int]]:
    """The best :data:`MAX_FRAGMENTS` windows of ``text`` around the matches,
    in text order: most distinct words first, then most matches."""
    candidates = []
    for i, (first_start, _, _) in enumerate(matches):
        start = max(0, first_start - SURROUND_CHARS)
        limit = start + SNIPPET_CHARS
        inside = [m for m in matches[i:] if m[1] <= limit]
        last_end = inside[-1][1]
        end = min(len(text), max(last_end, min(limit, last_end + SURROUND_CHARS)))
        score = (len({m[2] for m in inside}), len(inside), -start)
        candidates.append((score, _word_bounds(text, start, end, first_start, last_end)))
    chosen: list[tuple[int, int]] = []
    for _, (start, end) in sorted(candidates, reverse=True):
        if all(end <= s or start >= e for s, e in chosen):
            chosen.append((start, end))
        if len(chosen) == MAX_FRAGMENTS:
            break
    return sorted(chosen)


def _word_bounds(text: str, start: int, end: int, first: int, last: int) -> tuple[int, int]:
    """Widen nothing, but never cut a word in two: move ``start`` forward to a
    word's beginning and ``end`` back to a word's end (matches stay inside)."""
    if start > 0 and not text[start - 1].isspace():
        space = text.find(" ", start, first)
        start = space + 1 if space != -1 else first
    if end < len(text) and not text[end].isspace():
        space = text.rfind(" ", last, end)
        end = space if space != -1 else last
    return start, end


def make_snippet(body: str, marks: frozenset[str], analyzer: Analyzer) -> str:
    """A short extract of ``body`` around the ``marks`` (escaped HTML).

    :param marks: from :func:`stems_to_mark`.
    :param analyzer: the body field's analyser.
    """
    body = body.replace("\n", " ")
    matches = _matches(body, marks, analyzer) if marks and body else []
    if matches:
        return " … ".join(_render(body, s, e, matches).strip() for s, e in _fragments(body, matches))
    lead = body[:LEAD_CHARS]
    if len(body) > LEAD_CHARS:
        lead = lead.rsplit(" ", 1)[0] + " …"
    return escape(lead, quote=False)


def highlight_title(title: str, marks: frozenset[str], analyzer: Analyzer) -> str:
    """The whole title, escaped, with the ``marks`` highlighted."""
    matches = _matches(title, marks, analyzer) if marks else []
    return _render(title, 0, len(title), matches)
