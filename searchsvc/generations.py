"""Index generations on disk: how a reindex swaps indexes under a live service.

An index folder holds numbered, complete Whoosh indexes and one pointer::

    index_dir/
      CURRENT         {"generation": 12}, replaced atomically (write, fsync, rename)
      gen-000012/     the Whoosh files, catalog.sqlite and manifest.json
      gen-000011/     the previous generation, kept for readers still on it
      reindex.lock    held (lockf) by the reindex under way, if any

A reindex builds a new ``gen-N`` beside the current one and only then moves
the pointer, so a crash at any moment leaves the previous generation whole
and in use. Readers (:class:`LiveIndex`) notice the pointer's move on their
next request and switch without a restart.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import re
import shutil
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from whoosh import index as whoosh_index
from whoosh.searching import Searcher

from . import whoosh_patches
from .analysis import ANALYSIS_VERSION
from .errors import IndexNotReady, ReindexInProgress
from .protected import ProtectedWordsFile, describe_change, protected_in
from .schema import build_schema, same_schema

log = logging.getLogger(__name__)

POINTER = "CURRENT"
LOCK = "reindex.lock"
MANIFEST = "manifest.json"
CATALOG = "catalog.json"
PREFIX = "gen-"


@dataclass(frozen=True)
class Generation:
    """One published index generation and what its manifest says of it."""

    number: int
    path: Path
    manifest: dict[str, Any]

    @property
    def documents(self) -> int:
        return int(self.manifest.get("documents", 0))


def generation_path(index_dir: Path, number: int) -> Path:
    return Path(index_dir) / f"{PREFIX}{number:06d}"


def _numbers(index_dir: Path) -> list[int]:
    found = []
    for entry in Path(index_dir).glob(f"{PREFIX}*"):
        suffix = entry.name[len(PREFIX) :]
        if suffix.isdigit():
            found.append(int(suffix))
    return sorted(found)


def pointer_number(index_dir: Path) -> int | None:
    """The generation number ``CURRENT`` points to, or ``None`` before the first build."""
    try:
        data = json.loads((Path(index_dir) / POINTER).read_text("utf-8"))
        return int(data["generation"])
    except FileNotFoundError:
        return None
    except (ValueError, KeyError, TypeError) as e:
        raise IndexNotReady(f"{Path(index_dir) / POINTER} is unreadable ({e}); run a reindex") from e


def read_generation(index_dir: Path, number: int) -> Generation:
    """Load a generation's manifest and check that its files are all there, whole.

    Raises :class:`IndexNotReady` naming what is missing or truncated.
    """
    path = generation_path(index_dir, number)
    try:
        manifest = json.loads((path / MANIFEST).read_text("utf-8"))
    except FileNotFoundError:
        raise IndexNotReady(f"generation {number} has no {MANIFEST}: {path} is incomplete") from None
    except ValueError as e:
        raise IndexNotReady(f"generation {number}: {MANIFEST} is damaged ({e})") from None
    generation = Generation(number, path, manifest)
    check_files(generation)
    return generation


def check_files(generation: Generation) -> None:
    """Check that every file of the manifest is there with its size (a ``stat`` each).

    Raises :class:`IndexNotReady` naming the first file missing or truncated.
    """
    for name, size in generation.manifest.get("files", {}).items():
        try:
            actual = (generation.path / name).stat().st_size
        except FileNotFoundError:
            raise IndexNotReady(f"generation {generation.number} is damaged: {name} is missing") from None
        if actual != size:
            raise IndexNotReady(
                f"generation {generation.number} is damaged: {name} has {actual} bytes, expected {size}"
            )


def current_generation(index_dir: Path) -> Generation | None:
    """The generation in use, checked whole; ``None`` when none was ever published."""
    number = pointer_number(index_dir)
    return None if number is None else read_generation(index_dir, number)


def next_number(index_dir: Path) -> int:
    return max([pointer_number(index_dir) or 0, *_numbers(index_dir)]) + 1


def fsync_path(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def seal(path: Path, manifest: dict[str, Any]) -> None:
    """Record every file's size in the manifest, then flush all of it to disk."""
    files = {}
    for entry in sorted(path.iterdir()):
        if entry.is_file() and entry.name != MANIFEST and not entry.name.endswith("LOCK"):
            fsync_path(entry)
            files[entry.name] = entry.stat().st_size
    manifest = {**manifest, "files": files}
    write_json_durably(path / MANIFEST, manifest)
    fsync_path(path)


