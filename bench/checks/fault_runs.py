"""Fault and load runs: the reindex killed, a full disk, a damaged generation,
two reindexes at once, and queries under load while reindexes run.

Each run drives the real command line (``python -m searchsvc reindex``, as a
subprocess) and checks the real service: ``gunicorn --workers 2 wsgi:app`` on a
free loopback port (started by ``bench.common.Gunicorn``, as ``bench_load`` starts
it, with its result cache off unless said otherwise, so every answer is a computed
search), on an index folder of its own. The documents are the first ``--limit`` (default 1,000)
OrangeSum news articles of ``../shared/data/orangesum_news/docs.jsonl`` (as
``bench_index.py`` finds them), or the bundled ``index_data/corpus/`` when
``../shared`` is absent, written to one JSON Lines file that the runs edit.

The checked queries are 20 one- to three-word queries drawn from the titles
(``bench_query.short_queries``, seed 42) and four fixed ones; a query's result is
its total and its first 10 ids, in order.

``kill``
    Builds a generation (full) and a second one (``--incremental``), timing each;
    then, ``--kills`` times (default 20), edits three documents (a marker word in
    their titles), starts a reindex (every third one ``--incremental``, the rest
    full), and ``kill -9``s it at a moment drawn uniformly (seeded: ``--seed``)
    between its start and 90% of the typical duration of its kind. After each
    kill: no process of the reindex is left, the lock is free, every sealed
    generation's catalog passes SQLite's ``integrity_check`` and holds the
    manifest's count, the service answers every query exactly as before the kill
    (the last good generation) and does not show the marker; then the next
    reindex (``--incremental``) succeeds, holds every document, and the marker
    shows. A run that finished before its kill moment is not counted and drawn
    again. Then ``--worker-kills`` times (default 5) the same with the ``kill -9``
    aimed at one of the writer processes of a full rebuild (as the kernel's OOM
    killer would): the reindex must fail (exit 5) and publish nothing.
    Figures: kills, the moments (ms), where each landed (starting, building,
    sealed, published), queries checked, failures, documents lost.
``disk``
    Mounts a tmpfs as the index folder (``mount -t tmpfs``; skipped, and said so,
    where mounting is not permitted), builds generation 1, shrinks the tmpfs to
    1.5 times that generation, and reindexes: exit 5 with "the disk is full", the
    previous generation's files byte for byte the same, nothing left behind, the
    same answers. Then the same with the disk filled to its last 16 KiB and an
    ``--incremental`` run (which writes almost nothing but its catalog). Then the
    tmpfs is made bigger and the next reindex succeeds.
``damage``
    Three damaged generations under a running service: a segment of the
    generation in use truncated to 100 bytes; a file of the generation in use
    deleted; a newer generation with a truncated segment and the pointer moved to
    it by hand (as a half-copied folder would be by a careless deploy). Each time
    the service must answer every query from the last good generation (exactly as
    it answered when that one was in use) or 503 with the reason, say so in
    ``/api/health`` and in its log, and do so again after its workers are
    restarted (``SIGHUP``). Then the next reindex succeeds and health is ``ok``.
``concurrent``
    Starts two reindexes at the same moment, ``--pairs`` times (default 3:
    full + full, full + incremental, incremental + incremental): exactly one
    succeeds, the other exits 3 with "already under way", before the first ends,
    and the previous generation is byte for byte the same (each pair changes a
    quarter of the documents, so that an incremental run lasts longer than the
    other process's start). A pair that did not
    overlap (both succeed, one after the other, by their reported durations) is
    started again, up to three times; two that held the lock at once fail.
``load``
    Clients on ``--concurrency`` (default 8) connections send queries without
    pause (one in ten the marker query, plus ``/api/health`` every 0.2 s) while
    three full reindexes run back to back, each with a different marker
    document: no request may fail (anything but a 200 with a JSON body), every
    new generation must be seen through health and through the marker query, and
    the last one must be the only one served at the end.
    Figures: requests, failures, generations switched, p50 / p99 latency.
``push``
    The service (gunicorn, 2 workers, ``SEARCHSVC_ADMIN_TOKEN`` set) gets a
    batch of 1 to 50 articles pushed (and, every other time, an earlier one
    retracted), and every one of its processes is killed (``kill -9`` of its
    process group) at once or up to 0.4 s after the 202, ``--push-kills``
    times (default 10): after a restart, every article pushed must be found
    and every one retracted must stay gone; no process is left, the lock is
    free, every sealed generation is whole. Then a full reindex from the files
    must keep every pushed article and leave the retracted ones out.

Prints each run's figures as it goes, then one summary table (markdown) that the
README's reliability section quotes. Exit status 1 if any run failed its
criterion, 0 otherwise (a skipped run is not a failure; it is said so).

Run from the repo root (as root for ``disk``)::

    .venv/bin/python -m bench.checks.fault_runs                      # everything, a few minutes on 2 CPUs
    .venv/bin/python -m bench.checks.fault_runs --only kill,damage   # some runs
    .venv/bin/python -m bench.checks.fault_runs --kills 5 --worker-kills 1 --limit 500   # quick

The work folder (``bench/work/fault-runs/``: sources, indexes, server logs) is
removed at the end unless ``--keep``. Stdlib only, plus the project's own
dependencies (gunicorn).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import fcntl
import hashlib
import itertools
import json
import os
import random
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

from bench.bench_load import Connection, LoadResult, timed_request
from bench.bench_query import short_queries
from bench.common import (
    BUNDLED_CORPUS,
    MIB,
    NEWS_DOCS,
    ROOT,
    WORK,
    Gunicorn,
    SetupError,
    children,
    log,
    rounded_percentile,
    versions,
)
from searchsvc.index import generations, lock
from searchsvc.index.catalog import FILENAME as CATALOG_FILE

FAULT_WORK = WORK / "fault-runs"
PYTHON = sys.executable
RUNS = ["kill", "disk", "damage", "concurrent", "load", "push"]
FIXED_QUERIES = ["gouvernement", "président de la république", "coronavirus", '"la nuit"']


# ---------------------------------------------------------------- results


@dataclass
class RunResult:
    """One run: its figures (label → value, in order), its failures, whether it was skipped."""

    name: str
    criterion: str
    figures: dict[str, object] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)
    skipped: str | None = None
    seconds: float = 0.0
    #: One line for the summary table.
    short: str = ""

    @property
    def verdict(self) -> str:
        if self.skipped:
            return "skipped"
        return "FAIL" if self.failures else "pass"

    def fail(self, message: str) -> None:
        log(f"  FAILURE: {message}")
        self.failures.append(message)

    def check(self, condition: bool, message: str) -> bool:
        if not condition:
            self.fail(message)
        return condition

    def print(self) -> None:
        print(f"\n## {self.name}: {self.verdict} ({self.seconds:.0f} s)")
        print(f"criterion: {self.criterion}")
        if self.skipped:
            print(f"skipped: {self.skipped}")
        for label, value in self.figures.items():
            print(f"  {label}: {value}")
        for failure in self.failures[:30]:
            print(f"  failure: {failure}")
        if len(self.failures) > 30:
            print(f"  … and {len(self.failures) - 30} more failures")


# ---------------------------------------------------------------- the corpus


class Corpus:
    """The documents of a run, in one JSON Lines file that the run edits and reindexes."""

    def __init__(self, docs: list[dict], folder: Path) -> None:
        self.original = [dict(d) for d in docs]
        self.docs = [dict(d) for d in docs]
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        self.path = folder / "docs.jsonl"
        self.write()

    def write(self, extra: list[dict] | None = None) -> int:
        """Write the documents (and ``extra`` ones); return how many there are."""
        docs = self.docs + (extra or [])
        tmp = self.path.with_suffix(".tmp")
        with tmp.open("w", encoding="utf-8") as f:
            for doc in docs:
                f.write(json.dumps(doc, ensure_ascii=False) + "\n")
        os.replace(tmp, self.path)
        return len(docs)

    def mark(self, rng: random.Random, word: str, n: int = 3) -> None:
        """Add ``word`` to the titles of ``n`` documents, then write."""
        for doc in rng.sample(self.docs, n):
            doc["title"] = f"{doc['title']} {word}"
        self.write()

    def reset(self) -> None:
        self.docs = [dict(d) for d in self.original]
        self.write()


def load_corpus(docs_path: Path, limit: int) -> tuple[list[dict], str]:
    """The first ``limit`` documents, from the OrangeSum file or else the bundled corpus."""
    if docs_path.is_file():
        docs = []
        with docs_path.open(encoding="utf-8") as f:
            for line in itertools.islice(f, limit):
                docs.append(json.loads(line))
        return docs, f"{len(docs):,} documents, the first of {docs_path.resolve()}"
    from searchsvc.index.documents import LoadReport
    from searchsvc.index.sources import load_documents

    docs = []
    for loaded in itertools.islice(load_documents([BUNDLED_CORPUS], LoadReport()), limit):
        d = loaded.document
        docs.append({"id": d.id, "title": d.title, "body": d.body, "date": d.date,
                     "source": d.source, "url": d.url})  # fmt: skip
    return docs, f"{len(docs):,} documents of the bundled corpus ({docs_path} is absent)"


def query_set(corpus_path: Path) -> list[str]:
    drawn = list(dict.fromkeys(short_queries(corpus_path)))[:20]
    return drawn + FIXED_QUERIES


def search_path(q: str, per_page: int = 10) -> str:
    return f"/api/search?q={quote(q)}&per_page={per_page}"


def result_key(body: dict) -> tuple[int, tuple[str, ...]]:
    return body["total"], tuple(hit["id"] for hit in body["hits"])


# ---------------------------------------------------------------- the command line


def reindex_command(source: Path, index_dir: Path, incremental: bool = False) -> list[str]:
    command = [PYTHON, "-m", "searchsvc", "reindex", str(source), "--index", str(index_dir), "--json"]
    return command + (["--incremental"] if incremental else [])


def start_reindex(source: Path, index_dir: Path, incremental: bool = False) -> subprocess.Popen:
    return subprocess.Popen(
        reindex_command(source, index_dir, incremental), cwd=ROOT,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip


@dataclass
class Outcome:
    code: int
    out: str
    err: str
    seconds: float

    @property
    def summary(self) -> dict:
        try:
            return json.loads(self.out)
        except ValueError:
            return {}

    def last_error(self) -> str:
        lines = [line for line in self.err.splitlines() if line.strip()]
        return lines[-1] if lines else "(nothing on stderr)"


def run_reindex(source: Path, index_dir: Path, incremental: bool = False, timeout: float = 600) -> Outcome:
    started = time.monotonic()
    proc = start_reindex(source, index_dir, incremental)
    out, err = proc.communicate(timeout=timeout)
    return Outcome(proc.returncode, out, err, time.monotonic() - started)


def survivors(marker: str) -> list[int]:
    """Live (not zombie) processes, other than this one, whose command line names ``marker``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode("utf-8", "replace")
            state = (entry / "stat").read_text().rpartition(")")[2].split()[0]
        except OSError:
            continue
        if marker in cmdline and state != "Z":
            found.append(int(entry.name))
    return found


