"""``searchsvc reindex``, ``searchsvc switch`` and ``searchsvc serve``: building
generations, putting one in use, and serving them on a development server."""

from __future__ import annotations

import json
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext

from ..index.database import is_database_url, source_name
from ..index.generations import switch
from ..index.reindex import ReindexResult, reindex
from ..search.live import LiveIndex
from ..text.protected import load_protected_words
from .errors import run_service_call
from .output import ProgressPrinter, print_summary


def reindex_with_config(
    sources=(),
    index_dir: Path | None = None,
    *,
    incremental: bool = False,
    procs: int | None = None,
    show_progress: bool = True,
    sql: str | None = None,
) -> ReindexResult:
    """Run :func:`searchsvc.index.reindex.reindex` with the app's configuration
    filling in whatever the command line left out."""
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
            sql=sql,
        )
    finally:
        if progress:
            progress.close()


class SourceParam(click.ParamType):
    """A file or folder that exists, or a database URL (``scheme://…``)."""

    name = "source"

    def convert(self, value, param, ctx):
        if isinstance(value, str) and is_database_url(value):
            return value
        return click.Path(exists=True, path_type=Path).convert(value, param, ctx)


@click.command("reindex")
@click.argument("sources", nargs=-1, type=SourceParam())
@click.option("--index", "index_dir", type=click.Path(file_okay=False, path_type=Path),
              help="Index folder (default: SEARCHSVC_INDEX_DIR, else index_data/index).")
@click.option("--incremental", is_flag=True,
              help="Write only new, changed and deleted documents (by content hash).")
@click.option("--procs", type=click.IntRange(0, 64), default=None,
              help="Writer processes for a full rebuild; 0 = one per core, at most 4 "
              "(default: SEARCHSVC_WRITER_PROCS).")
@click.option("--sql", metavar="QUERY",
              help="With a database URL as the SOURCE: the query returning the documents' columns "
              "(id, title; body, date, source, url; updated_at drives --incremental).")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as one JSON object.")
@click.option("--quiet", is_flag=True, help="No progress output.")
@with_appcontext
def reindex_command(sources, index_dir, incremental, procs, sql, as_json, quiet) -> None:
    """Index SOURCE folders and files (.txt articles, .jsonl), or a database
    (a SQLAlchemy URL with --sql), into a new generation, then switch the
    service to it.

    With no SOURCE, indexes SEARCHSVC_SOURCE_DIR (the bundled corpus). A
    running service keeps answering from the current generation until the
    switch, and picks up the new one without a restart.
    """
    urls = [s for s in sources if isinstance(s, str)]
    if sql is not None and (len(sources) != 1 or not urls):
        raise click.UsageError("--sql reads one SOURCE, a database URL (postgresql://…, sqlite:///…)")
    if urls and sql is None:
        raise click.UsageError(f"{source_name(urls[0])} is a database: give the query with --sql")
    result = reindex_with_config(
        sources, index_dir, incremental=incremental, procs=procs, show_progress=not (quiet or as_json), sql=sql
    )
    if as_json:
        click.echo(json.dumps(result.to_dict(), ensure_ascii=False))
    else:
        print_summary(result)


@click.command("switch")
@click.argument("generation", type=click.IntRange(1), required=False)
@click.option("--index", "index_dir", type=click.Path(file_okay=False, path_type=Path),
              help="Index folder (default: SEARCHSVC_INDEX_DIR).")
@click.option("--json", "as_json", is_flag=True, help="Print the result as one JSON object.")
@with_appcontext
def switch_command(generation, index_dir, as_json) -> None:
    """Put GENERATION (default: the newest in the folder) in use, after checking it whole.

    For a generation built on another host and copied here, or to go back."""
    config = current_app.config
    index_dir = index_dir or Path(config["INDEX_DIR"])
    chosen = run_service_call(switch, index_dir, generation, keep=int(config["KEEP_GENERATIONS"]))
    if as_json:
        click.echo(json.dumps({"generation": chosen.number, "documents": chosen.documents, "path": str(chosen.path)}))
    else:
        click.echo(f"Generation {chosen.number} is now in use: {chosen.documents} documents.")


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=5000, show_default=True, type=click.IntRange(1, 65535))
@with_appcontext
def serve_command(host: str, port: int) -> None:
    """Run the service locally, first building the index from SEARCHSVC_SOURCE_DIR
    (the bundled corpus) when there is none yet.

    For production, run `gunicorn wsgi:app` instead (see docs/operations.md).
    """
    from werkzeug.serving import run_simple

    from ..text.meaning import word_vectors

    live: LiveIndex = current_app.extensions["searchsvc.index"]
    live.refresh()
    if live.index is None or not live.searchable:
        why = live.stale or live.problem or "no index yet"
        click.echo(f"{why}: indexing {current_app.config['SOURCE_DIR']} first.")
        print_summary(reindex_with_config())
    word_vectors()  # loaded now (a second), not at the first search
    click.echo(f"Serving on http://{host}:{port}/ (Ctrl+C to stop)")
    run_simple(host, port, current_app._get_current_object(), threaded=True)
