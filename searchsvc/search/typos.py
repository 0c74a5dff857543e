"""Typos forgiven: a word that matches nothing is searched as the index's
nearest words (one edit, two from 8 letters on), and ``word~`` expands to
the words within its distance.

Distances come from rapidfuzz (C++, a transposition counts as one edit),
over the ``exact`` words sharing the typed word's first letters: a typo
rarely hits them, and the scan stays bounded.
"""

from __future__ import annotations

from rapidfuzz import process as rf_process
from rapidfuzz.distance import OSA
from whoosh.fields import Schema
from whoosh.qparser import syntax
from whoosh.qparser.plugins import Plugin
from whoosh.reading import IndexReader

from .limits import MAX_EXPANSIONS, MAX_SCANNED, MAX_TYPO_LOOKUPS, MAX_WORDS
from .postings import doc_frequency, in_live_documents, terms_with_prefix
from .synonym_query import SynonymGroup
from .weighting import TEXT_FIELDS


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
        #: ``bounds.bound``), so only they are worth an index scan for their typos.
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

    def nearest(self, schema: Schema, text: str) -> list[str]:
        stems = [t.text for t in schema["text"].analyzer(text, mode="query")]
        if not stems or any(in_live_documents(self.reader, f, s) for s in stems for f in TEXT_FIELDS):
            return []
        words = [t.text for t in schema["exact"].analyzer(text, mode="query")]
        if len(words) != 1 or len(self.corrections) >= MAX_TYPO_LOOKUPS:
            return []  # past MAX_TYPO_LOOKUPS, unknown words are searched as typed
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
    if not needs_look_up(reader, word):
        return []
    return within_distance(reader, "exact", word, 1 if len(word) < 8 else 2, prefix=2)[:limit]


def needs_look_up(reader: IndexReader, word: str) -> bool:
    """Whether ``word`` (folded) is one :func:`nearest_words` scans the
    vocabulary for: a word of 4 letters or more that the index lacks."""
    return len(word) >= 4 and word.isalpha() and not in_live_documents(reader, "exact", word)


def within_distance(reader: IndexReader, fieldname: str, word: str, maxdist: int, prefix: int) -> list[str]:
    """Index words of ``fieldname`` within ``maxdist`` edits of ``word`` and
    sharing its first ``prefix`` letters, most frequent first (bounded)."""
    candidates = terms_with_prefix(reader, fieldname, word[:prefix], MAX_SCANNED * 10)
    near = rf_process.extract(word, candidates, scorer=OSA.distance, score_cutoff=maxdist, limit=None)
    near.sort(key=lambda m: (m[1], -doc_frequency(reader, fieldname, m[0])))
    found = []
    for choice, _, _ in near:
        # Words of deleted (retracted) articles only are no suggestion.
        if choice != word and in_live_documents(reader, fieldname, choice):
            found.append(choice)
            if len(found) == MAX_EXPANSIONS:
                break
    return found