def wait_no_survivors(marker: str, timeout: float = 10.0) -> list[int]:
    deadline = time.monotonic() + timeout
    while (left := survivors(marker)) and time.monotonic() < deadline:
        time.sleep(0.05)
    return left


def lock_is_free(index_dir: Path) -> bool:
    """Whether the reindex lock can be taken now (taken and released at once)."""
    path = index_dir / lock.LOCK
    if not path.exists():
        return True
    fd = os.open(path, os.O_RDWR)
    try:
        fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return False
    else:
        fcntl.lockf(fd, fcntl.LOCK_UN)
        return True
    finally:
        os.close(fd)


def generation_numbers(index_dir: Path) -> list[int]:
    return sorted(
        int(p.name[len(generations.PREFIX):]) for p in index_dir.glob(f"{generations.PREFIX}*")
        if p.name[len(generations.PREFIX):].isdigit()
    )  # fmt: skip


def check_sealed_generations(index_dir: Path) -> list[str]:
    """Every generation with a manifest: its files whole, its catalog whole (SQLite's
    integrity check) and holding the manifest's count, and Whoosh holding as many."""
    from whoosh import index as whoosh_index

    problems = []
    for number in generation_numbers(index_dir):
        path = generations.generation_path(index_dir, number)
        if not (path / generations.MANIFEST).exists():
            continue  # a build that never sealed: never published, removed by the next run
        try:
            generation = generations.read_generation(index_dir, number)
        except Exception as e:
            problems.append(f"generation {number}: {e}")
            continue
        try:
            db = sqlite3.connect(f"{(path / CATALOG_FILE).resolve().as_uri()}?mode=ro", uri=True)
            try:
                integrity = db.execute("PRAGMA integrity_check").fetchone()[0]
                count = db.execute("SELECT count(*) FROM documents").fetchone()[0]
            finally:
                db.close()
        except sqlite3.Error as e:
            problems.append(f"generation {number}: catalog unreadable ({e})")
            continue
        if integrity != "ok" or count != generation.documents:
            problems.append(
                f"generation {number}: catalog integrity {integrity!r}, {count} rows, "
                f"manifest {generation.documents}"
            )
        held = whoosh_index.open_dir(str(path)).doc_count()
        if held != generation.documents:
            problems.append(f"generation {number}: Whoosh holds {held} documents, manifest {generation.documents}")
    return problems


def files_digest(path: Path) -> dict[str, str]:
    return {p.name: hashlib.blake2b(p.read_bytes(), digest_size=16).hexdigest()
            for p in sorted(path.iterdir()) if p.is_file()}  # fmt: skip


# ---------------------------------------------------------------- the service


class Service(Gunicorn):
    """gunicorn with 2 sync workers on ``index_dir``, on a free loopback port, with the
    requests and signals the runs send it; ready once ``/api/health`` answers at all."""

    def __init__(self, index_dir: Path, log_path: Path, query_cache: int = 0, workers: int = 2) -> None:
        super().__init__(index_dir, log_path, workers=workers, query_cache=query_cache)
        self.env.pop("SEARCHSVC_SOURCE_DIR", None)
        self.log_offset = 0

    def get(self, path: str) -> tuple[int | None, dict | None]:
        """One request: its status and JSON body (None, None when the connection failed)."""
        return self.fetch_all([path], 1)[0][:2]

    def fetch_all(self, paths: list[str], concurrency: int = 2) -> list[tuple[int | None, dict | None, str]]:
        """Each path's (status, JSON body or None, error), sent from ``concurrency`` connections."""
        return asyncio.run(fetch_all(self.port, paths, concurrency))

    def restart_workers(self) -> None:
        """SIGHUP: gunicorn starts fresh workers (which open the index anew), then stops the old."""
        before = set(children(self.server.pid))
        self.server.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            now = set(children(self.server.pid))
            if now and not now & before and len(now) >= 2:
                break
            time.sleep(0.1)
        time.sleep(0.5)

    def new_log(self) -> str:
        """What the server logged since the last call."""
        text = self.log_path.read_text("utf-8", errors="replace")
        new, self.log_offset = text[self.log_offset :], len(text)
        return new


async def fetch_all(port: int, paths: list[str], concurrency: int) -> list[tuple[int | None, dict | None, str]]:
    results: list[tuple[int | None, dict | None, str]] = [(None, None, "not sent")] * len(paths)
    jobs = iter(enumerate(paths))

    async def slot() -> None:
        conn = Connection(port)
        try:
            for i, path in jobs:
                try:
                    async with asyncio.timeout(60):
                        status, body = await conn.get(path)
                except (OSError, TimeoutError, asyncio.IncompleteReadError) as e:
                    conn.close()
                    results[i] = (None, None, f"connection: {type(e).__name__}")
                    continue
                try:
                    results[i] = (status, json.loads(body), "")
                except ValueError:
                    results[i] = (status, None, "body is not JSON")
        finally:
            conn.close()

    await asyncio.gather(*(slot() for _ in range(concurrency)))
    return results


