"""Pushed documents made searchable: the journal's new changes written as
a small generation, by whichever worker of the service gets to it first.

:func:`apply_pending` is one step: under the reindex lock, the changes the
journal (:mod:`.journal`) holds after the generation in use become a new
generation (hard links to the current files, one small segment of the new
versions, deletions marked, the catalog amended), sealed and published like
any other. Its manifest records the last change it holds, so a ``kill -9``
at any moment loses nothing: the changes after it are still pending, and the
next step (in whatever process) applies them.

:class:`Applier` runs those steps in a process of its own beside each
worker of the service: woken at once by a push received by that worker, and
checking once a second for pushes the other workers received (or left
pending when they died). Only one applies at a time (the reindex lock); a
reindex from files holds the same lock, and pushes received meanwhile are
applied when it ends. A second thread of that process merges the small
segments the steps leave (:mod:`.merging`).
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import logging
import multiprocessing
import os
import signal
import sqlite3
import sys
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from whoosh import index as whoosh_index

from ..errors import IndexNotReady, ReindexInProgress
from ..text import whoosh_patches
from ..text.analysis import ANALYSIS_VERSION
from ..text.protected import ProtectedWordsFile, protected_in
from ..text.schema import build_schema
from ..version import __version__
from . import copies, generations, merging, packed, prefix_table
from .catalog import Catalog, CatalogError
from .fields import document_fields
from .journal import PUSHED, Journal
from .reindex import building
from .segment_builder import Words, word_caches
from .writers import IncrementalWriters, check_written

log = logging.getLogger(__name__)

#: Changes applied in one generation at most (the others wait for the next):
#: bounds the time one step holds the lock.
MAX_CHANGES = 2_000


@dataclass
class Applied:
    """What one step applied."""

    generation: int
    journal: int
    written: int = 0
    retracted: int = 0
    unchanged: int = 0
    elapsed: float = 0.0


def journal_seq(generation: generations.Generation | None) -> int:
    """The last journal change ``generation`` holds (0: none)."""
    return int(generation.manifest.get("journal", 0)) if generation is not None else 0


def pending(index_dir: Path, journal: Journal) -> bool:
    """Whether the journal holds changes the generation in use does not."""
    last = journal.last_seq()
    if last == 0:
        return False
    try:
        current = generations.current_generation(index_dir)
    except IndexNotReady:
        return False  # nothing to apply them to until a reindex repairs it
    return current is None or journal_seq(current) < last


def apply_pending(
    index_dir: str | os.PathLike[str],
    journal: Journal | None = None,
    *,
    keep: int = 2,
    protected: Iterable[str] | None = None,
) -> Applied | None:
    """Write the journal's pending changes as a new generation and publish it.

    Returns ``None`` when nothing is pending. ``protected``: the protected
    words of an index created from nothing (pushes before any reindex).

    :raises ReindexInProgress: a reindex (or another step) holds the lock.
    :raises IndexWriteError: the generation could not be written; the
        changes stay pending.
    """
    index_dir = Path(index_dir)
    journal = journal or Journal(index_dir)
    whoosh_patches.install_reader()
    started = time.monotonic()
    with generations.reindex_lock(index_dir):
        previous = generations.current_generation(index_dir)
        after = journal_seq(previous)
        changes = journal.changes_after(after, limit=MAX_CHANGES)
        if not changes:
            return None
        number = generations.next_number(index_dir)
        path = generations.generation_path(index_dir, number)
        result = Applied(generation=number, journal=max(c.seq for c in changes))
        with building(path):
            _write(path, previous, changes, result, protected)
            generations.publish(index_dir, number)
        generations.cleanup(index_dir, keep, grace=generations.GRACE_SECONDS)
        journal.forget_through(min(kept_positions(index_dir)))
    result.elapsed = time.monotonic() - started
    return result


def _write(path: Path, previous: generations.Generation | None, changes, result: Applied, protected) -> None:
    if previous is not None:
        generations.link_files(previous.path, path)
        ix = whoosh_index.open_dir(str(path))
        try:
            catalog = Catalog.amend(previous.path, path)
        except (OSError, sqlite3.Error) as e:
            raise CatalogError(f"generation {previous.number} has no readable catalog ({e}): run a reindex") from e
    else:
        path.mkdir()
        ix = whoosh_index.create_in(str(path), build_schema(frozenset(protected or ())))
        catalog = Catalog.create(path)
    # No fold here (fold_budget=0): the small segments steps leave are merged
    # in the background (.merging), so that a step stays short.
    writers = IncrementalWriters(ix, path, fold_budget=0, words=_words_for(ix.schema))
    try:
        for change in changes:
            before = catalog.get(change.id)
            if change.document is None:
                if before is not None:
                    writers.delete_by_term("id", change.id)
                    catalog.remove(change.id)
                    result.retracted += 1
                continue
            fingerprint = change.document.fingerprint
            if before is not None and before[0] == fingerprint:
                result.unchanged += 1
            else:
                fields = document_fields(change.document)
                if before is not None:
                    writers.update_document(**fields)
                else:
                    writers.add_document(**fields)
                result.written += 1
            catalog.replace(change.id, fingerprint, PUSHED)
        documents = len(catalog)
        writers.commit()
        check_written(path, documents, writers.died)
        with whoosh_index.open_dir(str(path)).reader() as reader:
            packed.write_packed(path, reader, 1)
            copies.write_groups(path, reader)
        if not (path / prefix_table.FILENAME).exists():
            prefix_table.write_table(path)
        catalog.close()
    except BaseException:
        writers.cancel()
        catalog.discard()
        raise
    manifest = dict(previous.manifest) if previous is not None else {"sources": []}
    manifest.pop("files", None)
    generations.seal(
        path,
        {
            **manifest,
            "generation": result.generation,
            "created": datetime.now().astimezone().isoformat(timespec="seconds"),
            "documents": documents,
            "protected_words": sorted(protected_in(ix.schema)),
            "mode": "push",
            "journal": result.journal,
            **({} if previous is not None else {"analysis": ANALYSIS_VERSION, "searchsvc": __version__}),
        },
    )


class StepWords(Words):
    """The words a worker's steps have analysed, kept from one step to the
    next: analysing every distinct word of a batch again took half of each
    step. Bounded lower than a writer process's (about 1 KB a word)."""

    MAX_WORDS = 30_000


