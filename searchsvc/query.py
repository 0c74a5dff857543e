"""From what a reader typed to a bounded Whoosh query.

The syntax: plain words; ``"quoted phrases"``; ``-word`` to exclude; ``OR``;
``prefix*``; ``title:word``; ``word~`` for typo tolerance. Everything goes
through the index's own analysers (``ix.schema``), so ``écoles`` and
``ecoles`` are the same query. A query that does not parse as syntax is
searched as plain words, never an error.

Every query is bounded: the text's length, the number of words, how many
index terms a prefix, wildcard or fuzzy word may expand to.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from itertools import islice

from rapidfuzz import process as rf_process
from rapidfuzz.distance import OSA
from whoosh import query as wq
from whoosh.qparser import (
    FuzzyTermPlugin,
    MultifieldParser,
    OperatorsPlugin,
    OrGroup,
    PhrasePlugin,
    PlusMinusPlugin,
    PrefixPlugin,
    WildcardPlugin,
    syntax,
)
from whoosh.qparser.plugins import Plugin
from whoosh.reading import IndexReader

from .analysis import STOP_WORDS, fold, stem
from .cache import BoundedCache
from .errors import QueryError
from .schema import has_positions
from .scoring import reader_key
from .synonyms import Expansion, SynonymGroup, SynonymMatcher, SynonymOr, SynonymPlugin, Synonyms

MAX_QUERY_CHARS = 1000
MAX_WORDS = 32
#: Index terms one prefix, wildcard or fuzzy word may stand for (the most frequent win).
MAX_EXPANSIONS = 50
#: Terms scanned in the index to find those expansions.
MAX_SCANNED = 2000

#: Fields a plain word is searched in, and their weights: the stemmed text,
#: and a bonus for the exact form (`exact`, folded but unstemmed).
TEXT_FIELDS = ("text",)
FIELD_BOOSTS = {"text": 1.0, "exact": 0.5}

#: Words that ask rather than say: left out of a question's ranking (they
#: match any article), kept when they are all the query has.
QUESTION_WORDS = frozenset(
    fold(w)
    for w in """qui que quoi quel quelle quels quelles lequel laquelle lesquels lesquelles
    auquel auxquels auxquelles duquel desquels desquelles dont où comment combien pourquoi
    quand est-ce""".replace("-", " ").split()
)

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]")
_SYNTAX = re.compile(r"""[":*?~()\[\]{}^+\-]|\b(?:AND|OR|NOT|ANDNOT|ANDMAYBE|TO)\b""")


@dataclass
class ParsedQuery:
    """A query ready to run, and what the rewriting did to it."""

    text: str
    query: wq.Query
    #: Words that matched nothing as typed and were searched as the nearest
    #: words of the index instead: {typed word: [folded index words]}; an
    #: empty list when none was near, or when the word needs none (it has
    #: synonyms): the look-up need not be done again.
    corrections: dict[str, list[str]] = field(default_factory=dict)
    #: Words typed with ``-``: a query of nothing else finds nothing (rather
    #: than falling back to an exact-field search of those very words).
    excluded: set[str] = field(default_factory=set)
    #: Optional extra score: consecutive query words found next to each other.
    bonus: wq.Query | None = None
    #: Synonyms added to the query (see :mod:`searchsvc.synonyms`), in query order.
    expanded: list[Expansion] = field(default_factory=list)

    def highlight_terms(self) -> set[tuple[str, str]]:
        """(field, term) pairs worth highlighting in titles and snippets."""
        terms = set()
        for fieldname, text in self.query.iter_all_terms(phrases=True):
            if isinstance(text, bytes):
                text = text.decode("utf-8", "replace")
            terms.add((fieldname, text))
        return terms


def clean_text(q: str) -> str:
    """NFC, no control or bidi-override characters, single spaces; bounded length."""
    q = unicodedata.normalize("NFC", _CONTROL.sub(" ", q))
    q = " ".join(q.split())
    if len(q) > MAX_QUERY_CHARS:
        raise QueryError(f"q is too long: {len(q)} characters, at most {MAX_QUERY_CHARS}")
    return q


