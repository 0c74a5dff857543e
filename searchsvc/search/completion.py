"""Completions of what a reader is typing (``GET /api/suggest``).

The last word, while it is being typed, is completed from the index's own
words: the ``exact`` field (folded, unstemmed, as the articles hold them),
the most frequent first, spelt back as the articles spell them
(``pre`` → « présidentielle »); the words before it are kept as typed
(``election pre`` → « election présidentielle »). A few titles holding
every word typed (the last one as a prefix) follow.

When words were typed before the last one, the completions that occur in
the articles holding them come first (``coupe du m`` → « monde » before
« ministre »), counted over posting arrays.

The work is bounded: the prefixes of one or two letters, which hold the
most words, come from a table the reindex wrote (:mod:`searchsvc.index.prefix_table`),
so that ``p`` offers « président », not the first ``p…`` words in
alphabetical order; a longer prefix's words are read from the index once per
generation and process, their :data:`KEPT` most frequent kept. Titles are
ranked with the vectorised ranking.
Results and written forms are cached per generation, since each keystroke
asks again.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from whoosh import query as wq
from whoosh.searching import Searcher

from ..index.prefix_table import KEPT, LONGEST, read_table
from ..text.analysis import STOP_WORDS
from .cache import BoundedCache
from .limits import MAX_WORDS
from .parsing import ParsedQuery, clean_text
from .postings import arrays_for, in_live_documents, reader_key
from .ranking import rank
from .spelling import written_form

DEFAULT_SUGGESTIONS = 8
MAX_SUGGESTIONS = 20
#: Titles among the suggestions (fewer when ``limit`` is small).
MAX_TITLES = 3
#: Completions of the last word that titles may hold (a bounded prefix).
TITLE_EXPANSIONS = 20

#: Per process, keyed by generation: results of recent requests, and how
#: articles write the words offered.
_RESULTS: BoundedCache[Completions] = BoundedCache(5000)
_WRITTEN: BoundedCache[str] = BoundedCache(20_000)
_PREFIXES: BoundedCache[list[tuple[str, int]]] = BoundedCache(2000)
_TABLES: BoundedCache[dict[str, list[tuple[str, int]]]] = BoundedCache(8)


@dataclass(frozen=True)
class Suggestion:
    text: str
    kind: str  # "word": the query with its last word completed; "title": an article's title
    id: str | None = None  # the article's, for a title

    def to_dict(self) -> dict:
        out = {"text": self.text, "kind": self.kind}
        if self.id is not None:
            out["id"] = self.id
        return out


@dataclass(frozen=True)
class Completions:
    query: str
    suggestions: tuple[Suggestion, ...] = field(default_factory=tuple)

    def to_dict(self) -> dict:
        """The suggestion endpoint's contract."""
        return {"query": self.query, "suggestions": [s.to_dict() for s in self.suggestions]}


def complete(searcher: Searcher, q: str, limit: int = DEFAULT_SUGGESTIONS) -> Completions:
    """At most ``limit`` completions of ``q`` (as sent): words, then titles.

    Nothing typed gives no suggestion; ``q`` too long raises
    :class:`~searchsvc.errors.QueryError`.
    """
    limit = max(1, min(limit, MAX_SUGGESTIONS))
    key = (reader_key(searcher.reader()), q, limit)
    return _RESULTS.get(key, lambda: Completions(q, tuple(_complete(searcher, q, limit))))


