"""``searchsvc stats``: what readers look for, from the query log."""

from __future__ import annotations

import json
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext

from ..ops.querylog import resolve_path, stats
from .errors import run_service_call
from .output import print_stats


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
    config = current_app.config
    path = log_path or resolve_path(config["QUERY_LOG"], config["INDEX_DIR"])
    result = run_service_call(stats, path, days, limit)
    if as_json:
        click.echo(json.dumps(result.to_dict(), ensure_ascii=False))
    else:
        print_stats(result)
