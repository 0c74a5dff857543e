"""The ``searchsvc`` command line, through Flask's CLI runner and as a real process."""

from __future__ import annotations

import json
import subprocess
import sys

from searchsvc.index import lock
from searchsvc.index.generations import current_generation

from .builders import kill_the_first_writer_process, run_cli


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


