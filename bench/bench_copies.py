"""Wire copies: how many injected copies the index groups with their
original, whether it merges distinct articles, and what it costs.

The 20,000 OrangeSum articles, plus ``--copies`` near-duplicates of randomly
chosen ones (articles of 80 words or more), each as another outlet would
republish an agency story: another id, title, source and date (0–3 days
later), and the body lightly edited (one or two of: a sentence dropped, a
sentence from another article added, a few words changed, the last sentence
cut). The whole is indexed (a full rebuild) and the groups read back from
the generation's ``copies.npy``:

* copies collapsed: the share of injected copies in the same group as their
  original;
* distinct articles merged: injected copies grouped with another original,
  and groups holding several OrangeSum articles. OrangeSum has true copies
  of its own (one dispatch under two titles): each such group is listed with
  the share of sentences its articles have in common, to be read;
* costs: the time to sign every body, and the grouping, in one process;
  and the search latency with collapse and without, on fresh queries (the
  news_keywords DEV queries, each run once per setting, result cache off).

Run from the repo root::

    .venv/bin/python -m bench.bench_copies             # 1,000 copies
    .venv/bin/python -m bench.bench_copies --copies 3000 --seed 7
"""

from __future__ import annotations

import argparse
import json
import random
import re
import shutil
import statistics
import time

import numpy as np

from bench.common import DATA, NEWS_DOCS, WORK, log
from searchsvc.index import copies
from searchsvc.index.generations import current_generation
from searchsvc.index.reindex import reindex
from searchsvc.ops.evaluation import load_queries
from searchsvc.search.live import LiveIndex
from searchsvc.search.searching import SearchRequest, search
from searchsvc.search.weighting import WEIGHTING

SENTENCE = re.compile(r"(?<=[.!?])\s*(?=[A-ZÀ-Ý«\"])")
OUTLETS = ["Le Courrier", "La Dépêche du Soir", "Info Régions", "L'Écho", "Radio Centre", "Le Fil"]


def sentences(body: str) -> list[str]:
    return [s for s in SENTENCE.split(body) if s.strip()]


def edited(body: str, donor: str, rng: random.Random, edits: int) -> str:
    """``body`` as another outlet republishes it: ``edits`` light edits."""
    parts = sentences(body)
    for edit in rng.sample(["drop", "add", "words", "cut"], edits):
        if edit == "drop" and len(parts) > 3:
            del parts[rng.randrange(1, len(parts))]
        elif edit == "add":
            extra = sentences(donor)
            if extra:
                parts.insert(rng.randrange(len(parts) + 1), rng.choice(extra))
        elif edit == "words":
            words = " ".join(parts).split(" ")
            for _ in range(3):
                i = rng.randrange(len(words))
                words[i] = rng.choice(["notamment", "également", "ainsi", "selon", "jeudi", "vendredi"])
            parts = [" ".join(words)]
        elif edit == "cut" and len(parts) > 3:
            parts = parts[:-1]
    return " ".join(parts)


def retitled(title: str, rng: random.Random) -> str:
    words = title.split()
    if len(words) > 4 and rng.random() < 0.5:
        cut = rng.randrange(2, len(words) - 1)
        return " ".join(words[cut:] + [":"] + words[:cut])
    return rng.choice(["INFO. ", "Direct : ", "", "Ce qu'il faut savoir : "]) + title + rng.choice(["", " (vidéo)"])


def later(day: str | None, rng: random.Random) -> str | None:
    if not day:
        return day
    from datetime import date, timedelta

    return (date.fromisoformat(day) + timedelta(days=rng.randrange(0, 4))).isoformat()