def write_json_durably(target: Path, data: Any) -> None:
    """Write ``data`` so that readers see either the old file or the whole new one."""
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    with tmp.open("w", encoding="utf-8") as f:
        json.dump(data, f, ensure_ascii=False, separators=(",", ":"))
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, target)
    fsync_path(target.parent)


def publish(index_dir: Path, number: int) -> None:
    """Switch readers to generation ``number`` (atomic: a rename)."""
    write_json_durably(Path(index_dir) / POINTER, {"generation": number})


def cleanup(index_dir: Path, keep: int = 2) -> list[int]:
    """Remove generations other than the current one and the ``keep - 1`` before it.

    Unpublished leftovers of crashed builds go too. Call only while holding
    the reindex lock. Returns the numbers removed.
    """
    current = pointer_number(index_dir)
    if current is None:
        kept: set[int] = set()
    else:
        older = [n for n in _numbers(index_dir) if n < current]
        kept = {current, *older[len(older) - (keep - 1) :]} if keep > 1 else {current}
    removed = []
    for number in _numbers(index_dir):
        if number not in kept:
            shutil.rmtree(generation_path(index_dir, number), ignore_errors=True)
            removed.append(number)
    for stray in Path(index_dir).glob(".*.tmp"):
        stray.unlink(missing_ok=True)
    return removed


def switch(index_dir: Path, number: int | None = None, keep: int = 2) -> Generation:
    """Make generation ``number`` (default: the newest in the folder) the one in use.

    For generations built elsewhere and copied here (see the README's
    "Scaling out"), or to go back to an older one. The generation is checked
    whole against its manifest and opened before the pointer moves, so a
    half-copied folder is refused and the service keeps the one it has.
    Older generations beyond ``keep`` are removed; newer ones are left alone.
    """
    index_dir = Path(index_dir)
    with reindex_lock(index_dir):
        numbers = _numbers(index_dir)
        if number is None:
            if not numbers:
                raise IndexNotReady(f"no generation in {index_dir}: copy one there first")
            number = numbers[-1]
        elif number not in numbers:
            raise IndexNotReady(f"there is no generation {number} in {index_dir} (found: {numbers or 'none'})")
        generation = read_generation(index_dir, number)
        if generation.manifest.get("analysis") != ANALYSIS_VERSION:
            raise IndexNotReady(
                f"generation {number} was built with analysis {generation.manifest.get('analysis')!r}, "
                f"this version uses {ANALYSIS_VERSION!r}: build it with the same searchsvc version"
            )
        try:
            whoosh_index.open_dir(str(generation.path)).doc_count()
        except Exception as e:  # a copy Whoosh cannot open is not published
            raise IndexNotReady(f"generation {number} cannot be opened: {e}") from e
        publish(index_dir, number)
        older = [n for n in numbers if n < number]
        for old in older[: max(0, len(older) - (keep - 1))]:
            shutil.rmtree(generation_path(index_dir, old), ignore_errors=True)
        return generation


_THREAD_LOCKS: dict[str, threading.Lock] = {}
_THREAD_LOCKS_GUARD = threading.Lock()


@contextlib.contextmanager
def reindex_lock(index_dir: Path) -> Iterator[None]:
    """Hold the index folder's reindex lock, or raise :class:`ReindexInProgress`.

    The lock is a POSIX record lock (``lockf``): the kernel releases it when
    its process dies, even with ``kill -9``, so there is never a stale lock to
    clear by hand; and unlike ``flock`` it is not inherited by the writer's
    worker processes, so an orphaned worker cannot keep holding it.
    """
    path = Path(index_dir) / LOCK
    # POSIX locks do not exclude within one process: a thread lock does that.
    with _THREAD_LOCKS_GUARD:
        thread_lock = _THREAD_LOCKS.setdefault(str(path.resolve()), threading.Lock())
    if not thread_lock.acquire(blocking=False):
        raise ReindexInProgress(
            f"a reindex is already under way in {index_dir} (in this process); "
            "wait for it to finish, then run this one again"
        )
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    try:
        try:
            fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            holder = _lock_holder(fd)
            raise ReindexInProgress(
                f"a reindex is already under way in {index_dir}"
                + (f" ({holder})" if holder else "")
                + "; wait for it to finish, then run this one again"
            ) from None
        os.ftruncate(fd, 0)
        started = time.strftime("%Y-%m-%d %H:%M:%S")
        os.pwrite(fd, f"pid {os.getpid()}, started {started}".encode(), 0)
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock
        thread_lock.release()


