"""The speed benchmark in one command: searchsvc beside stock Whoosh, SQLite FTS5 and tantivy.

Runs, one after the other, each as a subprocess with its progress on stderr:

1. ``bench_index.py --json``: full reindex of the 20,000 OrangeSum news
   articles by searchsvc, Whoosh's stock ``LanguageAnalyzer("fr")`` setup,
   SQLite FTS5 and tantivy (docs/s, peak RSS, index size), then each one's
   incremental reindex after 1% of the titles changed;
2. ``bench_query.py --json``: query latency, top 10 with snippets, for the
   one- to three-word queries and the first 300 PIAF questions on the news
   articles, and the same questions on their own PIAF paragraphs (plus FTS5
   without snippets);
3. ``bench_load.py --json`` if it is there (``--skip-load`` to leave it
   out): the service behind gunicorn under concurrent requests. Only
   searchsvc is measured there. If the script is missing, fails without
   printing its JSON or times out (``--load-timeout``, 30 minutes), its rows
   say so and the rest is still printed.

Then prints ONE markdown table: one row per figure, columns searchsvc |
stock Whoosh | FTS5 | tantivy | searchsvc ÷ stock | searchsvc ÷ FTS5 |
searchsvc ÷ tantivy | target | met?. A ratio is the plain quotient of the two
figures, whatever the direction (above 1 for docs/s means searchsvc is
faster, above 1 for milliseconds means it is slower). The targets set for searchsvc:

* full reindex at least 3× stock Whoosh's docs/s (the ``searchsvc ÷ stock``
  cell of the docs/s row);
* incremental reindex of 1% at least 20× faster than a full one (the
  searchsvc cell of the full ÷ incremental row);
* short-query median, with snippets, at most 2× FTS5's without snippets
  (the ``searchsvc ÷ FTS5`` cell of that row), and short-query p95 < 50 ms;
* under load at least 300 requests/s, with 0 errors.

The searchsvc full-reindex figures are those of the process count the
service uses by default (``WRITER_PROCS=0``: one per core, at most 4), if
bench_index ran it, else of its largest; the full ÷ incremental ratio divides
that row's wall time by the incremental one's. Below the table: what the
columns hold, how many targets were met, and any problem the scripts
reported. Every figure the scripts printed, with the table's rows, goes to
``bench/results/speed.json`` (``speed-quick.json`` with ``--quick``;
``--out`` to choose).

Run from the repo root::

    .venv/bin/python -m bench.bench_speed               # everything: about 50 minutes on 2 CPUs
    .venv/bin/python -m bench.bench_speed --quick       # smoke run: 2,000 articles, 50 queries, 1 round
    .venv/bin/python -m bench.bench_speed --skip-load   # without bench_load.py
    .venv/bin/python -m bench.bench_speed --reuse       # bench_query reuses its bench/work/ indexes

``--quick`` passes ``--limit 2000`` to bench_index, ``--limit 2000 --queries
50 --rounds 1`` to bench_query, and ``--requests 300`` to bench_load if its
``--help`` lists ``--requests``. ``--rounds N`` passes ``--rounds N`` to
bench_query. Exit status 0 when the runs went through, whether or not the
targets are met; 1 if bench_index or bench_query gave no figures.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from bench.common import (
    RESULTS,
    ROOT,
    git_state,
    last_json,
    log,
    module_command,
    save_json,
    versions,
)

BENCH = ROOT / "bench"
SYSTEMS = ("searchsvc", "stock", "fts5", "tantivy")
HEADER = [
    "figure", "searchsvc", "stock Whoosh", "FTS5", "tantivy",
    "searchsvc ÷ stock", "searchsvc ÷ FTS5", "searchsvc ÷ tantivy", "target", "met?",
]  # fmt: skip
QUICK_LIMIT = 2000


def module_name(name: str) -> str:
    """``bench_load.py`` -> ``bench.bench_load``: the scripts run as modules, from the repo root."""
    return f"bench.{Path(name).stem}"


def run_json(name: str, args: list[str], timeout: float | None = None) -> tuple[dict | None, str]:
    """Run ``python -m bench.<name> args`` (stderr passed through); its JSON stdout and a status."""
    if not (BENCH / name).is_file():
        return None, f"{name} not found"
    cmd = module_command(module_name(name), *args)
    log(f"\n== {' '.join([Path(cmd[0]).name, *cmd[1:]])}")
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=None, text=True)
    try:
        stdout, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        # SIGINT first, so that a script can stop what it started (bench_load's
        # gunicorn) on KeyboardInterrupt; killed if it has not ended 30 s later.
        proc.send_signal(signal.SIGINT)
        try:
            proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()
        return None, f"{name} timed out after {timeout:.0f} s"
    data = last_json(stdout)
    if not isinstance(data, dict):
        return None, f"{name} exited with status {proc.returncode} and printed no JSON"
    return data, f"exit status {proc.returncode}"


def help_text(name: str) -> str:
    if not (BENCH / name).is_file():
        return ""
    proc = subprocess.run(
        module_command(module_name(name), "--help"), cwd=ROOT, capture_output=True, text=True,
        check=False, timeout=120,
    )  # fmt: skip
    return proc.stdout


# --------------------------------------------------------------------------
# Picking the figures


def index_figures(index: dict | None) -> dict:
    """``{system: {"full": row, "incremental": row}}`` and the chosen searchsvc procs."""
    if not index:
        return {}
    rows = index["rows"]
    by_kind = {r["kind"]: r for r in rows if r["kind"] != "searchsvc"}
    ours = [r for r in rows if r["kind"] == "searchsvc"]
    default_procs = max(1, min(index.get("cpus") or 1, 4))
    full = next((r for r in ours if r["procs"] == default_procs), None) or max(
        ours, key=lambda r: r["procs"]
    )
    out = {"searchsvc": {"full": full, "incremental": by_kind.get("incremental")}}
    out["searchsvc_procs1"] = next((r for r in ours if r["procs"] == 1), None)
    for peer in ("stock", "fts5", "tantivy"):
        out[peer] = {"full": by_kind.get(peer), "incremental": by_kind.get(f"{peer}-incremental")}
    return out


def query_figure(query: dict | None, queries: str, system: str, key: str) -> float | None:
    if not query:
        return None
    row = next(
        (r for r in query["rows"] if r["queries"] == queries and r["system"] == system), None
    )
    return row[key] if row else None


Target = tuple[str, str, float]  # (column: "searchsvc" or a peer for a ratio, op, value)


def met(target: Target, values: dict[str, float | None]) -> bool | None:
    column, op, bound = target
    ours = values.get("searchsvc")
    if ours is None:
        return None
    if column != "searchsvc":
        peer = values.get(column)
        if not peer:
            return None
        ours = ours / peer
    return {"≥": ours >= bound, "≤": ours <= bound, "<": ours < bound, "=": ours == bound}[op]


def table_rows(index: dict | None, query: dict | None, load: dict | None) -> list[dict]:
    figs = index_figures(index)
    rows: list[dict] = []

    def add(
        label: str,
        values: dict[str, float | None],
        unit: str,
        target: Target | None = None,
        target_text: str = "",
    ) -> None:
        rows.append({
            "figure": label, "unit": unit, "values": values,
            "target": list(target) if target else None, "target_text": target_text,
            "met": met(target, values) if target else None,
        })  # fmt: skip

    def from_index(part: str, pick: Callable[[dict], float]) -> dict[str, float | None]:
        values: dict[str, float | None] = {}
        for system in SYSTEMS:
            row = figs.get(system, {}).get(part)
            values[system] = pick(row) if row else None
        return values

    procs = figs["searchsvc"]["full"]["procs"] if figs else "?"
    add(f"full reindex, docs/s (searchsvc procs={procs})",
        from_index("full", lambda r: r["docs_per_s"]), "docs/s",
        ("stock", "≥", 3), "searchsvc ÷ stock ≥ 3")  # fmt: skip
    procs1 = figs.get("searchsvc_procs1")
    if procs1 and procs1 is not figs["searchsvc"]["full"]:
        values = from_index("full", lambda r: r["docs_per_s"])
        values["searchsvc"] = procs1["docs_per_s"]
        add("full reindex, docs/s (searchsvc procs=1)", values, "docs/s")
    add(f"full reindex, peak RSS MiB (searchsvc procs={procs}: largest process)",
        from_index("full", lambda r: r["peak_rss_mib"]), "MiB")  # fmt: skip
    add("full reindex, index MiB", from_index("full", lambda r: r["index_bytes"] / 2**20), "MiB")
    add("incremental reindex, 1% changed, s", from_index("incremental", lambda r: r["wall_s"]), "s")
    add("incremental reindex, peak RSS MiB",
        from_index("incremental", lambda r: r["peak_rss_mib"]), "MiB")  # fmt: skip
    ratios: dict[str, float | None] = {}
    for system in SYSTEMS:
        full, incr = figs.get(system, {}).get("full"), figs.get(system, {}).get("incremental")
        ratios[system] = full["wall_s"] / incr["wall_s"] if full and incr and incr["wall_s"] else None
    add("full ÷ incremental wall time", ratios, "×", ("searchsvc", "≥", 20), "searchsvc ≥ 20×")

    sets = [
        ("short", "short queries (1-3 words)"),
        ("questions", "PIAF questions on the news"),
        ("piaf", "PIAF questions on their own docs"),
    ]
    for name, label in sets:
        for key in ("p50", "p95"):
            values = {s: query_figure(query, name, s, key) for s in SYSTEMS}
            if (name, key) == ("short", "p95"):
                add(f"{label}, {key} ms", values, "ms", ("searchsvc", "<", 50), "searchsvc < 50 ms")
            else:
                add(f"{label}, {key} ms", values, "ms")
            if name == "short":
                plain = {s: None for s in SYSTEMS}
                plain["searchsvc"] = values["searchsvc"]
                plain["fts5"] = query_figure(query, name, "fts5-no-snippets", key)
                if key == "p50":
                    add(f"{label}, {key} ms, FTS5 without snippets", plain, "ms",
                        ("fts5", "≤", 2), "searchsvc ÷ FTS5 ≤ 2")  # fmt: skip
                else:
                    add(f"{label}, {key} ms, FTS5 without snippets", plain, "ms")

    def from_load(key: str) -> dict[str, float | None]:
        values: dict[str, float | None] = {s: None for s in SYSTEMS}
        values["searchsvc"] = load.get(key) if load else None
        return values

    add("service under load, req/s", from_load("rps"), "req/s", ("searchsvc", "≥", 300),
        "searchsvc ≥ 300")  # fmt: skip
    add("service under load, p50 ms", from_load("p50_ms"), "ms")
    add("service under load, p99 ms", from_load("p99_ms"), "ms")
    add("service under load, errors", from_load("errors"), "", ("searchsvc", "=", 0), "searchsvc 0")
    return rows


# --------------------------------------------------------------------------
# Printing


def fmt_value(value: float | None, unit: str) -> str:
    if value is None:
        return "—"
    if unit in ("docs/s", "req/s", ""):
        return f"{value:,.0f}"
    if unit == "×":
        return f"{value:.1f}×"
    if unit == "s":
        return f"{value:.2f}"
    return f"{value:.2f}" if value < 10 else f"{value:,.1f}"


def markdown(rows: list[dict]) -> str:
    lines = [
        "| " + " | ".join(HEADER) + " |",
        "|---|" + "---:|" * 7 + "---|---|",
    ]
    for row in rows:
        values = row["values"]
        ours = values["searchsvc"]
        cells = [row["figure"], *(fmt_value(values[s], row["unit"]) for s in SYSTEMS)]
        for peer in SYSTEMS[1:]:
            theirs = values[peer]
            cells.append(f"{ours / theirs:.2f}×" if ours is not None and theirs else "—")
        verdict = {True: "yes", False: "**no**", None: "n/a"}[row["met"]]
        cells += [row["target_text"], verdict if row["target"] else ""]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def git_commit() -> str | None:
    """The repo's short commit, ``+changes`` when tracked files differ from it."""
    commit, dirty = git_state()
    return commit and commit + ("+changes" if dirty else "")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="smoke run: small limits, 1 round")
    parser.add_argument("--skip-load", action="store_true", help="do not run bench_load.py")
    parser.add_argument("--reuse", action="store_true", help="bench_query reuses its indexes")
    parser.add_argument("--rounds", type=int, default=None, help="bench_query --rounds")
    parser.add_argument(
        "--load-timeout", type=float, default=1800, help="seconds before bench_load is given up"
    )
    parser.add_argument("--out", type=Path, default=None, help="where to write the JSON")
    args = parser.parse_args(argv)
    out = args.out or RESULTS / ("speed-quick.json" if args.quick else "speed.json")

    started = dt.datetime.now(dt.UTC)
    index_args, query_args, load_args = ["--json"], ["--json"], ["--json"]
    if args.quick:
        index_args += ["--limit", str(QUICK_LIMIT)]
        query_args += ["--limit", str(QUICK_LIMIT), "--queries", "50", "--rounds", "1"]
    if args.rounds is not None:
        query_args += ["--rounds", str(args.rounds)]
    if args.reuse:
        query_args.append("--reuse")

    index, index_status = run_json("bench_index.py", index_args)
    query, query_status = run_json("bench_query.py", query_args)
    load, load_status = None, "skipped (--skip-load)"
    if not args.skip_load:
        if args.quick and "--requests" in help_text("bench_load.py"):
            load_args += ["--requests", "300"]
        load, load_status = run_json("bench_load.py", load_args, timeout=args.load_timeout)
    finished = dt.datetime.now(dt.UTC)

    rows = table_rows(index, query, load)
    with_target = [r for r in rows if r["target"]]
    n_met = sum(r["met"] is True for r in with_target)
    problems = [f"bench_index: {p}" for p in (index or {}).get("problems", [])]
    for name, data, status in (
        ("bench_index.py", index, index_status),
        ("bench_query.py", query, query_status),
        ("bench_load.py", load, load_status),
    ):
        if data is None and not status.startswith("skipped"):
            problems.append(f"{name}: {status}")
    if load and load.get("errors"):
        problems.append(f"bench_load: {load['errors']} failed requests")

    result = {
        "started": started.isoformat(timespec="seconds"),
        "finished": finished.isoformat(timespec="seconds"),
        "commit": git_commit(),
        "python": versions()["python"],
        "cpus": os.cpu_count(),
        "quick": args.quick,
        "commands": {"index": index_args, "query": query_args, "load": load_args},
        "status": {"index": index_status, "query": query_status, "load": load_status},
        "targets_met": n_met,
        "targets": len(with_target),
        "table": rows,
        "problems": problems,
        "index": index,
        "query": query,
        "load": load,
    }
    save_json(out, result)

    docs = (index or {}).get("rows", [{}])[0].get("docs", "?")
    sets = (query or {}).get("sets", {})
    load_text = (
        f"load: {load['requests']} requests, concurrency {load['concurrency']}, "
        f"{load['workers']} workers, on bench_load's own index"
        if load
        else f"load: {load_status}"
    )
    print(
        f"\n## Speed: searchsvc beside stock Whoosh, SQLite FTS5 and tantivy"
        f"{' (--quick smoke run)' if args.quick else ''}\n\n"
        f"{docs} news articles indexed; queries: "
        + ", ".join(
            f"{name} {s['queries']} on {s['documents']} docs" for name, s in sets.items()
        )
        + f", {(query or {}).get('rounds', '?')} rounds; {load_text}; "
        f"{os.cpu_count()} CPUs, commit {result['commit']}, {started:%Y-%m-%d}\n"
    )
    print(markdown(rows))
    print()
    print(
        "Query rows: top 10 with snippets for every system (FTS5: snippet() on the body); "
        "the rows marked \"FTS5 without snippets\" hold FTS5 without snippet() in its column. "
        "Peers' incremental runs are handed the changed documents; searchsvc finds them itself. "
        "The load rows measure only searchsvc (gunicorn + the JSON endpoint)."
    )
    print(f"targets met: {n_met} of {len(with_target)}")
    for problem in problems:
        print(f"WARNING: {problem}")
    print(f"figures written to {out.relative_to(ROOT) if out.is_relative_to(ROOT) else out}")
    return 1 if index is None or query is None else 0


if __name__ == "__main__":
    sys.exit(main())
