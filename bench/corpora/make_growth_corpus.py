"""Write a French news corpus of any size, recombined from the 20,000 OrangeSum articles.

Why: the growth benchmark (``bench.bench_growth``) needs 100,000 to
1,000,000 documents that index and search like the real ones (same
vocabulary, same sentence lengths, same titles), and there are only 20,000
real articles. Made-up words would give Whoosh a different term
distribution; recombined real sentences keep it close.

What it writes, one JSON object per line, the same fields as the source
(``{"id", "title", "date", "body"}``; the source's ``summary`` is dropped,
the service does not read it):

* documents 1 to 20,000 are the source articles themselves, in file order,
  ids unchanged: so the first 20,000 lines of every growth corpus are the
  real corpus that ``bench_index.py`` and ``bench_query.py`` measure;
* every later document ``g0020001``, ``g0020002``, … takes the title and date
  of one source article (drawn at random) and a body of 3 to 6 runs of 1 to 5
  consecutive sentences: the first run from the title's own article (so the
  title's words are in the body, as in a real article), the others each from
  a different random article. Bodies are split on sentence ends, including
  the glued ``jeudi.Le`` ones the scrape left (see the source README), and
  the sentences are joined again with one space. Mean body ≈ 2,000
  characters, as in the source.

The output is deterministic for a given source, seed and size, and a smaller
corpus is a prefix of a larger one (one random stream, drawn in order).
It is streamed: memory is the source's sentences (~150 MiB), whatever ``--docs``.
About 2.2 KiB a document: 1,000,000 documents ≈ 2.2 GB.

Licence of the text: CC BY-SA 4.0, the OrangeSum dataset's (see the source
README); benchmark data, not to be republished as content.

Run from the repo root::

    .venv/bin/python -m bench.corpora.make_growth_corpus --docs 100000 --out /tmp/growth-100k.jsonl

It prints one line on stderr: documents written, bytes, seconds, docs/s.
Next to the output it writes ``<out>.meta.json`` (size, seed, source and
generator version), which ``bench.bench_growth`` checks before reusing a file.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import re
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from bench.common import NEWS_DOCS, WORK

DEFAULT_SOURCE = NEWS_DOCS
DEFAULT_SEED = 42
#: Bumped whenever the recombination changes, so that old corpora are not reused.
GENERATOR_VERSION = 1
RUNS = (3, 6)  # sentence runs per synthetic body, inclusive
RUN_LENGTH = (1, 5)  # consecutive sentences per run, inclusive
BATCH = 2000  # lines per write()

#: A sentence end: after . ! ? or …, before an upper-case letter (optionally
#: behind an opening quote), with or without the space the scrape often lost.
#: Not after a lone capital ("M. Macron", "J.-L. Mélenchon").
SENTENCE_END = re.compile(r"(?<=[.!?…])(?<!\b[A-Z]\.)\s*(?=[\"«“]?[A-ZÀ-ÖØ-Þ])")


class Article:
    """One source article, kept as what recombination needs, already JSON-escaped.

    The pieces are escaped once, as UTF-8 bytes, so that a synthetic line is
    only joins of bytes: escaping is per character, so joining escaped
    sentences gives the escaped body. ``json.dumps`` per document with
    ``ensure_ascii=False`` and the UTF-8 encoding of the line were 3/4 of
    the time before.
    """

    __slots__ = ("record", "title_json", "date_json", "sentences")

    def __init__(self, record: dict) -> None:
        self.record = {
            "id": str(record["id"]),
            "title": record["title"],
            "date": record.get("date"),
            "body": record.get("body") or "",
        }
        self.title_json = json_bytes(self.record["title"])
        self.date_json = json_bytes(self.record["date"])
        sentences = split_sentences(self.record["body"]) or [self.record["title"]]
        self.sentences = [json_bytes(s)[1:-1] for s in sentences]


def json_bytes(value: object) -> bytes:
    """``value`` as a JSON value in UTF-8, the way ``json.dumps(ensure_ascii=False)`` writes it."""
    return json.dumps(value, ensure_ascii=False).encode("utf-8")


def split_sentences(body: str) -> list[str]:
    """The sentences of ``body``, glued ones (``jeudi.Le``) split too."""
    return [s.strip() for s in SENTENCE_END.split(body) if s.strip()]


def load_articles(source: Path) -> list[Article]:
    """Every article of ``source``, in file order (the order is part of the seed's meaning)."""
    with source.open(encoding="utf-8") as f:
        return [Article(json.loads(line)) for line in f if line.strip()]


def pick(rng: random.Random, n: int) -> int:
    """A uniform index below ``n``; ``random()`` is fast and stable across Python versions."""
    return int(rng.random() * n)


def sentence_run(rng: random.Random, article: Article) -> bytes:
    """1 to 5 consecutive sentences of ``article`` (escaped), from a random start."""
    sentences = article.sentences
    length = min(RUN_LENGTH[0] + pick(rng, RUN_LENGTH[1] - RUN_LENGTH[0] + 1), len(sentences))
    start = pick(rng, len(sentences) - length + 1)
    return b" ".join(sentences[start : start + length])


def synthetic_line(rng: random.Random, articles: list[Article], number: int) -> bytes:
    """Document ``number`` as one JSON line: a title article's title, date and
    lead run, then runs of other articles, each article used once."""
    lead = articles[pick(rng, len(articles))]
    runs = RUNS[0] + pick(rng, RUNS[1] - RUNS[0] + 1)
    used = {id(lead)}
    parts = [sentence_run(rng, lead)]
    while len(parts) < runs:
        other = articles[pick(rng, len(articles))]
        if id(other) in used:
            continue
        used.add(id(other))
        parts.append(sentence_run(rng, other))
    return b'{"id": "g%07d", "title": %s, "date": %s, "body": "%s"}\n' % (
        number,
        lead.title_json,
        lead.date_json,
        b" ".join(parts),
    )


def original_line(article: Article) -> bytes:
    """A source article as it is, in the output's fields, as one JSON line."""
    return json_bytes(article.record) + b"\n"


def lines(articles: list[Article], count: int, seed: int) -> Iterator[bytes]:
    """The first ``count`` lines of the growth series: originals, then synthetic documents."""
    rng = random.Random(seed)
    for number in range(1, count + 1):
        if number <= len(articles):
            yield original_line(articles[number - 1])
        else:
            yield synthetic_line(rng, articles, number)


def file_digest(path: Path) -> str:
    """SHA-256 of ``path``: a reused corpus must come from the same source bytes."""
    h = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def meta_path(out: Path) -> Path:
    return out.with_name(out.name + ".meta.json")


def wanted_meta(source: Path, count: int, seed: int) -> dict:
    """What ``<out>.meta.json`` says for a complete corpus of these parameters."""
    return {
        "docs": count,
        "seed": seed,
        "source_sha256": file_digest(source),
        "generator_version": GENERATOR_VERSION,
    }


def is_current(out: Path, source: Path, count: int, seed: int) -> bool:
    """True when ``out`` is a complete corpus made from these parameters (safe to reuse)."""
    try:
        meta = json.loads(meta_path(out).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    wanted = wanted_meta(source, count, seed)
    return out.is_file() and all(meta.get(k) == v for k, v in wanted.items())


def write_corpus(source: Path, out: Path, count: int, seed: int = DEFAULT_SEED) -> dict:
    """Write ``count`` documents to ``out`` (via a temporary file, renamed when complete).

    Returns the meta (also written to ``<out>.meta.json``) with bytes and timing.
    """
    started = time.perf_counter()
    articles = load_articles(source)
    out.parent.mkdir(parents=True, exist_ok=True)
    meta_path(out).unlink(missing_ok=True)
    partial = out.with_name(out.name + ".partial")
    with partial.open("wb") as f:
        batch: list[bytes] = []
        for line in lines(articles, count, seed):
            batch.append(line)
            if len(batch) == BATCH:
                f.write(b"".join(batch))
                batch.clear()
        f.write(b"".join(batch))
    os.replace(partial, out)
    elapsed = time.perf_counter() - started
    meta = wanted_meta(source, count, seed) | {
        "source": str(source),
        "bytes": out.stat().st_size,
        "seconds": round(elapsed, 2),
        "originals": min(count, len(articles)),
    }
    meta_path(out).write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
    return meta


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--docs", type=int, required=True, help="documents to write")
    parser.add_argument(
        "--out",
        type=Path,
        default=None,
        help="output file (default: bench/work/growth/docs-N.jsonl)",
    )
    parser.add_argument(
        "--source",
        type=Path,
        default=DEFAULT_SOURCE,
        help="source articles, JSON Lines (default: %(default)s)",
    )
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="default: %(default)s")
    args = parser.parse_args(argv)
    if args.docs < 1:
        parser.error("--docs must be 1 or more")
    if not args.source.is_file():
        parser.error(f"{args.source}: no such file")
    out = args.out or WORK / "growth" / f"docs-{args.docs}.jsonl"
    meta = write_corpus(args.source.resolve(), out, args.docs, args.seed)
    print(
        f"{args.docs:,} documents ({meta['originals']:,} original) → {out}: "
        f"{meta['bytes'] / 1e6:,.1f} MB in {meta['seconds']:.1f} s "
        f"({args.docs / max(meta['seconds'], 1e-9):,.0f} docs/s)",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
