"""The index folder on disk (:mod:`searchsvc.index.generations` and
:mod:`searchsvc.index.lock`): numbered generations, the ``CURRENT`` pointer,
seal, publish, switch and cleanup, the one writer's lock, and a reindex killed
at any moment leaving the previous generation whole and in use.

How a running service follows the pointer is ``tests/test_live.py``'s.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from searchsvc.errors import IndexNotReady, ReindexInProgress
from searchsvc.index import generations, lock
from searchsvc.index.generations import (
    current_generation,
    generation_numbers,
    pointer_number,
    switch,
)
from searchsvc.index.reindex import reindex
from searchsvc.search.live import LiveIndex
from searchsvc.text.analysis import ANALYSIS_VERSION

from .builders import run_cli, write_corpus

BUNDLED = Path(__file__).resolve().parents[1] / "index_data" / "corpus"


def make_folders(index_dir: Path, *numbers: int) -> None:
    for number in numbers:
        generations.generation_path(index_dir, number).mkdir(parents=True)


def sealed(index_dir: Path, number: int, files: dict[str, bytes], **manifest) -> Path:
    """A generation folder of plain files (no Whoosh index), sealed."""
    path = generations.generation_path(index_dir, number)
    path.mkdir(parents=True)
    for name, data in files.items():
        (path / name).write_bytes(data)
    generations.seal(path, manifest)
    return path


@pytest.fixture(scope="module")
def three_generations_built(tmp_path_factory) -> Path:
    """Generations 1, 2 and 3 of the small corpus (full builds), the pointer on 3:
    built once, copied for each test (``three_generations``)."""
    root = tmp_path_factory.mktemp("three-generations")
    corpus = write_corpus(root / "corpus")
    for _ in range(3):
        reindex([corpus], root / "index", keep=3)
    return root / "index"


@pytest.fixture
def three_generations(three_generations_built: Path, tmp_path: Path) -> Path:
    """This test's copy of ``three_generations_built``, to switch and damage."""
    index_dir = shutil.copytree(three_generations_built, tmp_path / "ix")
    assert generation_numbers(index_dir) == [1, 2, 3] and pointer_number(index_dir) == 3
    return index_dir


# --------------------------------------------------------------------------
# Numbers, the pointer, seal and publish


def test_before_the_first_build_there_is_no_pointer_and_no_generation(tmp_path):
    assert pointer_number(tmp_path) is None
    assert current_generation(tmp_path) is None
    assert generation_numbers(tmp_path) == []
    assert generations.next_number(tmp_path) == 1


def test_generation_folders_are_numbered_and_only_those_count(tmp_path):
    assert generations.generation_path(tmp_path, 12) == tmp_path / "gen-000012"
    for name in ("gen-000003", "gen-000010", "gen-1", "gen-", "gen-x", "gen-000004.tmp", "other"):
        (tmp_path / name).mkdir()
    assert generation_numbers(tmp_path) == [1, 3, 10]
    assert generations.next_number(tmp_path) == 11  # above every folder, published or not
    generations.publish(tmp_path, 12)
    assert generations.next_number(tmp_path) == 13  # and above the pointer


@pytest.mark.parametrize("content", ["", "{", "[]", '{"generation": "x"}', '{"generation": null}', '{"other": 1}'])
def test_an_unreadable_pointer_is_not_ready(tmp_path, content):
    (tmp_path / generations.POINTER).write_text(content, "utf-8")
    with pytest.raises(IndexNotReady, match="CURRENT is unreadable .*; run a reindex"):
        pointer_number(tmp_path)
    with pytest.raises(IndexNotReady, match="CURRENT is unreadable"):
        current_generation(tmp_path)