_WORDS: dict[tuple, StepWords] = {}


def _words_for(schema) -> StepWords:
    """This process's :class:`StepWords` for ``schema``'s analysers (a change
    of protected words or of analysis version changes the terms of a word)."""
    key = (ANALYSIS_VERSION, protected_in(schema))
    words = _WORDS.get(key)
    if words is None:
        _WORDS.clear()
        words = _WORDS[key] = StepWords(word_caches(schema))
    return words


def kept_positions(index_dir: Path) -> list[int]:
    """The journal positions of the generations on disk up to the current one."""
    current = generations.pointer_number(index_dir)
    kept = []
    for number in generations.generation_numbers(index_dir):
        if current is not None and number > current:
            continue
        try:  # the manifest alone: its files were checked when it was made or opened
            manifest = json.loads((generations.generation_path(index_dir, number) / generations.MANIFEST).read_bytes())
        except (OSError, ValueError):
            continue
        kept.append(int(manifest.get("journal", 0)))
    return kept or [0]


class Applier:
    """Applies pending pushes, and merges the small segments they leave
    (:mod:`.merging`), in the background of each worker of the service.

    By default in a process of its own, spawned by the worker on first use
    (:meth:`ensure_running`, which notices a fork: gunicorn forks its workers
    after the app is built) and ending with it: a step in a thread of the
    worker competed with its searches for the GIL, and under 100 pushes a
    second a pushed article took up to 2.5 s to be found. ``in_process``
    runs the same loops in threads (the tests' apps). Woken by :meth:`wake`;
    it also looks at the journal every :data:`POLL` seconds, for pushes the
    other workers received or left pending when they died.
    """

    #: Seconds between two looks at the journal when nothing woke the loop.
    POLL = 1.0
    #: Seconds between two looks for segments to merge when no step woke it.
    MERGE_POLL = 30.0
    #: Seconds between two attempts while another process holds the lock.
    RETRY = 0.05

    def __init__(
        self,
        index_dir: str | os.PathLike[str],
        keep: int = 2,
        protected_words: str | os.PathLike[str] | None = None,
        in_process: bool = False,
    ) -> None:
        self.index_dir = Path(index_dir)
        self.journal = Journal(self.index_dir)
        self.keep = keep
        #: The protected-words file: an index created by a push (none before) is built with them.
        self.protected_words = None if protected_words is None else str(protected_words)
        self.in_process = in_process
        self._owner: int | None = None
        self._guard = threading.Lock()
        self._wake = None
        self._process = None

    def ensure_running(self) -> None:
        """Start the loops, once per process that serves (again if they died)."""
        if self._owner == os.getpid() and (self._process is None or self._process.is_alive()):
            return
        with self._guard:
            if self._owner == os.getpid() and (self._process is None or self._process.is_alive()):
                return
            self._owner = os.getpid()
            self.journal = Journal(self.index_dir)  # a connection is not shared across a fork
            if self.in_process:
                self._wake, self._process = threading.Event(), None
                loop = _Loop(self.index_dir, self.keep, self.protected_words, self._wake)
                threading.Thread(target=loop.run, name="searchsvc-applier", daemon=True).start()
            else:
                context = multiprocessing.get_context("spawn")  # a fresh interpreter: no fork of a threaded worker
                self._wake = context.Event()
                self._process = context.Process(
                    target=_serve,
                    args=(str(self.index_dir), self.keep, self.protected_words, self._wake, os.getpid()),
                    name="searchsvc-applier",
                    daemon=True,
                )
                self._process.start()
            self._wake.set()  # look at once: changes may be pending since a restart

    def wake(self) -> None:
        self.ensure_running()
        self._wake.set()

    def drain(self) -> None:
        """Apply what is pending now, in this thread (tests)."""
        _Loop(self.index_dir, self.keep, self.protected_words, threading.Event()).drain()


