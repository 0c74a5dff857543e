""""Did you mean": the query with its unknown words replaced by the index's
own nearest words, accents restored (``presidentiele`` → ``présidentielle``).

Candidates come from the ``exact`` field (folded, unstemmed words as they
appear in the articles); the accents come back from an article that holds
the chosen word, so the suggestion is spelt as the articles spell it.
"""

from __future__ import annotations

from collections import Counter
from itertools import islice

from whoosh import query as wq
from whoosh.searching import Searcher

from .query import MAX_WORDS, ParsedQuery, nearest_words

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
            text = stored.get(fieldname) or ""
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
    # Only the words a query searches (the first MAX_WORDS) are worth a scan
    # of the index for their nearest words; most were scanned while parsing.
    for i, token in enumerate(analyzer(text, chars=True, mode="query")):
        near = parsed.corrections.get(text[token.startchar : token.endchar])  # [] looked up, none near
        if near is None and i < MAX_WORDS:
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