def test_seal_records_every_file_and_its_size(tmp_path):
    path = sealed(
        tmp_path, 4, {"_MAIN_1.toc": b"toc", "a.seg": b"x" * 10, "MAIN_WRITELOCK": b""},
        documents=3, analysis=ANALYSIS_VERSION,
    )  # fmt: skip
    (path / "sub").mkdir()  # a folder is not a file of the generation
    manifest = json.loads((path / generations.MANIFEST).read_text("utf-8"))
    assert manifest == {"documents": 3, "analysis": ANALYSIS_VERSION, "files": {"_MAIN_1.toc": 3, "a.seg": 10}}
    assert sorted(p.name for p in path.iterdir()) == ["MAIN_WRITELOCK", "_MAIN_1.toc", "a.seg", "manifest.json", "sub"]
    generation = generations.read_generation(tmp_path, 4)
    assert (generation.number, generation.path, generation.documents) == (4, path, 3)


@pytest.mark.parametrize(
    "damage, message",
    [
        (lambda p: (p / "manifest.json").unlink(), r"generation 4 has no manifest.json: .*gen-000004 is incomplete"),
        (lambda p: (p / "manifest.json").write_text("{", "utf-8"), r"generation 4: manifest.json is damaged"),
        (lambda p: (p / "a.seg").unlink(), r"generation 4 is damaged: a.seg is missing"),
        (lambda p: os.truncate(p / "a.seg", 4), r"generation 4 is damaged: a.seg has 4 bytes, expected 10"),
        (lambda p: (p / "a.seg").write_bytes(b"x" * 11), r"generation 4 is damaged: a.seg has 11 bytes, expected 10"),
    ],
    ids=["no manifest", "manifest damaged", "file missing", "file truncated", "file grown"],
)
def test_reading_a_generation_names_what_is_missing_or_truncated(tmp_path, damage, message):
    path = sealed(tmp_path, 4, {"_MAIN_1.toc": b"toc", "a.seg": b"x" * 10}, documents=3)
    generations.publish(tmp_path, 4)
    assert current_generation(tmp_path).number == 4
    damage(path)
    with pytest.raises(IndexNotReady, match=message):
        generations.read_generation(tmp_path, 4)
    with pytest.raises(IndexNotReady, match=message):
        current_generation(tmp_path)


def test_publish_replaces_the_pointer_whole(tmp_path):
    generations.publish(tmp_path, 1)
    first = (tmp_path / generations.POINTER).stat().st_ino
    generations.publish(tmp_path, 2)
    assert json.loads((tmp_path / generations.POINTER).read_text("utf-8")) == {"generation": 2}
    assert pointer_number(tmp_path) == 2
    # A new file renamed over the old one, never the old one rewritten in place:
    # a reader sees one pointer or the other, and LiveIndex sees the inode change.
    assert (tmp_path / generations.POINTER).stat().st_ino != first
    assert sorted(p.name for p in tmp_path.iterdir()) == ["CURRENT"]  # no temporary file left


# --------------------------------------------------------------------------
# Cleanup: what a reindex removes once it has switched


@pytest.mark.parametrize("keep, kept", [(1, [4]), (2, [3, 4]), (3, [2, 3, 4]), (9, [1, 2, 3, 4])])
def test_cleanup_keeps_the_current_generation_and_those_just_before(tmp_path, keep, kept):
    make_folders(tmp_path, 1, 2, 3, 4, 5)  # 5: a build that crashed before its switch
    generations.publish(tmp_path, 4)
    (tmp_path / ".CURRENT.123.tmp").write_text("{", "utf-8")  # a pointer write cut short
    removed = generations.cleanup(tmp_path, keep=keep)
    assert generation_numbers(tmp_path) == kept
    assert removed == sorted({1, 2, 3, 4, 5} - set(kept))
    assert not list(tmp_path.glob(".*.tmp"))
    assert pointer_number(tmp_path) == 4


def test_cleanup_before_any_publish_removes_every_generation(tmp_path):
    make_folders(tmp_path, 1, 2)
    assert generations.cleanup(tmp_path) == [1, 2]
    assert generation_numbers(tmp_path) == []


