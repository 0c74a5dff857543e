"""Word lists a site owner edits by hand: the synonyms and the protected words.

Both are plain UTF-8 text, one entry a line, ``#`` starting a comment. This
module reads them (every line with its number, and what is wrong, never an
exception) and notices when they change (:class:`WatchedFile`: a ``stat`` at
most once a second, a reload only when the file's size, time or inode moved).
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Generic, TypeVar

from ..config import project_dir

log = logging.getLogger(__name__)

#: A larger word list is not read: it would be a mistake (a corpus named by
#: accident), and would be parsed in every worker.
MAX_FILE_BYTES = 1_000_000

#: Problems logged per load; all of them are kept for the CLI and /api/health.
MAX_LOGGED = 20


@dataclass(frozen=True)
class LineProblem:
    """What is wrong with one line of a word list (``line`` ``None``: the whole file)."""

    path: str
    line: int | None
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.message}" if self.line else f"{self.path}: {self.message}"

    def to_dict(self) -> dict:
        return {"line": self.line, "message": self.message}


@dataclass
class WordFile:
    """A word list as read: its lines without comments (number, text), what
    went wrong reading it, and a digest of its bytes (``""`` when absent)."""

    path: str
    lines: list[tuple[int, str]] = field(default_factory=list)
    problems: list[LineProblem] = field(default_factory=list)
    digest: str = ""


def read_word_file(path: str | os.PathLike[str] | None) -> WordFile:
    """Read ``path``: a missing file (or no path) is an empty list, not an error;
    an unreadable, oversized or undecodable one is an empty list and a problem."""
    if not path:
        return WordFile("")
    name = str(path)
    result = WordFile(name)
    try:
        with open(path, "rb") as f:
            data = f.read(MAX_FILE_BYTES + 1)
    except FileNotFoundError:
        return result
    except OSError as e:
        result.problems.append(LineProblem(name, None, f"cannot be read ({e.strerror or e}): ignored"))
        return result
    if len(data) > MAX_FILE_BYTES:
        result.problems.append(LineProblem(name, None, f"larger than {MAX_FILE_BYTES:,} bytes: ignored"))
        return result
    result.digest = hashlib.sha256(data).hexdigest()[:16]
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = data.count(b"\n", 0, e.start) + 1
        result.problems.append(
            LineProblem(name, line, f"not UTF-8 (byte {data[e.start]:#04x}): the whole file is ignored")
        )
        return result
    for number, raw in enumerate(text.splitlines(), start=1):
        content = raw.split("#", 1)[0].strip()
        if content:
            result.lines.append((number, content))
    return result


def log_problems(what: str, problems: list[LineProblem]) -> None:
    """One warning per problem (at most :data:`MAX_LOGGED`), once per load."""
    for problem in problems[:MAX_LOGGED]:
        log.warning("%s: %s", what, problem)
    if len(problems) > MAX_LOGGED:
        log.warning("%s: … and %d more problems", what, len(problems) - MAX_LOGGED)


T = TypeVar("T")


class WatchedFile(Generic[T]):
    """The value loaded from a file, loaded again when the file changes.

    :meth:`current` costs nothing most of the time, a ``stat`` at most every
    :attr:`CHECK_EVERY` seconds, and a load (``load(path)``) only when the
    file's inode, modification time or size differ from the last load. Each
    process (each gunicorn worker) watches on its own.
    """

    CHECK_EVERY = 1.0

    def __init__(self, path: str | os.PathLike[str] | None, load: Callable[[str | None], T]) -> None:
        self.path = str(path) if path else None
        self.load = load
        self._lock = threading.Lock()
        self._value: T | None = None
        self._stamp: object = None
        self._next_check = 0.0

    def _file_stamp(self) -> object:
        if self.path is None:
            return None
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            return None
        except OSError as e:
            return ("error", e.errno)
        return (st.st_ino, st.st_mtime_ns, st.st_size)

    def current(self) -> T:
        """The value for the file as it is now (as of at most CHECK_EVERY seconds ago)."""
        now = time.monotonic()
        value = self._value
        if value is not None and now < self._next_check:
            return value
        with self._lock:
            if self._value is None or now >= self._next_check:
                self._next_check = now + self.CHECK_EVERY
                stamp = self._file_stamp()
                if self._value is None or stamp != self._stamp:
                    self._value = self.load(self.path)
                    self._stamp = stamp
            return self._value


def default_path(filename: str) -> Path:
    """``index_data/<filename>`` of the project (what the settings default to)."""
    return project_dir() / "index_data" / filename


__all__ = ["LineProblem", "WatchedFile", "WordFile", "default_path", "log_problems", "read_word_file"]
