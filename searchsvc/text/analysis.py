"""The French analysis chain: the only place where text becomes index terms.

Two analyzers share one tokenizer, so a word is cut the same way everywhere:

* :func:`french_analyzer` (fields ``title`` and ``text``): tokenize, fold
  accents and case, drop stop words, Snowball-stem. Ranking runs on it.
* :func:`exact_analyzer` (field ``exact``): tokenize and fold, nothing
  dropped or stemmed. Quoted phrases, stop-word-only queries and the
  exact-form bonus run on it.

Both are stored (pickled) in the index's schema, and queries are analysed by
the index's own copy, so index time and query time cannot drift apart.
Changing anything here changes :data:`ANALYSIS_VERSION` and asks for a reindex.

Order matters: folding comes *before* stop words and stemming, so a word and
the same word typed without its accents always give the same terms
(stem-then-fold gives ``université`` → ``univers`` but ``universite`` →
``universit``).
"""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_left
from collections.abc import Iterable, Iterator
from functools import lru_cache
from itertools import chain
from typing import NamedTuple

import Stemmer
from whoosh.analysis import Analyzer, Filter, StopFilter, Token, Tokenizer

from .normalize import APOSTROPHE_TABLE, APOSTROPHES, HYPHENS, fold

#: Bump when the chain's output changes: an index built with another version
#: is reported as stale until it is rebuilt.
ANALYSIS_VERSION = "fr-4"

#: Elided articles and pronouns, as in Lucene's FrenchAnalyzer plus ``presqu``.
ELISIONS = frozenset(
    ["l", "d", "j", "m", "n", "s", "t", "c", "qu", "jusqu", "lorsqu", "puisqu", "quoiqu", "presqu"]
)

#: The Snowball French stop list (snowballstem.org, BSD), minus the homonyms
#: that are also common content words, as Lucene's French analyzer does:
#: été (summer), est (east), son (sound), avions (planes), sommes (sums),
#: as (ace). Folded forms are added below, so ``à``/``a``, ``où``/``ou``,
#: ``était``/``etait`` are all stop words.
SNOWBALL_STOP_WORDS = ["au", "aux", "avec", "ce", "ces", "dans", "de", "des", "du", "elle", "en", "et", "eux", "il", "ils", "je", "la", "le", "les", "leur", "lui", "ma", "mais", "me", "même", "mes", "moi", "mon", "ne", "nos", "notre", "nous", "on", "ou", "où", "par", "pas", "pour", "qu", "que", "qui", "sa", "se", "ses", "sur", "ta", "te", "tes", "toi", "ton", "tu", "un", "une", "vos", "votre", "vous", "c", "d", "j", "l", "à", "m", "n", "s", "t", "y", "étée", "étées", "étant", "étante", "étants", "étantes", "suis", "es", "êtes", "sont", "serai", "seras", "sera", "serons", "serez", "seront", "serais", "serait", "serions", "seriez", "seraient", "étais", "était", "étions", "étiez", "étaient", "fus", "fut", "fûmes", "fûtes", "furent", "sois", "soit", "soyons", "soyez", "soient", "fusse", "fusses", "fût", "fussions", "fussiez", "fussent", "ayant", "ayante", "ayantes", "ayants", "eu", "eue", "eues", "eus", "ai", "avons", "avez", "ont", "aurai", "auras", "aura", "aurons", "aurez", "auront", "aurais", "aurait", "aurions", "auriez", "auraient", "avais", "avait", "aviez", "avaient", "eut", "eûmes", "eûtes", "eurent", "aie", "aies", "ait", "ayons", "ayez", "aient", "eusse", "eusses", "eût", "eussions", "eussiez", "eussent", "ceci", "cela", "celà", "cet", "cette", "ici", "leurs", "quel", "quels", "quelle", "quelles", "sans", "soi"]

