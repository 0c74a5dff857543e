"""Index generations on disk: how a reindex swaps indexes under a live service.

An index folder holds numbered, complete Whoosh indexes and one pointer::

    index_dir/
      CURRENT         {"generation": 12}, replaced atomically (write, fsync, rename)
      gen-000012/     the Whoosh files, packed-*.npy (:mod:`.packed`), catalog.sqlite,
                      prefixes.json and manifest.json
      gen-000011/     the previous generation, kept for readers still on it
      reindex.lock    held (lockf) by the reindex under way, if any
      querylog.sqlite the query log (searchsvc.ops.querylog), unless configured elsewhere

A reindex builds a new ``gen-N`` beside the current one and only then moves
the pointer, so a crash at any moment leaves the previous generation whole
and in use. Readers (:class:`searchsvc.search.live.LiveIndex`) notice the
pointer's move on their next request and switch without a restart. The lock
is :mod:`.lock`'s.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from whoosh import index as whoosh_index

from ..errors import IndexNotReady
from ..text import whoosh_patches
from ..text.analysis import ANALYSIS_VERSION
from .lock import reindex_lock

POINTER = "CURRENT"
#: Generations replaced less than this many seconds ago are not removed by
#: the writers that can make one a second (pushes, merges; see :func:`cleanup`).
GRACE_SECONDS = 60.0
#: …but no more than this many of them (each holds a copy of the catalog:
#: 100 pushes a second would otherwise keep a hundred).
GRACE_MAX = 8
MANIFEST = "manifest.json"
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

    @cached_property
    def file_sizes(self) -> list[tuple[str, str, int]]:
        """(name, full path, size) of every file the manifest lists, made once:
        a searching process checks them all on every request."""
        folder = str(self.path)
        return [(name, os.path.join(folder, name), size) for name, size in self.manifest.get("files", {}).items()]


def generation_path(index_dir: Path, number: int) -> Path:
    return Path(index_dir) / f"{PREFIX}{number:06d}"


def generation_numbers(index_dir: Path) -> list[int]:
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
    # Plain strings to os.stat: building a Path for each of the 600 files of
    # a million-article generation cost three times the system calls.
    for name, path, size in generation.file_sizes:
        try:
            actual = os.stat(path).st_size
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
    return max([pointer_number(index_dir) or 0, *generation_numbers(index_dir)]) + 1


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
            st = entry.stat()
            if st.st_nlink == 1:  # a hard link to a sealed generation's file is on disk already
                fsync_path(entry)
            files[entry.name] = st.st_size
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


def cleanup(index_dir: Path, keep: int = 2, grace: float = 0.0) -> list[int]:
    """Remove generations other than the current one and the ``keep - 1`` before it,
    and those replaced less than ``grace`` seconds ago, :data:`GRACE_MAX` at
    most (pushes can make a generation a second: a search that began on one
    may still be reading it).

    Unpublished leftovers of crashed builds go too. Call only while holding
    the reindex lock. Returns the numbers removed.
    """
    current = pointer_number(index_dir)
    if current is None:
        kept: set[int] = set()
    else:
        numbers = generation_numbers(index_dir)
        older = [n for n in numbers if n < current]
        kept = {current, *older[len(older) - (keep - 1) :]} if keep > 1 else {current}
        if grace > 0:
            now = time.time()
            spared = 0
            for old, newer in reversed(list(zip(older, [*older[1:], current], strict=True))):
                if old in kept:
                    continue
                try:
                    replaced = (generation_path(index_dir, newer) / MANIFEST).stat().st_mtime
                except FileNotFoundError:
                    continue
                if now - replaced >= grace or spared >= GRACE_MAX:
                    break
                kept.add(old)
                spared += 1
    removed = []
    for number in generation_numbers(index_dir):
        if number not in kept:
            shutil.rmtree(generation_path(index_dir, number), ignore_errors=True)
            removed.append(number)
    for stray in Path(index_dir).glob(".*.tmp"):
        stray.unlink(missing_ok=True)
    return removed


def switch(index_dir: Path, number: int | None = None, keep: int = 2) -> Generation:
    """Make generation ``number`` (default: the newest in the folder) the one in use.

    For generations built elsewhere and copied here (see docs/operations.md,
    "Scaling out"), or to go back to an older one. The generation is checked
    whole against its manifest and opened before the pointer moves, so a
    half-copied folder is refused and the service keeps the one it has.
    Older generations beyond ``keep`` are removed; newer ones are left alone.
    """
    index_dir = Path(index_dir)
    with reindex_lock(index_dir):
        numbers = generation_numbers(index_dir)
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
        # Segment files read in place: Whoosh's stock reader copies each into
        # memory (12.5 GB to count the documents of a 1,000,000-article generation).
        whoosh_patches.install_reader()
        try:
            whoosh_index.open_dir(str(generation.path)).doc_count()
        except Exception as e:  # a copy Whoosh cannot open is not published
            raise IndexNotReady(f"generation {number} cannot be opened: {e}") from e
        publish(index_dir, number)
        older = [n for n in numbers if n < number]
        for old in older[: max(0, len(older) - (keep - 1))]:
            shutil.rmtree(generation_path(index_dir, old), ignore_errors=True)
        return generation


def link_files(source: Path, target: Path) -> None:
    """Give ``target`` the index files of ``source`` as hard links (copies
    across file systems). Safe because Whoosh never rewrites a file."""
    target.mkdir()
    for entry in source.iterdir():
        # catalog.json: the catalog of generations built before it moved to SQLite
        if not entry.is_file() or entry.name in (MANIFEST, "catalog.sqlite", "catalog.json"):
            continue
        if entry.name.endswith("LOCK"):
            continue
        try:
            os.link(entry, target / entry.name)
        except OSError:
            shutil.copy2(entry, target / entry.name)