def answers(service: Service, queries: list[str]) -> tuple[dict[str, tuple], list[str]]:
    """Each query's result key through the service, and what failed (not a 200 with JSON)."""
    got, failures = {}, []
    for q, (status, body, error) in zip(queries, service.fetch_all([search_path(q) for q in queries]), strict=True):
        if status == 200 and body is not None:
            got[q] = result_key(body)
        else:
            failures.append(f"{q!r}: {status} {error or (body or {}).get('error')}")
    return got, failures


def diff_answers(expected: dict[str, tuple], got: dict[str, tuple]) -> list[str]:
    return [f"{q!r}: {got.get(q, ('no answer',))[0]} hits {got.get(q, ((), ()))[1][:3]}…, "
            f"expected {want[0]} hits {want[1][:3]}…"
            for q, want in expected.items() if got.get(q) != want]  # fmt: skip


def wait_generation(service: Service, number: int, timeout: float = 30.0) -> dict | None:
    """Poll health until it reports ``number`` (the workers switch on their next request)."""
    deadline = time.monotonic() + timeout
    body = None
    while time.monotonic() < deadline:
        results = service.fetch_all(["/api/health"] * 4, 2)
        bodies = [b for s, b, _ in results if s == 200 and b]
        if len(bodies) == 4 and all(b.get("generation") == number for b in bodies):
            return bodies[0]
        body = bodies[0] if bodies else None
        time.sleep(0.1)
    return body


def server_crashes(server_log: str) -> list[str]:
    """Lines of a gunicorn log that show a worker dying or an unexpected error."""
    pattern = re.compile(r"Traceback|WORKER TIMEOUT|was sent SIG|Worker \(pid:\d+\) exited|unexpected error")
    return [line.strip() for line in server_log.splitlines() if pattern.search(line)]


# ---------------------------------------------------------------- run 1: kill -9


def run_kill(args, corpus: Corpus, queries: list[str], work: Path, rng: random.Random) -> RunResult:
    result = RunResult("kill -9 of the reindex", "after each kill the service answers every query as before "
                       "from the last good generation, no process survives, the lock is free, no sealed "
                       "generation is damaged, the next reindex succeeds; documents lost = 0")  # fmt: skip
    index_dir = work / "kill-index"
    corpus.reset()
    first = run_reindex(corpus.folder, index_dir)
    if not result.check(first.code == 0, f"first reindex exited {first.code}: {first.last_error()}"):
        return result
    corpus.mark(rng, "mesurekill")
    second = run_reindex(corpus.folder, index_dir, incremental=True)
    if not result.check(second.code == 0, f"incremental reindex exited {second.code}: {second.last_error()}"):
        return result
    typical = {"full": first.seconds, "incremental": second.seconds}
    log(f"  typical durations: full {typical['full']:.1f} s, incremental {typical['incremental']:.1f} s")
    expected_docs = len(corpus.docs)
    moments: list[str] = []
    phases: dict[str, int] = {}
    kills = checked = lost = finished_first = catalogs = 0
    worker_kills: list[str] = []
    with Service(index_dir, work / "kill-gunicorn.log") as service:
        good = generations.pointer_number(index_dir)
        baseline, failed = answers(service, queries)
        result.check(not failed, f"baseline queries failed: {failed}")
        round_no = 0
        while kills < args.kills and round_no < args.kills * 3:
            round_no += 1
            incremental = round_no % 3 == 0
            kind = "incremental" if incremental else "full"
            word = f"coupure{round_no:03d}"
            corpus.mark(rng, word)
            moment = rng.uniform(0, 0.9 * typical[kind])
            proc = start_reindex(corpus.folder, index_dir, incremental)
            started = time.monotonic()
            time.sleep(max(0.0, started + moment - time.monotonic()))
            if proc.poll() is None:
                os.kill(proc.pid, signal.SIGKILL)
            proc.communicate()
            if proc.returncode != -signal.SIGKILL:
                finished_first += 1
                log(f"  round {round_no}: the {kind} reindex ended (exit {proc.returncode}) before "
                    f"its kill moment ({moment * 1000:.0f} ms); drawn again")  # fmt: skip
                if proc.returncode == 0:
                    good = generations.pointer_number(index_dir)
                    wait_generation(service, good)
                    baseline, _ = answers(service, queries)
                continue
            kills += 1
            moments.append(f"{moment * 1000:.0f}{'i' if incremental else ''}")
            phase, sealed = after_kill(result, index_dir, good, str(corpus.folder))
            catalogs += sealed
            phases[phase] = phases.get(phase, 0) + 1
            if phase == "published":  # killed after the switch: the new generation is the last good one
                good = generations.pointer_number(index_dir)
                wait_generation(service, good)
                health = service.get("/api/health")[1] or {}
                result.check(health.get("documents") == expected_docs,
                             f"kill {kills}: the published generation holds {health.get('documents')} documents")
                lost = max(lost, expected_docs - int(health.get("documents") or 0))
                baseline, _ = answers(service, queries)
            else:
                lost = max(lost, check_service(result, service, queries, baseline, good, f"kill {kills} ({kind}, "
                                               f"{moment * 1000:.0f} ms, {phase})", absent=word))  # fmt: skip
            checked += len(queries) + 2
            good, baseline, docs_lost = next_reindex(result, service, corpus, index_dir, queries, word, f"after kill {kills}")
            lost = max(lost, docs_lost)
            checked += 1

        for n in range(1, args.worker_kills + 1):
            word = f"ouvrier{n:03d}"
            corpus.mark(rng, word)
            moment = rng.uniform(0.3, 0.8) * typical["full"]
            proc = start_reindex(corpus.folder, index_dir)
            deadline = time.monotonic() + moment
            victim = None
            while proc.poll() is None:
                workers = children(proc.pid)
                if workers and time.monotonic() >= deadline:
                    victim = rng.choice(workers)
                    os.kill(victim, signal.SIGKILL)
                    break
                time.sleep(0.02)
            out, err = proc.communicate()
            outcome = Outcome(proc.returncode, out, err, 0)
            if victim is None:
                log(f"  worker kill {n}: the reindex ended before a writer could be killed")
                continue
            worker_kills.append(f"exit {outcome.code}")
            label = f"worker kill {n} ({moment * 1000:.0f} ms)"
            result.check(outcome.code == 5, f"{label}: the reindex exited {outcome.code}, expected 5 "
                         f"({outcome.last_error()}; {outcome.summary.get('documents', '?')} documents reported)")
            if outcome.code == 0:  # it claimed success: what was published?
                now = generations.pointer_number(index_dir)
                problems = check_sealed_generations(index_dir)
                result.fail(f"{label}: generation {now} was published; {problems or 'it checks whole'}")
                wait_generation(service, now, timeout=3)
                health = service.get("/api/health")[1] or {}
                whoosh_held = whoosh_count(index_dir, now)
                lost = max(lost, expected_docs - whoosh_held)
                log(f"  {label}: published generation {now}: Whoosh holds {whoosh_held} of {expected_docs}; "
                    f"health {health}")
                good = now
            else:
                log(f"  {label}: exit {outcome.code}: {outcome.last_error()}")
                result.check("writer process" in outcome.err or "documents" in outcome.err,
                             f"{label}: the message does not say what happened: {outcome.last_error()}")
                lost = max(lost, check_service(result, service, queries, baseline, good, label, absent=word))
                checked += len(queries) + 2
            good, baseline, docs_lost = next_reindex(result, service, corpus, index_dir, queries, word, f"after {label}")
            lost = max(lost, docs_lost)
            checked += 1
        crashes = server_crashes(service.new_log())
        result.check(not crashes, f"the server logged: {crashes[:3]}")

    result.figures.update({
        "documents": f"{expected_docs:,}; typical full reindex {typical['full']:.1f} s, incremental {typical['incremental']:.1f} s",
        "kills (kill -9 of the reindex)": kills,
        "kill moments (ms after start; i = incremental)": ", ".join(moments),
        "where the kills landed": ", ".join(f"{k} {v}" for k, v in sorted(phases.items())),
        "runs that ended before their kill moment (drawn again)": finished_first,
        "kill -9 of one writer process": f"{len(worker_kills)} ({', '.join(worker_kills)})",
        "queries checked": checked,
        "sealed generations checked after the kills (files, catalog integrity and count, Whoosh count)": catalogs,
        "failures": len(result.failures),
        "documents lost": f"{lost} (the most missing from a generation published or served)",
    })  # fmt: skip
    result.check(lost == 0, f"{lost} documents lost")
    landed = ", ".join(f"{k} {v}" for k, v in sorted(phases.items()))
    result.short = (f"{kills} kills at random moments ({landed}) and {len(worker_kills)} of a writer process "
                    f"({', '.join(sorted(set(worker_kills))) or '–'}); {checked:,} queries checked; "
                    f"documents lost {lost}")  # fmt: skip
    return result


