"""The repository's nginx site (deploy/nginx/searchsvc.conf) in front of the
production server (gunicorn with gunicorn.conf.py), both real, on loopback.

Needs Debian's ``nginx`` (``.ci/run`` installs it); skipped without it unless
``SEARCHSVC_REQUIRE_NGINX=1``. The slow-client figures are a fault run, not
a test: ``python -m bench.checks.slow_clients``.
"""

from __future__ import annotations

import gzip
import http.client
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bench.common import stop_server, wait_for_health
from bench.nginx import nginx_binary, render_config, start_nginx

from .builders import build_small_index

ROOT = Path(__file__).resolve().parents[1]
SITE = ROOT / "deploy" / "nginx" / "searchsvc.conf"
STATIC = ROOT / "searchsvc" / "web" / "static"
NGINX = nginx_binary()
GUNICORN = Path(sys.executable).parent / "gunicorn"

if NGINX is None:
    if os.environ.get("SEARCHSVC_REQUIRE_NGINX") == "1":
        raise RuntimeError("SEARCHSVC_REQUIRE_NGINX=1 but nginx is not installed (apt-get install nginx)")
    pytest.skip("nginx is not installed (Debian: apt-get install nginx)", allow_module_level=True)

TOKEN = "nginx-test-token"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def front(tmp_path_factory):
    """(nginx's port, gunicorn's port): the service behind nginx, as deployed."""
    root = tmp_path_factory.mktemp("nginx")
    index_dir = build_small_index(root)
    app_port, port = free_port(), free_port()
    env = dict(os.environ, SEARCHSVC_INDEX_DIR=str(index_dir), SEARCHSVC_ADMIN_TOKEN=TOKEN,
               SEARCHSVC_QUERY_LOG="off", SEARCHSVC_WORKERS="1")  # fmt: skip  # one: its limits are per worker
    app_log = root / "gunicorn.log"
    with app_log.open("wb") as out:  # gunicorn.conf.py is read from the working directory
        app = subprocess.Popen([str(GUNICORN), "--bind", f"127.0.0.1:{app_port}", "wsgi:app"], cwd=ROOT, env=env,
                               stdout=out, stderr=subprocess.STDOUT, start_new_session=True)  # fmt: skip
    nginx = None
    try:
        wait_for_health(app, app_port, app_log)
        nginx = start_nginx(root / "prefix", port, app_port)
        yield port, app_port
    finally:
        if nginx is not None:
            stop_server(nginx)
        stop_server(app)


def get(port: int, path: str, headers: dict | None = None, method: str = "GET", body: bytes | None = None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=20)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        headers: dict[str, str] = {}
        for name, value in response.getheaders():  # repeated headers joined, as HTTP allows
            headers[name] = f"{headers[name]}, {value}" if name in headers else value
        return response.status, headers, response.read()
    finally:
        conn.close()


def test_the_configuration_is_valid_for_nginx(tmp_path):
    config = render_config(SITE, tmp_path / "prefix", free_port(), free_port(), STATIC)
    result = subprocess.run([NGINX, "-t", "-p", str(tmp_path / "prefix"), "-c", str(config)],
                            capture_output=True, text=True)  # fmt: skip
    assert result.returncode == 0, result.stderr


def test_searches_pass_through_and_json_is_compressed(front):
    port, _ = front
    status, headers, body = get(port, "/api/search?q=coeur&per_page=20")
    assert status == 200 and b'"hits"' in body
    assert headers.get("Content-Security-Policy")  # the app's own headers pass
    status, headers, body = get(port, "/api/openapi.json", {"Accept-Encoding": "gzip"})  # over 1 KB
    assert status == 200 and headers.get("Content-Encoding") == "gzip"
    assert gzip.decompress(body).startswith(b"{")


def test_static_files_and_the_favicon_are_served_by_nginx_and_cached(front):
    port, _ = front
    status, headers, body = get(port, "/static/style.css")
    assert status == 200 and b"{" in body
    assert "public" in headers.get("Cache-Control", "") and "max-age=604800" in headers.get("Cache-Control", "")
    status, headers, body = get(port, "/favicon.ico")
    assert status == 200 and body[:4] == b"\x00\x00\x01\x00"  # an ICO


def test_a_body_over_10_mb_is_refused_at_once(front):
    port, _ = front
    started = time.monotonic()
    status, _, _ = get(port, "/api/documents", {"Content-Length": str(11 * 1024 * 1024), "Content-Type": "application/json"},
                       method="PUT", body=b"")  # fmt: skip
    assert status == 413 and time.monotonic() - started < 2


def test_headers_over_the_limits_are_refused(front):
    port, app_port = front
    for target in (port, app_port):  # nginx, and gunicorn alone
        status, _, _ = get(target, "/api/search?q=x", {"X-Big": "a" * 20000})
        assert status == 431, target


def test_the_admin_pages_are_rate_limited(front):
    port, _ = front
    statuses = [get(port, "/admin/stats", {"Authorization": "Bearer wrong"})[0] for _ in range(30)]
    assert statuses[0] == 401
    assert 429 in statuses  # nginx's limit, or the app's own after 10 wrong tokens


def test_the_readers_address_reaches_the_app(front):
    """The app's wrong-token limit counts per reader, not per proxy: X-Real-IP."""
    port, app_port = front
    for _ in range(12):
        get(app_port, "/api/documents/x", {"Authorization": "Bearer wrong", "X-Real-IP": "203.0.113.7"})
    assert get(app_port, "/api/documents/x", {"Authorization": "Bearer wrong", "X-Real-IP": "203.0.113.7"})[0] == 429
    # Another reader is not held back by that one.
    status, _, _ = get(app_port, "/api/documents/x", {"Authorization": f"Bearer {TOKEN}", "X-Real-IP": "198.51.100.9"})
    assert status == 404  # the token accepted: no such document
    # nginx passes the reader's own address, whatever the client claims.
    status, _, _ = get(port, "/api/documents/x", {"Authorization": "Bearer wrong", "X-Real-IP": "198.51.100.9"})
    assert status in (401, 429)
    status, _, _ = get(app_port, "/api/documents/x", {"Authorization": f"Bearer {TOKEN}", "X-Real-IP": "198.51.100.9"})
    assert status == 404  # the wrong token sent through nginx was counted for 127.0.0.1, not for it
