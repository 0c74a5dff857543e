"""Hostile queries, timed beside normal ones: each answers with results or a 400, in bounded time.

Sends hostile queries (a 100,000-character query, 5,000 terms, ``*``,
``a*``, wildcards and fuzzy words by the dozen, deeply nested parentheses, NUL
bytes, invalid percent-encoding, emoji, right-to-left marks, the deepest page)
and a few normal queries as the baseline to the JSON endpoint, ``GET
/api/search``, through the Flask app in process (the whole request path, no
server; the result cache off, so every search is computed). Each query is sent
once, timed as its first sight (nothing cached for it: its expansions, its
words' postings), then ``--rounds`` more times, each timed from request to
response.

Prints one row per query: the status, the first-sight, median and max
latency in ms, and the ratios of its first sight and its median to the
normal queries' (first sight to first sight, median to median). Exits with
status 1 if any query answered 5xx or a hostile query's median took more than
``--max-ratio`` (default 20) times the normal queries' median; 2 if the index
cannot be searched. The figures are printed either way.

Without ``--index``, indexes the bundled corpus (``index_data/corpus/``, 3,001
articles) into a temporary folder first (about 20 s on one process).

Run from the repo root::

    .venv/bin/python -m bench.checks.hostile_queries                       # builds a temporary index
    .venv/bin/python -m bench.checks.hostile_queries --index /srv/search/index --rounds 10
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlencode

from bench.common import BUNDLED_CORPUS
from searchsvc import create_app
from searchsvc.index.reindex import reindex

#: Normal queries: the baseline the hostile ones are measured against.
BASELINE = [
    "etats-unis otan",
    "présidentielle",
    "gouvernement retraites",
    "Qui a influencé la fête de Noël au Canada ?",
    "macron",
    "coeur",
]

_TWO_LETTER_PREFIXES = " ".join(
    f"{a}{b}*" for a, b in itertools.product("abcdefghilmnoprstuv", repeat=2)
)
_UNKNOWN_WORDS = " ".join(
    f"{a}{b}{c}x{d}" for a, b, c, d in itertools.product("bcdfgmnprst", "aeiou", "lnrst", "aeiou")
)


def hostile_queries() -> list[tuple[str, str]]:
    """(name, query string) of each hostile request; raw strings are sent as they are."""
    q = {
        "100,000 characters": "mot " * 25_000,
        "5,000 terms": " ".join(f"mot{i}" for i in range(5000)),
        "1,000 chars of known words": " ".join(
            ["gouvernement président ministre élection réforme"] * 20
        )[:1000],
        "1,000 chars of unknown words (typo look-ups)": _UNKNOWN_WORDS[:1000],
        "*": "*",
        "* x 1000": "*" * 1000,
        "a*": "a*",
        "330 two-letter prefixes": _TWO_LETTER_PREFIXES[:1000],
        "wildcard pattern e*e*e*": "e*e*e*",
        "fuzzy word~2": "gouvernemnt~2",
        "140 fuzzy words": " ".join(["presidnt~2", "gouvrnement~2", "ministr~2", "electon~2"] * 40)[
            :1000
        ],
        "phrase of 140 words": '"' + " ".join(["la nuit de mercredi à jeudi"] * 40)[:990] + '"',
        "OR x 200": " OR ".join(["otan"] * 200)[:1000],
        "-word x 160": " ".join(f"-mot{i}" for i in range(200))[:1000],
        "title: x 90": " ".join(["title:élection"] * 90)[:1000],
        "range [a TO z]": "[a TO z]",
        "range {a TO c}": "{a TO c}",
        "range [0 TO 9] x 30": " ".join(["[0 TO 9]"] * 30)[:1000],
        "title:[a TO z]": "title:[a TO z]",
        "open range [TO z]": "[TO z]",
        "497 nested parentheses": "(" * 497 + "otan" + ")" * 497,
        "1,000 open parentheses": "(" * 1000,
        "nested NOTs": ("NOT (" * 160 + "otan")[:1000],
        "emoji x 1000": "😀" * 1000,
        "right-to-left marks": "\u202e\u200f" * 450 + "otan",
        "<script>": "<script>alert(1)</script> otan",
    }
    queries = [(name, urlencode({"q": text})) for name, text in q.items()]
    queries += [
        ("NUL bytes", "q=" + "%00" * 300),
        ("NUL inside words", "q=ot%00an%00%00macron"),
        ("invalid percent-encoding", "q=%E9t%C3%A9%ZZ%"),
        ("invalid UTF-8", "q=%ff%fe%fd%C3"),
        ("deepest page (100 x 10)", "q=les&page=100&per_page=10"),
        ("deepest page (10 x 100)", "q=les&page=10&per_page=100"),
        ("too deep (101 x 10)", "q=les&page=101&per_page=10"),
        ("page=99999999999", "q=otan&page=99999999999"),
    ]
    return queries


def run(client, query_string: str, rounds: int) -> tuple[int, float, list[float]]:
    """Status, the first latency (ms) and the ``rounds`` latencies after it of one request."""
    started = time.perf_counter()
    statuses = {client.get(f"/api/search?{query_string}").status_code}
    first = (time.perf_counter() - started) * 1000
    timings = []
    for _ in range(rounds):
        started = time.perf_counter()
        response = client.get(f"/api/search?{query_string}")
        timings.append((time.perf_counter() - started) * 1000)
        statuses.add(response.status_code)
    return max(statuses), first, timings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--index",
        type=Path,
        help="index folder to search (default: build one of the bundled corpus)",
    )
    parser.add_argument(
        "--rounds", type=int, default=7, help="timed requests per query (default 7)"
    )
    parser.add_argument(
        "--max-ratio",
        type=float,
        default=20.0,
        help="fail above this × the baseline median (default 20)",
    )
    parser.add_argument(
        "--procs", type=int, default=1, help="writer processes when building the index (default 1)"
    )
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="hostile-") as tmp:
        index_dir = args.index
        if index_dir is None:
            index_dir = Path(tmp) / "index"
            started = time.perf_counter()
            result = reindex([BUNDLED_CORPUS], index_dir, procs=args.procs)
            print(
                f"indexed the bundled corpus: {result.documents} documents in {time.perf_counter() - started:.1f} s"
            )
        client = create_app({"INDEX_DIR": str(index_dir), "QUERY_CACHE": 0}).test_client()
        health = client.get("/api/health")
        if health.status_code != 200:
            print(f"the index cannot be searched: {health.get_json()}", file=sys.stderr)
            return 2
        print(
            f"index {index_dir}: {health.get_json()}; {args.rounds} timed rounds per query, result cache off\n"
        )

        rows = []
        for text in BASELINE:
            status, first, timings = run(client, urlencode({"q": text}), args.rounds)
            rows.append(("baseline", text, status, first, timings))
        for name, query_string in hostile_queries():
            status, first, timings = run(client, query_string, args.rounds)
            rows.append(("hostile", name, status, first, timings))

    baseline = statistics.median(
        t for kind, _, _, _, timings in rows if kind == "baseline" for t in timings
    )
    baseline_first = statistics.median(first for kind, _, _, first, _ in rows if kind == "baseline")
    failures = []
    print("| kind | query | status | first ms | median ms | max ms | first ÷ baseline's | median ÷ baseline's |")
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    for kind, name, status, first, timings in rows:
        median, ratio = statistics.median(timings), statistics.median(timings) / baseline
        shown = name if len(name) <= 48 else name[:45] + "…"
        print(f"| {kind} | {shown} | {status} | {first:.1f} | {median:.1f} | {max(timings):.1f} | "
              f"{first / baseline_first:.2f} | {ratio:.2f} |")  # fmt: skip
        if status >= 500:
            failures.append(f"{name}: status {status}")
        elif kind == "hostile" and ratio > args.max_ratio:
            failures.append(
                f"{name}: median {median:.1f} ms, {ratio:.1f}× the baseline (limit {args.max_ratio:g}×)"
            )
    hostile = [statistics.median(t) / baseline for kind, _, _, _, t in rows if kind == "hostile"]
    hostile_first = [first / baseline_first for kind, _, _, first, _ in rows if kind == "hostile"]
    print(f"\nbaseline median {baseline:.1f} ms (first sight {baseline_first:.1f} ms) over {len(BASELINE)} "
          f"normal queries; hostile queries: {len(hostile)}, worst median {max(hostile):.2f}× the baseline, "
          f"worst first sight {max(hostile_first):.2f}×")  # fmt: skip
    if failures:
        print("FAILED:\n  " + "\n  ".join(failures))
        return 1
    print(f"OK: no 5xx, every hostile query within {args.max_ratio:g}× the baseline median")
    return 0


if __name__ == "__main__":
    sys.exit(main())
