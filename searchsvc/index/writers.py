"""The writers of a reindex: segments built in bulk in one or several
processes (full rebuilds), or one new segment and deletions (incremental),
and the check that nothing was lost while writing."""

from __future__ import annotations

import ctypes
import multiprocessing
import os
import queue
import random
import shutil
import signal
import sys
import time
import traceback
from pathlib import Path

from whoosh import index as whoosh_index
from whoosh.index import TOC, clean_files
from whoosh.reading import TermNotFound

from ..errors import IndexWriteError
from .segment_builder import SegmentBuilder, Words, word_caches

#: Documents per segment in a bulk rebuild, per writer process: what bounds
#: a process's memory (its words as numbers, its term numbers and their
#: sort; about 440 MiB at most), and what a search pays per segment (its term
#: look-ups: 22 segments at a million articles). Each process's first
#: segment is cut short in proportion to its rank, so that the processes
#: seldom finish a segment, their peak, at the same time.
BULK_SEGMENT_DOCS = 50_000
#: Documents sent to a writer process at a time.
BULK_BATCH = 256


class BulkWriters:
    """Full rebuilds: documents analysed and written in bulk by
    :class:`~.segment_builder.SegmentBuilder`, one segment per
    :data:`BULK_SEGMENT_DOCS` documents, in ``procs`` processes (batches of
    documents go to them in turn, passing over one that is busy writing a
    segment: which process gets which batch depends on timing, so two
    builds may order the documents differently). The segments are listed in a new table of contents at the
    end, as Whoosh's own writer would: nothing is merged, nothing encoded twice.

    Has the part of Whoosh's writer interface the reindex uses: ``next()``
    returns what to call ``add_document`` on.
    """

    def __init__(self, ix: whoosh_index.Index, folder: Path, procs: int, segment_docs: int = BULK_SEGMENT_DOCS) -> None:
        self._ix, self._folder, self._procs, self._segment_docs = ix, Path(folder), procs, segment_docs
        self._lock = ix.storage.lock(ix.indexname + "_WRITELOCK")
        if not self._lock.acquire():
            raise IndexWriteError(f"the index in {folder} is locked by another Whoosh writer")
        self.died: list[int] = []
        self._segments = []
        self._builder: SegmentBuilder | None = None
        self._words: Words | None = None
        self._workers: list[_Worker] = []
        self._batch: list[dict] = []
        self._turn = 0

    def next(self) -> BulkWriters:
        return self

    def add_document(self, **fields) -> None:
        if self._procs <= 1:
            self._add_here(fields)
            return
        self._batch.append(fields)
        if len(self._batch) >= BULK_BATCH:
            self._send()

    def _add_here(self, fields: dict) -> None:
        if self._builder is None:
            if self._words is None:
                self._words = Words(word_caches(self._ix.schema))
            self._builder = SegmentBuilder(self._ix.storage, self._ix.schema, self._words, self._ix.indexname)
        self._builder.add_document(**fields)
        if len(self._builder) >= self._segment_docs:
            self._segments.append(self._builder.finish(self._folder))
            self._builder = None

    def _send(self) -> None:
        if not self._workers:
            self._workers = [
                _Worker(self._ix, self._folder, self._segment_docs, self._segment_docs * (rank + 1) // self._procs)
                for rank in range(self._procs)
            ]
        # In turn, passing over a process whose queue is full (it is writing
        # a segment): the others go on meanwhile. When all are full, to the
        # first that has room.
        count = len(self._workers)
        while True:
            for step in range(count):
                worker = self._workers[(self._turn + step) % count]
                if worker.offer(self._batch):
                    self._turn = (self._turn + step + 1) % count
                    break
            else:
                if all(worker.dead for worker in self._workers):
                    break  # their documents are missing: check_written says so
                time.sleep(0.01)
                continue
            break
        self._batch = []

    def commit(self) -> None:
        try:
            if self._batch:
                self._send()
            if self._builder is not None and len(self._builder):
                self._segments.append(self._builder.finish(self._folder))
                self._builder = None
            for worker in self._workers:
                worker.send(None)
            for worker in self._workers:
                segments, exitcode = worker.result()
                if exitcode:
                    self.died.append(exitcode)
                self._segments += segments
            ix = self._ix
            generation = ix.latest_generation() + 1
            TOC(ix.schema, self._segments, generation).write(ix.storage, ix.indexname)
            clean_files(ix.storage, ix.indexname, generation, self._segments)
        finally:
            shutil.rmtree(self._folder / f"{self._ix.indexname}.tmp", ignore_errors=True)  # the column writers'
            self._stop()

    def cancel(self) -> None:
        self._stop()

    def _stop(self) -> None:
        for worker in self._workers:
            worker.kill()
        self._workers = []
        if self._builder is not None:
            self._builder.cancel()
            self._builder = None
        if self._lock is not None:
            self._lock.release()
            self._lock = None


#: In an incremental reindex, segments smaller than this are folded into the
#: new one (their live documents indexed again from their stored fields) once
#: there are :data:`FOLD_COUNT` of them: each run adds a segment, and a
#: reindex every few minutes would otherwise leave thousands.
FOLD_BELOW = 5_000
FOLD_COUNT = 8


class IncrementalWriters:
    """Incremental reindexes: the new and changed documents written in bulk
    into one new segment (:class:`~.segment_builder.SegmentBuilder`), the
    old versions and the documents gone marked deleted in their segments,
    as Whoosh's writer marks them, and a new table of contents.

    Small segments left by earlier runs are folded in: once there are
    :data:`FOLD_COUNT` segments under :data:`FOLD_BELOW` documents, their
    live documents are indexed again into the new segment and they are
    dropped (Whoosh's writer merges small segments for the same reason).

    Has the part of Whoosh's writer interface the reindex uses: ``next()``
    returns what to call ``add_document``, ``update_document`` and
    ``delete_by_term`` on.
    """

    def __init__(
        self, ix: whoosh_index.Index, folder: Path, fold_budget: int | None = None, words: Words | None = None
    ) -> None:
        self._ix, self._folder = ix, Path(folder)
        #: Words already analysed, kept by the caller across runs (pushes), or None.
        self._words = words
        #: At most this many documents indexed again by a fold (None: no bound).
        self._fold_budget = fold_budget
        self._lock = ix.storage.lock(ix.indexname + "_WRITELOCK")
        if not self._lock.acquire():
            raise IndexWriteError(f"the index in {folder} is locked by another Whoosh writer")
        self._builder: SegmentBuilder | None = None
        self._deleted: set[str] = set()
        self.died: list[int] = []

    def next(self) -> IncrementalWriters:
        return self

    def add_document(self, **fields) -> None:
        if self._builder is None:
            self._builder = SegmentBuilder(self._ix.storage, self._ix.schema, self._words, self._ix.indexname)
        self._builder.add_document(**fields)

    def update_document(self, **fields) -> None:
        """Replace the document with this id (the schema's one unique field)."""
        self._deleted.add(fields["id"])
        self.add_document(**fields)

    def delete_by_term(self, fieldname: str, text: str) -> None:
        if fieldname != "id":
            raise ValueError(f"documents are deleted by id, not by {fieldname!r}")
        self._deleted.add(text)

    def commit(self) -> None:
        from .fields import document_fields, stored_document

        ix = self._ix
        try:
            segments = ix._segments()
            readers: dict[int, object] = {}

            def reader(i: int):  # opened only when needed: 2 ms a segment
                if i not in readers:
                    readers[i] = ix._reader(ix.storage, ix.schema, [segments[i]], ix.latest_generation())
                return readers[i]

            try:
                if self._deleted:
                    for i, segment in enumerate(segments):
                        for doc_id in self._deleted:
                            for docnum in _docnums(reader(i), doc_id):
                                segment.delete_document(docnum)
                folded = _to_fold(segments, self._fold_budget)
                for i in sorted(folded):
                    for docnum in range(segments[i].doc_count_all()):
                        if not segments[i].is_deleted(docnum):
                            self.add_document(**document_fields(stored_document(reader(i).stored_fields(docnum))))
            finally:
                for opened in readers.values():
                    opened.close()
            kept = [segment for i, segment in enumerate(segments) if i not in folded]
            if self._builder is not None and len(self._builder):
                kept.append(self._builder.finish(self._folder))
                self._builder = None
            generation = ix.latest_generation() + 1
            TOC(ix.schema, kept, generation).write(ix.storage, ix.indexname)
            clean_files(ix.storage, ix.indexname, generation, kept)
        finally:
            self.cancel()

    def cancel(self) -> None:
        if self._builder is not None:
            self._builder.cancel()
            self._builder = None
        shutil.rmtree(self._folder / f"{self._ix.indexname}.tmp", ignore_errors=True)
        if self._lock is not None:
            self._lock.release()
            self._lock = None


def _to_fold(segments: list, budget: int | None) -> set[int]:
    """Which segments to fold: every small one once there are FOLD_COUNT;
    with a ``budget``, the smallest of them that hold no more documents than
    that together, two at least (pushes: each step must stay short)."""
    small = sorted(
        (segment.doc_count_all(), i) for i, segment in enumerate(segments) if segment.doc_count_all() < FOLD_BELOW
    )
    if len(small) < FOLD_COUNT:
        return set()
    if budget is None:
        return {i for _, i in small}
    chosen, total = set(), 0
    for count, i in small:
        if total + count > budget:
            break
        chosen.add(i)
        total += count
    return chosen if len(chosen) >= 2 else set()


def _docnums(reader, doc_id: str) -> list[int]:
    """The docnums of a segment's live documents with this id."""
    try:
        matcher = reader.postings("id", doc_id)
    except TermNotFound:
        return []
    found = []
    while matcher.is_active():
        found.append(matcher.id())
        matcher.next()
    return found


class _Worker:
    """A writer process: batches of documents in through a queue, its
    segments out when told there are no more (``None``)."""

    def __init__(self, ix: whoosh_index.Index, folder: Path, segment_docs: int, first_docs: int) -> None:
        context = multiprocessing.get_context("fork")
        self._inbox = context.Queue(maxsize=8)
        self._outbox = context.Queue()
        self._process = context.Process(
            target=_build_segments,
            args=(ix, folder, segment_docs, self._inbox, self._outbox, first_docs),
            daemon=True,
        )
        self._process.start()
        self._dead = False

    def offer(self, batch: list[dict]) -> bool:
        """Queue ``batch`` if there is room now; whether it was queued."""
        if self.dead:
            return False
        try:
            self._inbox.put_nowait(batch)
            return True
        except queue.Full:
            return False

    @property
    def dead(self) -> bool:
        """Whether the process has ended (killed, out of memory) before being told to."""
        if not self._dead and not self._process.is_alive():
            self._dead = True
        return self._dead

    def send(self, batch: list[dict] | None) -> None:
        # A process that died (killed, out of memory) is sent nothing more:
        # its documents are missing, and check_written says so at the end.
        while not self.dead:
            try:
                self._inbox.put(batch, timeout=1.0)
                return
            except queue.Full:
                continue

    def result(self) -> tuple[list, int]:
        """(The segments it wrote, its exit code: 0 when it ended well.)"""
        while True:
            try:
                kind, value = self._outbox.get(timeout=1.0)
                break
            except queue.Empty:
                if not self._process.is_alive():
                    self._process.join()
                    return [], self._process.exitcode or -1
        self._process.join()
        if kind == "oserror":
            raise OSError(*value)
        if kind == "error":
            raise IndexWriteError(f"a writer process failed: {value}")
        return value, self._process.exitcode or 0

    def kill(self) -> None:
        if self._process.is_alive():
            self._process.kill()
        self._process.join()
        # Batches still buffered for a dead process: do not wait, at exit,
        # for a pipe nobody reads.
        self._inbox.cancel_join_thread()
        self._inbox.close()


def _build_segments(ix, folder: Path, segment_docs: int, inbox, outbox, first_docs: int | None = None) -> None:
    # Whoosh names segments and temporary files with ``random``: a forked
    # process would draw its parent's (and its siblings') names.
    random.seed()
    return_memory_promptly()
    segments = []
    words = Words(word_caches(ix.schema))
    builder = None
    try:
        while (batch := inbox.get()) is not None:
            for fields in batch:
                if builder is None:
                    builder = SegmentBuilder(ix.storage, ix.schema, words, ix.indexname)
                builder.add_document(**fields)
                if len(builder) >= (first_docs if not segments and first_docs else segment_docs):
                    segments.append(builder.finish(folder))
                    builder = None
        if builder is not None and len(builder):
            segments.append(builder.finish(folder))
    except BaseException as e:  # said to the parent, which stops the reindex
        if isinstance(e, OSError) and e.errno:  # a full disk is said as such by the parent
            outbox.put(("oserror", (e.errno, e.strerror, e.filename)))
        else:
            outbox.put(("error", f"{e} ({traceback.format_exc(limit=-1).strip().splitlines()[-1]})"))
        raise SystemExit(1) from None
    outbox.put(("segments", segments))


def check_written(path: Path, expected: int, died: list[int]) -> None:
    """Refuse a generation whose index does not hold every document of its
    catalog (a writer process died and its segment is missing), or that a
    writer process did not end well for, even if its segments came back
    (killed between sending them and exiting: whatever killed it, the
    out-of-memory killer or a person, the run stops).

    Counted from the table of contents (each segment's count and deletions),
    not with ``Index.doc_count()``: that opens a reader, and Whoosh's reader
    copies every segment file into memory (12 GB at a million documents)."""
    written = sum(segment.doc_count() for segment in whoosh_index.open_dir(str(path))._segments())
    if written == expected and not died:
        return
    why = ", ".join(
        f"killed by signal {-code}" if code < 0 else f"exited with status {code}" for code in died
    )
    if written == expected:
        raise IndexWriteError(
            f"a writer process died ({why}) while the new generation in {path.parent} was written; "
            "nothing was switched, the previous generation is untouched"
        )
    raise IndexWriteError(
        f"the new generation in {path.parent} holds {written} documents instead of {expected}: "
        + (f"a writer process died ({why})" if died else "documents were lost while writing")
        + "; nothing was switched, the previous generation is untouched"
    )


#: Allocations from this size on get pages of their own (``mmap``), given
#: back to the system when freed.
MMAP_THRESHOLD = 1 << 20


def return_memory_promptly() -> None:
    """Make this process's large arrays return their memory when freed.

    glibc raises its ``mmap`` threshold each time a large block is freed, so
    that later arrays of that size come from the heap, which it seldom gives
    back: a writer process, which allocates and frees arrays of every size
    segment after segment, peaked 180 MB higher at 25,000 documents a
    segment. Setting the threshold fixes it. glibc only; elsewhere a no-op."""
    if not sys.platform.startswith("linux"):
        return
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return
    m_mmap_threshold = -3
    mallopt(m_mmap_threshold, MMAP_THRESHOLD)


_DEATH_SIGNAL_SET = False


def workers_die_with_parent() -> None:
    """Make processes forked from here (Whoosh's writer workers) receive SIGKILL
    when this process dies, so a reindex killed with ``kill -9`` leaves no
    orphaned worker behind. Linux only; elsewhere a no-op."""
    global _DEATH_SIGNAL_SET
    if _DEATH_SIGNAL_SET or not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        prctl = libc.prctl
    except (OSError, AttributeError):
        return
    pr_set_pdeathsig = 1
    os.register_at_fork(after_in_child=lambda: prctl(pr_set_pdeathsig, signal.SIGKILL))
    _DEATH_SIGNAL_SET = True