def _lock_holder(fd: int) -> str:
    """``pid N, started …`` as the lock's holder wrote it, or "" if unknown.

    The holder writes it just after taking the lock: until then the file is
    empty or still names the previous holder, so wait a moment for a line
    naming a live process rather than report nothing, or a dead one.
    """
    for _ in range(20):
        text = os.pread(fd, 200, 0).decode("utf-8", "replace").strip()
        found = re.match(r"pid (\d+),", text)
        if found and _alive(int(found.group(1))):
            return text
        time.sleep(0.025)
    return ""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


# --------------------------------------------------------------------------
# The reader side

_NEVER = object()
#: What opening a generation raises when it cannot be served.
_OPEN_ERRORS = (IndexNotReady, OSError, whoosh_index.IndexError, ValueError, EOFError)


def _staleness(generation: Generation, ix: whoosh_index.Index) -> tuple[str | None, bool]:
    """Why the generation does not match this code (or ``None``), and whether
    it can still be searched (another analysis version: yes, with its own
    pickled analysers; another schema: no, the query code needs its fields).
    The protected words are compared apart (:meth:`LiveIndex.stale`): the
    file can change while the service runs."""
    if not same_schema(ix.schema, build_schema(protected_in(ix.schema))):
        return "the index was built with another schema by an older version: run `searchsvc reindex`", False
    built_with = generation.manifest.get("analysis")
    if built_with != ANALYSIS_VERSION:
        return (
            f"the index was built with analysis {built_with!r}, this version uses "
            f"{ANALYSIS_VERSION!r}: run `searchsvc reindex`"
        ), True
    return None, True