def test_full_reindex_switches_generations_and_keeps_the_previous_one(fresh_index, corpus):
    first = current_generation(fresh_index)
    result = reindex([corpus], fresh_index)
    assert result.generation == first.number + 1
    assert current_generation(fresh_index).number == result.generation
    reindex([corpus], fresh_index)
    numbers = sorted(p.name for p in fresh_index.glob("gen-*"))
    assert numbers == ["gen-000002", "gen-000003"]  # keep=2: current and previous


def test_leftovers_of_a_crashed_build_are_removed(fresh_index, corpus):
    crashed = generations.generation_path(fresh_index, 9)
    crashed.mkdir()
    (crashed / "half.seg").write_bytes(b"x" * 10)
    result = reindex([corpus], fresh_index)
    assert not crashed.exists()
    assert result.generation == 10  # numbers are never reused


# --------------------------------------------------------------------------
# Switch: a generation built elsewhere, or an older one, put in use


def test_switch_to_a_given_generation_or_the_newest(three_generations):
    index_dir = three_generations
    generation = switch(index_dir, 1, keep=2)
    assert (generation.number, generation.documents, pointer_number(index_dir)) == (1, 7, 1)
    assert generation_numbers(index_dir) == [1, 2, 3]  # newer generations are left alone
    generation = switch(index_dir, keep=2)  # the newest
    assert (generation.number, pointer_number(index_dir)) == (3, 3)
    assert generation_numbers(index_dir) == [2, 3]  # older ones beyond keep are removed
    switch(index_dir, 3, keep=1)
    assert generation_numbers(index_dir) == [3]


def test_switch_reads_segments_in_place(three_generations, monkeypatch):
    """Whoosh's stock reader copies every segment file into memory: counting
    the documents of a 1,000,000-article generation took 12.5 GB."""
    from whoosh.filedb import structfile

    from searchsvc.text import whoosh_patches

    monkeypatch.setattr(structfile.BufferFile, "__init__", structfile.BufferFile.__init__)  # restored after
    whoosh_patches.uninstall_reader()
    files = []
    patched = whoosh_patches._buffer_file_init
    monkeypatch.setattr(whoosh_patches, "_buffer_file_init", lambda self, *a, **k: files.append(self) or patched(self, *a, **k))
    switch(three_generations, 2, keep=3)
    assert files and all(isinstance(f.file, whoosh_patches.ViewReader) for f in files)


def _truncate_the_largest_segment(path: Path) -> str:
    victim = max(path.glob("*.seg"), key=lambda p: p.stat().st_size)
    os.truncate(victim, 100)
    return f"generation 2 is damaged: {victim.name} has 100 bytes, expected"


def _remove_a_segment(path: Path) -> str:
    victim = next(path.glob("*.seg"))
    victim.unlink()
    return f"generation 2 is damaged: {victim.name} is missing"


def _no_manifest_yet(path: Path) -> str:
    (path / generations.MANIFEST).unlink()
    return "generation 2 has no manifest.json: .* is incomplete"


def _another_analysis(path: Path) -> str:
    manifest = json.loads((path / generations.MANIFEST).read_text("utf-8"))
    (path / generations.MANIFEST).write_text(json.dumps({**manifest, "analysis": "fr-0"}), "utf-8")
    return re.escape(f"generation 2 was built with analysis 'fr-0', this version uses '{ANALYSIS_VERSION}'")


def _no_table_of_contents(path: Path) -> str:
    # Whole by its manifest, which does not list Whoosh's table of contents.
    # (A table of contents of the right size but garbled would do too, but
    # Whoosh leaves that file open when it fails to read it.)
    toc = next(path.glob("_MAIN_*.toc"))
    toc.unlink()
    manifest = json.loads((path / generations.MANIFEST).read_text("utf-8"))
    del manifest["files"][toc.name]
    (path / generations.MANIFEST).write_text(json.dumps(manifest), "utf-8")
    return "generation 2 cannot be opened"


