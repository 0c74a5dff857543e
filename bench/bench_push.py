"""Pushes over HTTP, measured on the real service: how soon a pushed article
is found, how soon a retracted one is gone, the push rate it sustains while
readers search, and what ``kill -9`` of every process right after a push
loses (nothing, or the run fails).

The service is the documented production command (gunicorn, 2 sync
workers, ``wsgi:app``) with ``SEARCHSVC_ADMIN_TOKEN`` set and nothing else
started, on a hard-linked copy of an index of 20,000 and one of 100,000
articles (``bench/work/growth/index-N`` from ``bench_growth --keep``; else
built here from ``docs-N.jsonl`` or, for 20,000, the OrangeSum articles).

1. **Push to visible**: one article at a time, each with a word of its own,
   every 0.2-0.5 s; the time from sending the ``PUT`` to the first search
   (polled every 20 ms) that finds it. Then **retract to gone**: ``DELETE``
   to the first search that no longer finds it; then its title suggestion,
   its facet and "did you mean" are checked gone too.
2. **Sustained**: single-article pushes at ``--rate`` a second for
   ``--seconds``, while two readers search fresh queries (10 a second each);
   the same searches without pushes first, in the same run, as the baseline.
   Errors of either, the rate reached, push to visible for one push in ten
   (a word of its own, polled), and the lag until the last is found.
3. **kill -9** (``--kills``): a batch pushed, and on its 202 (or up to 0.3 s
   later, during the apply) every process of the service killed; then
   restarted, and every accepted article must be found.

    .venv/bin/python -m bench.bench_push                 # 20k and 100k, ~6 min
    .venv/bin/python -m bench.bench_push --sizes 20k --kills 10

Prints a table and saves ``bench/results/push.json``.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import shutil
import signal
import string
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from bench.bench_fresh import draw_short
from bench.common import (
    DATA,
    HOST,
    ROOT,
    Gunicorn,
    SetupError,
    git_state,
    log,
    percentile,
    save_json,
)

WORK = ROOT / "bench" / "work" / "push"
GROWTH = ROOT / "bench" / "work" / "growth"
RESULTS = ROOT / "bench" / "results" / "push.json"
ORANGESUM = DATA / "orangesum_news" / "docs.jsonl"
TOKEN = "bench-push-token"
POLL = 0.02
#: In the sustained run, one push in this many has a word of its own, polled until found.
SAMPLE_EVERY = 10
#: A push not found after this many seconds counts as not visible.
GIVE_UP = 30.0


class Client:
    """One keep-alive HTTP connection to the service (one per thread)."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.conn: http.client.HTTPConnection | None = None

    def request(self, method: str, path: str, body: bytes | None = None, headers: dict | None = None):
        for attempt in range(2):
            if self.conn is None:
                self.conn = http.client.HTTPConnection(HOST, self.port, timeout=60)
            try:
                self.conn.request(method, path, body=body, headers=headers or {})
                response = self.conn.getresponse()
                data = response.read()
                return response.status, data
            except (OSError, http.client.HTTPException):
                self.conn.close()
                self.conn = None
                if attempt:
                    raise
        raise AssertionError("unreachable")

    def search(self, q: str, **params) -> dict:
        from urllib.parse import urlencode

        status, data = self.request("GET", "/api/search?" + urlencode({"q": q, **params}))
        if status != 200:
            raise RuntimeError(f"search {q!r}: {status} {data[:200]!r}")
        return json.loads(data)

    def push(self, documents: list[dict]) -> tuple[int, dict]:
        body = json.dumps(documents, ensure_ascii=False).encode()
        status, data = self.request(
            "PUT", "/api/documents", body, {"Content-Type": "application/json", "Authorization": f"Bearer {TOKEN}"}
        )
        return status, json.loads(data) if data else {}

    def retract(self, doc_id: str) -> int:
        status, _ = self.request("DELETE", f"/api/documents/{doc_id}", headers={"Authorization": f"Bearer {TOKEN}"})
        return status


