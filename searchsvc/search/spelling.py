""""Did you mean": the query with its unknown words replaced by the index's
own nearest words, accents restored (``presidentiele`` → ``présidentielle``).

Candidates come from the ``exact`` field (folded, unstemmed words as they
appear in the articles); the accents come back from an article that holds
the chosen word, so the suggestion is spelt as the articles spell it.
"""

from __future__ import annotations

import unicodedata
from collections import Counter
from collections.abc import Iterator
from functools import lru_cache
from itertools import islice

from whoosh import query as wq
from whoosh.searching import Searcher

from ..text.analysis import TOKEN_PATTERN, analyze_word
from ..text.normalize import APOSTROPHES, fold
from .limits import MAX_TYPO_LOOKUPS, MAX_WORDS
from .parsing import ParsedQuery
from .typos import nearest_words, needs_look_up

#: Articles read to find how a suggested word is written.
SURFACE_SAMPLES = 3


def written_form(searcher: Searcher, folded: str) -> str:
    """How articles write ``folded`` (accents and all), lowercased unless it
    is always capitalised (a name)."""
    analyzer = searcher.schema["exact"].analyzer
    forms: Counter[str] = Counter()
    # The first articles holding the word, read without ranking: a few postings,
    # however common the word (a ranked search would score all of them).
    for docnum in islice(searcher.docs_for_query(wq.Term("exact", folded)), SURFACE_SAMPLES):
        stored = searcher.stored_fields(docnum)
        for fieldname in ("title", "body"):
            forms.update(_written_as(analyzer, stored.get(fieldname) or "", folded))
    if not forms:
        return folded
    lowered = Counter()
    for form, n in forms.items():
        lowered[form.lower()] += n
    best = lowered.most_common(1)[0][0]
    if all(form[:1].isupper() for form in forms):
        return max((f for f in forms if f.lower() == best), key=forms.__getitem__)
    return best


_NO_APOSTROPHES = str.maketrans("", "", APOSTROPHES)


@lru_cache(maxsize=100_000)
def _plain(word: str) -> str:
    """``word`` folded, apostrophes left out: every term the word gives is part of it."""
    return fold(word).translate(_NO_APOSTROPHES)


def _written_as(analyzer, text: str, folded: str) -> Iterator[str]:
    """How ``text`` writes the term ``folded``, each time it holds it: the
    exact chain's own cut (word by word, as :func:`analyze_word` says the
    chain allows), run only on the words that could hold the term."""
    if not unicodedata.is_normalized("NFC", text):  # as the tokenizer does
        text = unicodedata.normalize("NFC", text)
    for match in TOKEN_PATTERN.finditer(text):
        word = match.group()
        if folded in _plain(word):
            for part in analyze_word(analyzer, word):
                if part.term == folded:
                    yield word[part.start : part.end]


def suggestion_for(parsed: ParsedQuery, searcher: Searcher) -> str | None:
    """The corrected query, or ``None`` when every word is known to the index."""
    analyzer = searcher.schema["exact"].analyzer
    text = parsed.text
    replaced: list[tuple[int, int, str]] = []
    # Only the words a query searches (the first MAX_WORDS) are worth a scan
    # of the index for their nearest words; most were scanned while parsing,
    # and no more than MAX_TYPO_LOOKUPS in all.
    lookups = len(parsed.corrections)
    for i, token in enumerate(analyzer(text, chars=True, mode="query")):
        if text[token.endchar : token.endchar + 1] in (":", "~", "*", "?"):
            continue  # a field name (`title:`), a word searched with its typos (`word~`), a prefix (`prési*`)
        if token.startchar and text[token.startchar - 1] in ("*", "?"):
            continue  # the rest of a wildcard (`pr?sident`)
        near = parsed.corrections.get(text[token.startchar : token.endchar])  # [] looked up, none near
        if near is None and i < MAX_WORDS and needs_look_up(searcher.reader(), token.text):
            if lookups >= MAX_TYPO_LOOKUPS:
                continue
            lookups += 1
            near = nearest_words(searcher.reader(), token.text)
        if near:
            replaced.append((token.startchar, token.endchar, written_form(searcher, near[0])))
    if not replaced:
        return None
    out, last = [], 0
    for start, end, form in replaced:
        out.append(text[last:start])
        out.append(form)
        last = end
    out.append(text[last:])
    return "".join(out)
