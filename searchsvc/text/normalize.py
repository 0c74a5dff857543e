"""Text normalisation, written once: what every layer means by "the same text".

* :func:`clean`: text as typed, made safe to parse, store and show (NFC,
  control and bidi-override characters out, single spaces);
* :func:`fold`: a word lowercased, without accents or ligatures (the
  analysis chain's folding, so ``université`` and ``UNIVERSITE`` meet);
* :func:`fold_text`: a whole text cleaned and folded (the query log groups
  ``Élysée``, ``elysee`` and `` ELYSÉE `` as one query);
* :func:`strip_accents`: accents and ligatures removed, case kept (a query
  typed as many readers type it).
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from unidecode import unidecode

# Apostrophes typed in French text: ASCII, typographic right and left quotes,
# the modifier letter apostrophe, and the prime that some keyboards produce.
APOSTROPHES = "'\u2019\u2018\u02bc\u2032`\u00b4"
#: Hyphen-minus, hyphen, non-breaking hyphen.
HYPHENS = "-\u2010\u2011"
#: Every apostrophe as ``'``.
APOSTROPHE_TABLE = str.maketrans({c: "'" for c in APOSTROPHES[1:]})

#: Control, zero-width and bidi-override characters: never parsed, stored or shown.
CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]")

_LIGATURES = str.maketrans({"œ": "oe", "æ": "ae", "ß": "ss"})
_LIGATURES_KEEPING_CASE = str.maketrans({"œ": "oe", "Œ": "OE", "æ": "ae", "Æ": "AE"})


def clean(text: str) -> str:
    """NFC, control and bidi-override characters as spaces, single spaces, stripped."""
    text = unicodedata.normalize("NFC", CONTROL.sub(" ", text))
    return " ".join(text.split())


def _fold(text: str) -> str:
    text = text.lower().translate(_LIGATURES)
    if text.isascii():
        return text
    text = "".join(c for c in unicodedata.normalize("NFD", text) if not unicodedata.combining(c))
    if text.isascii():
        return text
    out = []
    for c in text:
        if c.isascii() or "LATIN" not in unicodedata.name(c, ""):
            out.append(c)
        else:
            plain = unidecode(c).lower()
            out.append(plain if plain.isalnum() else c)
    return unicodedata.normalize("NFC", "".join(out))


@lru_cache(maxsize=200_000)
def fold(word: str) -> str:
    """Lowercase ``word`` and remove its accents and ligatures.

    NFD decomposition drops combining marks (é → e); what remains outside
    ASCII (ø, ł, đ…) goes through unidecode one Latin letter at a time, while
    letters of other scripts are kept as they are (unidecode would turn them
    into several words). Remembered: the chain folds the same words all day.
    """
    return _fold(word)


def fold_text(text: str) -> str:
    """``text`` cleaned, folded as :func:`fold` folds a word, apostrophes as ``'``
    (not remembered: texts, unlike words, rarely repeat)."""
    return _fold(clean(text).translate(APOSTROPHE_TABLE))


def strip_accents(text: str) -> str:
    """``text`` without accents or ligatures, its case kept (``Œuvre`` → ``Oeuvre``)."""
    text = unicodedata.normalize("NFD", text.translate(_LIGATURES_KEEPING_CASE))
    return unicodedata.normalize("NFC", "".join(c for c in text if not unicodedata.combining(c)))
