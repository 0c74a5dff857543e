"""The Whoosh writers of a reindex: one or several processes, committed in
batches, and the check that nothing was lost while writing."""

from __future__ import annotations

import ctypes
import multiprocessing
import os
import queue
import random
import shutil
import signal
import sys
import traceback
from pathlib import Path

from whoosh import index as whoosh_index
from whoosh.index import TOC, clean_files
from whoosh.writing import IndexWriter

from ..errors import IndexWriteError
from .segment_builder import SegmentBuilder, Words, word_caches

#: Documents written per set of writers in a full rebuild. Each set commits
#: its own segments (one per writer process) and the next set starts empty.
#: Whoosh sorts a segment's postings in runs of ``limitmb`` and merges at
#: most 128 runs at once; a worker of a 500,000-document segment spilled
#: ~280 runs, merged them in extra passes and 47 GB of temporary files
#: (bench_growth.py at 1M). A 100,000-document segment per worker stays in
#: one pass. Corpora under this size are written exactly as before.
SEGMENT_DOCS = 200_000


class Writers:
    """The Whoosh writer to add the next document with.

    ``procs`` writer processes (Whoosh's ``MpWriter``, one segment each) or
    one writer. With ``batch``, it commits every ``batch`` documents without
    merging and starts a fresh set (full rebuilds); without, one commit at
    the end that lets Whoosh fold small segments together (incremental).
    """

    def __init__(self, ix: whoosh_index.Index, procs: int, limitmb: int, batch: int | None) -> None:
        self._ix, self._procs, self._limitmb, self._batch = ix, procs, limitmb, batch
        self._writer = None
        self._count = 0
        #: Exit codes of writer processes that did not end well (killed: negative).
        self.died: list[int] = []

    def next(self) -> IndexWriter:
        if self._writer is not None and self._batch and self._count >= self._batch:
            self._commit(merge=False, optimize=False)
        if self._writer is None:
            self._writer = (
                self._ix.writer(procs=self._procs, limitmb=self._limitmb, multisegment=True)
                if self._procs > 1
                else self._ix.writer(limitmb=self._limitmb)
            )
            self._count = 0
        self._count += 1
        return self._writer

    def commit(self) -> None:
        if self._writer is not None:
            self._commit(optimize=False, merge=self._batch is None)

    def _commit(self, **kwargs) -> None:
        self._writer.commit(**kwargs)
        # Whoosh's MpWriter commits without the segment of a writer process
        # that died (killed, out of memory): it waits one second for each
        # result, then goes on. check_written refuses such a generation;
        # the exit codes say why.
        self.died += [task.exitcode for task in getattr(self._writer, "tasks", ()) if task.exitcode]
        self._writer = None

    def cancel(self) -> None:
        if self._writer is not None:
            self._writer.cancel()
            self._writer = None


#: Documents per segment in a bulk rebuild, per writer process: what bounds
#: a process's memory (its term numbers, positions and the sort of them).
BULK_SEGMENT_DOCS = 25_000
#: Documents sent to a writer process at a time.
BULK_BATCH = 256


class BulkWriters:
    """Full rebuilds: documents analysed and written in bulk by
    :class:`~.segment_builder.SegmentBuilder`, one segment per
    :data:`BULK_SEGMENT_DOCS` documents, in ``procs`` processes (batches of
    documents go to them in turn, so the same documents make the same
    segments). The segments are listed in a new table of contents at the
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
            self._workers = [_Worker(self._ix, self._folder, self._segment_docs) for _ in range(self._procs)]
        self._workers[self._turn].send(self._batch)
        self._turn = (self._turn + 1) % len(self._workers)
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


class _Worker:
    """A writer process: batches of documents in through a queue, its
    segments out when told there are no more (``None``)."""

    def __init__(self, ix: whoosh_index.Index, folder: Path, segment_docs: int) -> None:
        context = multiprocessing.get_context("fork")
        self._inbox = context.Queue(maxsize=8)
        self._outbox = context.Queue()
        self._process = context.Process(
            target=_build_segments, args=(ix, folder, segment_docs, self._inbox, self._outbox), daemon=True
        )
        self._process.start()

    def send(self, batch: list[dict] | None) -> None:
        while True:
            try:
                self._inbox.put(batch, timeout=1.0)
                return
            except queue.Full:
                if not self._process.is_alive():
                    return  # died: its documents are missing, check_written says so

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
        if kind == "error":
            raise IndexWriteError(f"a writer process failed: {value}")
        return value, self._process.exitcode or 0

    def kill(self) -> None:
        if self._process.is_alive():
            self._process.kill()
        self._process.join()


def _build_segments(ix, folder: Path, segment_docs: int, inbox, outbox) -> None:
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
                if len(builder) >= segment_docs:
                    segments.append(builder.finish(folder))
                    builder = None
        if builder is not None and len(builder):
            segments.append(builder.finish(folder))
    except BaseException as e:  # said to the parent, which stops the reindex
        outbox.put(("error", f"{e} ({traceback.format_exc(limit=-1).strip().splitlines()[-1]})"))
        raise
    outbox.put(("segments", segments))


def check_written(path: Path, expected: int, died: list[int]) -> None:
    """Refuse a generation whose index does not hold every document of its
    catalog (a writer process died and its segment is missing).

    Counted from the table of contents (each segment's count and deletions),
    not with ``Index.doc_count()``: that opens a reader, and Whoosh's reader
    copies every segment file into memory (12 GB at a million documents)."""
    written = sum(segment.doc_count() for segment in whoosh_index.open_dir(str(path))._segments())
    if written == expected:
        return
    why = ", ".join(
        f"killed by signal {-code}" if code < 0 else f"exited with status {code}" for code in died
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
