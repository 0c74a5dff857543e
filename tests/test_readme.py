"""The README stays a short welcome that says how to start, and the curl
examples of the README and docs/api.md print what the service really returns
on the bundled corpus."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from searchsvc import create_app
from searchsvc.index.reindex import reindex

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
API_PAGE = ROOT / "docs" / "api.md"
EXAMPLE = re.compile(r"```sh\ncurl -s 'http://127\.0\.0\.1:5000(?P<url>[^']+)'\n```\n```json\n(?P<out>.*?)\n```", re.S)
#: The README is a welcome; the manual lives in docs/.
MAX_README_LINES = 200


@pytest.fixture(scope="module")
def bundled_client(tmp_path_factory):
    index_dir = tmp_path_factory.mktemp("bundled") / "index"
    reindex([ROOT / "index_data" / "corpus"], index_dir, procs=0)
    return create_app({"TESTING": True, "INDEX_DIR": str(index_dir), "QUERY_LOG": "off"}).test_client()


def curl_examples(page: Path) -> list[tuple[str, str]]:
    return [(m["url"], m["out"]) for m in EXAMPLE.finditer(page.read_text("utf-8"))]


def all_examples():
    return [
        pytest.param(url, shown, id=f"{page.relative_to(ROOT)}:{url}")
        for page in (README, API_PAGE)
        for url, shown in curl_examples(page)
    ]


def test_the_api_page_has_curl_examples():
    examples = curl_examples(API_PAGE)
    assert len(examples) >= 4
    urls = [url for url, _ in examples]
    for endpoint in ("/api/search?", "/api/suggest?", "/api/health"):
        assert any(url.startswith(endpoint) for url in urls), endpoint


def test_the_readme_shows_one_example_and_links_the_reference():
    assert len(curl_examples(README)) >= 1
    assert "docs/api.md" in README.read_text("utf-8")


@pytest.mark.parametrize("url, shown", all_examples())
def test_curl_example_matches_the_service(bundled_client, url, shown):
    expected = json.loads(shown)
    actual = bundled_client.get(url).get_json()
    for body in (expected, actual):
        body.pop("took_ms", None)
    assert actual == expected


def test_the_readme_is_a_short_welcome():
    lines = README.read_text("utf-8").splitlines()
    assert len(lines) <= MAX_README_LINES, f"README.md has {len(lines)} lines: move the detail into docs/"


def test_the_readme_says_how_to_start():
    """The two commands, each in a shell block of its own, are Makefile targets."""
    text = README.read_text("utf-8")
    makefile = (ROOT / "Makefile").read_text("utf-8")
    for target in ("serve", "test"):
        assert re.search(rf"```sh\nmake {target}\b", text), f"`make {target}` is not in a shell block of the README"
        assert re.search(rf"^{target}:", makefile, re.M), f"the Makefile has no {target} target"
