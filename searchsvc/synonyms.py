"""Synonyms: the site's own vocabulary, applied at query time.

The file (``SEARCHSVC_SYNONYMS``, default ``index_data/synonyms.txt``) holds
one group a line, ``#`` starting a comment::

    otan, nato                 # equivalent: each finds the others
    ue => union européenne     # one way: typing ue also searches « union européenne »
    covid, covid-19, coronavirus, sars-cov-2

Entries are compared as the index analyses them (folded, stop words out,
stemmed, with the index's own analyser), so ``Union Européenne``, ``union
europeenne`` and ``unions européennes`` all match the entry « union
européenne ». A multi-word entry matches consecutive words of a query.

A word or run of words that matches becomes one clause of the query: what
was typed OR its synonyms, each synonym weighted :data:`SYNONYM_WEIGHT` and
never more than the words typed (see :class:`SynonymPlugin`), and searched as
a phrase when it has several words. Excluded words (``-otan``), quoted
phrases, ``prefix*``, ``word~`` and ``field:word`` are left as typed.

Malformed lines are reported with their line number (:class:`LineProblem`,
logged once per load, listed by ``searchsvc synonyms`` and ``/api/health``)
and ignored. Editing the file needs no reindex and no restart: every process
notices the change within a second (:class:`SynonymsFile`).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field

from whoosh import query as wq
from whoosh.qparser import syntax
from whoosh.qparser.plugins import Plugin, PlusMinusPlugin
from whoosh.reading import IndexReader

from .analysis import french_analyzer
from .scoring import bm25_idf
from .wordfiles import MAX_LOGGED, LineProblem, WatchedFile, log_problems, read_word_file

#: How much a synonym counts against the words typed (at most: a synonym
#: rarer than the word typed is weighted down further, see SynonymPlugin).
SYNONYM_WEIGHT = 0.5
#: Synonyms searched for one typed word or phrase (the first in the file).
MAX_ALTERNATIVES = 8
#: Index terms in one entry (``société nationale des chemins de fer français`` has 5).
MAX_ENTRY_TERMS = 8

ONE_WAY = "=>"


@dataclass(frozen=True)
class Rule:
    """One line of the file: typing any of ``sources`` also searches ``targets``.
    For an equivalence (``a, b, c``) both are the whole group."""

    line: int
    sources: tuple[str, ...]
    targets: tuple[str, ...]

    @property
    def equivalent(self) -> bool:
        return self.sources == self.targets


def _entries(part: str) -> tuple[str, ...]:
    entries = tuple(" ".join(e.split()) for e in part.split(","))
    if any(not e for e in entries):
        raise ValueError("an empty entry (two commas in a row, or a comma at an end)")
    return entries


def parse_line(text: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """``(sources, targets)`` of one line; raises ``ValueError`` saying what is wrong."""
    if ONE_WAY in text:
        pieces = text.split(ONE_WAY)
        if len(pieces) > 2:
            raise ValueError(f"more than one {ONE_WAY}")
        left, right = (p.strip() for p in pieces)
        if not left:
            raise ValueError(f"nothing before {ONE_WAY}")
        if not right:
            raise ValueError(f"nothing after {ONE_WAY}")
        return _entries(left), _entries(right)
    members = _entries(text)
    if len(members) < 2:
        raise ValueError(
            f"one entry alone: write « a, b » (each finds the other) or « a {ONE_WAY} b » (a finds b)"
        )
    return members, members


def parse_synonyms(
    lines: Iterable[tuple[int, str]], path: str = "", analyzer=None
) -> tuple[list[Rule], list[LineProblem]]:
    """The rules of ``(line number, text)`` pairs (comments already removed),
    and the problems of the lines left out. ``analyzer`` (default: the French
    chain) finds the entries that could never match: stop words only, or too long."""
    analyzer = analyzer or french_analyzer()
    rules, problems = [], []
    for number, text in lines:
        try:
            sources, targets = parse_line(text)
            for entry in dict.fromkeys(sources + targets):
                terms = [t.text for t in analyzer(entry, mode="query")]
                if not terms:
                    raise ValueError(f"«{entry}» holds only stop words: it can never match")
                if len(terms) > MAX_ENTRY_TERMS:
                    raise ValueError(f"«{entry}» is too long (at most {MAX_ENTRY_TERMS} words that count)")
        except ValueError as e:
            problems.append(LineProblem(path, number, f"{e}; line ignored"))
            continue
        rules.append(Rule(number, sources, targets))
    return rules, problems


@dataclass(frozen=True)
class Alternative:
    """A synonym to search: as written in the file, and as the index analyses it."""

    text: str
    terms: tuple[str, ...]


def _contains(terms: tuple[str, ...], key: tuple[str, ...]) -> bool:
    """Whether ``key`` occurs in ``terms`` as consecutive terms."""
    n = len(key)
    return any(terms[i : i + n] == key for i in range(len(terms) - n + 1))


class SynonymMatcher:
    """The rules compiled for one index analyser: analysed entry → its synonyms."""

    def __init__(self, rules: Iterable[Rule], analyzer) -> None:
        rules = tuple(rules)
        self.analyzer = analyzer
        self._terms: dict[str, tuple[str, ...]] = {}
        table: dict[tuple[str, ...], list[Alternative]] = {}
        for rule in rules:
            for source in rule.sources:
                key = self.terms(source)
                if not key:
                    continue
                alternatives = table.setdefault(key, [])
                for target in rule.targets:
                    terms = self.terms(target)
                    # Nothing to add: the same words, or words holding the typed
                    # ones (« covid-19 » finds nothing that « covid » does not).
                    if not terms or _contains(terms, key) or any(a.terms == terms for a in alternatives):
                        continue
                    alternatives.append(Alternative(target, terms))
        self.table = {key: tuple(alts) for key, alts in table.items() if alts}
        self.longest = max(map(len, self.table), default=0)
        #: Words (as typed, stop words included) an entry may span in a query.
        self.span = max((len(s.split()) for r in rules for s in r.sources), default=0) + 2

    def terms(self, text: str) -> tuple[str, ...]:
        """What the index's analyser makes of ``text`` (remembered: few distinct texts)."""
        found = self._terms.get(text)
        if found is None:
            found = tuple(t.text for t in self.analyzer(text, mode="query"))
            if len(self._terms) < 10_000:
                self._terms[text] = found
        return found

    def match(self, words: list[tuple[str, ...]], start: int) -> tuple[int, tuple[Alternative, ...]] | None:
        """The longest entry made of ``words[start:end]`` (each word's terms),
        as ``(end, synonyms)``; ``None`` when no entry starts at ``start``.
        Words with no terms (stop words) may sit inside an entry, not at its ends."""
        if not words[start]:
            return None
        found = None
        terms: tuple[str, ...] = ()
        for end in range(start + 1, min(len(words), start + self.span) + 1):
            terms += words[end - 1]
            if len(terms) > self.longest:
                break
            if words[end - 1] and terms in self.table:
                found = (end, self.table[terms])
        return found


