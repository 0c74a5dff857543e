""""Did you mean": the query with its unknown words replaced by the index's
own nearest words, accents restored (``presidentiele`` → ``présidentielle``).

Candidates come from the ``exact`` field (folded, unstemmed words as they
appear in the articles); the accents come back from an article that holds
the chosen word, so the suggestion is spelt as the articles spell it.
"""

from __future__ import annotations

from collections import Counter

from whoosh import query as wq
from whoosh.searching import Searcher

from .query import ParsedQuery, nearest_words

#: Articles read to find how a suggested word is written.
SURFACE_SAMPLES = 3


def written_form(searcher: Searcher, folded: str) -> str:
    """How articles write ``folded`` (accents and all), lowercased unless it
    is always capitalised (a name)."""
    analyzer = searcher.schema["exact"].analyzer
    forms: Counter[str] = Counter()
    for hit in searcher.search(wq.Term("exact", folded), limit=SURFACE_SAMPLES):
        for fieldname in ("title", "body"):
            text = hit.get(fieldname) or ""
            for token in analyzer(text, chars=True):
                if token.text == folded:
                    forms[text[token.startchar : token.endchar]] += 1
    if not forms:
        return folded
    lowered = Counter()
    for form, n in forms.items():
        lowered[form.lower()] += n
    best = lowered.most_common(1)[0][0]
    if all(form[:1].isupper() for form in forms):
        return max((f for f in forms if f.lower() == best), key=forms.__getitem__)
    return best


def suggestion_for(parsed: ParsedQuery, searcher: Searcher) -> str | None:
    """The corrected query, or ``None`` when every word is known to the index."""
    analyzer = searcher.schema["exact"].analyzer
    text = parsed.text
    replaced: list[tuple[int, int, str]] = []
    for token in analyzer(text, chars=True, mode="query"):
        word = token.text
        near = parsed.corrections.get(text[token.startchar : token.endchar]) or nearest_words(
            searcher.reader(), word
        )
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
