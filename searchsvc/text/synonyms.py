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

This module reads the file and compiles its rules for an index's analyser
(:class:`SynonymMatcher`); :mod:`searchsvc.search.synonym_query` applies them
to the words of a query.

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

from whoosh.analysis import Analyzer

from .analysis import french_analyzer
from .wordfiles import MAX_LOGGED, LineProblem, WatchedFile, log_problems, read_word_file

#: How much a synonym counts against the words typed (at most: a synonym
#: rarer than the word typed is weighted down further, see
#: searchsvc.search.synonym_query.SynonymPlugin).
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
    lines: Iterable[tuple[int, str]], path: str = "", analyzer: Analyzer | None = None
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

    def matcher(self, analyzer: Analyzer) -> SynonymMatcher:
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


__all__ = [
    "MAX_ALTERNATIVES", "MAX_ENTRY_TERMS", "NO_SYNONYMS", "SYNONYM_WEIGHT", "Alternative", "Rule",
    "SynonymMatcher", "Synonyms", "SynonymsFile", "load_synonyms", "parse_line", "parse_synonyms",
]  # fmt: skip
