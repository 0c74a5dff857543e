"""Lighthouse on the search page, served as in production (gunicorn with
``gunicorn.conf.py``, then also behind nginx), with Debian's Chromium.

    npm install -g lighthouse@12.2.3          # Node 20; once
    .venv/bin/python -m bench.checks.lighthouse
    .venv/bin/python -m bench.checks.lighthouse --path "/?q=coeur" --nginx

Prints the four category scores (performance, accessibility, best practices,
SEO) of the home page and of a page of results, and every audit that did not
pass; exits 1 unless all are 100. A page of results says ``noindex`` (it is
not for search engines), which Lighthouse's SEO audit ``is-crawlable`` fails
by design: that page's SEO score says so.
The bundled corpus is indexed into a temporary folder first.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from bench.common import BUNDLED_CORPUS, HOST, Gunicorn, SetupError, log

PATHS = ("/", "/?q=election+presidentielle")
CATEGORIES = ("performance", "accessibility", "best-practices", "seo")


def chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    raise SetupError("no Chromium (Debian: apt-get install chromium)")


def lighthouse() -> str:
    found = shutil.which("lighthouse")
    if found:
        return found
    raise SetupError("no lighthouse (npm install -g lighthouse@12.2.3)")


def run(url: str, out: Path) -> dict:
    env = dict(os.environ, CHROME_PATH=chromium())
    command = [lighthouse(), url, "--quiet", "--output=json", f"--output-path={out}",
               "--chrome-flags=--headless=new --no-sandbox --disable-gpu",
               f"--only-categories={','.join(CATEGORIES)}"]  # fmt: skip
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    if result.returncode != 0 or not out.exists():
        raise SetupError(f"lighthouse failed ({result.returncode}): {result.stderr[-2000:]}")
    return json.loads(out.read_text("utf-8"))


def summary(report: dict) -> tuple[dict[str, int], list[str]]:
    scores = {c: round(report["categories"][c]["score"] * 100) for c in CATEGORIES}
    failed = []
    for category in CATEGORIES:
        for ref in report["categories"][category]["auditRefs"]:
            audit = report["audits"][ref["id"]]
            if ref.get("weight", 0) > 0 and audit.get("score") is not None and audit["score"] < 1:
                failed.append(f"{category}: {ref['id']} ({audit.get('title')}): {audit.get('displayValue', '')}")
    return scores, failed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--path", action="append", help=f"a page (repeatable; default {' and '.join(PATHS)})")
    parser.add_argument("--nginx", action="store_true", help="also behind deploy/nginx/searchsvc.conf")
    args = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="lighthouse-"))
    worst = 100
    try:
        from searchsvc.index.reindex import reindex

        log(f"indexing {BUNDLED_CORPUS} …")
        reindex([BUNDLED_CORPUS], work / "index")
        with Gunicorn(work / "index", work / "gunicorn.log", want_200=True) as server:
            targets = [("gunicorn.conf.py", server.port)]
            processes = []
            if args.nginx:
                from bench.checks.slow_clients import (
                    start_nginx,  # SetupError when nginx cannot start
                )

                targets.append(("behind nginx", start_nginx(server.port, work, processes)))
            try:
                for name, port in targets:
                    for i, path in enumerate(args.path or PATHS):
                        url = f"http://{HOST}:{port}{path}"
                        scores, failed = summary(run(url, work / f"report-{port}-{i}.json"))
                        worst = min(worst, *scores.values())
                        print(f"{name}: {url}")
                        print("  " + ", ".join(f"{c} {s}" for c, s in scores.items()))
                        for line in failed:
                            print(f"  not passed: {line}")
            finally:
                for process in processes:
                    process.terminate()
                    process.wait(10)
    except SetupError as e:
        print(f"skipped: {e}")
        return 2
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0 if worst == 100 else 1


if __name__ == "__main__":
    sys.exit(main())