@pytest.mark.parametrize(
    "damage",
    [_truncate_the_largest_segment, _remove_a_segment, _no_manifest_yet, _another_analysis, _no_table_of_contents],
    ids=["half-copied", "file missing", "no manifest", "another analysis", "whoosh cannot open it"],
)
def test_switch_refuses_a_generation_it_cannot_serve_and_changes_nothing(three_generations, damage):
    index_dir = three_generations
    message = damage(generations.generation_path(index_dir, 2))
    with pytest.raises(IndexNotReady, match=message):
        switch(index_dir, 2, keep=1)
    assert pointer_number(index_dir) == 3 and generation_numbers(index_dir) == [1, 2, 3]


def test_switch_names_what_is_not_there(tmp_path, three_generations):
    with pytest.raises(IndexNotReady, match=r"there is no generation 9 in .* \(found: \[1, 2, 3\]\)"):
        switch(three_generations, 9)
    (tmp_path / "empty").mkdir()
    with pytest.raises(IndexNotReady, match="no generation in .*empty: copy one there first"):
        switch(tmp_path / "empty")
    assert pointer_number(three_generations) == 3


def test_switch_waits_for_no_reindex(three_generations):
    with lock.reindex_lock(three_generations), pytest.raises(ReindexInProgress):
        switch(three_generations, 1)
    assert pointer_number(three_generations) == 3


def test_a_generation_built_elsewhere_is_shipped_and_switched_in(runner, corpus, tmp_path):
    """The scale-out recipe of docs/operations.md: build on one host, copy the generation
    folder to an application host's index folder, `searchsvc switch` there."""
    build_host, app_host = tmp_path / "build", tmp_path / "app"
    reindex([corpus], build_host)
    (corpus / "nouveau.txt").write_text("Un nouvel article\n\nSur la réforme des retraites.\n", "utf-8")
    second = reindex([corpus], build_host, incremental=True)
    app_host.mkdir()
    for number in (1, second.generation):
        shutil.copytree(generations.generation_path(build_host, number), generations.generation_path(app_host, number))
    result = runner.invoke(args=["switch", "1", "--index", str(app_host)])
    assert result.exit_code == 0, result.output
    assert "Generation 1 is now in use: 7 documents." in result.output
    live = LiveIndex(app_host)
    assert live.current()[0].number == 1
    result = runner.invoke(args=["switch", "--index", str(app_host), "--json"])  # the newest
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["generation"] == 2 and json.loads(result.output)["documents"] == 8
    assert live.current()[0].number == 2  # the service follows without a restart


def test_switch_refuses_a_half_copied_generation(runner, corpus, tmp_path):
    reindex([corpus], tmp_path / "ix")
    reindex([corpus], tmp_path / "ix")
    damaged = generations.generation_path(tmp_path / "ix", 2)
    victim = max((p for p in damaged.iterdir() if p.suffix == ".seg"), key=lambda p: p.stat().st_size)
    victim.write_bytes(victim.read_bytes()[:100])
    generations.publish(tmp_path / "ix", 1)
    result = runner.invoke(args=["switch", "2", "--index", str(tmp_path / "ix")])
    assert result.exit_code == 1 and f"generation 2 is damaged: {victim.name} has 100 bytes" in result.output
    assert generations.pointer_number(tmp_path / "ix") == 1
    result = runner.invoke(args=["switch", "9", "--index", str(tmp_path / "ix")])
    assert result.exit_code == 1 and "there is no generation 9" in result.output


# --------------------------------------------------------------------------
# The lock: one writer at a time


def test_the_lock_names_its_holder_and_is_released_whatever_happens(tmp_path):
    with lock.reindex_lock(tmp_path):
        assert (tmp_path / lock.LOCK).read_text("utf-8").startswith(f"pid {os.getpid()}, started ")
        refused = r"already under way in .* \(in this process\)"
        with pytest.raises(ReindexInProgress, match=refused), lock.reindex_lock(tmp_path):
            pass
        (tmp_path / "elsewhere").mkdir()
        with lock.reindex_lock(tmp_path / "elsewhere"):  # another folder, another lock
            pass
    with pytest.raises(RuntimeError, match="a failed reindex"), lock.reindex_lock(tmp_path):
        raise RuntimeError("a failed reindex")
    with lock.reindex_lock(tmp_path):  # released both times
        pass


