"""What the query log costs a search.

1,000 searches through the Flask test client on the same index, with the query
log on and off (two apps, requests alternated so that the machine's load falls
on both alike), result cache on (the default, where a search is cheapest and
the log's share largest) and off; then the log's own operations: ``record()``
(what a request pays), a background write per search, and what a synchronous
insert-and-commit per search would have cost instead.

    .venv/bin/python -m bench.bench_querylog [--index DIR] [--searches 1000]

Uses the bundled corpus's index (index_data/index, as built by ``make serve``)
when there is one, else builds the tests' tiny corpus. The log goes to a
temporary file, never into the index folder.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from bench.common import ROOT, percentile
from searchsvc import create_app
from searchsvc.ops.querylog import QueryLog

QUERIES = [
    "macron", "retraites", "etats-unis otan", "covid", "élection présidentielle", "coeur", "université",
    "gouvernement", "chômage", "grève sncf", "climat", "russie ukraine", "police", "paris", "marseille",
    "impôts", "hôpital", "vaccin", "europe", "brexit", "football", "tour de france", "justice", "prix",
    "zzzqqqx", "presidentiele", "nuit de mercredi à jeudi", "manifestation", "école", "budget",
]  # fmt: skip


def through_the_app(index_dir: Path, searches: int, cache: int, log_file: Path) -> dict:
    on = create_app({"TESTING": True, "INDEX_DIR": str(index_dir), "QUERY_LOG": str(log_file), "QUERY_CACHE": cache})
    off = create_app({"TESTING": True, "INDEX_DIR": str(index_dir), "QUERY_LOG": "off", "QUERY_CACHE": cache})
    clients = {"on": on.test_client(), "off": off.test_client()}
    times: dict[str, list[float]] = {"on": [], "off": []}
    for client in clients.values():  # warm: open the index, fill the caches
        for q in QUERIES:
            assert client.get("/api/search", query_string={"q": q}).status_code == 200
    for i in range(searches):
        q = QUERIES[i % len(QUERIES)]
        order = ("on", "off") if i % 2 else ("off", "on")
        for name in order:
            started = time.perf_counter()
            response = clients[name].get("/api/search", query_string={"q": q})
            times[name].append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200
    on.extensions["searchsvc.querylog"].close()
    return {
        name: {"median": statistics.median(t), "p95": percentile(t, 95), "p99": percentile(t, 99)}
        for name, t in times.items()
    }


def log_operations(log_file: Path, n: int = 20_000) -> dict:
    log = QueryLog(log_file)
    record = []
    for i in range(n):
        started = time.perf_counter()
        log.record(QUERIES[i % len(QUERIES)], i % 7, 3.2)
        record.append((time.perf_counter() - started) * 1e6)
    log.close()
    # What the background thread pays per search: a batch of 500 in one transaction.
    batch = []
    for _ in range(20):
        for i in range(500):
            log._pending.append((time.time(), QUERIES[i % len(QUERIES)], 3, 2.0, 1))
        started = time.perf_counter()
        log.flush()
        batch.append((time.perf_counter() - started) * 1e6 / 500)
    # The alternative: one INSERT and COMMIT per search, in the request.
    sync = []
    for i in range(2000):
        started = time.perf_counter()
        log.record(QUERIES[i % len(QUERIES)], 3, 2.0)
        log.flush()
        sync.append((time.perf_counter() - started) * 1e6)
    log.close()
    return {
        "record_us": {"median": statistics.median(record), "p99": percentile(record, 99), "max": max(record)},
        "background_us_per_search": statistics.median(batch),
        "synchronous_us": {"median": statistics.median(sync), "p99": percentile(sync, 99), "max": max(sync)},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--index", type=Path, default=ROOT / "index_data" / "index")
    parser.add_argument("--searches", type=int, default=1000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        index_dir = args.index
        if not (index_dir / "CURRENT").exists():
            from searchsvc.index.reindex import reindex
            from tests.builders import write_corpus

            index_dir = Path(tmp) / "index"
            reindex([write_corpus(Path(tmp) / "corpus")], index_dir)
        print(f"index: {index_dir}; {args.searches} searches each way")
        for cache in (1000, 0):
            figures = through_the_app(index_dir, args.searches, cache, Path(tmp) / f"app-{cache}.sqlite")
            on, off = figures["on"], figures["off"]
            print(
                f"cache {'on ' if cache else 'off'}: log on  median {on['median']:.3f} ms, p95 {on['p95']:.3f}, p99 {on['p99']:.3f}\n"
                f"          log off median {off['median']:.3f} ms, p95 {off['p95']:.3f}, p99 {off['p99']:.3f}\n"
                f"          difference of the medians {on['median'] - off['median']:+.3f} ms"
            )
        ops = log_operations(Path(tmp) / "ops.sqlite")
        r, s = ops["record_us"], ops["synchronous_us"]
        print(f"record() in the request: median {r['median']:.1f} µs, p99 {r['p99']:.1f}, max {r['max']:.0f}")
        print(f"background write, per search (batches of 500): {ops['background_us_per_search']:.1f} µs")
        print(f"a synchronous INSERT + COMMIT instead: median {s['median']:.1f} µs, p99 {s['p99']:.1f}, max {s['max']:.0f}")


if __name__ == "__main__":
    main()