def whoosh_count(index_dir: Path, number: int) -> int:
    from whoosh import index as whoosh_index

    return whoosh_index.open_dir(str(generations.generation_path(index_dir, number))).doc_count()


def after_kill(result: RunResult, index_dir: Path, good: int, marker: str) -> tuple[str, int]:
    """Check what a kill left; return where it landed and how many sealed generations
    (manifest, files, catalog, Whoosh count) were checked."""
    left = wait_no_survivors(marker)
    result.check(not left, f"processes of the reindex survived the kill: {left}")
    result.check(lock_is_free(index_dir), "the reindex lock is still held after the kill")
    sealed = sum(1 for n in generation_numbers(index_dir)
                 if (generations.generation_path(index_dir, n) / generations.MANIFEST).exists())  # fmt: skip
    problems = check_sealed_generations(index_dir)
    result.check(not problems, f"damaged sealed generations: {problems}")
    pointer = generations.pointer_number(index_dir)
    newer = [n for n in generation_numbers(index_dir) if n > good]
    if pointer != good:
        return "published", sealed
    if not newer:
        return "starting", sealed
    path = generations.generation_path(index_dir, newer[-1])
    return "sealed" if (path / generations.MANIFEST).exists() else "building", sealed


def check_service(result: RunResult, service: Service, queries: list[str], baseline: dict, good: int,
                  label: str, absent: str) -> int:  # fmt: skip
    """The service answers as before from generation ``good``; returns the documents missing."""
    health = service.get("/api/health")[1] or {}
    result.check(health.get("status") == "ok" and health.get("generation") == good,
                 f"{label}: health {health}, expected generation {good} ok")
    got, failed = answers(service, queries)
    result.check(not failed, f"{label}: failed queries {failed}")
    changed = diff_answers(baseline, got)
    result.check(not changed, f"{label}: answers changed: {changed[:3]}")
    marker = service.get(search_path(absent))[1] or {}
    result.check(marker.get("total") == 0, f"{label}: the killed run's edit ({absent}) is served")
    manifest = generations.read_generation(service.index_dir, good).documents
    return max(0, manifest - int(health.get("documents") or 0))


def next_reindex(result: RunResult, service: Service, corpus: Corpus, index_dir: Path, queries: list[str],
                 word: str, label: str) -> tuple[int, dict, int]:  # fmt: skip
    """The next reindex (incremental) succeeds, holds every document and is served;
    returns the new last good generation, its answers and the documents lost."""
    outcome = run_reindex(corpus.folder, index_dir, incremental=True)
    expected = len(corpus.docs)
    good = generations.pointer_number(index_dir)
    if not result.check(outcome.code == 0, f"{label}: the next reindex exited {outcome.code}: {outcome.last_error()}"):
        return good, answers(service, queries)[0], 0
    summary = outcome.summary
    result.check(summary.get("generation") == good, f"{label}: reindex says {summary.get('generation')}, pointer {good}")
    held = whoosh_count(index_dir, good)
    result.check(held == expected and summary.get("documents") == expected,
                 f"{label}: the next reindex holds {held} documents (says {summary.get('documents')}), expected {expected}")
    health = wait_generation(service, good) or {}
    result.check(health.get("generation") == good and health.get("status") == "ok",
                 f"{label}: the service did not switch to generation {good}: {health}")
    marker = service.get(search_path(word))[1] or {}
    result.check(marker.get("total") == 3, f"{label}: the edit ({word}) gives {marker.get('total')} hits, expected 3")
    left = [n for n in generation_numbers(index_dir) if n > good]
    result.check(not left, f"{label}: leftovers of the killed run remain: {left}")
    baseline, failed = answers(service, queries)
    result.check(not failed, f"{label}: failed queries {failed}")
    return good, baseline, max(0, expected - held)


# ---------------------------------------------------------------- run 2: a full disk


def run_disk(args, corpus: Corpus, queries: list[str], work: Path) -> RunResult:
    result = RunResult("full disk during a reindex", "exit 5 with 'the disk is full', the previous generation "
                       "untouched (same files, same answers), then the next reindex succeeds")  # fmt: skip
    mount_point = work / "disk"
    mount_point.mkdir(parents=True, exist_ok=True)
    corpus.reset()
    generous = max(96, corpus.path.stat().st_size * 16 // MIB + 32)
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={generous}m", "tmpfs", str(mount_point)],
                             capture_output=True, text=True)  # fmt: skip
    if mounted.returncode != 0:
        result.skipped = f"`mount -t tmpfs` is not permitted here: {mounted.stderr.strip() or mounted.returncode}"
        return result
    index_dir = mount_point / "index"
    try:
        first = run_reindex(corpus.folder, index_dir)
        if not result.check(first.code == 0, f"generation 1 did not build on {generous} MiB: {first.last_error()}"):
            return result
        generation_bytes = sum(p.stat().st_size for p in index_dir.rglob("*") if p.is_file())
        small = int(generation_bytes * 1.5) // 1024 + 1
        remount(mount_point, f"{small}k")
        figures = [f"generation 1: {generation_bytes / MIB:.1f} MiB; tmpfs shrunk to {small / 1024:.1f} MiB"]
        with Service(index_dir, work / "disk-gunicorn.log") as service:
            before, failed = answers(service, queries)
            result.check(not failed, f"queries failed before: {failed}")
            digest = files_digest(generations.generation_path(index_dir, 1))

            codes: list[int] = []

            def full_disk(label: str, incremental: bool) -> None:
                outcome = run_reindex(corpus.folder, index_dir, incremental=incremental)
                codes.append(outcome.code)
                tracebacks = outcome.err.count("Traceback")
                figures.append(f"{label}: exit {outcome.code}, {outcome.last_error()!r}"
                               + (f" (stderr also holds {tracebacks} traceback(s) of Whoosh's writer processes)"
                                  if tracebacks else ""))  # fmt: skip
                log(f"  {figures[-1]}")
                result.check(outcome.code == 5, f"{label}: exit {outcome.code}, expected 5")
                result.check("the disk is full" in outcome.last_error(), f"{label}: the message does not say the disk is full")
                result.check(generations.pointer_number(index_dir) == 1, f"{label}: the pointer moved")
                result.check(generation_numbers(index_dir) == [1], f"{label}: left {generation_numbers(index_dir)}")
                result.check(files_digest(generations.generation_path(index_dir, 1)) == digest,
                             f"{label}: generation 1's files changed")
                result.check(lock_is_free(index_dir), f"{label}: the lock is held")
                got, failed = answers(service, queries)
                result.check(not failed and not diff_answers(before, got), f"{label}: answers changed or failed: {failed}")
                health = service.get("/api/health")[1] or {}
                result.check(health.get("generation") == 1 and health.get("status") == "ok", f"{label}: health {health}")

            full_disk("full reindex on a disk that holds one generation", incremental=False)
            filler = mount_point / "filler"
            free = shutil.disk_usage(mount_point).free
            with filler.open("wb") as f, contextlib.suppress(OSError):
                f.write(b"\0" * max(0, free - 16 * 1024))
            figures.append(f"filled to {shutil.disk_usage(mount_point).free // 1024} KiB free")
            full_disk("incremental reindex, nothing changed, on a full disk (only the catalog to write)", incremental=True)
            filler.unlink()
            remount(mount_point, f"{generous}m")
            outcome = run_reindex(corpus.folder, index_dir)
            figures.append(f"tmpfs made {generous} MiB, next reindex: exit {outcome.code}, "
                           f"generation {outcome.summary.get('generation')}, {outcome.summary.get('documents')} documents")  # fmt: skip
            log(f"  {figures[-1]}")
            result.check(outcome.code == 0 and outcome.summary.get("documents") == len(corpus.docs),
                         f"the reindex after freeing space: exit {outcome.code} {outcome.last_error()}")
            number = generations.pointer_number(index_dir)
            health = wait_generation(service, number) or {}
            result.check(health.get("status") == "ok" and health.get("documents") == len(corpus.docs),
                         f"after freeing space: health {health}")
            crashes = server_crashes(service.new_log())
            result.check(not crashes, f"the server logged: {crashes[:3]}")
        result.figures.update({f"step {i}": text for i, text in enumerate(figures, 1)})
        result.figures["failures"] = len(result.failures)
        result.short = (f"generation 1 {generation_bytes / MIB:.1f} MiB on a {small / 1024:.1f} MiB tmpfs: a full "
                        f"reindex and an incremental one on a full disk exit {' and '.join(dict.fromkeys(map(str, codes)))} "
                        f"\"the disk is full\"; generation 1 byte for byte the same, same answers; after growing "
                        f"the disk the next reindex exits {outcome.code}")  # fmt: skip
    finally:
        for _ in range(20):
            if subprocess.run(["umount", str(mount_point)], capture_output=True).returncode == 0:
                break
            time.sleep(0.5)
        else:
            subprocess.run(["umount", "-l", str(mount_point)], capture_output=True)
    return result