class ExactFieldPlugin(Plugin):
    """Sends quoted phrases, ``prefix*`` and ``word~`` without a field to the
    ``exact`` field, where words keep their endings and stop words: "la nuit
    de mercredi à jeudi" must match those words in that order, and ``pres*``
    must expand ``pres``, not its stem ``pre``."""

    NODES = (
        PhrasePlugin.PhraseNode,
        PrefixPlugin.PrefixNode,
        WildcardPlugin.WildcardNode,
        FuzzyTermPlugin.FuzzyTermNode,
    )

    def filters(self, parser):
        return [(self.to_exact, 105)]  # before MultifieldPlugin (110)

    def to_exact(self, parser, group):
        for i, node in enumerate(group):
            if isinstance(node, syntax.GroupNode):
                group[i] = self.to_exact(parser, node)
            elif isinstance(node, self.NODES) and node.fieldname is None:
                node.set_fieldname("exact")
        return group


class StarWildcardPlugin(WildcardPlugin):
    """``*`` is the only wildcard: ``?`` ends questions (« … de Noël? »), and
    as Whoosh's one-letter wildcard it would silently drop their last word."""

    qmarks = ""
    expr = "(?P<text>[*])"


class TypoPlugin(Plugin):
    """A plain word that matches nothing is searched as the nearest words of
    the index (one typo allowed, two from 8 letters on), most frequent first:
    ``presidentiele`` → ``presidentielle``, ``gouvernemnt`` → ``gouvernement``.

    It works on the words as typed (folded, unstemmed: the ``exact`` field),
    since a misspelt word's stem is no guide to the right one's.
    """

    def __init__(self, reader: IndexReader, corrections: dict[str, list[str]]) -> None:
        self.reader = reader
        self.corrections = corrections
        #: Plain words seen: only the first MAX_WORDS are searched (see
        #: ``_bound``), so only they are worth an index scan for their typos.
        self.seen = 0

    def filters(self, parser):
        return [(self.correct, 104)]

    def correct(self, parser, group):
        for i, node in enumerate(group):
            if isinstance(node, SynonymGroup):
                continue  # words of the site's synonyms list are not typos
            if isinstance(node, syntax.GroupNode):
                group[i] = self.correct(parser, node)
            elif type(node) is syntax.WordNode and node.fieldname is None:
                self.seen += 1
                if self.seen > MAX_WORDS:
                    continue
                near = self.nearest(parser.schema, node.text)
                if near:
                    group[i] = syntax.OrGroup([self.word(w, node) for w in near])
        return group

    @staticmethod
    def word(text: str, like: syntax.WordNode) -> syntax.WordNode:
        node = syntax.WordNode(text)
        node.startchar, node.endchar = like.startchar, like.endchar
        return node

    def nearest(self, schema, text: str) -> list[str]:
        stems = [t.text for t in schema["text"].analyzer(text, mode="query")]
        if not stems or any(_doc_frequency(self.reader, f, s) for s in stems for f in TEXT_FIELDS):
            return []
        words = [t.text for t in schema["exact"].analyzer(text, mode="query")]
        if len(words) != 1:
            return []
        near = nearest_words(self.reader, words[0])
        self.corrections[text] = near
        return near[:1]  # search the likeliest word; the others would only add noise


def nearest_words(reader: IndexReader, word: str, limit: int = 3) -> list[str]:
    """The most frequent index words one typo (two from 8 letters on) away
    from ``word`` (folded), when ``word`` itself is not in the index.

    A typo rarely hits the first two letters: candidates are the ``exact``
    words sharing them, measured with rapidfuzz's edit distance (C++, with
    transpositions counted as one edit).
    """
    if len(word) < 4 or not word.isalpha() or _doc_frequency(reader, "exact", word):
        return []
    return within_distance(reader, "exact", word, 1 if len(word) < 8 else 2, prefix=2)[:limit]


