"""What the commands print: progress while indexing, and the summaries."""

from __future__ import annotations

import sys
import time

import click

from ..index.reindex import ReindexResult
from ..ops.querylog import QueryStats


def human_size(n: float) -> str:
    """``n`` bytes as ``12.5 MiB``."""
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


def print_summary(result: ReindexResult) -> None:
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
    if result.pushed:
        click.echo(f"  kept {result.pushed} documents pushed over the API that the sources do not hold")
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


def print_stats(result: QueryStats) -> None:
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