def remount(mount_point: Path, size: str) -> None:
    subprocess.run(["mount", "-o", f"remount,size={size}", str(mount_point)], check=True, capture_output=True)


# ---------------------------------------------------------------- run 3: damage


def run_damage(args, corpus: Corpus, queries: list[str], work: Path) -> RunResult:
    result = RunResult("damaged generation", "the service answers every query from the last good generation "
                       "(or 503 with the reason), says so in /api/health and in its log, also after its "
                       "workers restart; the next reindex succeeds")  # fmt: skip
    index_dir = work / "damage-index"
    small = Corpus(corpus.original[: args.damage_limit], work / "damage-source")
    rows: list[str] = []
    outcomes: dict[str, list[str]] = {}
    answered = 0

    def build(marker: str) -> tuple[int, dict]:
        """A full reindex with a marker document; wait until it is served; return its number and answers."""
        count = small.write([{"id": f"marker-{marker}", "title": f"Marqueur {marker}", "body": "marqueurpanne"}])
        outcome = run_reindex(small.folder, index_dir)
        if outcome.code != 0:
            raise SetupError(f"reindex exited {outcome.code}: {outcome.last_error()}")
        number = outcome.summary["generation"]
        health = wait_generation(service, number) or {}
        if health.get("documents") != count:
            raise SetupError(f"generation {number} not served: {health}")
        got, failed = answers(service, check_queries)
        if failed:
            raise SetupError(f"queries failed on generation {number}: {failed}")
        return number, got

    def case(label: str, damage: Callable[[], str], good: int, expected: dict) -> None:
        nonlocal answered
        service.new_log()
        what = damage()
        log(f"  {label}: {what}")
        for moment in ("running workers", "restarted workers"):
            if moment == "restarted workers":
                service.restart_workers()
            results = service.fetch_all([search_path(q) for q in check_queries] * 2, 4)
            answered += len(results)
            statuses = sorted({str(s) for s, _, _ in results})
            served = {q: result_key(b) for q, (s, b, _) in zip(check_queries * 2, results, strict=True)
                      if s == 200 and b}
            unavailable = [b for s, b, _ in results if s == 503]
            reasons = {((b or {}).get("error") or {}).get("message", "") for b in unavailable}
            health_status, health = service.get("/api/health")
            health = health or {}
            problem = health.get("problem") or (health.get("error") or {}).get("message", "")
            if served and not unavailable:
                outcome = f"served generation {health.get('generation')}"
                result.check(not diff_answers(expected, served) and len(served) == len(expected),
                             f"{label}, {moment}: answers differ from generation {good}'s: "
                             f"{diff_answers(expected, served)[:2]}")
                result.check(health.get("generation") == good and health.get("status") == "degraded",
                             f"{label}, {moment}: health {health_status} {health}")
            elif unavailable and not served and all("damaged" in r for r in reasons):
                outcome = "503 with the reason"
                result.check(health_status == 503, f"{label}, {moment}: health {health_status} {health}")
            else:
                outcome = f"statuses {statuses}"
                result.fail(f"{label}, {moment}: statuses {statuses}, reasons {reasons or '-'}, errors "
                            f"{sorted({e for _, _, e in results if e})}")
            result.check("damaged" in problem, f"{label}, {moment}: health does not name the damage: {health}")
            server_log = service.new_log()
            logged = [line.strip() for line in server_log.splitlines() if "damaged" in line]
            crashes = server_crashes(server_log)
            result.check(bool(logged) or moment == "restarted workers" and outcome.startswith("503"),
                         f"{label}, {moment}: nothing in the log")
            result.check(not crashes, f"{label}, {moment}: the server logged {crashes[:3]}")
            outcomes.setdefault(label, []).append(
                outcome.replace(f"served generation {good}", f"served the last good generation ({good})")
            )
            rows.append(f"{label}, {moment}: {outcome}; health {health_status} "
                        f"{health.get('status', '')} {problem!r}; log: {logged[0] if logged else '-'!r}")
            log(f"    {rows[-1]}")

    def truncate_segment(number: int) -> str:
        path = generations.generation_path(index_dir, number)
        victim = max(path.glob("*.seg"), key=lambda p: p.stat().st_size)
        os.truncate(victim, 100)
        return f"truncated {victim.name} of generation {number} to 100 bytes"

    def delete_file(number: int) -> str:
        path = generations.generation_path(index_dir, number)
        victim = min(path.glob("*.seg"), key=lambda p: p.stat().st_size)
        victim.unlink()
        return f"deleted {victim.name} of generation {number}"

    def half_copied(source: int) -> str:
        number = max(generation_numbers(index_dir)) + 1
        shutil.copytree(generations.generation_path(index_dir, source), generations.generation_path(index_dir, number))
        truncate_segment(number)
        generations.publish(index_dir, number)
        return f"copied generation {source} to {number}, truncated a segment of it, moved the pointer to {number}"

    def damage_all() -> str:
        hit = []
        for number in generation_numbers(index_dir):
            with contextlib.suppress(Exception):
                generations.read_generation(index_dir, number)
                delete_file(number)
                hit.append(number)
        return f"deleted a segment of each generation still whole: {hit}"

    small.write()
    check_queries = queries + ["marqueurpanne"]
    outcome = run_reindex(small.folder, index_dir)
    if not result.check(outcome.code == 0, f"first reindex: {outcome.last_error()}"):
        return result
    try:
        with Service(index_dir, work / "damage-gunicorn.log") as service:
            good, expected = build("a")
            current, _ = build("b")
            case("a segment of the generation in use truncated", lambda: truncate_segment(current), good, expected)
            recovered = run_reindex(small.folder, index_dir)
            result.check(recovered.code == 0, f"reindex after the truncation: {recovered.last_error()}")
            good, expected = build("c")
            current, _ = build("d")
            case("a file of the generation in use deleted", lambda: delete_file(current), good, expected)
            good, expected = build("e")
            current, _ = build("f")
            case("a newer generation damaged, the pointer moved to it", lambda: half_copied(current), current,
                 answers(service, check_queries)[0])
            case("every generation damaged", damage_all, None, {})
            final = run_reindex(small.folder, index_dir)
            number = generations.pointer_number(index_dir)
            health = wait_generation(service, number) or {}
            result.check(final.code == 0 and health.get("status") == "ok",
                         f"the next reindex: exit {final.code} {final.last_error()}; health {health}")
            rows.append(f"next reindex: exit {final.code}, health {health.get('status')} generation {health.get('generation')}")
    except SetupError as e:
        result.fail(f"setup: {e}")
    result.figures.update({f"case {i}": row for i, row in enumerate(rows, 1)})
    result.figures["requests answered"] = answered
    result.figures["failures"] = len(result.failures)
    result.short = "; ".join(f"{label}: {' / '.join(dict.fromkeys(seen))}" for label, seen in outcomes.items())
    result.short += (f" (running / restarted workers; health and log said so each time); {answered} requests; "
                     f"{rows[-1] if rows and rows[-1].startswith('next') else 'no final reindex'}")  # fmt: skip
    return result