class LiveIndex:
    """The generation in use by a service, and a searcher per thread.

    Each call to :meth:`searcher` costs a ``stat`` of the pointer and one of
    each file of the generation in use. When the pointer moved, the new
    generation is opened and checked, and used from then on. A generation that
    is damaged (files missing or truncated, behind the service's back or
    before the pointer moved to it) is not served: the service answers from
    the last good one (the one in use, else the newest older generation that
    is whole) and reports the problem in :attr:`problem`; with none left, it
    has no index (503 with the reason). A segment file truncated while mapped
    would kill the process (``SIGBUS``) at the next read of a lost page: the
    per-request check finds it first. Whoosh searchers are not thread-safe, so
    each thread keeps its own and reuses it across requests.

    With ``protected_words`` (the configured list), :attr:`stale` also says
    when the list no longer matches the one the generation was built with.
    """

    #: Seconds between two attempts to open a generation that failed.
    RETRY_AFTER = 5.0

    def __init__(
        self, index_dir: str | os.PathLike[str], weighting=None, protected_words: ProtectedWordsFile | None = None
    ) -> None:
        whoosh_patches.install_reader()  # segment files shared through the page cache, not copied
        self.index_dir = Path(index_dir)
        self.weighting = weighting
        self.protected_words = protected_words
        #: The protected words of the generation in use (its analysers').
        self._built_protected: frozenset[str] = frozenset()
        self._protected_reported: tuple | None = None
        self._lock = threading.Lock()
        self._local = threading.local()
        self._stamp: tuple[int, int, int] | None | object = _NEVER  # the pointer last acted on
        self._retry_at = 0.0
        self.generation: Generation | None = None
        self.index: whoosh_index.Index | None = None
        #: Why the generation the pointer names is not the one served, if it is not.
        self.problem: str | None = None
        #: Why the generation in use does not match this code, if it does not (see :attr:`stale`).
        self._stale: str | None = None
        #: False when the generation cannot be searched by this code at all.
        self.searchable = True

    def _pointer_stamp(self) -> tuple[int, int, int] | None:
        try:
            st = os.stat(self.index_dir / POINTER)
        except FileNotFoundError:
            return None
        return (st.st_ino, st.st_mtime_ns, st.st_size)

    def _damage(self) -> str | None:
        """What is wrong with the files of the generation in use, if anything."""
        generation = self.generation
        if generation is None:
            return None
        try:
            check_files(generation)
        except IndexNotReady as e:
            return str(e)
        return None

    def _settled(self, stamp: tuple[int, int, int] | None) -> bool:
        """Nothing to do: same pointer, what is in use is whole, no retry due."""
        return (
            stamp == self._stamp
            and (self.problem is None or time.monotonic() < self._retry_at)
            and self._damage() is None
        )

    def refresh(self) -> None:
        """Open the generation the pointer names, if it is not the one in use;
        leave the one in use if it was damaged."""
        stamp = self._pointer_stamp()
        if self._settled(stamp):
            return
        with self._lock:
            if self._settled(stamp):
                return
            self._stamp = stamp
            try:
                generation, ix = self._open(None)
            except _OPEN_ERRORS as e:
                self._retry_at = time.monotonic() + self.RETRY_AFTER
                self._fall_back(str(e))
                return
            self._use(generation, ix, None)

    def _open(self, number: int | None) -> tuple[Generation, whoosh_index.Index]:
        """Open generation ``number`` (default: the pointer's), checked whole."""
        if number is None:
            generation = current_generation(self.index_dir)
            if generation is None:
                raise IndexNotReady(f"no index in {self.index_dir} yet; run `searchsvc reindex`")
        else:
            generation = read_generation(self.index_dir, number)
        ix = whoosh_index.open_dir(str(generation.path))
        if ix.doc_count() != generation.documents:
            raise IndexNotReady(
                f"generation {generation.number} holds {ix.doc_count()} documents, "
                f"its manifest says {generation.documents}"
            )
        return generation, ix

    def _fall_back(self, reason: str) -> None:
        """The pointer's generation cannot be served (``reason``): keep the one
        in use if it is whole, else the newest whole generation older than the
        pointer's, else none."""
        if self.index is not None and self._damage() is None:
            self._use(self.generation, self.index, reason)
            return
        with contextlib.suppress(IndexNotReady):
            pointer = pointer_number(self.index_dir)
            for number in sorted(_numbers(self.index_dir), reverse=True):
                if pointer is None or number >= pointer:
                    continue  # never a generation that was not published
                try:
                    generation, ix = self._open(number)
                except _OPEN_ERRORS:
                    continue
                if _staleness(generation, ix)[0] is None:
                    self._use(generation, ix, reason)
                    return
        if self.index is not None:
            log.error("generation %s can no longer be served: %s", self.generation.number, self._damage())
        self.generation = self.index = None
        if reason != self.problem:
            log.error("no usable index: %s", reason)
        self.problem = reason

    def _use(self, generation: Generation, ix: whoosh_index.Index, reason: str | None) -> None:
        """Serve ``generation``; ``reason`` says why it is not the pointer's."""
        problem = None if reason is None else f"{reason}; serving generation {generation.number}, the last good one"
        previous = self.generation
        if previous is not None and previous.number != generation.number:
            if reason is None:
                log.info("switched from generation %s to %s", previous.number, generation.number)
            else:
                log.error("falling back from generation %s to %s: %s", previous.number, generation.number, reason)
        elif reason is not None and problem != self.problem:
            log.error("%s generation %s: %s", "keeping" if previous else "serving", generation.number, reason)
        if ix is not self.index:
            self._stale, self.searchable = _staleness(generation, ix)
            self._built_protected = protected_in(ix.schema)
            if self._stale:
                log.warning("generation %s: %s", generation.number, self._stale)
        self.generation, self.index, self.problem = generation, ix, problem

    @property
    def stale(self) -> str | None:
        """Why the generation in use wants a reindex (another schema or analysis
        version, or other protected words than the configured file's), if it does."""
        return self._stale or self._protected_change()

    def _protected_change(self) -> str | None:
        generation = self.generation
        if self.protected_words is None or generation is None:
            return None
        wanted = self.protected_words.current()
        if wanted.words == self._built_protected:
            return None
        change = describe_change(self._built_protected, wanted.words)
        message = (
            f"the protected words changed since generation {generation.number} was built ({change}): "
            "run `searchsvc reindex`"
        )
        if self._protected_reported != (generation.number, wanted.digest):
            self._protected_reported = (generation.number, wanted.digest)
            log.warning("%s", message)
        return message

    def current(self) -> tuple[Generation, whoosh_index.Index]:
        """The generation in use and its index; raises :class:`IndexNotReady` if none."""
        self.refresh()
        if self.index is None or self.generation is None:
            raise IndexNotReady(self.problem or f"no index in {self.index_dir}")
        return self.generation, self.index

    def searcher(self) -> Searcher:
        """This thread's searcher on the current generation (reused, never per query).

        Raises :class:`IndexNotReady` when there is none, or when it was built
        with a schema this code cannot search.
        """
        generation, ix = self.current()
        if not self.searchable:
            raise IndexNotReady(self.stale or "the index cannot be searched: run `searchsvc reindex`")
        held = getattr(self._local, "held", None)
        if held is not None and held[0] == generation.number:
            return held[1]
        if held is not None:
            held[1].close()
        searcher = ix.searcher(weighting=self.weighting) if self.weighting else ix.searcher()
        self._local.held = (generation.number, searcher)
        return searcher

    def searcher_and_generation(self) -> tuple[Searcher, int]:
        """:meth:`searcher`, and the number of the generation it reads."""
        searcher = self.searcher()
        return searcher, self._local.held[0]