def within_distance(reader: IndexReader, fieldname: str, word: str, maxdist: int, prefix: int) -> list[str]:
    """Index words of ``fieldname`` within ``maxdist`` edits of ``word`` and
    sharing its first ``prefix`` letters, most frequent first (bounded)."""
    candidates = [
        t.decode("utf-8") if isinstance(t, bytes) else t
        for t in islice(reader.expand_prefix(fieldname, word[:prefix]), MAX_SCANNED * 10)
    ]
    near = rf_process.extract(word, candidates, scorer=OSA.distance, score_cutoff=maxdist, limit=None)
    near.sort(key=lambda m: (m[1], -_doc_frequency(reader, fieldname, m[0])))
    return [choice for choice, _, _ in near if choice != word][:MAX_EXPANSIONS]


class Clauses(wq.Or):
    """The top-level OR of a query's words. A class of its own, so that Whoosh's
    normalisation does not flatten each word's OR (``title:w OR body:w``, or
    the expansions of ``w*``) into it: ranking counts the words a document holds."""


class ClausesGroup(OrGroup):
    qclass = Clauses


class RequireExcludePlugin(PlusMinusPlugin):
    """``+word`` required, ``-word`` excluded, only at the start of a word (so
    that "États-Unis" stays one word). Whoosh's own version always regroups
    the query into a plain OR, which would merge the words' own ORs."""

    def __init__(self, excluded: set[str] | None = None) -> None:
        super().__init__(plusexpr=r"(?:^|(?<=\s))\+(?=\S)", minusexpr=r"(?:^|(?<=\s))-(?=\S)")
        #: The words typed with ``-``, recorded here: Whoosh turns a query of
        #: excluded words alone (``-macron``) into an empty query.
        self.excluded = set() if excluded is None else excluded

    def do_plusminus(self, parser, group):
        if not any(isinstance(node, (self.Plus, self.Minus)) for node in group):
            return group
        required, optional, banned = syntax.AndGroup(), ClausesGroup(), ClausesGroup()
        target = optional
        for node in group:
            if isinstance(node, self.Plus):
                target = required
            elif isinstance(node, self.Minus):
                target = banned
            else:
                if target is banned:
                    self.excluded.update(_node_texts(node))
                target.append(node)
                target = optional
        result = optional
        if required:
            result = syntax.AndMaybeGroup([required, optional]) if optional else required
        if banned:
            result = syntax.AndNotGroup([result, banned])
        return result


def _node_texts(node) -> list[str]:
    """The words of a syntax node (a word, or a group of them)."""
    if isinstance(node, syntax.GroupNode):
        return [text for child in node for text in _node_texts(child)]
    text = getattr(node, "text", None)
    return [text] if isinstance(text, str) and text else []


def make_parser(
    schema,
    reader: IndexReader,
    corrections: dict[str, list[str]],
    excluded: set[str] | None = None,
    synonyms: SynonymMatcher | None = None,
    expanded: list[Expansion] | None = None,
) -> MultifieldParser:
    """The query parser for one index's schema (and so its analysers), with
    ``synonyms`` compiled for that schema's ``text`` analyser, if any."""
    parser = MultifieldParser(list(FIELD_BOOSTS), schema, fieldboosts=FIELD_BOOSTS, group=ClausesGroup)
    # "NOT" means "ANDNOT", never "OR NOT" (which would match almost everything).
    parser.replace_plugin(OperatorsPlugin(AndNot=r"(?<=\s)(?:AND)?NOT(?=\s)", Not=None))
    parser.remove_plugin_class(WildcardPlugin)
    parser.add_plugin(StarWildcardPlugin())
    parser.add_plugins(
        [
            FuzzyTermPlugin(),
            RequireExcludePlugin(excluded),
            ExactFieldPlugin(),
            TypoPlugin(reader, corrections),
        ]
    )
    if synonyms is not None and synonyms.table:
        parser.add_plugin(SynonymPlugin(synonyms, reader, [] if expanded is None else expanded, corrections, MAX_WORDS))
    return parser