# ---------------------------------------------------------------- run 4: two at once


def run_concurrent(args, corpus: Corpus, queries: list[str], work: Path) -> RunResult:
    result = RunResult("two reindexes at once", "exactly one proceeds, the other exits 3 with 'already under way' "
                       "before the first ends; nothing damaged")  # fmt: skip
    index_dir = work / "concurrent-index"
    corpus.reset()
    outcome = run_reindex(corpus.folder, index_dir)
    if not result.check(outcome.code == 0, f"first reindex: {outcome.last_error()}"):
        return result
    kinds = [(False, False), (False, True), (True, True)]
    rows: list[str] = []
    labels: list[str] = []
    short: list[str] = []
    refused: list[float] = []
    with Service(index_dir, work / "concurrent-gunicorn.log") as service:
        for pair in range(args.pairs):
            first_incremental, second_incremental = kinds[pair % len(kinds)]
            label = f"pair {pair + 1} ({'incremental' if first_incremental else 'full'} + " \
                    f"{'incremental' if second_incremental else 'full'})"
            # A quarter of the documents changed: an incremental run that skips
            # the unchanged lines unparsed would otherwise end (0.5 s) before
            # the other process has even imported searchsvc and been refused.
            corpus.mark(random.Random(pair), f"ensemble{pair}", n=len(corpus.docs) // 4)
            for attempt in range(1, 4):
                before = generations.pointer_number(index_dir)
                digest = files_digest(generations.generation_path(index_dir, before))
                outcomes = start_together(corpus.folder, index_dir, first_incremental, second_incremental)
                codes = sorted(o.code for o in outcomes)
                if codes != [0, 0]:
                    break
                # Both succeeded: one after the other (fine, but not the case to test), or at once (a defect).
                spans = [(o.seconds - float(o.summary.get("elapsed", 0)), o.seconds) for o in outcomes]
                if max(a for a, _ in spans) < min(b for _, b in spans):
                    break
                log(f"  {label}: the two runs did not overlap (attempt {attempt}); started again")
            winner = next((o for o in outcomes if o.code == 0), None)
            loser = next((o for o in outcomes if o.code != 0), outcomes[1])
            rows.append(f"exit codes {codes}; refused after {loser.seconds:.2f} s, the other ran "
                        f"{winner.seconds if winner else float('nan'):.1f} s; "
                        f"message {loser.last_error()!r}" + (f"; attempt {attempt}" if attempt > 1 else ""))  # fmt: skip
            labels.append(label)
            log(f"  {label}: {rows[-1]}")
            result.check(codes == [0, 3], f"{label}: exit codes {codes}, expected [0, 3]")
            short.append("/".join(map(str, codes)))
            refused.append(loser.seconds)
            result.check("already under way" in loser.err and "pid" in loser.err, f"{label}: message {loser.last_error()!r}")
            if winner:
                result.check(loser.seconds < winner.seconds, f"{label}: the refused run waited for the other")
            after = generations.pointer_number(index_dir)
            result.check(after == before + 1, f"{label}: generation {before} → {after}, expected one step")
            result.check(files_digest(generations.generation_path(index_dir, before)) == digest,
                         f"{label}: the previous generation's files changed")
            result.check(not check_sealed_generations(index_dir), f"{label}: {check_sealed_generations(index_dir)}")
            result.check(generation_numbers(index_dir) == [before, after], f"{label}: folders {generation_numbers(index_dir)}")
            health = wait_generation(service, after) or {}
            result.check(health.get("documents") == len(corpus.docs), f"{label}: health {health}")
        crashes = server_crashes(service.new_log())
        result.check(not crashes, f"the server logged: {crashes[:3]}")
    result.figures.update(dict(zip(labels, rows, strict=True)))
    result.figures["failures"] = len(result.failures)
    result.short = (f"{len(rows)} pairs started together: exit codes {', '.join(short)}; refused after "
                    f"{min(refused, default=0):.1f}–{max(refused, default=0):.1f} s while the other ran; previous "
                    f"generation byte for byte the same")  # fmt: skip
    return result


def start_together(source: Path, index_dir: Path, *incremental: bool) -> list[Outcome]:
    """Start one reindex per flag at the same moment; each outcome's seconds is when it ended."""
    procs = [start_reindex(source, index_dir, flag) for flag in incremental]
    started = time.monotonic()
    ended: dict[int, float] = {}
    while len(ended) < len(procs):
        for i, proc in enumerate(procs):
            if i not in ended and proc.poll() is not None:
                ended[i] = time.monotonic() - started
        time.sleep(0.01)
    return [Outcome(p.returncode, *p.communicate(), ended[i]) for i, p in enumerate(procs)]


# ---------------------------------------------------------------- run 5: load


@dataclass
class Seen:
    """What the load clients saw of the generations, over time."""

    health: list[tuple[float, int]] = field(default_factory=list)
    markers: list[tuple[float, int]] = field(default_factory=list)
    health_requests: int = 0
    marker_requests: int = 0
    odd: list[str] = field(default_factory=list)


async def load_clients(port: int, queries: list[str], concurrency: int, done: threading.Event,
                       load: LoadResult, seen: Seen, started: float) -> None:  # fmt: skip
    counter = itertools.count()
    marker_path = search_path("marqueurcharge", 5)

    async def slot() -> None:
        conn = Connection(port)
        try:
            while not done.is_set():
                n = next(counter)
                if n % 10 == 9:
                    await marker_request(conn, marker_path, load, seen, started)
                else:
                    await timed_request(conn, search_path(queries[n % len(queries)]), 30.0, load)
        finally:
            conn.close()

    async def health_poller() -> None:
        conn = Connection(port)
        try:
            while not done.is_set():
                seen.health_requests += 1
                try:
                    async with asyncio.timeout(30):
                        status, body = await conn.get("/api/health")
                    data = json.loads(body)
                    if status != 200 or data.get("status") != "ok":
                        load.errors[f"health {status} {data.get('status')}"] += 1
                    else:
                        seen.health.append((time.monotonic() - started, data["generation"]))
                except (OSError, TimeoutError, ValueError, asyncio.IncompleteReadError) as e:
                    conn.close()
                    load.errors[f"health: {type(e).__name__}"] += 1
                await asyncio.sleep(0.2)
        finally:
            conn.close()

    await asyncio.gather(*(slot() for _ in range(concurrency)), health_poller())


async def marker_request(conn: Connection, path: str, load: LoadResult, seen: Seen, started: float) -> None:
    seen.marker_requests += 1
    t0 = time.perf_counter()
    try:
        async with asyncio.timeout(30):
            status, body = await conn.get(path)
    except (OSError, TimeoutError, asyncio.IncompleteReadError) as e:
        conn.close()
        load.errors[f"connection: {type(e).__name__}"] += 1
        return
    if status != 200:
        load.errors[f"HTTP {status}"] += 1
        return
    load.latencies_ms.append((time.perf_counter() - t0) * 1000)
    ids = [hit["id"] for hit in json.loads(body)["hits"]]
    if len(ids) != 1 or not ids[0].startswith("marker-"):
        seen.odd.append(f"marker query gave {ids}")
        return
    seen.markers.append((time.monotonic() - started, int(ids[0].split("-")[1])))


def run_load(args, corpus: Corpus, queries: list[str], work: Path) -> RunResult:
    result = RunResult("queries under load during three full reindexes", "zero failed requests (non-200), "
                       "every new generation seen, the last one served at the end; documents lost = 0")  # fmt: skip
    index_dir = work / "load-index"
    corpus.reset()

    def with_marker(k: int) -> int:
        return corpus.write([{"id": f"marker-{k}", "title": f"Génération {k}", "body": "marqueurcharge"}])

    count = with_marker(0)
    outcome = run_reindex(corpus.folder, index_dir)
    if not result.check(outcome.code == 0, f"first reindex: {outcome.last_error()}"):
        return result
    first = outcome.summary["generation"]
    load, seen = LoadResult(), Seen()
    reindexes: list[tuple[int, Outcome, float]] = []  # (marker, outcome, seconds since start at its end)
    done = threading.Event()

    with Service(index_dir, work / "load-gunicorn.log", query_cache=args.query_cache) as service:
        wait_generation(service, first)
        started = time.monotonic()

        def reindex_three() -> None:
            try:
                time.sleep(2.0)  # the clients at full speed first
                for k in (1, 2, 3):
                    with_marker(k)
                    reindexes.append((k, run_reindex(corpus.folder, index_dir), time.monotonic() - started))
                    log(f"  reindex {k}: exit {reindexes[-1][1].code} after {reindexes[-1][1].seconds:.1f} s")
                time.sleep(3.0)  # and after the last switch
            finally:
                done.set()

        thread = threading.Thread(target=reindex_three)
        thread.start()
        asyncio.run(load_clients(service.port, queries, args.concurrency, done, load, seen, started))
        thread.join()
        wall = time.monotonic() - started
        crashes = server_crashes(service.new_log())
        final_health = service.get("/api/health")[1] or {}

    failures = sum(load.errors.values())
    result.check(failures == 0, f"{failures} failed requests: {dict(load.errors)}")
    result.check(not seen.odd, f"unexpected marker answers: {seen.odd[:3]}")
    result.check(not crashes, f"the server logged: {crashes[:3]}")
    for k, outcome, _ in reindexes:
        result.check(outcome.code == 0, f"reindex {k} exited {outcome.code}: {outcome.last_error()}")
    numbers = [first + k for k in (1, 2, 3)]
    health_seen = list(dict.fromkeys(g for _, g in seen.health))
    markers_seen = list(dict.fromkeys(k for _, k in seen.markers))
    result.check(all(n in health_seen for n in numbers), f"health saw generations {health_seen}, expected {numbers}")
    result.check(markers_seen == [0, 1, 2, 3], f"the marker query saw generations {markers_seen}, expected [0, 1, 2, 3]")
    tail_markers = {k for t, k in seen.markers if t > reindexes[-1][2] + 1.0} if reindexes else set()
    result.check(tail_markers == {3}, f"after the last switch the marker query saw {sorted(tail_markers)}")
    backwards = sum(1 for (_, a), (_, b) in itertools.pairwise(seen.health) if b < a)
    lags = []
    for k, _, ended in reindexes:
        first_seen = next((t for t, m in seen.markers if m == k), None)
        if first_seen is not None:
            lags.append(first_seen - ended)
    lost = max(0, count - int(final_health.get("documents") or 0))
    result.check(final_health.get("generation") == numbers[-1] and lost == 0, f"final health {final_health}")
    lat = load.latencies_ms
    sent = len(lat) + failures
    result.figures.update({
        "documents": f"{count:,} (the corpus and one marker document, changed by each reindex)",
        "reindexes": ", ".join(f"{o.seconds:.1f} s (exit {o.code})" for _, o, _ in reindexes),
        "load": f"{args.concurrency} connections, gunicorn 2 sync workers, result cache "
                f"{'off' if args.query_cache == 0 else args.query_cache}, {wall:.0f} s",
        "requests sent": f"{sent:,} searches ({seen.marker_requests:,} of them the marker query) "
                         f"+ {seen.health_requests} health checks",
        "failed requests": failures,
        "generations switched": f"{sum(1 for n in numbers if n in health_seen)} of 3 (health saw {health_seen}; "
                                f"the marker query saw {markers_seen}; a worker seen going back: {backwards} times)",
        "first answer from the new generation after the reindex exited": ", ".join(f"{lag * 1000:+.0f} ms" for lag in lags),
        "latency p50 / p99 / max": f"{rounded_percentile(lat, 50)} / {rounded_percentile(lat, 99)} / {rounded_percentile(lat, 100)} ms",
        "requests per second": f"{len(lat) / wall:.0f}",
        "documents lost": lost,
    })  # fmt: skip
    result.short = (f"{sent:,} searches + {seen.health_requests} health checks on {args.concurrency} connections "
                    f"during 3 full reindexes: {failures} failed; generations switched "
                    f"{sum(1 for n in numbers if n in health_seen)} of 3; p50 / p99 {rounded_percentile(lat, 50)} / "
                    f"{rounded_percentile(lat, 99)} ms; documents lost {lost}")  # fmt: skip
    return result


# ---------------------------------------------------------------- push


PUSH_TOKEN = "fault-runs-token"


def http_json(port: int, method: str, path: str, body: object = None) -> tuple[int, dict]:
    """One request with the admin token; its status and JSON body."""
    import urllib.error
    import urllib.request

    data = None if body is None else json.dumps(body, ensure_ascii=False).encode()
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=data, method=method, headers={
        "Authorization": f"Bearer {PUSH_TOKEN}", "Content-Type": "application/json"})  # fmt: skip
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"{}")