def _complete(searcher: Searcher, q: str, limit: int) -> list[Suggestion]:
    text = clean_text(q)
    if not text:
        return []
    # The last word is being typed unless a space (or any character that is
    # not part of a word, such as "*" or "'") follows it.
    # Copies: Whoosh's tokenizers yield one Token object, changed in place.
    tokens = [t.copy() for t in searcher.schema["exact"].analyzer(text, chars=True, mode="query")]
    typing = bool(tokens) and tokens[-1].endchar == len(text) and q[-1].isprintable() and not q[-1].isspace()
    last = tokens[-1] if typing else None
    folded = _most_frequent(searcher, last.text) if last is not None else []
    if last is not None and len(tokens) > 1:
        folded = _in_context(searcher, [t.text for t in tokens[:-1]], folded)
    titles = _titles(searcher, text, last, folded, min(MAX_TITLES, limit // 2))
    words: list[Suggestion] = []
    if last is not None:
        before = text[: last.startchar]
        capital = text[last.startchar].isupper()
        for word, _ in folded:
            if len(words) >= limit - len(titles):
                break
            form = _written(searcher, word)
            if capital:
                form = form[:1].upper() + form[1:]
            completed = before + form
            if completed != text and all(s.text != completed for s in words):
                words.append(Suggestion(completed, "word"))
    return words + titles


def _most_frequent(searcher: Searcher, prefix: str) -> list[tuple[str, int]]:
    """The words of the ``exact`` field starting with ``prefix`` and the
    number of articles holding each, most frequent first (the :data:`KEPT`
    first); stop words and single letters left out. A short prefix comes
    from the generation's table (:mod:`searchsvc.index.prefix_table`), a longer one is
    read from the index once per generation."""
    reader = searcher.reader()
    if len(prefix) <= LONGEST:
        table = _TABLES.get(reader_key(reader), lambda: read_table(_folder(searcher)) or {})
        if table:
            return _PREFIXES.get((reader_key(reader), prefix), lambda: _live(reader, table.get(prefix, [])))
    return _PREFIXES.get((reader_key(reader), prefix), lambda: _live(reader, _read_prefix(reader, prefix)))


def _live(reader, words: list[tuple[str, int]]) -> list[tuple[str, int]]:
    """``words`` without those only deleted (retracted) articles hold."""
    if not arrays_for(reader).deleted:
        return words
    return [(word, n) for word, n in words if in_live_documents(reader, "exact", word)]


def _folder(searcher: Searcher) -> str | None:
    storage = getattr(getattr(searcher, "_ix", None), "storage", None)
    return getattr(storage, "folder", None)


def _read_prefix(reader, prefix: str) -> list[tuple[str, int]]:
    candidates = []
    for term, info in reader.iter_prefix("exact", prefix):
        word = term.decode("utf-8") if isinstance(term, bytes) else term
        if len(word) > 1 and word not in STOP_WORDS:
            candidates.append((-info.doc_frequency(), word))
    candidates.sort()
    return [(word, -n) for n, word in candidates[:KEPT]]


def _in_context(searcher: Searcher, before: list[str], completions: list[tuple[str, int]]) -> list[tuple[str, int]]:
    """``completions`` reordered by the articles holding them and every word
    typed before (stop words aside): ``together × √(together / frequency)``,
    so that a word found with them, not merely a frequent word (« plus »),
    comes first; ties by frequency."""
    reader = searcher.reader()
    arrays = arrays_for(reader)
    context: np.ndarray | None = None
    for word in dict.fromkeys(w for w in before if w not in STOP_WORDS and len(w) > 1):
        docnums, _ = arrays.postings(reader, "exact", word)
        holding = np.zeros(arrays.doc_count, dtype=bool)
        holding[docnums] = True
        context = holding if context is None else context & holding
    if context is None or not context.any():
        return completions
    context &= arrays.live
    together = [
        int(np.count_nonzero(context[arrays.postings(reader, "exact", word)[0]])) for word, _ in completions
    ]
    score = [n * (n / max(f, 1)) ** 0.5 for n, (_, f) in zip(together, completions, strict=True)]
    order = sorted(range(len(completions)), key=lambda i: (-score[i], -completions[i][1], completions[i][0]))
    return [completions[i] for i in order]


def _written(searcher: Searcher, folded: str) -> str:
    return _WRITTEN.get((reader_key(searcher.reader()), folded), lambda: written_form(searcher, folded))


def _titles(searcher: Searcher, text: str, last, completions: list[tuple[str, int]], n: int) -> list[Suggestion]:
    """Up to ``n`` titles holding every word of ``text``, the last one being
    typed (``last``) as any of its ``completions``: ranked by
    relevance, each completion weighted by its frequency (as a ``prefix*``
    query's expansions are), so that the likeliest word counts most."""
    if n <= 0 or "title" not in searcher.schema:
        return []
    analyzer = searcher.schema["title"].analyzer
    whole = text if last is None else text[: last.startchar]
    stems = list(dict.fromkeys(t.text for t in analyzer(whole, mode="query")))[:MAX_WORDS]
    required: list[wq.Query] = [wq.Term("title", s) for s in stems]
    if last is not None:
        top = max((f for _, f in completions), default=1) or 1
        endings: dict[str, float] = {}
        for word, frequency in completions[:TITLE_EXPANSIONS]:
            for t in analyzer(word, mode="query"):
                endings[t.text] = max(endings.get(t.text, 0.0), (frequency / top) ** 0.5)
        if not endings:
            return []  # nothing the last word could be
        required.append(wq.Or([wq.Term("title", s, boost=b) for s, b in sorted(endings.items())]))
    if not required:
        return []
    query = required[0] if len(required) == 1 else wq.And(required)
    hits, _ = rank(searcher, ParsedQuery(text, query), n * 2)
    out: list[Suggestion] = []
    for docnum, _ in hits:
        stored = searcher.stored_fields(docnum)
        if all(s.text != stored["title"] for s in out):
            out.append(Suggestion(stored["title"], "title", stored["id"]))
    return out[:n]