def marker(rng: random.Random) -> str:
    """A word no article holds (and no typo of one: 10 letters of its own)."""
    return "zq" + "".join(rng.choice(string.ascii_lowercase) for _ in range(8))


def articles(n: int, seed: int) -> list[dict]:
    """``n`` OrangeSum articles to push (their text; ids and titles are made here)."""
    rng = random.Random(seed)
    lines = ORANGESUM.read_text("utf-8").splitlines()
    out = []
    for line in rng.sample(lines, n):
        record = json.loads(line)
        out.append({"title": record["title"], "body": record.get("body") or record.get("text") or ""})
    return out


def index_copy(size: int) -> Path:
    """A hard-linked copy of an index of ``size`` articles (pushes never write a file in place)."""
    target = WORK / f"index-{size}"
    shutil.rmtree(target, ignore_errors=True)
    source = GROWTH / f"index-{size}"
    if not (source / "CURRENT").exists():
        docs = GROWTH / f"docs-{size}.jsonl"
        if not docs.exists() and size == 20_000:
            docs = ORANGESUM
        if not docs.exists():
            raise SetupError(f"no index of {size} articles: run `python -m bench.bench_growth --keep` first")
        from searchsvc.index.reindex import reindex

        log(f"building an index of {size} articles from {docs} …")
        reindex([docs], source)
    WORK.mkdir(parents=True, exist_ok=True)
    os.system(f"cp -al {source} {target}")  # noqa: S605 - paths are ours
    for stale in ("journal.sqlite", "journal.sqlite-wal", "journal.sqlite-shm", "querylog.sqlite",
                  "querylog.sqlite-wal", "querylog.sqlite-shm", "reindex.lock"):
        (target / stale).unlink(missing_ok=True)
    return target


def server(index_dir: Path, name: str) -> Gunicorn:
    g = Gunicorn(index_dir, WORK / f"{name}.log", workers=2, query_cache=0, want_200=True)
    g.env["SEARCHSVC_ADMIN_TOKEN"] = TOKEN
    return g


def summary(values: list[float]) -> dict:
    values = sorted(values)
    if not values:
        return {"n": 0}
    return {
        "n": len(values),
        "p50_ms": round(percentile(values, 50) * 1000, 1),
        "p95_ms": round(percentile(values, 95) * 1000, 1),
        "max_ms": round(values[-1] * 1000, 1),
    }


def found(client: Client, word: str) -> int:
    return client.search(word)["total"]


def wait_until(predicate, give_up: float = GIVE_UP) -> float | None:
    started = time.monotonic()
    while time.monotonic() - started < give_up:
        if predicate():
            return time.monotonic() - started
        time.sleep(POLL)
    return None


# ---------------------------------------------------------------- 1. visibility