def shared_sentences(a: str, b: str) -> float:
    sa = {s.strip().lower() for s in sentences(a) if len(s) > 20}
    sb = {s.strip().lower() for s in sentences(b) if len(s) > 20}
    return len(sa & sb) / max(1, min(len(sa), len(sb)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--copies", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--queries", type=int, default=1000, help="fresh queries timed per setting")
    args = parser.parse_args()
    rng = random.Random(args.seed)

    articles = [json.loads(line) for line in NEWS_DOCS.open(encoding="utf-8")]
    for a in articles:
        a.pop("summary", None)  # the lead is not indexed (as the service's loader ignores it)
    eligible = [a for a in articles if len(a["body"].split()) >= 80]
    originals = rng.sample(eligible, args.copies)
    injected, edits_of = [], {}
    for n, original in enumerate(originals):
        donor = rng.choice(articles)["body"]
        edits = rng.choice([1, 2])
        injected.append({
            "id": f"copie-{n}-{original['id']}", "title": retitled(original["title"], rng),
            "date": later(original.get("date"), rng), "source": rng.choice(OUTLETS),
            "body": edited(original["body"], donor, rng, edits),
        })  # fmt: skip
        edits_of[injected[-1]["id"]] = edits
    copy_of = {c["id"]: c["id"].split("-", 2)[2] for c in injected}

    folder = WORK / "copies"
    shutil.rmtree(folder, ignore_errors=True)
    (folder / "corpus").mkdir(parents=True)
    with (folder / "corpus" / "articles.jsonl").open("w", encoding="utf-8") as f:
        for a in articles + injected:
            f.write(json.dumps(a, ensure_ascii=False) + "\n")
    log(f"indexing {len(articles)} articles and {len(injected)} copies…")
    started = time.monotonic()
    reindex([folder / "corpus"], folder / "index", procs=0)
    log(f"indexed in {time.monotonic() - started:.0f} s")

    generation = current_generation(folder / "index")
    groups = np.load(generation.path / copies.GROUPS_FILE)
    live = LiveIndex(folder / "index", WEIGHTING)
    searcher = live.searcher()
    ids = [searcher.stored_fields(d)["id"] for d in range(searcher.doc_count_all())]
    group_of = dict(zip(ids, groups.tolist(), strict=True))
    body_of = {a["id"]: a["body"] for a in articles + injected}

    together = {c: group_of[c] >= 0 and group_of[c] == group_of[o] for c, o in copy_of.items()}
    collapsed = sum(together.values())
    by_edits = {
        k: (sum(1 for c in together if edits_of[c] == k and together[c]), sum(1 for c in together if edits_of[c] == k))
        for k in (1, 2)
    }
    wrong = sum(
        1 for c, o in copy_of.items()
        if group_of[c] >= 0 and any(group_of[x] == group_of[c] for x in copy_of.values() if x != o)
    )  # fmt: skip
    members: dict[int, list[str]] = {}
    for doc_id, g in group_of.items():
        if g >= 0 and doc_id not in copy_of:
            members.setdefault(g, []).append(doc_id)
    natives = {g: m for g, m in members.items() if len(m) > 1}

    # Costs: signing every body, and grouping, in this one process.
    bodies = [(a["body"], a["title"]) for a in articles + injected]
    t = time.perf_counter()
    sigs = copies.signatures(bodies)
    sign_s = time.perf_counter() - t
    t = time.perf_counter()
    copies.find_groups(sigs, np.ones(len(sigs), dtype=bool))
    group_s = time.perf_counter() - t

    # Latency: fresh queries, each once per setting, alternating which goes first.
    queries = list(load_queries(DATA / "news_keywords_retrieval" / "queries.jsonl").values())[: args.queries]
    for q in list(load_queries(DATA / "news_leads_retrieval" / "queries.jsonl").values())[:50]:
        search(searcher, SearchRequest(q=q))  # warm the process up on other queries
    times: dict[bool, list[float]] = {True: [], False: []}
    for i, q in enumerate(q for q in queries if q.strip()):
        for setting in (True, False) if i % 2 else (False, True):
            t = time.perf_counter()
            search(searcher, SearchRequest(q=q, collapse=setting))
            times[setting].append((time.perf_counter() - t) * 1000)

    print("| articles | injected copies | collapsed with their original | grouped with another original "
          "| OrangeSum groups of several articles (articles) |")
    print("|---:|---:|---:|---:|---:|")
    print(f"| {len(articles):,} | {len(injected):,} | {collapsed:,} ({collapsed / len(injected):.1%}) | {wrong} "
          f"| {len(natives)} ({sum(len(m) for m in natives.values())}) |")
    print()
    print("collapsed by the edits made: " + ", ".join(
        f"{k} edit{'s' if k > 1 else ''} {a}/{n} ({a / max(n, 1):.1%})" for k, (a, n) in by_edits.items()))
    print(f"signatures: {sign_s:.1f} s for {len(bodies):,} bodies ({sign_s / len(bodies) * 1e3:.2f} ms each); "
          f"grouping: {group_s * 1e3:.0f} ms")
    print(f"search, fresh news_keywords queries: p50 {statistics.median(times[True]):.1f} ms collapsed, "
          f"{statistics.median(times[False]):.1f} ms not (ratio {statistics.median(times[True]) / statistics.median(times[False]):.2f}); "
          f"p95 {np.percentile(times[True], 95):.1f} / {np.percentile(times[False], 95):.1f} ms")
    print()
    print("OrangeSum groups of several articles (shared sentences: the share of the shorter one's sentences "
          "found in the other):")
    title_of = {a["id"]: a["title"] for a in articles}
    for m in sorted(natives.values()):
        share = min(shared_sentences(body_of[m[0]], body_of[x]) for x in m[1:])
        print(f"- {share:.0%}: " + " | ".join(f"{x} « {title_of[x][:60]} »" for x in m))


if __name__ == "__main__":
    main()
