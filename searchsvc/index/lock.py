"""The index folder's reindex lock: one writer at a time, never a stale lock.

The lock is a POSIX record lock (``lockf``) on ``reindex.lock`` in the index
folder; its holder writes ``pid N, started …`` into the file, so a refused
run can say who holds it.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import threading
import time
from collections.abc import Iterator
from pathlib import Path

from ..errors import ReindexInProgress

LOCK = "reindex.lock"

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
