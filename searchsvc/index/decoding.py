"""Bytes of a site owner's file to text: UTF-8, legacy Windows-1252, and
UTF-8 that was once mis-decoded (mojibake), repaired; anything else refused
with a reason rather than indexed as garbage."""

from __future__ import annotations

import re
import unicodedata

from .documents import InputError

_CONTROL = re.compile("[\x01-\x08\x0b\x0e-\x1f\x7f]")
# Signs of UTF-8 text that was once decoded as Windows-1252 ("Ã©" for "é").
MOJIBAKE = re.compile(
    "[ÃÂâÅ][\u0080-\u00bf\u0152\u0153\u0160\u0161\u0178\u017d\u017e\u2018-\u203a\u20ac\u2122]"
)


def _cp1252_table() -> dict[str, int]:
    """Each character that Windows-1252 decoding produces for a byte >= 0x80.

    The five bytes Windows-1252 leaves undefined (0x81, 0x8D, 0x8F, 0x90, 0x9D)
    usually come out of a mis-decoding as the C1 control of the same number.
    """
    table = {}
    for byte in range(0x80, 0x100):
        try:
            char = bytes([byte]).decode("cp1252")
        except UnicodeDecodeError:
            char = chr(byte)
        table[char] = byte
    return table


_CP1252 = _cp1252_table()
_CONTINUATION = re.escape("".join(c for c, b in _CP1252.items() if 0x80 <= b <= 0xBF))
# One mis-decoded UTF-8 sequence of the kinds French text produces: Ã… (the
# accented Latin-1 letters), Â… (no-break space, « », °), Å… (œ, Œ) and
# â€… (’ “ ” – — … €). Other lead bytes are left alone: "é\u00a0»" or
# "É\u00a0!" are ordinary French, not mojibake.
_MOJIBAKE_SEQUENCE = re.compile(f"[ÃÂÅ][{_CONTINUATION}]|â[{_CONTINUATION}]{{2}}")


def repair_mojibake(text: str) -> str:
    """Undo UTF-8 that was decoded as Windows-1252 ("Ã©tÃ©" → "été").

    The whole text is re-decoded when it can be (every non-ASCII character
    then came from a mis-decoding); otherwise each mis-decoded sequence is
    repaired on its own, so a text that mixes mojibake with correct accents,
    or a file that mixes UTF-8 with Windows-1252 bytes, is repaired too.
    Raises :class:`InputError` when signs of mojibake are left.
    """
    try:
        return text.encode("cp1252").decode("utf-8")
    except UnicodeError:
        pass

    def one(m: re.Match[str]) -> str:
        try:
            return bytes(_CP1252[c] for c in m.group()).decode("utf-8")
        except UnicodeDecodeError:
            return m.group()

    text = _MOJIBAKE_SEQUENCE.sub(one, text)
    left = MOJIBAKE.search(text)
    if left:
        raise InputError(
            f"double-encoded UTF-8 (mojibake) that cannot be repaired: {left.group()!r} "
            f"at character {left.start()}"
        )
    return text


def decode(raw: bytes) -> tuple[str, str | None]:
    """Decode a file's bytes to NFC text, with a note when it was not plain UTF-8.

    UTF-8, with or without BOM, is read as such; a file that is not valid
    UTF-8 is read as Windows-1252, the usual legacy French encoding (UTF-8
    sequences mixed into it are repaired); UTF-8 text that was once
    mis-decoded ("Ã©tÃ©") is repaired, or refused when it cannot be. Anything
    else, binary data and UTF-16 included, raises :class:`InputError` rather
    than indexing garbage.
    """
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise InputError("UTF-16 text: convert it to UTF-8")
    if b"\x00" in raw:
        raise InputError("binary file (contains NUL bytes), not a text article")
    note = None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        try:
            text = raw.removeprefix(b"\xef\xbb\xbf").decode("cp1252")
        except UnicodeDecodeError:
            raise InputError(
                f"neither UTF-8 nor Windows-1252 (invalid byte at offset {e.start}); "
                "convert it to UTF-8"
            ) from None
        note = f"not UTF-8 (invalid byte at offset {e.start}): read as Windows-1252"
        if MOJIBAKE.search(text):
            # UTF-8 and Windows-1252 mixed in one file: "Ã©" is a UTF-8 "é".
            text = repair_mojibake(text)
            note += ", with the UTF-8 parts repaired"
    else:
        if MOJIBAKE.search(text):
            text = repair_mojibake(text)
            note = "double-encoded UTF-8 (mojibake) repaired"
    controls = len(_CONTROL.findall(text))
    if controls > max(2, len(text) // 1000):
        raise InputError(f"binary file ({controls} control characters), not a text article")
    return unicodedata.normalize("NFC", text), note
