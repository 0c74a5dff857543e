"""Synonyms applied to a query: a parser plugin that adds the site's
synonyms (:mod:`searchsvc.text.synonyms`) to the words they match.

A word or run of words that matches becomes one clause of the query: what
was typed OR its synonyms, each synonym weighted
:data:`~searchsvc.text.synonyms.SYNONYM_WEIGHT` and never more than the words
typed (see :class:`SynonymPlugin`), and searched as a phrase when it has
several words. Excluded words (``-otan``), quoted phrases, ``prefix*``,
``word~`` and ``field:word`` are left as typed.
"""

from __future__ import annotations

from dataclasses import dataclass

from whoosh import query as wq
from whoosh.qparser import syntax
from whoosh.qparser.plugins import Plugin, PlusMinusPlugin
from whoosh.reading import IndexReader

from ..text.synonyms import MAX_ALTERNATIVES, SYNONYM_WEIGHT, SynonymMatcher
from .weighting import bm25_idf


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
