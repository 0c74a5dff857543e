"""Protected words: indexed as written (folded), never stemmed.

Snowball cuts ``France`` to ``franc``, so « France » found every article about
the currency. A protected word is folded like any other (case, accents and
ligatures do not matter: ``France``, ``FRANCE`` and ``france`` are the same
word) but keeps its ending, so it matches exactly that word: not ``franc``,
``francs`` or ``français``, and not its own plural unless the plural is
listed too (``Frances`` is stemmed as usual).

The list is part of the analysis chain: :func:`searchsvc.text.schema.build_schema`
puts it in the ``title`` and ``text`` analysers, which are pickled into the
index, so queries use the list the index was built with. Changing the file
therefore needs a reindex; the service compares the file with the index's
own list and says so in ``/api/health`` until then.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass

from whoosh.fields import Schema

from .analysis import STOP_WORDS, FrenchStemFilter, split_word
from .normalize import fold
from .wordfiles import LineProblem, WatchedFile, default_path, log_problems, read_word_file

FILENAME = "protected_words.txt"


@dataclass(frozen=True)
class ProtectedWords:
    """A protected-word list as loaded: the folded words, and the lines ignored."""

    words: frozenset[str] = frozenset()
    problems: tuple[LineProblem, ...] = ()
    path: str = ""
    digest: str = ""


def parse_protected_words(lines: Iterable[tuple[int, str]], path: str = "") -> tuple[frozenset[str], list[LineProblem]]:
    """The folded words of ``(line number, text)`` pairs, one word a line."""
    words: set[str] = set()
    problems: list[LineProblem] = []
    for number, text in lines:
        parts = [fold(p) for p, _, _ in split_word(text)] if " " not in text.strip() else []
        if len(parts) != 1 or not parts[0].isalnum():
            problems.append(LineProblem(path, number, f"«{text}»: one word a line (no spaces, hyphens or apostrophes)"))
        elif parts[0] in STOP_WORDS:
            problems.append(LineProblem(path, number, f"«{text}» is a stop word: it is not indexed at all"))
        else:
            words.add(parts[0])
    return frozenset(words), problems


def load_protected_words(path: str | os.PathLike[str] | None) -> ProtectedWords:
    """The list in ``path`` (a missing file, or none: no protected words)."""
    read = read_word_file(path)
    words, problems = parse_protected_words(read.lines, read.path)
    problems = read.problems + problems
    log_problems("protected words", problems)
    return ProtectedWords(words, tuple(problems), read.path, read.digest)


def default_words() -> frozenset[str]:
    """The shipped list (``index_data/protected_words.txt``): what
    ``SEARCHSVC_PROTECTED_WORDS`` defaults to."""
    return load_protected_words(default_path(FILENAME)).words


class ProtectedWordsFile(WatchedFile[ProtectedWords]):
    """The configured protected-word list, reloaded when the file changes."""

    def __init__(self, path: str | os.PathLike[str] | None) -> None:
        super().__init__(path, load_protected_words)


def protected_in(schema: Schema) -> frozenset[str]:
    """The protected words an index was built with (its ``text`` analyser's)."""
    if "text" not in schema:
        return frozenset()
    for item in getattr(schema["text"].analyzer, "items", ()):
        if isinstance(item, FrenchStemFilter):
            return item.protected
    return frozenset()


def describe_change(built: frozenset[str], wanted: frozenset[str], shown: int = 5) -> str:
    """``added: a, b; removed: c`` between two lists (at most ``shown`` of each)."""

    def some(words: set[str]) -> str:
        listed = sorted(words)
        return ", ".join(listed[:shown]) + (f" (+{len(listed) - shown})" if len(listed) > shown else "")

    parts = []
    if wanted - built:
        parts.append(f"added: {some(wanted - built)}")
    if built - wanted:
        parts.append(f"removed: {some(built - wanted)}")
    return "; ".join(parts)


__all__ = [
    "ProtectedWords", "ProtectedWordsFile", "default_words", "describe_change", "load_protected_words",
    "parse_protected_words", "protected_in",
]  # fmt: skip
