"""``searchsvc eval``: relevance measured with judged queries, through the
service's own search path."""

from __future__ import annotations

import json
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext

from ..ops.evaluation import evaluate, load_qrels, load_queries, strip_accents_from
from ..search.live import LiveIndex
from ..search.weighting import WEIGHTING
from ..text.synonyms import load_synonyms
from .errors import run_service_call


@click.command("eval")
@click.option("--queries", "queries_path", required=True,
              type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help='Queries: JSON Lines {"id", "text"} or TSV id<TAB>text.')
@click.option("--qrels", "qrels_path", required=True,
              type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Judgments: qid<TAB>docid<TAB>rel, or TREC qid 0 docid rel.")
@click.option("--index", "index_dir", type=click.Path(file_okay=False, path_type=Path),
              help="Index folder (default: SEARCHSVC_INDEX_DIR, else index_data/index).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.option("--per-query", is_flag=True, help="Also print each query's figures.")
@click.option("--strip-accents", is_flag=True, help="Remove the queries' accents first (as many readers type).")
@with_appcontext
def eval_command(queries_path, qrels_path, index_dir, as_json, per_query, strip_accents) -> None:
    """Measure relevance: run judged queries through the search path and print
    nDCG@10, MRR@10 and Recall@100."""
    live = LiveIndex(index_dir or Path(str(current_app.config["INDEX_DIR"])), WEIGHTING)
    queries = run_service_call(load_queries, queries_path)
    qrels = run_service_call(load_qrels, qrels_path)
    if strip_accents:
        queries = strip_accents_from(queries)
    synonyms = load_synonyms(current_app.config["SYNONYMS"])  # as the service applies them
    recency = current_app.extensions["searchsvc.recency"]  # and its recency, if set
    result = run_service_call(evaluate, run_service_call(live.searcher), queries, qrels, synonyms, recency)
    if as_json:
        click.echo(json.dumps(result.to_dict(per_query=per_query), ensure_ascii=False))
        return
    if per_query:
        click.echo("query\tndcg@10\tmrr@10\trecall@100")
        for qid, figures in result.per_query.items():
            click.echo(f"{qid}\t{figures['ndcg@10']:.4f}\t{figures['mrr@10']:.4f}\t{figures['recall@100']:.4f}")
    click.echo(
        f"{result.queries} queries: nDCG@10 {result.means['ndcg@10']:.4f}  "
        f"MRR@10 {result.means['mrr@10']:.4f}  Recall@100 {result.means['recall@100']:.4f}"
    )