_WORD = r"[^\W_]+"
#: A token is a decimal number (``14,2``, ``3.5``) or a run of letters and
#: digits joined by apostrophes or hyphens (``aujourd'hui``, ``États-Unis``,
#: ``COVID-19``). A period is not part of a word, so ``jeudi.Le`` (a scraper's
#: lost space) gives two tokens while ``3.5`` stays one.
TOKEN_PATTERN = re.compile(
    rf"\d+(?:[.,]\d+)+(?![^\W_])|{_WORD}(?:[{re.escape(APOSTROPHES + HYPHENS)}]{_WORD})*"
)

#: The stop list in both its accented and its folded forms, with the elided
#: words standing alone (``jusqu``, typed without what follows) and their
#: full conjunctions.
STOP_WORDS = (
    frozenset(SNOWBALL_STOP_WORDS)
    | frozenset(map(fold, SNOWBALL_STOP_WORDS))
    | ELISIONS
    | frozenset(["jusque", "lorsque", "puisque", "quoique"])
)


@lru_cache(maxsize=200_000)
def split_word(raw: str, keep_elided: bool = False) -> tuple[tuple[str, int, int], ...]:
    """Cut one matched word into its searchable parts, with their offsets.

    Hyphenated compounds give their parts (``états-unis`` → ``états``,
    ``unis``); an elided article or pronoun, recognised by its folded form
    (``ç'`` is ``c'``), is dropped (``l'otan`` → ``otan``, ``jusqu'à`` →
    ``à``, ``ç'aurait`` → ``aurait``), or kept as a word of its own with ``keep_elided``
    (the exact field, where ``"jusqu'à"`` must stay a phrase); any other
    apostrophe joins (``aujourd'hui`` → ``aujourdhui``, so it is also found
    when typed without one).
    """
    parts: list[tuple[str, int, int]] = []
    start = 0
    for piece in re.split(f"[{HYPHENS}]", raw):
        end = start + len(piece)
        text = piece.translate(APOSTROPHE_TABLE)
        offset = start
        while "'" in text:
            head, rest = text.split("'", 1)
            if fold(head) in ELISIONS and rest:  # folded: ç'a is c'a (ça a)
                if keep_elided:
                    parts.append((head, offset, offset + len(head)))
                offset += len(head) + 1
                text = rest
            else:
                text = text.replace("'", "")
                break
        if text:
            parts.append((text, offset, end))
        start = end + 1
    return tuple(parts)


#: Separates a document's title from its body in one field's text: the
#: paragraph separator, which no word contains.
LEAD_SEPARATOR = "\u2029"


class FrenchTokenizer(Tokenizer):
    """Finds words, splits compounds and removes elisions (see :func:`split_word`).

    With ``lead_boost``, the words before :data:`LEAD_SEPARATOR` (the title)
    count that much each in the term frequencies: one BM25 over title and
    body with the title weighted, as SQLite FTS5's ``bm25()`` does, ranks
    better than adding up a BM25 per field.

    Text is NFC-normalised first, so an ``é`` typed as ``e`` + combining accent
    is the same word. Offsets point into the normalised text, which is also
    what the document loaders store.
    """

    def __init__(self, keep_elided: bool = False, lead_boost: float = 1.0) -> None:
        self.keep_elided = keep_elided
        self.lead_boost = lead_boost

    def __eq__(self, other: object) -> bool:
        return other.__class__ is self.__class__ and other.__dict__ == self.__dict__

    def __call__(  # noqa: PLR0913 - Whoosh's tokenizer signature
        self,
        value: str,
        positions: bool = False,
        chars: bool = False,
        keeporiginal: bool = False,
        removestops: bool = True,
        start_pos: int = 0,
        start_char: int = 0,
        tokenize: bool = True,
        mode: str = "",
        **kwargs,
    ) -> Iterator[Token]:
        if not unicodedata.is_normalized("NFC", value):
            value = unicodedata.normalize("NFC", value)
        t = Token(positions, chars, removestops=removestops, mode=mode, **kwargs)
        if not tokenize:
            t.original = t.text = value
            t.boost = 1.0
            if positions:
                t.pos = start_pos
            if chars:
                t.startchar, t.endchar = start_char, start_char + len(value)
            yield t
            return
        pos = start_pos
        # Words before LEAD_SEPARATOR (a title) weigh lead_boost each.
        lead_end = value.find(LEAD_SEPARATOR) if self.lead_boost != 1.0 else -1
        for match in TOKEN_PATTERN.finditer(value):
            base = start_char + match.start()
            boost = self.lead_boost if match.start() < lead_end else 1.0
            for text, first, last in split_word(match.group(), self.keep_elided):
                t.text = text
                t.boost = boost
                t.stopped = False
                if keeporiginal:
                    t.original = text
                if positions:
                    t.pos = pos
                if chars:
                    t.startchar, t.endchar = base + first, base + last
                pos += 1
                yield t


