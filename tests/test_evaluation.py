"""`searchsvc eval`: judged queries through the search path, metrics from ir-measures."""

from __future__ import annotations

import json
import math

import pytest

from searchsvc.ops.evaluation import EvaluationInputError, load_qrels, load_queries, score_run


@pytest.fixture
def judged(tmp_path):
    queries = tmp_path / "queries.jsonl"
    queries.write_text(
        "\n".join(
            json.dumps({"id": qid, "text": text}, ensure_ascii=False)
            for qid, text in [("q1", "greffe du cœur"), ("q2", "nuit de mercredi"), ("q3", "xyzzy plugh")]
        ),
        "utf-8",
    )
    qrels = tmp_path / "qrels.tsv"
    qrels.write_text("q1\tcoeur.txt\t1\nq2\tnuit.txt\t1\nq3\tporte\t1\n", "utf-8")
    return queries, qrels


def test_hand_computed_metrics():
    qrels = {"a": {"d1": 1}, "b": {"d2": 1}, "c": {"d3": 1}}
    run = {"a": [("d1", 9.0)], "b": [("x", 9.0), ("d2", 8.0)], "c": []}
    result = score_run(run, qrels)
    assert result.queries == 3
    assert result.per_query["a"] == {"ndcg@10": 1.0, "mrr@10": 1.0, "recall@100": 1.0}
    assert result.per_query["b"]["mrr@10"] == 0.5
    assert result.per_query["b"]["ndcg@10"] == pytest.approx(1 / math.log2(3))
    assert result.per_query["c"] == {"ndcg@10": 0.0, "mrr@10": 0.0, "recall@100": 0.0}
    # A query with no results still counts in the mean (as 0).
    assert result.means["mrr@10"] == pytest.approx((1 + 0.5 + 0) / 3)


def test_formats(tmp_path):
    (tmp_path / "q.tsv").write_text("1\tpremière question\n2\tseconde\n", "utf-8")
    (tmp_path / "trec.txt").write_text("1 0 docA 1\n2 0 docB 2\n", "utf-8")
    assert load_queries(tmp_path / "q.tsv") == {"1": "première question", "2": "seconde"}
    assert load_qrels(tmp_path / "trec.txt") == {"1": {"docA": 1}, "2": {"docB": 2}}


def test_bad_input_names_the_file_and_line(tmp_path):
    (tmp_path / "q.jsonl").write_text('{"id": "1", "text": "ok"}\n{"id": "2"}\n', "utf-8")
    with pytest.raises(EvaluationInputError, match=r"q.jsonl:2"):
        load_queries(tmp_path / "q.jsonl")
    (tmp_path / "r.tsv").write_text("1\tdoc\t1\n1 doc\n", "utf-8")
    with pytest.raises(EvaluationInputError, match=r"r.tsv:2: not a judgment"):
        load_qrels(tmp_path / "r.tsv")


def test_eval_command(runner, judged, shared_index):
    queries, qrels = judged
    result = runner.invoke(args=["eval", "--queries", str(queries), "--qrels", str(qrels), "--index", str(shared_index), "--json", "--per-query"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert set(data) >= {"ndcg@10", "mrr@10", "recall@100", "queries"}
    assert data["queries"] == 3
    assert data["per_query"]["q1"]["mrr@10"] == 1.0
    assert data["per_query"]["q2"]["mrr@10"] == 1.0
    assert data["per_query"]["q3"]["recall@100"] == 0.0
    assert data["mrr@10"] == pytest.approx(2 / 3, abs=1e-4)


def test_eval_command_plain_output(runner, judged, shared_index):
    queries, qrels = judged
    result = runner.invoke(args=["eval", "--queries", str(queries), "--qrels", str(qrels), "--index", str(shared_index)])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("3 queries: nDCG@10 0.6667  MRR@10 0.6667  Recall@100 0.6667")


def test_eval_command_reports_bad_files(runner, tmp_path, shared_index):
    (tmp_path / "q.jsonl").write_text("", "utf-8")
    (tmp_path / "r.tsv").write_text("1\td\t1\n", "utf-8")
    result = runner.invoke(args=["eval", "--queries", str(tmp_path / "q.jsonl"), "--qrels", str(tmp_path / "r.tsv"), "--index", str(shared_index)])
    assert result.exit_code == 2
    assert "no queries" in result.output


def test_eval_command_can_strip_accents(runner, judged, shared_index):
    queries, qrels = judged
    args = ["eval", "--queries", str(queries), "--qrels", str(qrels), "--index", str(shared_index), "--json"]
    with_accents = json.loads(runner.invoke(args=args).output)
    without = json.loads(runner.invoke(args=[*args, "--strip-accents"]).output)
    assert without == with_accents  # the analysis folds accents: same rankings


def test_strip_accents_from():
    from searchsvc.ops.evaluation import strip_accents_from

    assert strip_accents_from({"1": "Où est le cœur de l'État ?"}) == {"1": "Ou est le coeur de l'Etat ?"}
