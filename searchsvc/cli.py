"""The ``searchsvc`` command line: parse options, call one function, print.

The commands are registered on the Flask app, so they are reachable both as
``searchsvc reindex`` and as ``flask --app searchsvc reindex``, and read the
same ``SEARCHSVC_*`` configuration as the service.

Exit codes (also in the README): 0 success (a generation was switched in,
even if some files were skipped); 1 unexpected error; 2 bad usage; 3 another
reindex is under way; 4 nothing could be indexed; 5 the new generation could
not be written (disk full…).
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
from flask import Flask, current_app
from flask.cli import ScriptInfo, with_appcontext

from .errors import SearchServiceError


class ServiceCommandError(click.ClickException):
    """A :class:`SearchServiceError` shown as ``Error: …`` with its exit code."""

    def __init__(self, error: SearchServiceError) -> None:
        super().__init__(error.message)
        self.exit_code = error.exit_code


def run_service_call(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Call a domain function, turning our typed errors into CLI errors."""
    try:
        return fn(*args, **kwargs)
    except SearchServiceError as e:
        raise ServiceCommandError(e) from e


def human_size(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    raise AssertionError


class ProgressPrinter:
    """A bar on a terminal; on a pipe or log, a plain line every 10%."""

    def __init__(self, stream=None) -> None:
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty()
        self.bar = None
        self.shown = 0
        self.next_tenth = 1
        self.started = time.monotonic()

    def __call__(self, docs: int, done: int, total: int) -> None:
        if self.tty:
            if self.bar is None:
                self.bar = click.progressbar(
                    length=max(total, 1), label="Indexing", file=self.stream, show_pos=False
                )
                self.bar.__enter__()
            self.bar.update(done - self.shown)
            self.shown = done
            return
        if total and done * 10 >= self.next_tenth * total:
            self.next_tenth = done * 10 // total + 1
            rate = docs / max(time.monotonic() - self.started, 1e-6)
            click.echo(
                f"indexed {docs} documents, {done * 100 // total}% of the input ({rate:.0f}/s)",
                file=self.stream,
            )

    def close(self) -> None:
        if self.bar is not None:
            self.bar.__exit__(None, None, None)


def print_summary(result) -> None:
    click.echo(
        f"Generation {result.generation} ({result.mode}) is now in use: "
        f"{result.documents} documents."
    )
    if result.note:
        click.echo(f"  note: {result.note}")
    click.echo(
        f"  indexed {result.added} new, updated {result.updated}, deleted {result.deleted}, "
        f"unchanged {result.unchanged}, kept {result.kept}, skipped {len(result.skipped)}"
    )
    click.echo(f"  took {result.elapsed:.1f} s; index size {human_size(result.size_bytes)}")
    skipped = result.skipped
    if skipped:
        click.echo(f"Skipped ({len(skipped)}):")
        for problem in skipped[:50]:
            click.echo(f"  {problem}")
        if len(skipped) > 50:
            click.echo(f"  … and {len(skipped) - 50} more (use --json for all)")
    warnings = result.problems and [p for p in result.problems if not p.skipped]
    if warnings:
        click.echo(f"Warnings ({len(warnings)}):")
        for problem in warnings[:50]:
            click.echo(f"  {problem}")


def reindex_with_config(
    sources=(),
    index_dir: Path | None = None,
    *,
    incremental: bool = False,
    procs: int | None = None,
    show_progress: bool = True,
):
    """Run :func:`searchsvc.indexer.reindex` with the app's configuration
    filling in whatever the command line left out."""
    from .indexer import reindex
    from .protected import load_protected_words

    cfg = current_app.config
    progress = ProgressPrinter() if show_progress else None
    try:
        return run_service_call(
            reindex,
            sources or [Path(str(cfg["SOURCE_DIR"]))],
            index_dir or Path(str(cfg["INDEX_DIR"])),
            incremental=incremental,
            procs=procs if procs is not None else int(cfg["WRITER_PROCS"]),
            limitmb=int(cfg["WRITER_LIMIT_MB"]),
            max_file_bytes=int(float(cfg["MAX_FILE_MB"]) * 1024 * 1024),
            keep=int(cfg["KEEP_GENERATIONS"]),
            progress=progress,
            protected=load_protected_words(cfg["PROTECTED_WORDS"]).words,  # SEARCHSVC_PROTECTED_WORDS
        )
    finally:
        if progress:
            progress.close()


@click.command("reindex")
@click.argument("sources", nargs=-1, type=click.Path(exists=True, path_type=Path))
@click.option("--index", "index_dir", type=click.Path(file_okay=False, path_type=Path),
              help="Index folder (default: SEARCHSVC_INDEX_DIR, else index_data/index).")
@click.option("--incremental", is_flag=True,
              help="Write only new, changed and deleted documents (by content hash).")
@click.option("--procs", type=click.IntRange(0, 64), default=None,
              help="Writer processes for a full rebuild; 0 = one per core, at most 4 "
              "(default: SEARCHSVC_WRITER_PROCS).")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as one JSON object.")
@click.option("--quiet", is_flag=True, help="No progress output.")
@with_appcontext
def reindex_command(sources, index_dir, incremental, procs, as_json, quiet) -> None:
    """Index SOURCE folders and files (.txt articles, .jsonl) into a new
    generation, then switch the service to it.

    With no SOURCE, indexes SEARCHSVC_SOURCE_DIR (the bundled corpus). A
    running service keeps answering from the current generation until the
    switch, and picks up the new one without a restart.
    """
    result = reindex_with_config(
        sources, index_dir, incremental=incremental, procs=procs, show_progress=not (quiet or as_json)
    )
    if as_json:
        click.echo(json.dumps(result.to_dict(), ensure_ascii=False))
    else:
        print_summary(result)


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=5000, show_default=True, type=click.IntRange(1, 65535))
@with_appcontext
def serve_command(host: str, port: int) -> None:
    """Run the service locally, first building the index from SEARCHSVC_SOURCE_DIR
    (the bundled corpus) when there is none yet.

    For production, run `gunicorn wsgi:app` instead (see the README).
    """
    from werkzeug.serving import run_simple

    from .generations import LiveIndex

    live: LiveIndex = current_app.extensions["searchsvc.index"]
    live.refresh()
    if live.index is None or not live.searchable:
        why = live.stale or live.problem or "no index yet"
        click.echo(f"{why}: indexing {current_app.config['SOURCE_DIR']} first.")
        print_summary(reindex_with_config())
    click.echo(f"Serving on http://{host}:{port}/ (Ctrl+C to stop)")
    run_simple(host, port, current_app._get_current_object(), threaded=True)


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
    from .evaluation import evaluate, load_qrels, load_queries, strip_accents_from
    from .generations import LiveIndex
    from .ranking import WEIGHTING
    from .synonyms import load_synonyms

    live = LiveIndex(index_dir or Path(str(current_app.config["INDEX_DIR"])), WEIGHTING)
    queries = run_service_call(load_queries, queries_path)
    qrels = run_service_call(load_qrels, qrels_path)
    if strip_accents:
        queries = strip_accents_from(queries)
    synonyms = load_synonyms(current_app.config["SYNONYMS"])  # as the service applies them
    result = run_service_call(evaluate, run_service_call(live.searcher), queries, qrels, synonyms)
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