def push_service(index_dir: Path, log_path: Path) -> Service:
    service = Service(index_dir, log_path)
    service.env["SEARCHSVC_ADMIN_TOKEN"] = PUSH_TOKEN
    return service


def run_push(args, corpus: Corpus, queries: list[str], work: Path, rng: random.Random) -> RunResult:
    result = RunResult("kill -9 of the service after pushes", "every push answered 202 is found after the "
                       "restart, every retraction answered 202 stays gone, no sealed generation is damaged, "
                       "the lock is free; then a full reindex keeps the pushed articles and leaves the "
                       "retracted ones out; documents lost = 0")  # fmt: skip
    index_dir = work / "push-index"
    corpus.reset()
    outcome = run_reindex(corpus.folder, index_dir)
    if not result.check(outcome.code == 0, f"first reindex: {outcome.last_error()}"):
        return result
    pushed: dict[str, str] = {}  # id → its marker word
    retracted: list[str] = []
    rows, lost, resurrected, delays, lock_waits = [], 0, 0, [], []
    for run in range(args.push_kills):
        word = f"pousse{run}x{rng.randrange(10**6)}"
        batch = rng.choice([1, 1, 5, 50])
        delay = rng.choice([0.0, rng.uniform(0.0, 0.4)])
        docs = [{"id": f"push-{run}-{i}", "title": f"Dépêche {word} {i}",
                 "body": f"{corpus.docs[(run * 13 + i) % len(corpus.docs)]['body']} {word}"} for i in range(batch)]  # fmt: skip
        service = push_service(index_dir, work / f"push-{run}.log")
        with service:
            status, answer = http_json(service.port, "PUT", "/api/documents", docs)
            if not result.check(status == 202, f"run {run}: push answered {status} {answer}"):
                return result
            gone = None
            if pushed and run % 2 == 1:  # a retraction too, of an earlier push
                gone = rng.choice(sorted(set(pushed) - set(retracted)))
                status, _ = http_json(service.port, "DELETE", f"/api/documents/{quote(gone, safe='')}")
                result.check(status == 202, f"run {run}: retraction answered {status}")
                retracted.append(gone)
            time.sleep(delay)
            os.killpg(service.server.pid, signal.SIGKILL)  # the master and every worker, at once
            service.server.wait()
            bound = f"127.0.0.1:{service.port}"  # in the command line of each of its processes
        for doc in docs:
            pushed[doc["id"]] = word
        delays.append(delay)
        left = wait_no_survivors(bound)
        result.check(not left, f"run {run}: processes left after the kill: {left}")
        # A killed process with large mappings may still be tearing down (its
        # command line already gone, so not a survivor): the kernel releases
        # its lock when it is done.
        killed_at = time.monotonic()
        deadline = killed_at + 5
        while not lock_is_free(index_dir) and time.monotonic() < deadline:
            time.sleep(0.01)
        lock_waits.append(time.monotonic() - killed_at)
        result.check(lock_is_free(index_dir), f"run {run}: the lock is still held 5 s after the kill")
        for problem in check_sealed_generations(index_dir):
            result.fail(f"run {run}: {problem}")
        with push_service(index_dir, work / f"push-{run}-restart.log") as service:
            deadline = time.monotonic() + 30
            while True:
                status, page = service.get(search_path(word, 100))
                total = (page or {}).get("total", -1)
                if total == batch or time.monotonic() > deadline:
                    break
                time.sleep(0.05)
            lost += batch - max(total, 0)
            result.check(total == batch, f"run {run}: {total} of the {batch} documents pushed found after the restart")
            if gone is not None:
                status, page = service.get(search_path(pushed[gone], 100))
                ids = [h["id"] for h in (page or {}).get("hits", [])]
                resurrected += gone in ids
                result.check(gone not in ids, f"run {run}: {gone} was retracted, found after the restart")
        rows.append(f"{batch} pushed{', 1 retracted' if gone else ''}, killed {delay * 1000:.0f} ms after the 202: "
                    f"{max(total, 0)}/{batch} found after the restart")  # fmt: skip
        log(f"  run {run + 1}/{args.push_kills}: {rows[-1]}")
    # A full reindex from the files: the pushed articles stay, the retracted stay out.
    outcome = run_reindex(corpus.folder, index_dir)
    result.check(outcome.code == 0, f"reindex after the pushes: {outcome.last_error()}")
    kept = outcome.summary.get("pushed")
    expected = len(set(pushed) - set(retracted))
    result.check(kept == expected, f"the reindex kept {kept} pushed documents, expected {expected}")
    with push_service(index_dir, work / "push-after-reindex.log") as service:
        for doc_id in retracted:
            status, _ = http_json(service.port, "GET", f"/api/documents/{quote(doc_id, safe='')}")
            result.check(status == 404, f"{doc_id} was retracted, the reindex brought it back ({status})")
        sample = sorted(set(pushed) - set(retracted))[:20]
        for doc_id in sample:
            status, _ = http_json(service.port, "GET", f"/api/documents/{quote(doc_id, safe='')}")
            result.check(status == 200, f"{doc_id} was pushed, gone after the reindex ({status})")
    result.figures.update({
        "kill -9 runs": len(rows),
        "runs": rows,
        "documents pushed (answered 202)": len(pushed),
        "retracted (answered 202)": len(retracted),
        "documents lost": lost,
        "retracted articles found again": resurrected,
        "lock free after the survivors were gone (max)": f"{max(lock_waits, default=0) * 1000:.0f} ms",
        "after a full reindex": f"{kept} pushed articles kept (expected {expected}), "
                                f"{len(retracted)} retracted left out",
    })  # fmt: skip
    result.short = (f"{len(rows)} kills of every process after a push (0–400 ms): {len(pushed)} pushed, "
                    f"{len(retracted)} retracted; lost {lost}, retracted found again {resurrected}; "
                    f"reindex kept {kept}/{expected}")  # fmt: skip
    return result