@dataclass(frozen=True, eq=False)
class Synonyms:
    """A synonyms file as loaded: its rules, the lines ignored, and a version
    (a digest of its bytes; ``""`` when there is no file) for cache keys."""

    rules: tuple[Rule, ...] = ()
    problems: tuple[LineProblem, ...] = ()
    path: str = ""
    version: str = ""
    _compiled: list = field(default_factory=list, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def __bool__(self) -> bool:
        return bool(self.rules)

    def matcher(self, analyzer) -> SynonymMatcher:
        """The rules compiled for ``analyzer`` (an index's ``text`` analyser),
        compiled once per analyser (in practice, once per generation)."""
        for known, matcher in self._compiled:
            if known is analyzer:
                return matcher
        with self._lock:
            for known, matcher in self._compiled:
                if known is analyzer or known == analyzer:
                    self._compiled.append((analyzer, matcher))
                    break
            else:
                matcher = SynonymMatcher(self.rules, analyzer)
                self._compiled.append((analyzer, matcher))
            del self._compiled[:-4]  # analysers of the last few generations
            return matcher

    def summary(self) -> dict:
        """What ``/api/health`` shows: the groups in use and the first lines ignored."""
        return {"entries": len(self.rules), "problems": [p.to_dict() for p in self.problems[:MAX_LOGGED]]}


NO_SYNONYMS = Synonyms()


def load_synonyms(path: str | os.PathLike[str] | None) -> Synonyms:
    """The synonyms in ``path`` (a missing file, or none: no synonyms)."""
    read = read_word_file(path)
    rules, problems = parse_synonyms(read.lines, read.path)
    problems = read.problems + problems
    log_problems("synonyms", problems)
    return Synonyms(tuple(rules), tuple(problems), read.path, read.digest)


class SynonymsFile(WatchedFile[Synonyms]):
    """The configured synonyms, reloaded when the file changes (see :class:`WatchedFile`)."""

    def __init__(self, path: str | os.PathLike[str] | None) -> None:
        super().__init__(path, load_synonyms)


# --------------------------------------------------------------------------
# The query side


class SynonymOr(wq.Or):
    """A word or phrase typed, OR its synonyms: one clause of the query (the
    ranking counts it as one word); its first subquery is what was typed."""


class SynonymGroup(syntax.OrGroup):
    qclass = SynonymOr


class SynonymNode(syntax.WordNode):
    """A synonym in the syntax tree: searched in the same fields as the word
    it stands for, each field's weight times the synonym's ``weight``."""

    def __init__(self, text: str, weight: float) -> None:
        super().__init__(text)
        self.weight = weight

    def set_boost(self, boost: float):
        self.boost = boost * self.weight
        return self


@dataclass(frozen=True)
class Expansion:
    """Synonyms added to a query: ``typed`` (as typed) also searched as ``added``."""

    typed: str
    added: tuple[str, ...]

    def to_dict(self) -> dict:
        return {"from": self.typed, "to": list(self.added)}


def _words_in(group) -> int:
    """How many words a syntax tree searches (as the query's bound counts them)."""
    count = 0
    for node in group:
        if isinstance(node, syntax.GroupNode):
            count += _words_in(node)
        elif isinstance(node, syntax.TextNode):
            count += max(1, len(str(node.text).split()))
    return count


def _excludes(node) -> bool:
    """Whether ``node`` excludes the node after it (``-word``, ``NOT word``)."""
    if isinstance(node, PlusMinusPlugin.Minus):
        return True
    return isinstance(node, syntax.Operator) and node.grouptype is syntax.AndNotGroup


class SynonymPlugin(Plugin):
    """Adds the synonyms of the plain words of a query, before typo
    forgiveness and the fields are applied (a word with synonyms is known to
    the site, not a typo).

    Bounds: at most :data:`MAX_ALTERNATIVES` synonyms per word or phrase, and
    only as many as the query's word budget (``max_words``) leaves after the
    words typed, so synonyms never push a typed word out of the search.

    Ranking: a synonym weighs ``SYNONYM_WEIGHT × min(1, idf(typed) / idf(synonym))``
    (Robertson idf summed over the terms, in the ``text`` field): an article
    holding only the synonym scores at most half as much per occurrence as
    one holding the typed word, even when the synonym is the rarer word.
    """

    PRIORITY = 103  # after fields (100), before typos (104), exact (105), fields' spread (110)

    def __init__(
        self,
        matcher: SynonymMatcher,
        reader: IndexReader | None,
        expanded: list[Expansion],
        corrections: dict[str, list[str]],
        max_words: int,
    ) -> None:
        self.matcher = matcher
        self.reader = reader
        self.expanded = expanded
        self.corrections = corrections
        self.max_words = max_words
        self.spare = 0

    def filters(self, parser):
        return [(self.expand, self.PRIORITY)]

    def expand(self, parser, group):
        if not self.matcher.table:
            return group
        self.spare = self.max_words - _words_in(group)
        if self.spare <= 0:  # the words typed use the whole budget
            return group
        return self._expand(parser, group)

    def _expand(self, parser, group):
        nodes = list(group)
        out = []
        i = 0
        excluded = False
        while i < len(nodes):
            node = nodes[i]
            if node.is_ws():
                out.append(node)
                i += 1
                continue
            if excluded:  # the node after - or NOT stays as typed
                out.append(node)
                excluded = False
                i += 1
                continue
            if _excludes(node):
                excluded = True
                out.append(node)
                i += 1
                continue
            if isinstance(node, syntax.GroupNode):
                out.append(self._expand(parser, node))
                i += 1
                continue
            if not _plain(node):
                out.append(node)
                i += 1
                continue
            # A run of plain words, separated by spaces only.
            run = [i]
            j = i + 1
            while j < len(nodes):
                if nodes[j].is_ws():
                    j += 1
                    continue
                if _plain(nodes[j]):
                    run.append(j)
                    j += 1
                    continue
                break
            last = run[-1]
            out.extend(self._expand_run(parser, [nodes[k] for k in run], nodes, run))
            i = last + 1
        del group.nodes[:]
        group.nodes.extend(out)
        return group

    def _expand_run(self, parser, words: list, nodes: list, positions: list[int]) -> list:
        """The run of plain ``words`` (at ``positions`` in ``nodes``) with the
        entries it holds replaced by synonym groups (longest entry first)."""
        terms = [self.matcher.terms(w.text) for w in words]
        out = []
        k = 0
        while k < len(words):
            found = self.matcher.match(terms, k)
            group = self._synonym_group(parser, words[k : found[0]], terms[k : found[0]], found[1]) if found else None
            if group is None:
                # The word, and the spaces that followed it.
                end = positions[k + 1] if k + 1 < len(words) else positions[k] + 1
                out.extend(nodes[positions[k] : end])
                k += 1
                continue
            out.append(group)
            end = found[0]
            if end < len(words):
                out.extend(n for n in nodes[positions[end - 1] + 1 : positions[end]] if n.is_ws())
            k = end
        return out

    def _synonym_group(self, parser, words: list, terms: list[tuple[str, ...]], alternatives) -> SynonymGroup | None:
        typed_terms = tuple(t for word_terms in terms for t in word_terms)
        typed_idf = self._idf(typed_terms)
        added = []
        for alternative in alternatives[:MAX_ALTERNATIVES]:
            cost = 1 if len(alternative.terms) == 1 else 2 * len(alternative.text.split())
            if cost > self.spare:
                break
            self.spare -= cost
            weight = SYNONYM_WEIGHT
            if typed_idf:
                weight *= min(1.0, typed_idf / max(self._idf(alternative.terms), 1e-6))
            node = SynonymNode(alternative.text, weight)
            node.startchar, node.endchar = words[0].startchar, words[-1].endchar
            added.append(node)
        if not added:
            return None
        typed = words[0] if len(words) == 1 else syntax.AndGroup(words)
        typed_text = " ".join(w.text for w in words)
        expansion = Expansion(typed_text, tuple(n.text for n in added))
        if expansion not in self.expanded:
            self.expanded.append(expansion)
        # The typed words are the site's vocabulary: no typo look-up, no "did you mean".
        exact = parser.schema["exact"].analyzer if parser.schema and "exact" in parser.schema else None
        for word in words:
            for token in exact(word.text, chars=True, mode="query") if exact else ():
                self.corrections.setdefault(word.text[token.startchar : token.endchar], [])
        return SynonymGroup([typed, *added])

    def _idf(self, terms: tuple[str, ...]) -> float:
        if self.reader is None:
            return 0.0
        try:
            return sum(bm25_idf(self.reader, "text", t) for t in terms)
        except Exception:  # a reader without the field
            return 0.0


def _plain(node) -> bool:
    """A word typed without syntax or field (``otan``, not ``title:otan``, ``otan*``, ``"otan"``)."""
    return type(node) is syntax.WordNode and node.fieldname is None


__all__ = [
    "MAX_ALTERNATIVES", "NO_SYNONYMS", "SYNONYM_WEIGHT", "Alternative", "Expansion", "Rule", "SynonymGroup",
    "SynonymMatcher", "SynonymNode", "SynonymOr", "SynonymPlugin", "Synonyms", "SynonymsFile",
    "load_synonyms", "parse_line", "parse_synonyms",
]  # fmt: skip