@click.command("switch")
@click.argument("generation", type=click.IntRange(1), required=False)
@click.option("--index", "index_dir", type=click.Path(file_okay=False, path_type=Path),
              help="Index folder (default: SEARCHSVC_INDEX_DIR).")
@click.option("--json", "as_json", is_flag=True, help="Print the result as one JSON object.")
@with_appcontext
def switch_command(generation, index_dir, as_json) -> None:
    """Put GENERATION (default: the newest in the folder) in use, after checking it whole.

    For a generation built on another host and copied here, or to go back."""
    from .generations import switch

    config = current_app.config
    index_dir = index_dir or Path(config["INDEX_DIR"])
    chosen = run_service_call(switch, index_dir, generation, keep=int(config["KEEP_GENERATIONS"]))
    if as_json:
        click.echo(json.dumps({"generation": chosen.number, "documents": chosen.documents, "path": str(chosen.path)}))
    else:
        click.echo(f"Generation {chosen.number} is now in use: {chosen.documents} documents.")


@click.command("stats")
@click.option("--days", type=click.IntRange(1, 36500), default=30, show_default=True,
              help="Over the last N days.")
@click.option("--limit", type=click.IntRange(1, 10000), default=20, show_default=True,
              help="Queries listed in each table.")
@click.option("--log", "log_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Query log file (default: SEARCHSVC_QUERY_LOG, else querylog.sqlite in the index folder).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@with_appcontext
def stats_command(days, limit, log_path, as_json) -> None:
    """What readers look for: the top queries, the queries with no results and
    the slowest ones (by their longest time), from the query log.

    Queries are grouped without regard to case, accents and spaces, under their
    most common written form; moving to page 2 or further is not counted as a
    new search."""
    from .querylog import resolve_path, stats

    config = current_app.config
    path = log_path or resolve_path(config["QUERY_LOG"], config["INDEX_DIR"])
    result = run_service_call(stats, path, days, limit)
    if as_json:
        click.echo(json.dumps(result.to_dict(), ensure_ascii=False))
    else:
        print_stats(result)


def print_stats(result) -> None:
    since = result.since[:16].replace("T", " ")
    click.echo(
        f"Last {result.days} days (since {since} UTC): {result.searches:,} searches, "
        f"{result.distinct_queries:,} distinct queries, {result.zero_result_searches:,} without results."
    )
    tables = [
        ("Top queries", result.top_queries,
         [("count", "searches"), ("zero_results", "no results"), ("median_ms", "median ms")]),
        ("Queries with no results", result.zero_result_queries,
         [("zero_results", "no results"), ("count", "searches")]),
        ("Slowest queries (by their longest time)", result.slowest_queries,
         [("max_ms", "max ms"), ("median_ms", "median ms"), ("count", "searches")]),
    ]  # fmt: skip
    for title, rows, columns in tables:
        click.echo(f"\n{title}")
        if not rows:
            click.echo("  (none)")
            continue
        cells = [
            [f"{getattr(row, key):,.1f}" if key.endswith("_ms") else f"{getattr(row, key):,}" for key, _ in columns]
            + [row.last_seen[:16].replace("T", " "), row.query]
            for row in rows
        ]
        header = [label for _, label in columns] + ["last seen (UTC)", "query"]
        widths = [max(len(header[i]), *(len(c[i]) for c in cells)) for i in range(len(columns) + 1)]
        click.echo("  " + "  ".join(h.rjust(w) for h, w in zip(header, widths, strict=False)) + "  query")
        for c in cells:
            click.echo("  " + "  ".join(v.rjust(w) for v, w in zip(c, widths, strict=False)) + f"  {c[-1]}")


COMMANDS = [reindex_command, serve_command, eval_command, switch_command, stats_command]


def init_app(app: Flask) -> None:
    for command in COMMANDS:
        app.cli.add_command(command)


@click.group(help="searchsvc: French site search. Configure with SEARCHSVC_* variables.")
@click.version_option(package_name="searchsvc")
def cli() -> None:
    pass


for _command in COMMANDS:
    cli.add_command(_command)


def main() -> None:
    """The ``searchsvc`` console script: the same commands as ``flask --app searchsvc``."""
    from . import create_app

    cli.main(prog_name="searchsvc", obj=ScriptInfo(create_app=create_app, set_debug_flag=False))


# The word-list commands (synonyms, protected words) live in their own module.
from .synonyms_cli import WORD_LIST_COMMANDS  # noqa: E402

COMMANDS.extend(WORD_LIST_COMMANDS)
for _command in WORD_LIST_COMMANDS:
    cli.add_command(_command)
