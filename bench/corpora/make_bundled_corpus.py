"""Build the bundled sample corpus under ``index_data/corpus/``.

The service indexes ``index_data/corpus/`` by default. This script fills it with:

* ``orangesum/<id>.txt``: a deterministic sample of N OrangeSum articles
  (default 3000; ``random.Random(42).sample`` over the lines of ``docs.jsonl`` in
  file order, then sorted by numeric id), each written as a plain-text article:

      line 1      the title
      line 2      the date, e.g. ``- Le 2 juillet 2020`` (``1er`` for the first day)
      lines 3..   the body, one paragraph a line (OrangeSum bodies are one paragraph,
                  kept as is, glued sentences such as ``jeudi.Le`` included)
      last line   ``Source : Orange Actu``

  UTF-8, ``\\n`` line ends, a final newline.
* ``000_b62a3627335c637b.txt``: the seed article, copied byte for byte (it is the
  example article of the plain-text format).

The ``orangesum/`` folder is removed before writing, so reruns are reproducible.
Articles without a title or body (or with an unusable date) are printed and skipped.

Usage (from the repo root)::

    python -m bench.corpora.make_bundled_corpus            # defaults below
    python -m bench.corpora.make_bundled_corpus -n 2500    # smaller sample

Stdlib only.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import re
import shutil
import sys
from pathlib import Path

from bench.common import BUNDLED_CORPUS, DATA, NEWS_DOCS

DEFAULT_INPUT = NEWS_DOCS
DEFAULT_SEED_ARTICLE = DATA / "seed_article" / "000_b62a3627335c637b.txt"
DEFAULT_OUT_DIR = BUNDLED_CORPUS
DEFAULT_N = 3000
DEFAULT_SEED = 42
SOURCE_LINE = "Source : Orange Actu"
SUBDIR = "orangesum"

MONTHS_FR = (
    "janvier", "février", "mars", "avril", "mai", "juin",
    "juillet", "août", "septembre", "octobre", "novembre", "décembre",
)
# Anything that would start a new line (str.splitlines() breaks on all of these).
_LINE_BREAK = re.compile(r"[\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029]")


def french_date_line(iso: str) -> str:
    """``2020-07-02`` -> ``- Le 2 juillet 2020``; the first day is ``1er``."""
    d = dt.date.fromisoformat(iso)
    day = "1er" if d.day == 1 else str(d.day)
    return f"- Le {day} {MONTHS_FR[d.month - 1]} {d.year}"


def render_article(doc: dict) -> str:
    """The plain-text article for one OrangeSum record (raises ValueError if unusable)."""
    title = (doc.get("title") or "").strip()
    body = (doc.get("body") or "").strip()
    if not title:
        raise ValueError("no title")
    if not body:
        raise ValueError("no body")
    if _LINE_BREAK.search(title):
        raise ValueError("line break in title")
    try:
        date_line = french_date_line(doc.get("date") or "")
    except ValueError:
        raise ValueError(f"bad date {doc.get('date')!r}") from None
    paragraphs = [p.strip() for p in _LINE_BREAK.split(body)]
    paragraphs = [p for p in paragraphs if p]
    return "\n".join([title, date_line, *paragraphs, SOURCE_LINE]) + "\n"


def sample_lines(path: Path, n: int, seed: int) -> list[dict]:
    """``random.Random(seed).sample`` over the file's lines, sorted by numeric id."""
    with path.open(encoding="utf-8") as f:
        lines = [line for line in f if line.strip()]
    if n > len(lines):
        sys.exit(f"error: asked for {n} articles, {path} has only {len(lines)}")
    picked = random.Random(seed).sample(lines, n)
    docs = [json.loads(line) for line in picked]
    docs.sort(key=lambda d: int(d["id"]))
    return docs


def human_size(n_bytes: int) -> str:
    return f"{n_bytes:,} bytes ({n_bytes / 1e6:.2f} MB)"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        description="Build the bundled sample corpus (index_data/corpus/).")
    p.add_argument("--input", type=Path, default=DEFAULT_INPUT,
                   help="OrangeSum docs.jsonl (default: %(default)s)")
    p.add_argument("--seed-article", type=Path, default=DEFAULT_SEED_ARTICLE,
                   help="seed article copied as is (default: %(default)s)")
    p.add_argument("--out-dir", type=Path, default=DEFAULT_OUT_DIR,
                   help="corpus folder (default: %(default)s)")
    p.add_argument("-n", "--n-articles", type=int, default=DEFAULT_N,
                   help="number of articles to sample (default: %(default)s)")
    p.add_argument("--seed", type=int, default=DEFAULT_SEED,
                   help="random seed (default: %(default)s)")
    args = p.parse_args(argv)

    out_dir: Path = args.out_dir
    sub = out_dir / SUBDIR
    docs = sample_lines(args.input, args.n_articles, args.seed)

    if sub.exists():
        shutil.rmtree(sub)
    sub.mkdir(parents=True)

    written = total = 0
    skipped: list[str] = []
    for doc in docs:
        try:
            text = render_article(doc)
        except ValueError as e:
            msg = f"skipped id={doc.get('id')!r} ({e}): title={doc.get('title')!r}"
            print(msg)
            skipped.append(msg)
            continue
        data = text.encode("utf-8")
        (sub / f"{doc['id']}.txt").write_bytes(data)
        written += 1
        total += len(data)

    seed_dst = out_dir / args.seed_article.name
    shutil.copyfile(args.seed_article, seed_dst)

    print(f"wrote {written} files to {sub}, total {human_size(total)}")
    print(f"skipped {len(skipped)} of {len(docs)} sampled articles")
    print(f"copied seed article to {seed_dst} ({human_size(seed_dst.stat().st_size)})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
