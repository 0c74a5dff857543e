"""The small segments that pushes leave, merged in the background without
holding up the pushes.

Each push step (:mod:`.applier`) adds a small segment. Folding them inside
the step (as an incremental reindex does) would make the step, and so the
time until a pushed article is found, grow with what is folded: every live
document is indexed again from what it stored, about 2 ms each. So a merge
is built outside the reindex lock, from a snapshot of the generation in use,
into a scratch folder; only its last moment takes the lock: a new generation
of hard links in which the merged segment replaces its sources, with the
documents deleted since the snapshot (replaced or retracted meanwhile)
deleted in it too. If a reindex replaced the sources meanwhile, the merge is
dropped.

One merge at a time per index folder (``merge.lock``, a POSIX record lock
like the reindex's). Its scratch folder is ``merge-<pid>.tmp`` in the index
folder; a merge that died leaves it, and the next one removes it.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from whoosh import index as whoosh_index
from whoosh.index import TOC, clean_files

from ..errors import ReindexInProgress
from ..text.schema import VECTOR_COLUMNS
from . import copies, generations, packed
from .catalog import FILENAME as CATALOG_FILE
from .fields import document_fields, stored_document
from .reindex import building
from .segment_builder import SegmentBuilder, Words, word_caches
from .writers import check_written

LOCK = "merge.lock"
SCRATCH = "merge-"
#: Segments of fewer documents than this are merged…
MERGE_BELOW = 5_000
#: …once there are this many of them (at most MERGE_COUNT × 2 at a time)…
MERGE_COUNT = 8
#: …into one of at most this many documents.
MERGE_MAX = 20_000
#: Seconds the merge waits for the reindex lock at its end before dropping.
LOCK_WAIT = 30.0


@dataclass
class Merged:
    generation: int
    segments: int
    documents: int
    elapsed: float


def to_merge(segments: list) -> list[int]:
    """The segments to merge, smallest first: those under MERGE_BELOW once
    there are MERGE_COUNT, together at most MERGE_MAX documents (two at least)."""
    small = sorted(
        (s.doc_count_all(), i) for i, s in enumerate(segments) if s.doc_count_all() < MERGE_BELOW
    )
    if len(small) < MERGE_COUNT:
        return []
    chosen, total = [], 0
    for count, i in small[: MERGE_COUNT * 2]:
        if total + count > MERGE_MAX:
            break
        chosen.append(i)
        total += count
    return chosen if len(chosen) >= 2 else []


@contextlib.contextmanager
def merge_lock(index_dir: Path) -> Iterator[bool]:
    """Hold ``merge.lock`` (yields True), or yield False when another holds it."""
    fd = os.open(Path(index_dir) / LOCK, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    try:
        try:
            fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            yield False
            return
        yield True
    finally:
        os.close(fd)


def merge_small_segments(index_dir: str | os.PathLike[str], keep: int = 2) -> Merged | None:
    """Merge the small segments of the generation in use, if there are
    enough, and publish the result; ``None`` when there was nothing to do,
    another merge is under way, or a reindex replaced them meanwhile."""
    index_dir = Path(index_dir)
    started = time.monotonic()
    with merge_lock(index_dir) as held:
        if not held:
            return None
        for leftover in index_dir.glob(f"{SCRATCH}*.tmp"):
            shutil.rmtree(leftover, ignore_errors=True)
        current = generations.current_generation(index_dir)
        if current is None:
            return None
        scratch = index_dir / f"{SCRATCH}{os.getpid()}.tmp"
        source = index_dir / f"{SCRATCH}{os.getpid()}-source.tmp"
        try:
            # Read through links of its files: under heavy pushing the
            # generation is replaced, then cleaned up, long before the merge
            # has read it (it failed with EmptyIndexError); the links keep them.
            generations.link_files(current.path, source)
            ix = whoosh_index.open_dir(str(source))
            segments = ix._segments()
            chosen = [segments[i] for i in to_merge(segments)]
            if not chosen:
                return None
            merged, order = _build(ix, chosen, scratch)
            return _commit(index_dir, chosen, merged, order, scratch, keep, started)
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
            shutil.rmtree(source, ignore_errors=True)


def _build(ix: whoosh_index.Index, chosen: list, scratch: Path):
    """The live documents of ``chosen`` indexed again into one segment in
    ``scratch``; with, for each of its docnums, where the document came from."""
    scratch.mkdir()
    target = whoosh_index.create_in(str(scratch), ix.schema)
    # Its documents' wire-copy signatures are their sources': gathered, not
    # computed again (computed only if a source has none, from an older version).
    sources = {segment.segment_id(): Path(ix.storage.folder) for segment in chosen}
    gather = all(copies.signature_path(folder, sid).exists() for sid, folder in sources.items())
    builder = SegmentBuilder(
        target.storage, ix.schema, Words(word_caches(ix.schema)), target.indexname, signatures=not gather
    )
    order: list[tuple[str, int]] = []
    try:
        for segment in chosen:
            reader = ix._reader(ix.storage, ix.schema, [segment], ix.latest_generation())
            # The articles' vectors are carried over, not computed again.
            vectors = {name: reader.column_reader(name) for name in VECTOR_COLUMNS if name in ix.schema}
            try:
                for docnum in range(segment.doc_count_all()):
                    if not segment.is_deleted(docnum):
                        fields = document_fields(stored_document(reader.stored_fields(docnum)))
                        for name, column in vectors.items():
                            fields[name] = column[docnum]
                        builder.add_document(**fields)
                        order.append((segment.segment_id(), docnum))
            finally:
                reader.close()
        merged = builder.finish(scratch)
        if gather:
            copies.write_gathered(scratch, merged.segment_id(), sources, order)
        return merged, order
    except BaseException:
        builder.cancel()
        raise


def _commit(index_dir: Path, chosen: list, merged, order, scratch: Path, keep: int, started: float) -> Merged | None:
    deadline = time.monotonic() + LOCK_WAIT
    while True:
        try:
            with generations.reindex_lock(index_dir):
                return _publish(index_dir, chosen, merged, order, scratch, keep, started)
        except ReindexInProgress:
            if time.monotonic() > deadline:
                return None
            time.sleep(0.05)


def _publish(index_dir, chosen, merged, order, scratch, keep, started) -> Merged | None:
    current = generations.current_generation(index_dir)
    if current is None:
        return None
    ix = whoosh_index.open_dir(str(current.path))
    now = {s.segment_id(): s for s in ix._segments()}
    sources = {s.segment_id() for s in chosen}
    if not sources <= set(now):
        return None  # a reindex rewrote them meanwhile: the merge is of no use
    # Deleted since the snapshot (a newer version pushed, or retracted): deleted here too.
    for merged_docnum, (segment_id, docnum) in enumerate(order):
        if now[segment_id].is_deleted(docnum):
            merged.delete_document(merged_docnum)
    number = generations.next_number(index_dir)
    path = generations.generation_path(index_dir, number)
    with building(path):
        generations.link_files(current.path, path)
        os.link(current.path / CATALOG_FILE, path / CATALOG_FILE)  # the same documents
        for entry in scratch.iterdir():
            if merged.segment_id() in entry.name:
                os.link(entry, path / entry.name)
        target = whoosh_index.open_dir(str(path))
        kept = [s for s in ix._segments() if s.segment_id() not in sources] + [merged]
        toc = target.latest_generation() + 1
        TOC(target.schema, kept, toc).write(target.storage, target.indexname)
        clean_files(target.storage, target.indexname, toc, kept)
        check_written(path, current.documents, [])
        with whoosh_index.open_dir(str(path)).reader() as reader:
            packed.write_packed(path, reader, 1)  # removes the sources' packed arrays
            # The same documents renumbered: the groups carried over, not found again.
            copies.write_groups(path, reader, merged_from=(current.path, merged.segment_id(), order))
        manifest = dict(current.manifest)
        manifest.pop("files", None)
        generations.seal(path, {
            **manifest, "generation": number, "mode": "merge",
            "created": datetime.now().astimezone().isoformat(timespec="seconds"),
        })  # fmt: skip
        generations.publish(index_dir, number)
    generations.cleanup(index_dir, keep, grace=generations.GRACE_SECONDS)
    return Merged(number, len(chosen), len(order), time.monotonic() - started)


def pending_merge(index_dir: Path) -> bool:
    """Whether the generation in use has enough small segments to merge
    (its table of contents read, nothing else)."""
    try:
        number = generations.pointer_number(index_dir)
        if number is None:
            return False
        path = generations.generation_path(index_dir, number)
        return bool(to_merge(whoosh_index.open_dir(str(path))._segments()))
    except Exception:
        return False