# ---------------------------------------------------------------- main


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--only", default=",".join(RUNS), help=f"runs to do, comma-separated (default: {','.join(RUNS)})")
    parser.add_argument("--docs", type=Path, default=NEWS_DOCS, help="JSON Lines articles (default: OrangeSum news)")
    parser.add_argument("--limit", type=int, default=1000, help="documents indexed (default 1,000)")
    parser.add_argument("--damage-limit", type=int, default=300, help="documents of the damage run (default 300)")
    parser.add_argument("--kills", type=int, default=20, help="kill -9 of the reindex (default 20)")
    parser.add_argument("--worker-kills", type=int, default=5, help="kill -9 of one writer process (default 5)")
    parser.add_argument("--seed", type=int, default=None, help="random seed (default: drawn, and printed)")
    parser.add_argument("--push-kills", type=int, default=10, help="kill -9 of the service after pushes (default 10)")
    parser.add_argument("--pairs", type=int, default=3, help="two-at-once rounds (default 3)")
    parser.add_argument("--concurrency", type=int, default=8, help="load connections (default 8)")
    parser.add_argument("--query-cache", type=int, default=0, help="SEARCHSVC_QUERY_CACHE of the load run's server (default 0: off)")
    parser.add_argument("--work", type=Path, default=FAULT_WORK, help=f"work folder (default {FAULT_WORK.relative_to(ROOT)}, emptied first)")
    parser.add_argument("--keep", action="store_true", help="keep the work folder")
    args = parser.parse_args(argv)
    args.runs = [r.strip() for r in args.only.split(",") if r.strip()]
    unknown = set(args.runs) - set(RUNS)
    if unknown:
        parser.error(f"unknown runs: {', '.join(sorted(unknown))} (known: {', '.join(RUNS)})")
    return args


def summary_table(results: list[RunResult]) -> str:
    lines = ["| run | result | figures |", "|---|---|---|"]
    for r in results:
        figures = f"skipped: {r.skipped}" if r.skipped else f"{r.short}; failures {len(r.failures)}"
        lines.append(f"| {r.name} | {r.verdict} | {figures.replace('|', '/')} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(1, 10**6)
    rng = random.Random(seed)
    if args.work.exists():
        shutil.rmtree(args.work)
    args.work.mkdir(parents=True)
    docs, described = load_corpus(args.docs, args.limit)
    corpus = Corpus(docs, args.work / "source")
    queries = query_set(corpus.path)
    print(f"# Fault and load runs: {', '.join(args.runs)}")
    print(f"seed {seed}; {described}; {len(queries)} checked queries; {os.cpu_count()} CPUs; python {versions()['python']}")
    started = time.monotonic()
    results = []
    try:
        for name in args.runs:
            log(f"\n== {name}")
            t0 = time.monotonic()
            try:
                if name == "kill":
                    r = run_kill(args, corpus, queries, args.work, rng)
                elif name == "disk":
                    r = run_disk(args, corpus, queries, args.work)
                elif name == "damage":
                    r = run_damage(args, corpus, queries, args.work)
                elif name == "concurrent":
                    r = run_concurrent(args, corpus, queries, args.work)
                elif name == "push":
                    r = run_push(args, corpus, queries, args.work, rng)
                else:
                    r = run_load(args, corpus, queries, args.work)
            except SetupError as e:
                r = RunResult(name, "could not start")
                r.fail(f"setup: {e}")
            r.seconds = time.monotonic() - t0
            r.print()
            results.append(r)
    finally:
        if not args.keep:
            shutil.rmtree(args.work, ignore_errors=True)
    print(f"\n## Summary (seed {seed}, {time.monotonic() - started:.0f} s)\n")
    print(summary_table(results))
    return 1 if any(r.failures for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
