"""The service under load: the JSON endpoint behind gunicorn, hit by 8 concurrent clients.

Starts ``gunicorn --workers 2 --bind 127.0.0.1:<free port> wsgi:app`` (sync
workers unless ``--worker-class`` / ``--threads`` say otherwise) on an index of
the 20,000 OrangeSum news articles, waits for ``GET /api/health`` to answer 200,
then sends ``GET /api/search?q=...`` requests from ``--concurrency`` (default 8)
concurrent connections until ``--requests`` (default 3,000) have been answered.
The queries are ``bench_query.short_queries``: the same one- to three-word
queries, drawn from the titles (seed 42), as the latency benchmark, cycled
through in order. Each distinct query is sent once first, untimed (warm-up).

The client shares the CPUs with the server, so it is kept cheap: one asyncio
loop, raw HTTP/1.1 over ``asyncio.open_connection``, one connection per
in-flight request slot, reused unless the server closes it (gunicorn's sync
workers close it after every response). An error is a non-200 status, a
connection failure, a timeout, or a body that is not JSON with a ``hits`` key.

The server inherits this environment, so the service's result cache
(``SEARCHSVC_QUERY_CACHE``, per worker) is on by default: with ~300 distinct
queries cycled, most timed requests are then cache hits, as repeated searches
are in production. ``--query-cache 0`` measures every search computed.

Prints a markdown table: workers, concurrency, requests, distinct queries,
wall seconds, requests per second, p50/p90/p99/max latency in ms, errors;
then the CPU seconds used during the timed run by the client itself
(``getrusage(RUSAGE_SELF)``), by gunicorn's processes (per request) and by
everything else on the machine (``/proc``: on a shared box, a low req/s may
just mean the server did not get the CPUs), and the errors by kind. ``--json``
prints one JSON object instead (the keys of :func:`summarize`). Exits with status 1 if any timed request failed, 2 if
the run could not start (gunicorn died, or ``/api/health`` is not ``ok``:
after a schema change, rerun with ``--rebuild``).
The speed benchmark's target (``bench_speed``): at least 300 requests/s with 0 errors on
20,000 documents.

Run from the repo root::

    .venv/bin/python -m bench.bench_load                  # builds bench/work/load-index first if needed (~1.5 min)
    .venv/bin/python -m bench.bench_load --requests 500   # quick check
    .venv/bin/python -m bench.bench_load --threads 4      # gthread workers, 4 threads each
    .venv/bin/python -m bench.bench_load --json           # figures as JSON (progress on stderr)
    .venv/bin/python -m bench.bench_load --rebuild        # rebuild the index first (schema changed)
    .venv/bin/python -m bench.bench_load --query-cache 0  # result cache off: every search computed

The server's own log goes to ``bench/work/load-gunicorn.log``. Stdlib only.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import resource
import sys
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

from bench.bench_query import short_queries
from bench.common import (
    HOST,
    NEWS_DOCS,
    WORK,
    Gunicorn,
    SetupError,
    log,
    process_tree,
    rounded_percentile,
    versions,
)

# ---------------------------------------------------------------- the index


def has_index(index_dir: Path) -> bool:
    """Whether ``index_dir`` already holds a published generation (its ``CURRENT`` pointer)."""
    from searchsvc.index.generations import pointer_number

    try:
        return pointer_number(index_dir) is not None
    except Exception:  # unreadable pointer: rebuild rather than serve a broken index
        return False


def ensure_index(index_dir: Path, docs: Path, rebuild: bool) -> None:
    """Build the index once; later runs reuse it, since building costs far more than measuring.

    ``procs=0`` (one writer per core) is what the service and ``bench_query.py``
    use, so the segment layout under load matches theirs. ``rebuild`` writes a new
    generation even if one exists: needed after a schema or analysis change."""
    if has_index(index_dir) and not rebuild:
        return
    from searchsvc.index.reindex import reindex

    log(f"building the index of {docs} in {index_dir}…")
    started = time.perf_counter()
    reindex([docs], index_dir, procs=0)
    log(f"index built in {time.perf_counter() - started:.0f} s")


# ---------------------------------------------------------------- the server


def cache_note(env: dict[str, str]) -> str:
    """What the figures measure: with the service's result cache, a repeated query is a
    lookup, so the same run measures computed searches only with the cache off."""
    value = env.get("SEARCHSVC_QUERY_CACHE")
    if value is None:
        return "result cache: the service's default (SEARCHSVC_QUERY_CACHE unset)"
    if value.strip() == "0":
        return "result cache: off (SEARCHSVC_QUERY_CACHE=0), every request computed"
    return f"result cache: SEARCHSVC_QUERY_CACHE={value} pages per worker"


def check_health(health: dict) -> dict:
    """The server's first 200 from ``/api/health`` (:class:`bench.common.Gunicorn` waits for
    it, and fails early if gunicorn died), unless the index is degraded: every search would
    then fail with 503, nothing to measure."""
    if health.get("status") != "ok":
        raise SetupError(f"the service is {health.get('status')}: {health.get('problem')} (try --rebuild)")
    return health


# ---------------------------------------------------------------- the client


class RequestError(Exception):
    """A failed request; its message is the kind of error, as counted in the report."""


class BodyError(RequestError):
    """A complete response that is not a success: the connection is still usable."""


@dataclass
class Connection:
    """One client slot's HTTP/1.1 connection, opened lazily and reopened when the server closes it."""

    port: int
    reader: asyncio.StreamReader | None = None
    writer: asyncio.StreamWriter | None = None

    async def get(self, path: str) -> tuple[int, bytes]:
        """Send one GET and read the whole response; retry once on a fresh connection
        if a reused one turns out to have been closed by the server meanwhile."""
        reused = self.writer is not None
        try:
            return await self._exchange(path)
        except (ConnectionError, asyncio.IncompleteReadError):
            self.close()
            if not reused:
                raise
        return await self._exchange(path)

    async def _exchange(self, path: str) -> tuple[int, bytes]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(HOST, self.port)
        assert self.reader is not None
        self.writer.write(
            f"GET {path} HTTP/1.1\r\nHost: {HOST}:{self.port}\r\nAccept: application/json\r\n\r\n".encode()
        )
        status_line = await self.reader.readline()
        if not status_line:
            raise ConnectionResetError("closed before the status line")
        _, status, keep_alive, length = parse_head(status_line, await self._header_lines())
        body = await (self.reader.readexactly(length) if length is not None else self.reader.read())
        if length is None or not keep_alive:
            self.close()
        return status, body

    async def _header_lines(self) -> list[bytes]:
        assert self.reader is not None
        lines = []
        while (line := await self.reader.readline()) not in (b"\r\n", b"\n", b""):
            lines.append(line)
        return lines

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


