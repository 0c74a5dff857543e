"""From what a reader typed to a bounded Whoosh query.

The syntax: plain words; ``"quoted phrases"``; ``-word`` to exclude; ``OR``;
``prefix*``; ``title:word``; ``word~`` for typo tolerance. Everything goes
through the index's own analysers (``ix.schema``), so ``écoles`` and
``ecoles`` are the same query. A query that does not parse as syntax is
searched as plain words, never an error.

Every query is bounded: the text's length, the number of words, how many
index terms a prefix, wildcard or fuzzy word may expand to. The parser is
Whoosh's, with plugins: :mod:`.synonym_query` adds the site's synonyms,
:mod:`.typos` searches unknown words as their nearest known ones, then
:mod:`.bounds` expands and bounds the parsed query and :mod:`.proximity`
adds the bonus for words found side by side.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from whoosh import query as wq
from whoosh.fields import Schema
from whoosh.qparser import (
    FuzzyTermPlugin,
    MultifieldParser,
    OperatorsPlugin,
    PhrasePlugin,
    PlusMinusPlugin,
    PrefixPlugin,
    WildcardPlugin,
    syntax,
)
from whoosh.qparser.plugins import Plugin
from whoosh.reading import IndexReader

from ..errors import QueryError
from ..text.normalize import clean
from ..text.synonyms import SynonymMatcher, Synonyms
from .bounds import Budget, bound
from .clauses import ClausesGroup
from .dates import with_publication_dates
from .limits import MAX_QUERY_CHARS, MAX_WORDS
from .proximity import pair_bonus
from .synonym_query import Expansion, SynonymPlugin
from .typos import TypoPlugin
from .weighting import FIELD_BOOSTS

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
    #: Synonyms added to the query (see :mod:`.synonym_query`), in query order.
    expanded: list[Expansion] = field(default_factory=list)
    #: What the query's bounds left out (:mod:`.limits`), for the reader to know.
    notes: list[str] = field(default_factory=list)

    def highlight_terms(self) -> set[tuple[str, str]]:
        """(field, term) pairs worth highlighting in titles and snippets."""
        terms = set()
        for fieldname, text in self.query.iter_all_terms(phrases=True):
            if isinstance(text, bytes):
                text = text.decode("utf-8", "replace")
            terms.add((fieldname, text))
        return terms


def clean_text(q: str) -> str:
    """``q`` cleaned (:func:`searchsvc.text.normalize.clean`), within :data:`MAX_QUERY_CHARS`."""
    q = clean(q)
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


class PhraseWordsPlugin(Plugin):
    """A quoted phrase among other words also counts its words one by one.

    Articles holding the phrase (and every other word) still come first,
    since holding it means holding its words; among the partial matches,
    an article that says it in other words now gets the credit of its words
    instead of none. A lead or a sentence pasted with its quotations
    («  a dénoncé "l'indécence, la haine et la bêtise" ») otherwise lost its
    rarest words whenever the article words them differently. A phrase
    alone stays strict, and so do an excluded one (``-"…"``) and a query
    with operators.
    """

    def filters(self, parser):
        return [(self.add_words, 103)]  # before TypoPlugin (104) and MultifieldPlugin (110)

    def add_words(self, parser, group):
        if not PHRASE_WORDS:
            return group
        clauses = [n for n in group if not isinstance(n, syntax.Whitespace)]
        if len(clauses) < 2 or any(isinstance(n, syntax.Operator) for n in clauses):
            return group  # a lone phrase, or operators (OR, NOT…) whose operands must stay as typed
        added = group.empty_copy()
        after_minus = False
        for node in group:
            added.append(node)
            if isinstance(node, PhrasePlugin.PhraseNode) and node.fieldname is None and not after_minus:
                words = _PHRASE_WORD.findall(node.text)
                if len(words) >= 2:
                    added.extend(TypoPlugin.word(word, node) for word in words)
            if not isinstance(node, syntax.Whitespace):
                after_minus = isinstance(node, RequireExcludePlugin.Minus)
        return added


#: Whether a quoted phrase among other words also counts its words (a lever
#: of ``bench/tune_relevance.py``).
PHRASE_WORDS = True
_PHRASE_WORD = re.compile(r"[^\s\"«»“”]+")


class StarWildcardPlugin(WildcardPlugin):
    """``*`` is the only wildcard: ``?`` ends questions (« … de Noël? »), and
    as Whoosh's one-letter wildcard it would silently drop their last word."""

    qmarks = ""
    expr = "(?P<text>[*])"


class RequireExcludePlugin(PlusMinusPlugin):
    """``+word`` required, ``-word`` excluded, only at the start of a word (so
    that "États-Unis" stays one word) and never before a digit (``-1,4
    million``, ``-5 °C`` are numbers). Whoosh's own version always regroups
    the query into a plain OR, which would merge the words' own ORs."""

    def __init__(self, excluded: set[str] | None = None) -> None:
        super().__init__(plusexpr=r"(?:^|(?<=\s))\+(?=\S)", minusexpr=r"(?:^|(?<=\s))-(?=[^\s\d])")
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
    schema: Schema,
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
            PhraseWordsPlugin(),
            ExactFieldPlugin(),
            TypoPlugin(reader, corrections),
        ]
    )
    if synonyms is not None and synonyms.table:
        parser.add_plugin(SynonymPlugin(synonyms, reader, [] if expanded is None else expanded, corrections, MAX_WORDS))
    return parser


def parse(q: str, schema: Schema, reader: IndexReader, synonyms: Synonyms | None = None) -> ParsedQuery:
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
    budget = Budget.for_index(reader)
    result.query = bound(parsed, reader, result.excluded, budget)
    result.notes = budget.notes
    # Only stop words (`les`, `jusqu'à`): their exact forms. Not `mon*` (a
    # prefix, though `mon` is a stop word), and never with excluded words:
    # `-macron` or `les -macron` must not turn into a search for `macron`.
    if not result.excluded and (
        result.query is wq.NullQuery
        or (not _expands(parsed) and not list(schema["text"].analyzer(text, mode="query")))
    ):
        result.query, result.bonus = _stop_words_only(text, schema, result.query)
        return result
    result.bonus = pair_bonus(result.query)
    result.query = with_publication_dates(result.query, text, schema, result.excluded)
    return result


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


def _stop_words_only(text: str, schema, fallback: wq.Query) -> tuple[wq.Query, wq.Query | None]:
    """A query whose words are all stop words (``jusqu'à``, ``cette fois``):
    search their exact forms in the ``exact`` field, articles holding them in
    that order first. The order is checked on the best candidates only, as
    the pair bonus is: stop words are in most articles, and reading all
    their positions took a second at 250,000 articles."""
    words = [t.text for t in schema["exact"].analyzer(_SYNTAX.sub(" ", text))]
    words = words[:MAX_WORDS]
    if not words:
        return fallback, None
    if len(words) == 1:
        return wq.Term("exact", words[0]), None
    return wq.And([wq.Term("exact", w) for w in words]), wq.Phrase("exact", words, boost=2.0)