def parse(q: str, schema, reader: IndexReader, synonyms: Synonyms | None = None) -> ParsedQuery:
    """Parse and bound a reader's query; raises :class:`QueryError` if it is
    empty or too long. Syntax that does not parse is read as plain words.
    ``synonyms`` (the site's list) are added to the words they match."""
    text = clean_text(q)
    if not text:
        raise QueryError("q is empty: type one or more words")
    result = ParsedQuery(text=text, query=wq.NullQuery)
    matcher = synonyms.matcher(schema["text"].analyzer) if synonyms and "text" in schema else None

    def parser() -> MultifieldParser:
        return make_parser(schema, reader, result.corrections, result.excluded, matcher, result.expanded)

    try:
        parsed = parser().parse(text)
    except Exception:  # Whoosh's parser can raise on odd nestings: read it as words
        parsed = None
    if parsed is None or _has_unusable_nodes(parsed):
        result.corrections.clear()
        result.excluded.clear()
        result.expanded.clear()
        parsed = parser().parse(_SYNTAX.sub(" ", text))
    result.query = _bound(parsed, reader, result)
    # Only stop words (`les`, `jusqu'à`): their exact forms. Not `mon*` (a
    # prefix, though `mon` is a stop word), and never with excluded words:
    # `-macron` or `les -macron` must not turn into a search for `macron`.
    if not result.excluded and (
        result.query is wq.NullQuery
        or (not _expands(parsed) and not list(schema["text"].analyzer(text, mode="query")))
    ):
        result.query = _stop_words_only(text, schema, result.query)
    result.bonus = pair_bonus(result.query)
    return result


#: Weight of the bonus for two consecutive query words that are also
#: consecutive in the article (stop words aside): "fête de Noël" near
#: "Noël" and "fête" far apart.
PAIR_WEIGHT = 0.2


def pair_bonus(q: wq.Query) -> wq.Query | None:
    """Phrases of each two consecutive plain words of ``q`` in the ``text`` field."""
    if not isinstance(q, Clauses):
        return None
    stems: list[str | None] = []
    for clause in q.subqueries:
        typed = clause.subqueries[0] if isinstance(clause, SynonymOr) else clause  # not its synonyms
        texts = [t for f, t in typed.iter_all_terms() if f == "text"] if not isinstance(typed, wq.Phrase) else []
        stems.append(texts[0] if len(texts) == 1 else None)
    pairs = [
        wq.Phrase("text", [a, b], slop=1, boost=PAIR_WEIGHT)
        for a, b in zip(stems, stems[1:], strict=False)
        if a and b and a != b
    ]
    if not pairs or PAIR_WEIGHT <= 0:
        return None
    return pairs[0] if len(pairs) == 1 else wq.Or(pairs)


_QUESTION_TERMS = QUESTION_WORDS | frozenset(stem(w) for w in QUESTION_WORDS)

SEARCHABLE_FIELDS = frozenset({*FIELD_BOOSTS, "title"})


def _expands(q: wq.Query) -> bool:
    """Whether ``q`` holds a prefix, wildcard or fuzzy word."""
    leaves = [q] if q.is_leaf() else q.leaves()
    return any(isinstance(leaf, (wq.Prefix, wq.Wildcard, wq.FuzzyTerm)) for leaf in leaves)


def _has_unusable_nodes(q: wq.Query) -> bool:
    """A parse that searches fields readers cannot use (``date:``, ``url:``…)
    or everything (``*``): such text is read as plain words instead."""
    leaves = [q] if q.is_leaf() else list(q.leaves())
    return any(
        leaf is not wq.NullQuery and getattr(leaf, "fieldname", None) not in SEARCHABLE_FIELDS
        for leaf in leaves
    )


def _stop_words_only(text: str, schema, fallback: wq.Query) -> wq.Query:
    """A query whose words are all stop words (``jusqu'à``, ``cette fois``):
    search their exact forms in the ``exact`` field, in that order first."""
    words = [t.text for t in schema["exact"].analyzer(_SYNTAX.sub(" ", text))]
    words = words[:MAX_WORDS]
    if not words:
        return fallback
    if len(words) == 1:
        return wq.Term("exact", words[0])
    # The words in that order first, then documents holding them all.
    return wq.Or([wq.Phrase("exact", words, boost=2.0), wq.And([wq.Term("exact", w) for w in words])])


