"""The repository's nginx site (``deploy/nginx/searchsvc.conf``) made into a
whole configuration for a private nginx on loopback: its own prefix, ports
and static folder, run by ``tests/test_nginx.py`` and
``bench/checks/slow_clients.py`` with Debian's nginx."""

from __future__ import annotations

import os
import re
from pathlib import Path

MIME_TYPES = Path("/etc/nginx/mime.types")


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