def test_a_second_reindex_is_refused_and_touches_nothing(fresh_index, corpus):
    before = sorted(p.name for p in fresh_index.iterdir())
    with lock.reindex_lock(fresh_index), pytest.raises(ReindexInProgress, match="already under way"):
        reindex([corpus], fresh_index)
    assert sorted(p.name for p in fresh_index.iterdir()) == before


def test_the_refusal_names_the_holder_not_a_previous_one(tmp_path):
    """Between taking the lock and writing its line, the holder's lock file is
    empty or names the previous holder (here a dead process)."""
    lock_file = tmp_path / lock.LOCK
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import fcntl, os, time\n"
         f"fd = os.open({str(lock_file)!r}, os.O_RDWR | os.O_CREAT)\n"
         "os.pwrite(fd, b'pid 999999999, started 2020-01-01 00:00:00', 0)\n"
         "fcntl.lockf(fd, fcntl.LOCK_EX)\n"
         "print('held', flush=True); time.sleep(0.2)\n"
         "os.ftruncate(fd, 0); os.pwrite(fd, f'pid {os.getpid()}, started now'.encode(), 0)\n"
         "time.sleep(30)"],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout.readline().strip() == "held"
        refused = rf"\(pid {holder.pid}, started now\)"
        with pytest.raises(ReindexInProgress, match=refused), lock.reindex_lock(tmp_path):
            pass
    finally:
        holder.kill()
        holder.wait()
        holder.stdout.close()


# --------------------------------------------------------------------------
# A reindex killed at any moment


@pytest.fixture
def news_corpus(tmp_path) -> Path:
    """A few hundred real articles from the bundled corpus: a build that takes a while."""
    target = tmp_path / "news"
    target.mkdir()
    for path in sorted((BUNDLED / "orangesum").glob("*.txt"))[:400]:
        (target / path.name).write_bytes(path.read_bytes())
    return target


def top_ids(live: LiveIndex, text: str) -> list[str]:
    from whoosh.qparser import MultifieldParser, OrGroup

    searcher = live.searcher()
    parser = MultifieldParser(["text"], searcher.schema, group=OrGroup)
    return [hit["id"] for hit in searcher.search(parser.parse(text), limit=10)]


def wait_until_no_process_mentions(text: str, timeout: float = 10.0) -> bool:
    """True once no running process has ``text`` on its command line."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        alive = []
        for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
            try:
                if text in cmdline.read_bytes().decode("utf-8", "replace"):
                    alive.append(cmdline)
            except OSError:
                pass
        if not alive:
            return True
        time.sleep(0.1)
    return False


def test_kill_9_during_a_reindex_leaves_the_previous_generation_in_use(news_corpus, tmp_path):
    index_dir = tmp_path / "ix"
    reindex([news_corpus], index_dir)
    live = LiveIndex(index_dir)
    queries = ["gouvernement", "president de la republique", "coronavirus"]
    before = {q: top_ids(live, q) for q in queries}
    assert all(before.values())

    for path in sorted(news_corpus.glob("*.txt"))[:100]:
        path.unlink()  # the next generation would differ
    proc = run_cli("reindex", str(news_corpus), "--index", str(index_dir))
    line = proc.stderr.readline()  # the first progress line: the build is under way
    assert "indexed" in line, line + proc.stderr.read()
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)
    proc.stdout.close()
    proc.stderr.close()
    assert wait_until_no_process_mentions(str(index_dir)), "orphaned writer workers survived"

    assert current_generation(index_dir).number == 1
    assert generations.generation_path(index_dir, 2).exists()  # the half-built one
    time.sleep(0.01)
    assert {q: top_ids(live, q) for q in queries} == before
    assert {q: top_ids(LiveIndex(index_dir), q) for q in queries} == before

    # The lock died with the process: the next reindex runs and cleans up.
    result = reindex([news_corpus], index_dir)
    assert result.generation == 3 and result.documents == 300
    assert not generations.generation_path(index_dir, 2).exists()
    assert live.searcher().doc_count() == 300
