"""The ``searchsvc`` command line, through Flask's CLI runner and as a real process."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from searchsvc.errors import ReindexInProgress
from searchsvc.index import generations, lock
from searchsvc.index.generations import current_generation
from searchsvc.index.reindex import reindex
from searchsvc.search.live import LiveIndex

from .builders import kill_the_first_writer_process, run_cli

BUNDLED = Path(__file__).resolve().parents[1] / "index_data" / "corpus"


def test_reindex_prints_a_summary(runner, corpus, tmp_path):
    result = runner.invoke(args=["reindex", str(corpus), "--index", str(tmp_path / "ix")])
    assert result.exit_code == 0, result.output
    assert "Generation 1 (full) is now in use: 7 documents." in result.output
    assert "indexed 7 new, updated 0, deleted 0, unchanged 0, kept 0, skipped 0" in result.output
    assert "index size" in result.output


def test_reindex_json_lists_what_was_skipped(runner, corpus, tmp_path):
    (corpus / "vide.txt").write_text("", "utf-8")
    result = runner.invoke(args=["reindex", str(corpus), "--index", str(tmp_path / "ix"), "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["documents"] == 7 and data["generation"] == 1
    assert data["problems"] == [{"path": "vide.txt", "line": None, "reason": "empty file", "skipped": True}]


def test_reindex_uses_the_configured_index_and_source(fresh_app):
    result = fresh_app.test_cli_runner().invoke(args=["reindex", "--incremental"])
    assert result.exit_code == 0, result.output
    assert "Generation 2 (incremental)" in result.output
    assert "unchanged 7" in result.output


def test_reindex_refused_while_another_runs(runner, corpus, fresh_index):
    with lock.reindex_lock(fresh_index):
        result = runner.invoke(args=["reindex", str(corpus), "--index", str(fresh_index)])
    assert result.exit_code == 3
    assert "a reindex is already under way" in result.output


def test_reindex_exits_5_when_a_writer_process_is_killed(runner, corpus, fresh_index, monkeypatch, tmp_path):
    kill_the_first_writer_process(monkeypatch, tmp_path)
    result = runner.invoke(args=["reindex", str(corpus), "--index", str(fresh_index), "--procs", "2"])
    assert result.exit_code == 5, result.output
    assert "a writer process died (killed by signal 9); nothing was switched" in result.output
    assert current_generation(fresh_index).number == 1


def test_reindex_with_nothing_valid_exits_4(runner, tmp_path):
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "vide.txt").write_text("")
    result = runner.invoke(args=["reindex", str(tmp_path / "src"), "--index", str(tmp_path / "ix")])
    assert result.exit_code == 4
    assert "no valid document" in result.output


def test_reindex_of_a_missing_source_is_a_usage_error(runner, tmp_path):
    result = runner.invoke(args=["reindex", str(tmp_path / "absent"), "--index", str(tmp_path / "ix")])
    assert result.exit_code == 2
    assert "does not exist" in result.output


def test_console_command_prints_plain_progress_when_not_a_tty(corpus, tmp_path):
    proc = run_cli("reindex", str(corpus), "--index", str(tmp_path / "ix"))
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert "indexed 7 documents, 100% of the input" in err
    assert "Generation 1 (full) is now in use" in out


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


def test_reindex_refused_while_another_process_holds_the_lock(corpus, tmp_path):
    index_dir = tmp_path / "ix"
    index_dir.mkdir()
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import sys, time; from searchsvc.index.lock import reindex_lock\n"
         f"with reindex_lock({str(index_dir)!r}):\n    print('held', flush=True); time.sleep(30)"],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout.readline().strip() == "held"
        proc = run_cli("reindex", str(corpus), "--index", str(index_dir))
        out, err = proc.communicate(timeout=60)
        assert proc.returncode == 3
        assert f"a reindex is already under way in {index_dir} (pid {holder.pid}" in err
        assert sorted(p.name for p in index_dir.iterdir()) == ["reindex.lock"]
    finally:
        holder.kill()
        holder.wait()
        holder.stdout.close()


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


def test_a_generation_built_elsewhere_is_shipped_and_switched_in(runner, corpus, tmp_path):
    """The README's scale-out recipe: build on one host, copy the generation
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
