"""The repository's nginx site (``deploy/nginx/searchsvc.conf``) made into a
whole configuration for a private nginx on loopback (its own prefix, ports
and static folder) and started there with Debian's nginx, by
``tests/test_nginx.py``, ``bench/checks/slow_clients.py`` and
``bench/checks/lighthouse.py``."""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SITE = ROOT / "deploy" / "nginx" / "searchsvc.conf"
STATIC = ROOT / "searchsvc" / "web" / "static"
MIME_TYPES = Path("/etc/nginx/mime.types")


def nginx_binary() -> str | None:
    """Debian's nginx, if installed (``/usr/sbin`` is not on every PATH)."""
    return shutil.which("nginx") or ("/usr/sbin/nginx" if os.path.exists("/usr/sbin/nginx") else None)


def start_nginx(prefix: Path, port: int, app_port: int, timeout: float = 15.0) -> subprocess.Popen:
    """nginx serving the repository's site on ``127.0.0.1:port`` in front of
    the app on ``app_port``, in its own session; returned once it listens.

    :raises RuntimeError: nginx is missing, exits, or does not listen in time
        (with the end of its error log)."""
    binary = nginx_binary()
    if binary is None:
        raise RuntimeError("nginx is not installed (Debian: apt-get install nginx)")
    config = render_config(SITE, prefix, port, app_port, STATIC)
    process = subprocess.Popen([binary, "-p", str(prefix), "-c", str(config), "-g", "daemon off;"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT, start_new_session=True)  # fmt: skip
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"nginx exited with {process.returncode}: {_tail(prefix / 'error.log')}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return process
        except OSError:
            time.sleep(0.1)
    process.kill()
    process.wait()
    raise RuntimeError(f"nginx did not listen on {port}: {_tail(prefix / 'error.log')}")


def _tail(path: Path) -> str:
    try:
        return path.read_text("utf-8", errors="replace")[-2000:]
    except OSError:
        return "(no log)"


def render_config(site: Path, prefix: Path, port: int, app_port: int, static: Path) -> Path:
    """Write ``prefix/nginx.conf`` serving ``site`` on ``127.0.0.1:port`` in
    front of the app on ``app_port``; return its path."""
    text = site.read_text("utf-8")
    text = text.replace("listen 80;", f"listen 127.0.0.1:{port};")
    text = text.replace("server 127.0.0.1:8000;", f"server 127.0.0.1:{app_port};")
    text = text.replace("/srv/searchsvc/searchsvc/web/static/", f"{static.resolve()}/")
    if f"127.0.0.1:{port}" not in text or str(static.resolve()) not in text:
        raise ValueError(f"{site} no longer has the lines this renders (listen 80, the static alias)")
    prefix.mkdir(parents=True, exist_ok=True)
    for sub in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (prefix / sub).mkdir(exist_ok=True)
    mime = f"include {MIME_TYPES};" if MIME_TYPES.exists() else "types { text/css css; application/javascript js; }"
    user = "user root;" if os.geteuid() == 0 else ""  # workers as "nobody" could not write the prefix
    config = prefix / "nginx.conf"
    config.write_text(
        f"""{user}
worker_processes 1;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log;
events {{ worker_connections 4096; }}
http {{
    {mime}
    default_type application/octet-stream;
    access_log {prefix}/access.log;
    client_body_temp_path {prefix}/client_body;
    proxy_temp_path {prefix}/proxy;
    fastcgi_temp_path {prefix}/fastcgi;
    uwsgi_temp_path {prefix}/uwsgi;
    scgi_temp_path {prefix}/scgi;
{re.sub(r"(?m)^", "    ", text)}
}}
""",
        "utf-8",
    )
    return config
