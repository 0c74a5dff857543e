"""The README's curl examples print what the service really returns on the bundled corpus."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from searchsvc import create_app
from searchsvc.index.reindex import reindex

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = re.compile(r"```sh\ncurl -s 'http://127\.0\.0\.1:5000(?P<url>[^']+)'\n```\n```json\n(?P<out>.*?)\n```", re.S)


@pytest.fixture(scope="module")
def bundled_client(tmp_path_factory):
    index_dir = tmp_path_factory.mktemp("bundled") / "index"
    reindex([ROOT / "index_data" / "corpus"], index_dir, procs=0)
    return create_app({"TESTING": True, "INDEX_DIR": str(index_dir)}).test_client()


def readme_examples():
    return [(m["url"], m["out"]) for m in EXAMPLE.finditer((ROOT / "README.md").read_text("utf-8"))]


def test_the_readme_has_curl_examples():
    assert len(readme_examples()) >= 4


@pytest.mark.parametrize("url, shown", readme_examples())
def test_readme_curl_example_matches_the_service(bundled_client, url, shown):
    expected = json.loads(shown)
    actual = bundled_client.get(url).get_json()
    for body in (expected, actual):
        body.pop("took_ms", None)
    assert actual == expected