def _doc_frequency(reader: IndexReader, fieldname: str, text: str) -> int:
    try:
        return reader.doc_frequency(fieldname, text)
    except Exception:  # a field the index does not have
        return 0


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
        return _top_terms((t, _doc_frequency(reader, fieldname, t)) for t in candidates)
    if isinstance(q, wq.Prefix):
        return _top_terms((t, info.doc_frequency()) for t, info in reader.iter_prefix(fieldname, q.text))
    # Wildcard: scan from its literal prefix, keep what the pattern matches
    prefix = re.split(r"[*?]", q.text, maxsplit=1)[0]
    if not prefix:
        return []  # a leading wildcard would scan the whole vocabulary
    pattern = re.compile(q._get_pattern())
    scanned = islice(reader.iter_prefix(fieldname, prefix), MAX_SCANNED)  # however few match
    return _top_terms(
        (t, info.doc_frequency())
        for t, info in scanned
        if pattern.match(t.decode("utf-8") if isinstance(t, bytes) else t)
    )


def _expand(q: wq.Query, reader: IndexReader) -> wq.Query:
    """A prefix, wildcard or fuzzy query as an OR of at most MAX_EXPANSIONS terms."""
    fieldname = q.fieldname
    if fieldname not in reader.schema or not reader.schema[fieldname].scorable:
        return wq.NullQuery
    key = (reader_key(reader), type(q).__name__, fieldname, q.text, getattr(q, "maxdist", 0),
           getattr(q, "prefixlength", 0))  # fmt: skip
    terms = _EXPANSIONS.get(key, lambda: _expansions(q, reader))
    if not terms:
        return wq.NullQuery
    # Weighted by frequency, so that a rare expansion (high idf) does not
    # outrank the common word the reader most likely meant.
    top = max(f for _, f in terms) or 1
    return wq.Or([wq.Term(fieldname, t, boost=q.boost * (f / top) ** 0.5) for t, f in terms])


def _bound(q: wq.Query, reader: IndexReader, result: ParsedQuery, words: list[int] | None = None) -> wq.Query:
    """Rewrite ``q``: expansions bounded, typos forgiven, at most MAX_WORDS words."""
    words = [0] if words is None else words
    if isinstance(q, (wq.Prefix, wq.Wildcard, wq.FuzzyTerm)):
        words[0] += 1
        return _expand(q, reader) if words[0] <= MAX_WORDS else wq.NullQuery
    if isinstance(q, wq.Every):
        return wq.NullQuery  # "*" alone: not a search
    if isinstance(q, wq.Not):
        result.excluded.update(t for _, t in q.query.iter_all_terms())
        return q
    if isinstance(q, wq.AndNot):  # `a NOT b`, `a -b`
        result.excluded.update(t for _, t in q.b.iter_all_terms())
    if isinstance(q, wq.Term):
        if q.fieldname == "exact" and q.text in STOP_WORDS:
            return wq.NullQuery  # matches nearly every article: no signal, much work
        if q.fieldname in FIELD_BOOSTS and q.text in _QUESTION_TERMS:
            return wq.NullQuery
        if q.fieldname != "exact":  # the exact-form bonus rides along with its word
            words[0] += 1
        return q if words[0] <= MAX_WORDS else wq.NullQuery
    if isinstance(q, wq.Phrase):
        words[0] += len(q.words)
        if not has_positions(reader.schema, q.fieldname):
            # `title:"premier ministre"`: the title field keeps no positions,
            # so the words are required there, in any order.
            return wq.And([wq.Term(q.fieldname, w, boost=q.boost) for w in q.words[:MAX_WORDS]])
        if len(q.words) > MAX_WORDS:
            return wq.Phrase(q.fieldname, q.words[:MAX_WORDS], slop=q.slop, boost=q.boost)
        return q
    if q.is_leaf():
        return q
    return q.apply(lambda sub: _bound(sub, reader, result, words)).normalize()