def visibility(port: int, texts: list[dict], rng: random.Random) -> dict:
    client = Client(port)
    to_visible, ack, retract_gone, leftovers = [], [], [], []
    pushed: list[tuple[str, str, dict]] = []
    for i, text in enumerate(texts):
        word = marker(rng)
        doc = {"id": f"bench-vis-{word}", "title": f"{text['title']} {word}", "body": text["body"],
               "date": "2026-12-07", "source": f"Source {word}"}  # fmt: skip
        started = time.monotonic()
        status, answer = client.push([doc])
        ack.append(time.monotonic() - started)
        if status != 202 or answer.get("accepted") != [doc["id"]]:
            raise RuntimeError(f"push {i}: {status} {answer}")
        waited = wait_until(lambda word=word: found(client, word) == 1)
        to_visible.append((time.monotonic() - started) if waited is not None else float("inf"))
        pushed.append((doc["id"], word, doc))
        time.sleep(rng.uniform(0.2, 0.5))
    for doc_id, word, doc in pushed[: len(pushed) // 2]:
        started = time.monotonic()
        if client.retract(doc_id) != 202:
            raise RuntimeError(f"retract {doc_id} refused")
        waited = wait_until(lambda word=word: found(client, word) == 0)
        retract_gone.append((time.monotonic() - started) if waited is not None else float("inf"))
        # Gone from everything else too: its title suggestion, its facet, did you mean.
        _, data = client.request("GET", "/api/suggest?q=" + word[:6])
        if word in data.decode():
            leftovers.append(f"{doc_id}: suggested")
        page = client.search(doc["source"].split()[0] + " " + word[:-1] + "x")
        if word in json.dumps(page):
            leftovers.append(f"{doc_id}: in a page ({page.get('suggestion')!r})")
        time.sleep(rng.uniform(0.2, 0.5))
    return {
        "push_acknowledged": summary(ack),
        "push_to_visible": summary(to_visible),
        "retract_to_gone": summary(retract_gone),
        "not_visible": sum(1 for t in to_visible if t == float("inf")),
        "not_gone": sum(1 for t in retract_gone if t == float("inf")),
        "leftovers": leftovers,
    }


# ---------------------------------------------------------------- 2. sustained


def searches(port: int, queries: list[str], seconds: float, per_second: float, out: dict) -> None:
    """One reader: fresh queries at ``per_second`` for ``seconds``; latencies and errors in ``out``."""
    client = Client(port)
    started = time.monotonic()
    for i, q in enumerate(queries):
        due = started + i / per_second
        if due - started > seconds:
            break
        time.sleep(max(0.0, due - time.monotonic()))
        t = time.monotonic()
        try:
            client.search(q)
            out["latencies"].append(time.monotonic() - t)
        except Exception as e:  # counted, never hidden
            out["errors"].append(str(e)[:200])


def sustained(port: int, texts: list[dict], rate: float, seconds: float, queries: list[str], rng: random.Random) -> dict:
    readers = 2
    per_reader = len(queries) // (2 * readers)
    # Baseline: the same readers without pushes (fresh queries of their own).
    base = {"latencies": [], "errors": []}
    threads = [threading.Thread(target=searches, args=(port, queries[i * per_reader:(i + 1) * per_reader],
                                                       seconds / 2, 10.0, base)) for i in range(readers)]  # fmt: skip
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    lot = marker(rng)
    load = {"latencies": [], "errors": []}
    later = queries[readers * per_reader:]
    threads = [threading.Thread(target=searches, args=(port, later[i * per_reader:(i + 1) * per_reader],
                                                       seconds, 10.0, load)) for i in range(readers)]  # fmt: skip
    local = threading.local()
    acks, push_errors = [], []
    lock = threading.Lock()

    sampled: list[tuple[str, float]] = []  # (its own word, when its push was sent)
    visible_under_load: list[float] = []

    def one(i: int, due: float) -> None:
        time.sleep(max(0.0, due - time.monotonic()))
        client = getattr(local, "client", None) or Client(port)
        local.client = client
        text = texts[i % len(texts)]
        own = marker(random.Random(i)) if i % SAMPLE_EVERY == 0 else ""
        doc = {"id": f"bench-lot-{lot}-{i}", "title": text["title"], "body": f"{text['body']} {lot} {own}"}
        t = time.monotonic()
        try:
            status, answer = client.push([doc])
            ok = status == 202 and answer.get("accepted") == [doc["id"]]
        except Exception as e:
            ok, status = False, str(e)[:100]
        with lock:
            (acks.append(time.monotonic() - t) if ok else push_errors.append(status))
            if ok and own:
                sampled.append((own, t))

    def sampler() -> None:
        """Every SAMPLE_EVERY-th push has a word of its own: polled until found."""
        client = Client(port)
        while not done.is_set() or sampled:
            with lock:
                waiting = list(sampled)
            for word, sent in waiting:
                if found(client, word):
                    visible_under_load.append(time.monotonic() - sent)
                    with lock:
                        sampled.remove((word, sent))
                elif time.monotonic() - sent > GIVE_UP:
                    visible_under_load.append(float("inf"))
                    with lock:
                        sampled.remove((word, sent))
            time.sleep(POLL)

    done = threading.Event()
    watcher = threading.Thread(target=sampler)

    n = int(rate * seconds)
    for t in threads:
        t.start()
    watcher.start()
    started = time.monotonic()
    with ThreadPoolExecutor(16) as pool:
        for i in range(n):
            pool.submit(one, i, started + i / rate)
    ended = time.monotonic()
    done.set()
    watcher.join()
    for t in threads:
        t.join()
    client = Client(port)
    lag = wait_until(lambda: found(client, lot) == n - len(push_errors), give_up=60)
    return {
        "target_rate": rate,
        "pushes": n,
        "push_errors": len(push_errors),
        "push_error_samples": push_errors[:5],
        "achieved_rate": round(n / (ended - started), 1),
        "push_acknowledged": summary(acks),
        "push_to_visible_under_load": summary(visible_under_load),
        "not_visible_under_load": sum(1 for t in visible_under_load if t == float("inf")),
        "all_found_after_last_push_s": None if lag is None else round(lag, 2),
        "found": found(client, lot),
        "searches_without_pushes": {**summary(base["latencies"]), "errors": len(base["errors"])},
        "searches_during_pushes": {**summary(load["latencies"]), "errors": len(load["errors"]),
                                   "error_samples": load["errors"][:5]},  # fmt: skip
    }


# ---------------------------------------------------------------- 3. kill -9


def kills(index_dir: Path, texts: list[dict], runs: int, rng: random.Random) -> dict:
    lost, checked, results = 0, 0, []
    for run in range(runs):
        word = marker(rng)
        batch = rng.choice([1, 1, 5, 50, 200])
        delay = 0.0 if run % 2 == 0 else rng.uniform(0.0, 0.3)
        docs = [{"id": f"bench-kill-{word}-{i}", "title": texts[(run * 7 + i) % len(texts)]["title"],
                 "body": f"{texts[(run * 7 + i) % len(texts)]['body']} {word}"} for i in range(batch)]  # fmt: skip
        g = server(index_dir, f"kill-{run}")
        with g:
            client = Client(g.port)
            status, answer = client.push(docs)
            if status != 202:
                raise RuntimeError(f"kill run {run}: push answered {status} {answer}")
            time.sleep(delay)
            os.killpg(g.server.pid, signal.SIGKILL)  # the master and every worker, at once
            g.server.wait()
        accepted = len(answer["accepted"])
        g = server(index_dir, f"kill-{run}-restart")
        with g:
            client = Client(g.port)
            waited = wait_until(lambda c=client, w=word, n=accepted: found(c, w) == n, give_up=60)
            present = found(client, word)
        checked += accepted
        lost += accepted - present
        results.append({"batch": batch, "killed_after_s": round(delay, 3), "accepted": accepted,
                        "found_after_restart": present,
                        "applied_within_s": None if waited is None else round(waited, 2)})  # fmt: skip
        log(f"  kill -9 run {run + 1}/{runs}: {batch} pushed, killed {delay * 1000:.0f} ms after the 202, "
            f"{present}/{accepted} found after the restart")  # fmt: skip
    return {"runs": runs, "documents_checked": checked, "documents_lost": lost, "details": results}


# ---------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="20k,100k")
    parser.add_argument("--pushes", type=int, default=40, help="pushes timed one at a time")
    parser.add_argument("--rate", type=float, default=100.0, help="sustained pushes a second")
    parser.add_argument("--seconds", type=float, default=30.0, help="length of the sustained run")
    parser.add_argument("--kills", type=int, default=10, help="kill -9 runs (on the smallest size)")
    parser.add_argument("--seed", type=int, default=1207)
    args = parser.parse_args(argv)
    sizes = [int(s.lower().replace("k", "000").replace("m", "000000")) for s in args.sizes.split(",")]
    rng = random.Random(args.seed)
    texts = articles(2000, args.seed)
    queries = draw_short(int(args.seconds * 10 * 2 * 3) + 100, args.seed)
    commit, dirty = git_state("searchsvc")
    report = {"commit": commit, "dirty": dirty, "cpus": os.cpu_count(), "sizes": {}}
    for size in sizes:
        index_dir = index_copy(size)
        log(f"{size:,} articles: gunicorn --workers 2 on {index_dir}")
        with server(index_dir, f"push-{size}") as g:
            vis = visibility(g.port, texts[: args.pushes], rng)
            log(f"  push to visible p50 {vis['push_to_visible']['p50_ms']} ms, p95 {vis['push_to_visible']['p95_ms']} ms; "
                f"retract to gone p50 {vis['retract_to_gone']['p50_ms']} ms, p95 {vis['retract_to_gone']['p95_ms']} ms")  # fmt: skip
            sus = sustained(g.port, texts, args.rate, args.seconds, queries, rng)
            log(f"  sustained: {sus['achieved_rate']}/s, push to visible p50 "
                f"{sus['push_to_visible_under_load'].get('p50_ms')} ms, p95 {sus['push_to_visible_under_load'].get('p95_ms')} ms, "
                f"{sus['push_errors']} push errors, "
                f"{sus['searches_during_pushes']['errors']} search errors; all found "
                f"{sus['all_found_after_last_push_s']} s after the last push")  # fmt: skip
        report["sizes"][str(size)] = {"visibility": vis, "sustained": sus}
    if args.kills:
        index_dir = index_copy(sizes[0])
        log(f"kill -9 runs on {sizes[0]:,} articles")
        report["kill9"] = kills(index_dir, texts, args.kills, rng)
    save_json(RESULTS, report)
    print_table(report)
    failed = report.get("kill9", {}).get("documents_lost", 0) or any(
        s["visibility"]["not_visible"] or s["visibility"]["not_gone"] or s["visibility"]["leftovers"]
        or s["sustained"]["push_errors"] or s["sustained"]["searches_during_pushes"]["errors"]
        or s["sustained"]["not_visible_under_load"]
        for s in report["sizes"].values()
    )  # fmt: skip
    return 1 if failed else 0


def print_table(report: dict) -> None:
    print(f"\nPushes over HTTP, gunicorn --workers 2, {report['cpus']} CPUs, commit {report['commit']}")
    print("articles | push→visible p50/p95 | retract→gone p50/p95 | sustained | push→visible at that rate "
          "p50/p95 | errors | search p50/p95 without pushes | search p50/p95 during pushes")
    for size, r in report["sizes"].items():
        v, s = r["visibility"], r["sustained"]
        base, load, under = s["searches_without_pushes"], s["searches_during_pushes"], s["push_to_visible_under_load"]
        print(f"{int(size):,} | {v['push_to_visible']['p50_ms']} / {v['push_to_visible']['p95_ms']} ms | "
              f"{v['retract_to_gone']['p50_ms']} / {v['retract_to_gone']['p95_ms']} ms | {s['achieved_rate']}/s | "
              f"{under.get('p50_ms')} / {under.get('p95_ms')} ms | {s['push_errors'] + load['errors']} | "
              f"{base.get('p50_ms')} / {base.get('p95_ms')} ms | {load.get('p50_ms')} / {load.get('p95_ms')} ms")  # fmt: skip
    if "kill9" in report:
        k = report["kill9"]
        print(f"kill -9: {k['runs']} runs, {k['documents_checked']} accepted documents checked, {k['documents_lost']} lost")


if __name__ == "__main__":
    sys.exit(main())
