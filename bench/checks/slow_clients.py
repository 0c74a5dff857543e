"""Slow and idle clients against the real service: do normal searches still
answer, and at what latency? A fault run, not a timed test.

For each set-up (``--setups``, default: the repository's ``gunicorn.conf.py``
alone, then behind nginx with ``deploy/nginx/searchsvc.conf``; ``sync``
and ``gthread`` are gunicorn's other worker models, for comparison):

1. **Baseline**: ``--searches`` fresh queries (drawn from the titles, none
   asked twice), one after the other, timed.
2. **Under attack**: ``--slow`` clients that open a connection and send a
   request's headers one byte every 5 s, and ``--idle`` clients that send one
   search with keep-alive and then hold the connection open, silent; while
   they hold, the same number of other fresh queries, timed. Criterion: 0
   errors, p95 within 100 ms of the baseline's.
3. **Limits**: a header of 64 KB gets 431 (or 400 from nginx's own limit),
   a body over 10 MB gets 413, each at once (under 2 s).
4. **Churn**: 1,000 connections opened and dropped (half after a partial
   request); then the service answers, and its processes hold no more open
   files than before (+10).

    .venv/bin/python -m bench.checks.slow_clients                  # ~4 min
    .venv/bin/python -m bench.checks.slow_clients --setups sync,gthread,gevent

Exits non-zero when a set-up of the repository's (``gunicorn.conf.py``,
``nginx``) fails its criterion; ``sync`` and ``gthread`` are expected to.
Prints a table; ``--json`` also writes ``bench/results/slow-clients.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import http.client
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import quote

from bench.bench_fresh import draw_short
from bench.common import (
    HOST,
    NEWS_DOCS,
    ROOT,
    SetupError,
    free_port,
    log,
    percentile,
    save_json,
    stop_server,
    wait_for_health,
)

RESULTS = ROOT / "bench" / "results" / "slow-clients.json"
GUNICORN = ROOT / ".venv" / "bin" / "gunicorn"
REPO_SETUPS = ("conf", "nginx")
SETUPS = {
    "conf": "gunicorn.conf.py alone",
    "nginx": "gunicorn.conf.py behind nginx",
    "sync": "gunicorn --workers 2 (sync workers: the README's command before)",
    "gthread": "gunicorn --workers 2 --worker-class gthread --threads 8",
    "gevent": "gunicorn --workers 2 --worker-class gevent",
}


# ---------------------------------------------------------------- the servers


class Service:
    """gunicorn on ``index_dir`` (and nginx in front for ``nginx``), on free loopback ports."""

    def __init__(self, setup: str, index_dir: Path, work: Path) -> None:
        self.setup, self.index_dir, self.work = setup, index_dir, work
        self.app_port = free_port()
        self.port = self.app_port  # what clients connect to
        self.processes: list[subprocess.Popen] = []

    def command(self) -> list[str]:
        base = [str(GUNICORN), "--bind", f"{HOST}:{self.app_port}"]
        if self.setup == "sync":
            base += ["--config", "/dev/null", "--workers", "2"]
        elif self.setup == "gthread":
            base += ["--config", "/dev/null", "--workers", "2", "--worker-class", "gthread", "--threads", "8"]
        elif self.setup == "gevent":
            base += ["--config", "/dev/null", "--workers", "2", "--worker-class", "gevent"]
        return base + ["wsgi:app"]  # conf, nginx: gunicorn.conf.py, read from the working directory

    def __enter__(self) -> Service:
        env = dict(os.environ, SEARCHSVC_INDEX_DIR=str(self.index_dir), SEARCHSVC_QUERY_CACHE="0")
        log_path = self.work / f"{self.setup}-gunicorn.log"
        with log_path.open("wb") as out:
            server = subprocess.Popen(self.command(), cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
                                      start_new_session=True)  # fmt: skip
        self.processes.append(server)
        try:
            wait_for_health(server, self.app_port, log_path, want_200=True)
            if self.setup == "nginx":
                self.port = start_nginx(self.app_port, self.work, self.processes)
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        for process in reversed(self.processes):
            stop_server(process)

    def pids(self) -> list[int]:
        """Every process of the service (gunicorn's master and workers, nginx's)."""
        from bench.common import process_tree

        return [pid for p in self.processes for pid in process_tree(p.pid)]


def start_nginx(app_port: int, work: Path, processes: list) -> int:
    """Debian's nginx with the repository's site (:mod:`bench.nginx`) on a free
    port, in a prefix of its own under ``work``; its port."""
    from bench.nginx import start_nginx as start

    port = free_port()
    try:
        processes.append(start(work / "nginx", port, app_port))
    except RuntimeError as e:
        raise SetupError(str(e)) from None
    return port


# ---------------------------------------------------------------- the clients


def timed_searches(port: int, queries: list[str]) -> tuple[list[float], list[str]]:
    """Each query once, one after the other on one keep-alive connection: latencies, errors."""
    latencies, errors = [], []
    conn = None
    for q in queries:
        if len(errors) >= 5:  # stalled: the rest would each wait for the timeout
            errors.append(f"{len(queries) - len(latencies) - len(errors)} more not sent")
            break
        started = time.monotonic()
        try:
            if conn is None:
                conn = http.client.HTTPConnection(HOST, port, timeout=10)
            conn.request("GET", f"/api/search?q={quote(q)}")
            response = conn.getresponse()
            body = response.read()
            if response.status != 200:
                errors.append(f"{response.status} {body[:100]!r}")
            else:
                latencies.append(time.monotonic() - started)
        except (OSError, http.client.HTTPException) as e:
            errors.append(f"{type(e).__name__}: {e}")
            if conn is not None:
                conn.close()
            conn = None
    if conn is not None:
        conn.close()
    return latencies, errors


class Attackers:
    """``slow`` clients sending headers a byte every ``every`` seconds and ``idle``
    keep-alive connections held silent, in an event loop of their own."""

    def __init__(self, port: int, slow: int, idle: int, every: float = 5.0) -> None:
        self.port, self.slow, self.idle, self.every = port, slow, idle, every
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.stop = asyncio.Event()
        self.opened = 0
        self.idle_ready = 0
        self.writers: list[asyncio.StreamWriter] = []

    async def _slow(self, i: int) -> None:
        try:
            reader, writer = await asyncio.open_connection(HOST, self.port)
        except OSError:
            return
        self.writers.append(writer)
        self.opened += 1
        request = f"GET /api/search?q=lent{i} HTTP/1.1\r\nHost: localhost\r\nX-Slow: {'a' * 200}\r\n\r\n".encode()
        for byte in request[:-2]:  # never the last line end: the request never completes
            try:
                writer.write(bytes([byte]))
                await writer.drain()
            except OSError:
                return  # the server closed it: fine
            try:
                await asyncio.wait_for(self.stop.wait(), self.every)
                return
            except TimeoutError:
                continue

    async def _idle(self, i: int) -> None:
        try:
            reader, writer = await asyncio.open_connection(HOST, self.port)
        except OSError:
            return
        self.writers.append(writer)
        writer.write(b"GET /api/health HTTP/1.1\r\nHost: localhost\r\nConnection: keep-alive\r\n\r\n")
        try:
            await writer.drain()
            await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 30)
        except (OSError, asyncio.IncompleteReadError, TimeoutError, asyncio.LimitOverrunError):
            return
        self.opened += 1
        self.idle_ready += 1
        await self.stop.wait()  # silent, the connection held open

    def __enter__(self) -> Attackers:
        self.thread.start()
        for i in range(self.slow):
            asyncio.run_coroutine_threadsafe(self._slow(i), self.loop)
        for i in range(self.idle):
            asyncio.run_coroutine_threadsafe(self._idle(i), self.loop)
        deadline = time.monotonic() + 20
        while self.opened < self.slow + self.idle and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(self.every + 1)  # every slow client has sent a byte or two
        return self

    def __exit__(self, *exc: object) -> None:
        self.loop.call_soon_threadsafe(self.stop.set)
        for writer in self.writers:
            self.loop.call_soon_threadsafe(writer.close)
        time.sleep(0.5)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)


def limits(port: int) -> dict:
    """A 64 KB header and a body over 10 MB: their status and how long each took."""
    out = {}
    for name, request in (
        ("header_64kb", f"GET /api/search?q=x HTTP/1.1\r\nHost: localhost\r\nX-Big: {'a' * 65536}\r\n\r\n".encode()),
        ("body_11mb", b"PUT /api/documents HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
                      b"Content-Length: 11534336\r\n\r\n"),
    ):  # fmt: skip
        started = time.monotonic()
        status = None
        try:
            with socket.create_connection((HOST, port), timeout=10) as s:
                s.sendall(request)
                if name == "body_11mb":  # the body follows, unless the answer comes first
                    s.settimeout(0.5)
                    try:
                        first = s.recv(200)
                    except TimeoutError:
                        first = b""
                    if not first:
                        s.settimeout(10)
                        with contextlib.suppress(OSError):  # refused midway: the answer follows
                            s.sendall(b"[" + b" " * (11534336 - 2) + b"]")
                        first = s.recv(200)
                else:
                    first = s.recv(200)
            status = int(first.split(b" ", 2)[1]) if first.startswith(b"HTTP/") else None
        except (OSError, ValueError, IndexError):
            pass
        out[name] = {"status": status, "seconds": round(time.monotonic() - started, 3)}
    return out


def open_files(pids: list[int]) -> int:
    total = 0
    for pid in pids:
        try:
            total += len(os.listdir(f"/proc/{pid}/fd"))
        except OSError:
            continue
    return total


def churn(port: int, service: Service, count: int = 1000) -> dict:
    """``count`` connections opened and dropped; then health, and open files before / after."""
    before = open_files(service.pids())
    for i in range(count):
        try:
            s = socket.create_connection((HOST, port), timeout=5)
            if i % 2:
                s.sendall(b"GET /api/search?q=dro")  # a partial request line, then gone
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")  # RST
            s.close()
        except OSError:
            continue
    time.sleep(3)
    latencies, errors = timed_searches(port, ["apres", "fermeture"])
    after = open_files(service.pids())
    return {"connections": count, "open_files_before": before, "open_files_after": after,
            "answers_after": len(latencies), "errors_after": errors}  # fmt: skip


# ---------------------------------------------------------------- a set-up


def summary(values: list[float]) -> dict:
    values = sorted(values)
    if not values:
        return {"n": 0}
    return {"n": len(values), "p50_ms": round(percentile(values, 50) * 1000, 1),
            "p95_ms": round(percentile(values, 95) * 1000, 1), "max_ms": round(values[-1] * 1000, 1)}  # fmt: skip


def run_setup(setup: str, index_dir: Path, work: Path, queries: list[str], args) -> dict:
    n = args.searches
    result: dict = {"setup": SETUPS[setup]}
    with Service(setup, index_dir, work) as service:
        timed_searches(service.port, ["chauffe"] * 3)  # the workers' first searcher
        base, base_errors = timed_searches(service.port, queries[:n])
        started = time.monotonic()
        with Attackers(service.port, args.slow, args.idle) as attackers:
            held, held_errors = timed_searches(service.port, queries[n : 2 * n])
            result["attackers"] = {"slow": args.slow, "idle": args.idle, "opened": attackers.opened,
                                   "idle_answered": attackers.idle_ready}  # fmt: skip
        result["seconds_under_attack"] = round(time.monotonic() - started, 1)
        result["baseline"] = {**summary(base), "errors": len(base_errors)}
        result["under_attack"] = {**summary(held), "errors": len(held_errors), "error_samples": held_errors[:3]}
        result["limits"] = limits(service.port)
        result["churn"] = churn(service.port, service)
    p95_gap = (result["under_attack"].get("p95_ms") or 1e9) - (result["baseline"].get("p95_ms") or 0)
    failures = []
    if result["under_attack"]["errors"] or result["under_attack"]["n"] < n:
        failures.append(f"{result['under_attack']['errors']} failed searches under attack")
    if p95_gap > 100:
        failures.append(f"p95 {p95_gap:.0f} ms above the baseline's")
    if result["limits"]["header_64kb"]["status"] not in (400, 431) or result["limits"]["header_64kb"]["seconds"] > 2:
        failures.append(f"a 64 KB header: {result['limits']['header_64kb']}")
    if result["limits"]["body_11mb"]["status"] != 413 or result["limits"]["body_11mb"]["seconds"] > 2:
        failures.append(f"an 11 MB body: {result['limits']['body_11mb']}")
    c = result["churn"]
    if c["errors_after"] or c["open_files_after"] > c["open_files_before"] + 10:
        failures.append(f"after 1,000 dropped connections: {c}")
    result["failures"] = failures
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--setups", default=",".join(REPO_SETUPS), help=f"of {', '.join(SETUPS)}")
    parser.add_argument("--slow", type=int, default=50)
    parser.add_argument("--idle", type=int, default=50)
    parser.add_argument("--searches", type=int, default=200)
    parser.add_argument("--docs", type=Path, default=NEWS_DOCS, help="JSON Lines articles (else the bundled corpus)")
    parser.add_argument("--limit", type=int, default=20_000, help="articles indexed (default 20,000)")
    parser.add_argument("--seed", type=int, default=1207)
    parser.add_argument("--json", action="store_true", help=f"write {RESULTS.relative_to(ROOT)}")
    args = parser.parse_args(argv)
    setups = [s.strip() for s in args.setups.split(",") if s.strip()]
    unknown = set(setups) - set(SETUPS)
    if unknown:
        parser.error(f"unknown set-ups {sorted(unknown)}; known: {', '.join(SETUPS)}")
    work = Path(tempfile.mkdtemp(prefix="slow-clients-"))
    try:
        index_dir = work / "index"
        from bench.checks.fault_runs import load_corpus
        from searchsvc.index.reindex import reindex

        docs, described = load_corpus(args.docs, args.limit)
        source = work / "docs.jsonl"
        with source.open("w", encoding="utf-8") as f:
            for doc in docs:
                f.write(json.dumps(doc, ensure_ascii=False) + "\n")
        log(f"indexing {described} …")
        reindex([source], index_dir)
        queries = draw_short(args.searches * 2, args.seed, source)
        report = {"cpus": os.cpu_count(), "source": described, "setups": {}}
        for setup in setups:
            log(f"== {SETUPS[setup]}")
            try:
                r = run_setup(setup, index_dir, work, queries, args)
            except SetupError as e:
                r = {"setup": SETUPS[setup], "skipped": str(e).splitlines()[0]}
                log(f"  skipped: {r['skipped']}")
            else:
                log(f"  baseline p50/p95 {r['baseline'].get('p50_ms')} / {r['baseline'].get('p95_ms')} ms; with "
                    f"{args.slow} slow + {args.idle} idle clients: {r['under_attack'].get('p50_ms')} / "
                    f"{r['under_attack'].get('p95_ms')} ms, {r['under_attack']['errors']} errors; limits "
                    f"{r['limits']}; churn {r['churn']}")  # fmt: skip
                for failure in r["failures"]:
                    log(f"  FAILURE: {failure}")
            report["setups"][setup] = r
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print_table(report, args)
    if args.json:
        save_json(RESULTS, report)
    failed = [s for s in setups if s in REPO_SETUPS and (report["setups"][s].get("failures") or "skipped" in report["setups"][s])]
    return 1 if failed else 0


def print_table(report: dict, args) -> None:
    print(f"\n{args.slow} slow clients (a header byte every 5 s) and {args.idle} idle keep-alive connections; "
          f"{args.searches} fresh searches each way; {report['cpus']} CPUs")  # fmt: skip
    print("| set-up | searches p50 / p95 alone | with the slow and idle clients | errors | 64 KB header | 11 MB body | "
          "1,000 dropped connections: open files before → after | verdict |")
    print("|---|---|---|---|---|---|---|---|")
    for r in report["setups"].values():
        if "skipped" in r:
            print(f"| {r['setup']} | skipped: {r['skipped']} | | | | | | |")
            continue
        b, u, lim, c = r["baseline"], r["under_attack"], r["limits"], r["churn"]
        print(f"| {r['setup']} | {b.get('p50_ms')} / {b.get('p95_ms')} ms | {u.get('p50_ms')} / {u.get('p95_ms')} ms "
              f"(max {u.get('max_ms')}) | {u['errors']} | {lim['header_64kb']['status']} in {lim['header_64kb']['seconds']} s | "
              f"{lim['body_11mb']['status']} in {lim['body_11mb']['seconds']} s | {c['open_files_before']} → "
              f"{c['open_files_after']} | {'FAIL: ' + '; '.join(r['failures']) if r['failures'] else 'pass'} |")  # fmt: skip


if __name__ == "__main__":
    sys.exit(main())
