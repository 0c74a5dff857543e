"""The Whoosh writers of a reindex: one or several processes, committed in
batches, and the check that nothing was lost while writing."""

from __future__ import annotations

import ctypes
import os
import signal
import sys
from pathlib import Path

from whoosh import index as whoosh_index
from whoosh.writing import IndexWriter

from ..errors import IndexWriteError

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