def parse_head(status_line: bytes, header_lines: list[bytes]) -> tuple[str, int, bool, int | None]:
    """HTTP version, status, whether the connection stays open, and Content-Length (None: read to EOF)."""
    try:
        version, status = status_line.decode("latin-1").split(None, 2)[:2]
        headers = {}
        for line in header_lines:
            name, _, value = line.decode("latin-1").partition(":")
            headers[name.strip().lower()] = value.strip()
        length = int(headers["content-length"]) if "content-length" in headers else None
        status_code = int(status)
    except ValueError as e:
        raise RequestError(f"malformed response head ({e})") from None
    if "chunked" in headers.get("transfer-encoding", "").lower():
        raise RequestError("chunked response (not supported by this client)")
    closing = "close" in headers.get("connection", "").lower()
    return version, status_code, version == "HTTP/1.1" and not closing, length


def check_body(status: int, body: bytes) -> None:
    """A success is a 200 whose body is a JSON object with ``hits``: the endpoint's contract."""
    if status != 200:
        raise BodyError(f"HTTP {status}")
    try:
        data = json.loads(body)
    except ValueError:
        raise BodyError("body is not JSON") from None
    if not isinstance(data, dict) or "hits" not in data:
        raise BodyError("JSON without 'hits'")


@dataclass
class LoadResult:
    """What the client saw: one latency per successful request, failures by kind, wall time."""

    latencies_ms: list[float] = field(default_factory=list)
    errors: Counter[str] = field(default_factory=Counter)
    wall_s: float = 0.0


async def timed_request(conn: Connection, path: str, timeout: float, result: LoadResult) -> None:
    """One request, its latency from before the connect (when one is needed) to the last body
    byte; the body is checked after the clock stops, so parsing it is not counted as latency."""
    started = time.perf_counter()
    try:
        async with asyncio.timeout(timeout):
            status, body = await conn.get(path)
        elapsed_ms = (time.perf_counter() - started) * 1000
        check_body(status, body)
    except RequestError as e:
        if not isinstance(e, BodyError):  # a bad head: where the next response starts is unknown
            conn.close()
        result.errors[str(e)] += 1
        return
    except TimeoutError:
        conn.close()
        result.errors["timeout"] += 1
        return
    except (OSError, asyncio.IncompleteReadError) as e:
        conn.close()
        result.errors[f"connection: {type(e).__name__}"] += 1
        return
    result.latencies_ms.append(elapsed_ms)


async def client_slot(port: int, jobs: Iterator[str], timeout: float, result: LoadResult) -> None:
    """One concurrent connection: take the next path until there are none left."""
    conn = Connection(port)
    try:
        for path in jobs:  # a shared iterator: single-threaded, so each path goes to one slot
            await timed_request(conn, path, timeout, result)
    finally:
        conn.close()