class FoldFilter(Filter):
    """Lowercases and folds accents and ligatures (see :func:`fold`)."""

    def __eq__(self, other: object) -> bool:
        return other.__class__ is self.__class__

    def __call__(self, tokens: Iterable[Token]) -> Iterator[Token]:
        for t in tokens:
            t.text = fold(t.text)
            yield t


@lru_cache(maxsize=1)
def _french_stemmer() -> Stemmer.Stemmer:
    return Stemmer.Stemmer("french")


@lru_cache(maxsize=200_000)
def stem(word: str) -> str:
    """Snowball French stem of an already folded word (PyStemmer, in C)."""
    return _french_stemmer().stemWord(word)


class FrenchStemFilter(Filter):
    """Snowball French stemming, skipping the words in ``protected``.

    The stemmer itself is not stored in the filter, so the filter pickles
    into the index schema and compares equal to a freshly built one.
    """

    def __init__(self, protected: Iterable[str] = ()) -> None:
        self.protected = frozenset(fold(w) for w in protected)

    def __eq__(self, other: object) -> bool:
        return other.__class__ is self.__class__ and other.protected == self.protected

    def __call__(self, tokens: Iterable[Token]) -> Iterator[Token]:
        protected = self.protected
        for t in tokens:
            if not t.stopped and t.text not in protected:
                t.text = stem(t.text)
            yield t


def french_analyzer(protected: Iterable[str] = (), lead_boost: float = 1.0) -> Analyzer:
    """The ranking chain: tokenize → fold → drop stop words → stem."""
    return (
        FrenchTokenizer(lead_boost=lead_boost)
        | FoldFilter()
        | StopFilter(stoplist=STOP_WORDS, minsize=1)
        | FrenchStemFilter(protected)
    )


def exact_analyzer(lead_boost: float = 1.0) -> Analyzer:
    """The exact-form chain: tokenize → fold. Keeps stop words, elided
    articles and word endings, so phrases match the text as written."""
    return FrenchTokenizer(keep_elided=True, lead_boost=lead_boost) | FoldFilter()


class Part(NamedTuple):
    """One searchable part of a matched word: where it stands in the word,
    its term, and whether the chain stops it (a stop word)."""

    start: int
    end: int
    term: str
    stopped: bool


def analyze_word(analyzer: Analyzer, word: str) -> tuple[Part, ...]:
    """What ``analyzer`` makes of one word matched by :data:`TOKEN_PATTERN`.

    The chains are context-free (a word's terms never depend on its
    neighbours, and positions only count the terms kept), so a text's terms
    are its words' terms in order: the indexer and the snippets remember them
    per word instead of running the chain token by token.
    """
    return tuple(
        Part(t.startchar, t.endchar, t.text, t.stopped)
        for t in analyzer(word, chars=True, removestops=False, mode="index")
    )


def forget_words() -> None:
    """Empty the per-word caches of the chain's steps (compound splitting,
    stemming): a writer that has numbered every word it met no longer needs
    them, and they hold tens of megabytes."""
    split_word.cache_clear()
    stem.cache_clear()