def _serve(index_dir: str, keep: int, protected_words: str | None, wake, parent: int) -> None:
    """The applier's process: its loops until the worker that started it ends."""
    _die_with_parent()
    _Loop(Path(index_dir), keep, protected_words, wake, parent).run()


class _Loop:
    """Steps when woken (or every POLL seconds), merges in a second thread."""

    def __init__(self, index_dir: Path, keep: int, protected_words: str | None, wake, parent: int | None = None) -> None:
        self.index_dir, self.keep, self.wake, self.parent = index_dir, keep, wake, parent
        self.journal = Journal(index_dir)
        self.protected = ProtectedWordsFile(protected_words) if protected_words else None
        self.merge_due = threading.Event()
        self.error: str | None = None

    def run(self) -> None:
        threading.Thread(target=self._merge, name="searchsvc-merger", daemon=True).start()
        while self.parent is None or os.getppid() == self.parent:
            self.wake.wait(Applier.POLL)
            self.wake.clear()
            try:
                self.drain()
            except Exception as e:  # logged, retried at the next poll
                if str(e) != self.error:
                    log.exception("applying pushed documents failed (they stay pending)")
                self.error = str(e)

    def drain(self) -> None:
        """Apply until nothing is pending (waiting while another holds the lock)."""
        while pending(self.index_dir, self.journal):
            try:
                applied = apply_pending(
                    self.index_dir,
                    self.journal,
                    keep=self.keep,
                    protected=self.protected.current().words if self.protected else None,
                )
            except ReindexInProgress:
                time.sleep(Applier.RETRY)
                continue
            if applied is None:
                return
            self.error = None
            self.merge_due.set()
            log.info(
                "generation %s: %s pushed, %s retracted, %.0f ms",
                applied.generation,
                applied.written,
                applied.retracted,
                applied.elapsed * 1000,
            )

    def _merge(self) -> None:
        _lower_priority()
        while True:
            self.merge_due.wait(Applier.MERGE_POLL)
            self.merge_due.clear()
            try:
                while merging.pending_merge(self.index_dir):
                    merged = merging.merge_small_segments(self.index_dir, self.keep)
                    if merged is None:
                        break
                    log.info(
                        "generation %s: %s segments merged (%s documents), %.1f s",
                        merged.generation,
                        merged.segments,
                        merged.documents,
                        merged.elapsed,
                    )
            except Exception:  # logged, tried again later
                log.exception("merging the small segments of pushes failed")


def _lower_priority() -> None:
    """Give this thread's CPU to the searches first (Linux: a thread has its own nice value)."""
    with contextlib.suppress(AttributeError, OSError):
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 10)


def _die_with_parent() -> None:
    """Linux: be killed when the worker that started us dies, even by ``kill -9``."""
    if not sys.platform.startswith("linux"):
        return
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