async def run_load(port: int, paths: list[str], concurrency: int, timeout: float) -> LoadResult:
    """Send every path in order from ``concurrency`` connections at once; time the whole run."""
    result = LoadResult()
    jobs = iter(paths)
    started = time.perf_counter()
    await asyncio.gather(*(client_slot(port, jobs, timeout, result) for _ in range(concurrency)))
    result.wall_s = time.perf_counter() - started
    return result


def search_paths(queries: list[str], n: int) -> list[str]:
    """The first ``n`` request paths, cycling through the queries in order."""
    return [f"/api/search?q={quote(q)}" for q in itertools.islice(itertools.cycle(queries), n)]


def cpu_seconds() -> float:
    """User + system CPU of this process alone (the server is a child, counted apart)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def own_cpu_seconds(pid: int) -> float | None:
    """CPU used so far by process ``pid`` itself (utime + stime, from ``/proc``)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
        return (int(fields[11]) + int(fields[12])) / TICKS
    except (OSError, IndexError, ValueError):
        return None


def tree_cpu_seconds(pid: int) -> float | None:
    """CPU used so far by ``pid`` and its descendants (gunicorn's master and workers), from
    ``/proc``; None where there is no ``/proc``. Says whether the server had the CPUs."""
    own = own_cpu_seconds(pid)
    if own is None:
        return None
    return own + sum(own_cpu_seconds(p) or 0.0 for p in process_tree(pid) if p != pid)


def busy_cpu_seconds() -> float | None:
    """CPU time the whole machine spent busy (all processes), from ``/proc/stat``: with the
    client's and the server's shares taken out, what other work took during the run."""
    try:
        ticks = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except (OSError, ValueError):
        return None
    idle, iowait = ticks[3], ticks[4] if len(ticks) > 4 else 0
    return (sum(ticks[:8]) - idle - iowait) / TICKS  # user…steal; guest is already in user


@dataclass
class CpuUse:
    """CPU seconds spent during the timed run: by the client, the server, everything else."""

    client: float
    server: float | None
    others: float | None


def cpu_snapshot(server_pid: int) -> tuple[float, float | None, float | None]:
    return cpu_seconds(), tree_cpu_seconds(server_pid), busy_cpu_seconds()


def cpu_use(before: tuple, after: tuple) -> CpuUse:
    """The differences of two :func:`cpu_snapshot`; ``others`` is the machine's busy time
    minus client and server (None when ``/proc`` is missing)."""
    client = after[0] - before[0]
    server = after[1] - before[1] if None not in (before[1], after[1]) else None
    busy = after[2] - before[2] if None not in (before[2], after[2]) else None
    others = max(0.0, busy - client - server) if busy is not None and server is not None else None
    return CpuUse(client, server, others)


# ---------------------------------------------------------------- the report


def summarize(
    result: LoadResult, args: argparse.Namespace, distinct: int, client_cpu: float
) -> dict:
    """The figures, under the keys of ``--json``. Requests per second counts successes only;
    the latencies are :func:`bench.common.percentile`, in ms to 0.1 (null if none succeeded)."""
    lat = result.latencies_ms
    return {
        "requests": args.requests,
        "errors": sum(result.errors.values()),
        "rps": round(len(lat) / result.wall_s, 1) if result.wall_s else 0.0,
        "p50_ms": rounded_percentile(lat, 50),
        "p99_ms": rounded_percentile(lat, 99),
        "p90_ms": rounded_percentile(lat, 90),
        "max_ms": rounded_percentile(lat, 100),
        "concurrency": args.concurrency,
        "workers": args.workers,
        "distinct_queries": distinct,
        "wall_s": round(result.wall_s, 2),
        "client_cpu_s": round(client_cpu, 2),
    }


def ms(value: float | None) -> str:
    return "–" if value is None else f"{value:.1f}"


def cpu_line(figures: dict, cpu: CpuUse) -> str:
    """Who used the CPUs during the timed run: the client's cost, the server's cost per request,
    and other processes, so a busy machine (a low req/s for outside reasons) shows."""
    wall, cores = figures["wall_s"] or float("nan"), os.cpu_count() or 1
    line = f"CPU during the timed run ({wall:.1f} s × {cores} CPUs = {wall * cores:.0f} CPU-s): "
    line += f"client {cpu.client:.2f} s ({cpu.client / wall:.0%} of one core)"
    if cpu.server is not None:
        per_request = cpu.server / figures["requests"] * 1000
        line += f", server {cpu.server:.1f} s ({per_request:.1f} ms per request)"
    if cpu.others is not None:
        line += f", other processes {cpu.others:.1f} s"
    return line