class WordCache(dict):
    """:func:`analyze_word` remembered for one analyser: word → the terms
    that reach the index, in order. A ``dict`` so that a text's words map to
    their terms in one C-level pass (``map(cache.__getitem__, words)``)."""

    MAX_WORDS = 500_000

    def __init__(self, analyzer) -> None:
        super().__init__()
        self.analyzer = analyzer
        tokenizer = getattr(analyzer, "items", [None])[0]
        #: Only chains that start with our tokenizer are known to be context-free.
        self.usable = isinstance(tokenizer, FrenchTokenizer)
        self.lead_boost = tokenizer.lead_boost if self.usable else 1.0
        #: How many stop words come before the first kept term of a word.
        self.stopped_before: dict[str, int] = {}

    def __missing__(self, word: str) -> tuple[str, ...]:
        if len(self) >= self.MAX_WORDS:
            self.clear()
            self.stopped_before.clear()
        parts = analyze_word(self.analyzer, word)
        kept = tuple(p.term for p in parts if not p.stopped)
        self.stopped_before[word] = next((i for i, p in enumerate(parts) if not p.stopped), len(parts))
        self[word] = kept
        return kept


def split_words(cache: WordCache, value: str, lead_boost: float | None = None) -> tuple[list[str], list[str]]:
    """The words of ``value`` (NFC), as (lead, rest): the lead is the title,
    before :data:`LEAD_SEPARATOR`, when the chain weighs it more
    (``lead_boost``, by default the cache's chain's)."""
    if not unicodedata.is_normalized("NFC", value):
        value = unicodedata.normalize("NFC", value)
    if lead_boost is None:
        lead_boost = cache.lead_boost
    if lead_boost != 1.0 and LEAD_SEPARATOR in value:
        lead_text, rest_text = value.split(LEAD_SEPARATOR, 1)
        return TOKEN_PATTERN.findall(lead_text), TOKEN_PATTERN.findall(rest_text)
    return [], TOKEN_PATTERN.findall(value)


def first_position(cache: WordCache, words: Iterable[str]) -> int:
    """The position of the first term of ``words``: Whoosh's StopFilter
    numbers the kept terms from the first one's place (the stop words before
    it count), then one after another."""
    first = 0
    for word in words:
        kept = cache[word]  # analysed again if the cache was cleared
        first += cache.stopped_before[word]
        if kept:
            break
    return first


def term_sequence(cache: WordCache, value: str) -> tuple[list[str], int, int]:
    """The terms ``value`` puts in the index, in order, from the per-word
    cache: (terms, position of the first, how many come from the lead).
    Term ``i`` is at position ``first + i``; a lead term weighs
    ``cache.lead_boost``."""
    lead, rest = split_words(cache, value)
    lookup = cache.__getitem__
    lead_terms = list(chain.from_iterable(map(lookup, lead)))
    terms = lead_terms + list(chain.from_iterable(map(lookup, rest)))
    return terms, first_position(cache, chain(lead, rest)), len(lead_terms)


def index_terms(cache: WordCache, value: str) -> tuple[dict[str, list[int]], dict[str, float]]:
    """Positions and weights of each term of ``value``: what Whoosh's
    ``word_values`` computes token by token, from the per-word cache."""
    terms, start, lead_count = term_sequence(cache, value)
    positions: dict[str, list[int]] = {}
    for pos, term in enumerate(terms, start):
        if term in positions:
            positions[term].append(pos)
        else:
            positions[term] = [pos]
    # Each occurrence weighs lead_boost in the lead, 1 after: sums of halves
    # and units, exact in floating point whatever the order of addition.
    lead_end = start + lead_count
    weights = {}
    for term, poslist in positions.items():
        in_lead = bisect_left(poslist, lead_end) if lead_count else 0
        weights[term] = in_lead * cache.lead_boost + (len(poslist) - in_lead)
    return positions, weights


def terms(text: str, analyzer: Analyzer | None = None) -> list[str]:
    """The terms that ``analyzer`` (default: the ranking chain) makes of ``text``."""
    analyzer = analyzer or french_analyzer()
    return [t.text for t in analyzer(text)]