def print_table(
    figures: dict,
    result: LoadResult,
    args: argparse.Namespace,
    health: dict,
    n_queries: int,
    cpu: CpuUse,
    cache: str,
) -> None:
    worker = args.worker_class
    if args.threads > 1:  # gunicorn runs sync workers with threads as gthread
        worker = f"{'gthread' if worker == 'sync' else worker}, {args.threads} threads"
    print(
        f"\nService under load: GET /api/search, gunicorn {args.workers} workers ({worker}) on loopback, "
        f"{health.get('documents')} documents; {cache}\n"
    )
    print("| workers | concurrency | requests | distinct queries | wall s | req/s | p50 ms | p90 ms | p99 ms "
          "| max ms | errors |")  # fmt: skip
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    f = figures
    print(
        f"| {f['workers']} | {f['concurrency']} | {f['requests']:,} | {f['distinct_queries']} | {f['wall_s']:.1f} "
        f"| {f['rps']:.1f} | {ms(f['p50_ms'])} | {ms(f['p90_ms'])} | {ms(f['p99_ms'])} | {ms(f['max_ms'])} "
        f"| {f['errors']} |"
    )
    print("\n" + cpu_line(figures, cpu))
    print(
        f"queries: {n_queries} one- to three-word queries from bench_query.short_queries "
        f"({f['distinct_queries']} distinct), cycled in order; each distinct one sent once before, untimed"
    )
    if result.errors:
        print("errors: " + ", ".join(f"{kind} × {n}" for kind, n in result.errors.most_common()))
    found = versions("gunicorn")
    print(
        f"latency: connect (if any) to last body byte; python {found['python']}, "
        f"gunicorn {found['gunicorn']}, {os.cpu_count()} CPUs shared by client and server"
    )


# ---------------------------------------------------------------- main


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--index", type=Path, default=WORK / "load-index", help="index folder (built if empty)"
    )
    parser.add_argument(
        "--docs",
        type=Path,
        default=NEWS_DOCS,
        help="JSON Lines articles: the index's source and the queries' titles",
    )
    parser.add_argument("--requests", type=int, default=3000, help="timed requests")
    parser.add_argument("--concurrency", type=int, default=8, help="concurrent connections")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn worker processes")
    parser.add_argument("--worker-class", default="sync", help="gunicorn worker class")
    parser.add_argument(
        "--threads", type=int, default=1, help="threads per worker (>1 makes gunicorn use gthread)"
    )
    parser.add_argument(
        "--timeout", type=float, default=30.0, help="seconds before a request counts as failed"
    )
    parser.add_argument(
        "--query-cache",
        type=int,
        metavar="N",
        help="SEARCHSVC_QUERY_CACHE for the server (0: off); default: inherited from the environment",
    )
    parser.add_argument(
        "--rebuild", action="store_true", help="rebuild the index even if --index holds one"
    )
    parser.add_argument("--json", action="store_true", help="print the figures as one JSON object")
    return parser.parse_args()


def measure(
    args: argparse.Namespace, port: int, server_pid: int, queries: list[str]
) -> tuple[LoadResult, CpuUse]:
    """Warm up on each distinct query once, then run the timed requests; return them and the CPU use."""
    distinct = list(dict.fromkeys(queries))
    log(f"warm-up: {len(distinct)} distinct queries…")
    warm = asyncio.run(
        run_load(port, search_paths(distinct, len(distinct)), args.concurrency, args.timeout)
    )
    if warm.errors:
        log(f"warm-up errors: {dict(warm.errors)}")
    log(f"timing {args.requests} requests at concurrency {args.concurrency}…")
    paths = search_paths(queries, args.requests)
    before = cpu_snapshot(server_pid)
    result = asyncio.run(run_load(port, paths, args.concurrency, args.timeout))
    return result, cpu_use(before, cpu_snapshot(server_pid))


def main() -> int:
    args = parse_args()
    ensure_index(args.index, args.docs, args.rebuild)
    queries = short_queries(args.docs)
    gunicorn = Gunicorn(
        args.index, WORK / "load-gunicorn.log", workers=args.workers, worker_class=args.worker_class,
        threads=args.threads, query_cache=args.query_cache, want_200=True,
    )  # fmt: skip
    log(" ".join(gunicorn.command[1:]), f"(SEARCHSVC_INDEX_DIR={args.index})")
    log(cache_note(gunicorn.env))
    try:
        with gunicorn:
            health = check_health(gunicorn.health)
            result, cpu = measure(args, gunicorn.port, gunicorn.server.pid, queries)
    except SetupError as e:
        log(f"error: {e}")
        return 2
    except KeyboardInterrupt:
        log("interrupted")
        return 130
    figures = summarize(result, args, len(set(queries)), cpu.client)
    if args.json:
        print(json.dumps(figures))
    else:
        print_table(figures, result, args, health, len(queries), cpu, cache_note(gunicorn.env))
    return 1 if figures["errors"] else 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:  # during the index build: reindex has already cleaned up
        sys.exit(130)
