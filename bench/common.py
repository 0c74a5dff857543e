"""What the scripts of ``bench/`` share, written once.

* paths: the repo root, ``../shared/data`` beside it, ``bench/work/`` and
  ``bench/results/``, all absolute, whatever the current directory;
* :func:`log`: progress lines, on stderr unless told otherwise (stdout is the
  scripts' table or JSON);
* :func:`percentile`: the one percentile rule of every script;
* :func:`versions` and :func:`git_state`: what the figures were measured with;
* :func:`module_command` and :func:`last_json`: one bench script started by
  another (``python -m bench.<name>`` from the repo root) and its JSON read back;
* :func:`save_json`: a results file written whole or not at all;
* the process table from ``/proc`` (:func:`children`, :func:`process_tree`);
* the gunicorn harness (:class:`Gunicorn`: start the real service on a free
  loopback port, wait for it, stop it), for ``bench_load`` and ``checks.fault_runs``;
* the peers' set-ups that several benchmarks must build alike: SQLite FTS5's
  table and query, tantivy's French chain and schema.

Only the standard library is imported here at module level, and only its light
modules: ``bench_index`` measures the peak memory of child processes that import
this module, so ``urllib``, ``platform``, ``sqlite3`` and tantivy are imported
inside the functions that need them.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterable, Sequence
from pathlib import Path

# ---------------------------------------------------------------- paths

#: The repo root: the folder holding ``bench/`` and ``searchsvc/``.
ROOT = Path(__file__).resolve().parents[1]
#: The shared data sets, beside the repo (``../shared/data`` from the repo root).
DATA = ROOT.parent / "shared" / "data"
#: The 20,000 OrangeSum news articles, JSON Lines: most benchmarks' documents.
NEWS_DOCS = DATA / "orangesum_news" / "docs.jsonl"
#: The sample corpus shipped with the service (``bench.corpora.make_bundled_corpus``).
BUNDLED_CORPUS = ROOT / "index_data" / "corpus"
#: Scratch space (git-ignored): indexes kept for reuse, generated corpora, server logs.
WORK = ROOT / "bench" / "work"
#: Figures kept in the repo.
RESULTS = ROOT / "bench" / "results"
MIB = 1024 * 1024


# ---------------------------------------------------------------- progress


def log(*parts: object, file=None) -> None:
    """One progress line, flushed at once; on stderr unless ``file`` says otherwise,
    so that stdout holds only a script's table or JSON."""
    print(*parts, file=file or sys.stderr, flush=True)


# ---------------------------------------------------------------- percentiles


def percentile(values: Iterable[float], p: float) -> float:
    """The ``p``-th percentile (0 to 100) of ``values``, by the nearest rank.

    The rule, the same in every script: sort the ``n`` values and take the one at
    index ``round(p / 100 × (n − 1))`` (Python's ``round``: half to even). That is
    numpy's ``percentile(values, p, method="nearest")``. The answer is always a
    measured value: ``p = 100`` is the largest, ``p = 0`` the smallest, and the
    50th of an even count is one of the two middle values (the scripts that report
    a median compute it with ``statistics.median``, which averages them).
    Raises ``ValueError`` when there are no values.
    """
    ordered = sorted(values)
    if not ordered:
        raise ValueError("percentile of no values")
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def rounded_percentile(values: Sequence[float], p: float, digits: int = 1) -> float | None:
    """:func:`percentile` rounded to ``digits`` decimals; None (JSON null, not NaN)
    when there are no values (no request succeeded)."""
    return round(percentile(values, p), digits) if values else None


# ---------------------------------------------------------------- what was measured with


def versions(*packages: str) -> dict[str, str]:
    """Python's and SQLite's versions, then each installed distribution's
    (``"not installed"`` when it is not), in that order."""
    import platform
    import sqlite3
    from importlib import metadata

    found = {"python": platform.python_version(), "sqlite": sqlite3.sqlite_version}
    for package in packages:
        try:
            found[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            found[package] = "not installed"
    return found


def git_state(*paths: str) -> tuple[str | None, bool]:
    """(the repo's short commit, whether tracked files under ``paths``, or anywhere
    without paths, differ from it); ``(None, True)`` when git cannot say."""

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", *args], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout.strip()

    try:
        commit = git("rev-parse", "--short", "HEAD")
        dirty = bool(git("status", "--porcelain", "--untracked-files=no", "--", *paths))
    except (OSError, subprocess.CalledProcessError):
        return None, True
    return commit, dirty


# ---------------------------------------------------------------- one script started by another


def module_command(module: str, *args: object) -> list[str]:
    """The command line that runs ``module`` (``bench.bench_index``…) with this Python;
    to be run with ``cwd=ROOT``, where ``bench`` is importable."""
    return [sys.executable, "-m", module, *(str(a) for a in args)]


def last_json(stdout: str) -> dict | list | None:
    """What a script printed as JSON: its whole stdout, or else its last line
    (what it printed before, progress or a table, left aside); None if neither parses."""
    out = stdout.strip()
    for candidate in (out, out.splitlines()[-1] if out else ""):
        try:
            return json.loads(candidate)
        except ValueError:
            continue
    return None


def save_json(path: Path, data: object) -> None:
    """``data`` as indented UTF-8 JSON in ``path``, written to a side file then renamed,
    so that an interrupted run never leaves half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    partial.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    os.replace(partial, path)


# ---------------------------------------------------------------- the process table (/proc)


def parent_map() -> dict[int, list[int]]:
    """The children of every process, from ``/proc/*/stat`` (which every Linux has;
    ``/proc/<pid>/task/<tid>/children`` needs CONFIG_PROC_CHILDREN and lists the
    children of one thread only)."""
    found: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", encoding="ascii", errors="replace") as f:
                stat = f.read()
        except OSError:
            continue
        # The command name (field 2) may hold spaces and parentheses: fields after the last ")".
        state, ppid = stat[stat.rfind(")") + 2 :].split()[:2]
        if state == "Z":  # ended, not yet reaped: nothing runs there (nor can be killed)
            continue
        found.setdefault(int(ppid), []).append(int(entry.name))
    return found


def children(pid: int) -> list[int]:
    """The processes whose parent is ``pid``, now."""
    return parent_map().get(pid, [])


def process_tree(root: int) -> list[int]:
    """``root`` and all its descendants alive now (one pass over ``/proc``)."""
    below = parent_map()
    tree, todo = [], [root]
    while todo:
        pid = todo.pop()
        tree.append(pid)
        todo.extend(below.get(pid, ()))
    return tree


# ---------------------------------------------------------------- the gunicorn harness

HOST = "127.0.0.1"
GUNICORN = ROOT / ".venv" / "bin" / "gunicorn"


class SetupError(Exception):
    """The run cannot start (server down, index unusable): nothing to measure or check."""


def free_port() -> int:
    """A loopback port nobody listens on now (the kernel picks it), so runs never collide."""
    import socket

    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def gunicorn_command(port: int, workers: int = 2, worker_class: str | None = None, threads: int = 1) -> list[str]:
    """The server command line (``wsgi:app``, from the repo root, so gunicorn reads
    ``gunicorn.conf.py``: gevent workers); ``worker_class`` (``sync``, ``gthread``)
    and ``threads`` override it."""
    command = [str(GUNICORN), "--workers", str(workers), "--bind", f"{HOST}:{port}"]
    if worker_class is not None:
        command += ["--worker-class", worker_class, "--threads", str(threads)]
    return [*command, "wsgi:app"]


def server_env(index_dir: Path, query_cache: int | None) -> dict[str, str]:
    """This environment, the index folder, and the result cache size if one was asked for."""
    env = dict(os.environ, SEARCHSVC_INDEX_DIR=str(index_dir.resolve()))
    if query_cache is not None:
        env["SEARCHSVC_QUERY_CACHE"] = str(query_cache)
    return env


def start_server(command: list[str], env: dict[str, str], log_path: Path) -> subprocess.Popen:
    """Start gunicorn in its own session, its output to ``log_path``: a Ctrl-C reaches only
    the script, which then stops it (:func:`stop_server`)."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("wb") as out:  # the child keeps its own copy of the descriptor
        return subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )


def fetch_health(port: int, timeout: float = 5.0) -> tuple[int, dict] | None:
    """``GET /api/health``: its status and JSON body (``{}`` if the body is not JSON),
    or None when nothing answered."""
    import urllib.error
    import urllib.request

    url = f"http://{HOST}:{port}/api/health"
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            status, raw = response.status, response.read()
    except urllib.error.HTTPError as e:  # an answer all the same (503: the index is unusable)
        status, raw = e.code, e.read()
    except (OSError, ValueError):
        return None
    try:
        body = json.loads(raw)
    except ValueError:
        body = {}
    return status, body if isinstance(body, dict) else {}


def wait_for_health(
    server: subprocess.Popen, port: int, log_path: Path, timeout: float = 60.0, want_200: bool = False
) -> tuple[int, dict]:
    """Poll ``/api/health`` every 0.2 s until the server answers (with ``want_200``,
    until it answers 200) and return that answer; :class:`SetupError`, with the end of
    the server's log, if gunicorn exits or ``timeout`` seconds pass first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SetupError(f"gunicorn exited with status {server.returncode}:\n{log_tail(log_path)}")
        answer = fetch_health(port)
        if answer is not None and (answer[0] == 200 or not want_200):
            return answer
        time.sleep(0.2)
    raise SetupError(
        f"http://{HOST}:{port}/api/health did not answer{' 200' if want_200 else ''} "
        f"within {timeout:.0f} s:\n{log_tail(log_path)}"
    )


def stop_server(server: subprocess.Popen) -> None:
    """SIGTERM (gunicorn's graceful stop), then SIGKILL to its process group if it lingers."""
    if server.poll() is not None:
        return
    server.send_signal(signal.SIGTERM)
    try:
        server.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGKILL)  # its own session: the master and its workers only
        server.wait()


class Gunicorn:
    """The service behind gunicorn on ``index_dir``, on a free loopback port: a context
    manager that starts it, waits until ``/api/health`` answers (:func:`wait_for_health`)
    and stops it on the way out, whatever happens (:func:`stop_server`).

    ``command`` and ``env`` are ready before it starts, to be shown; after the start,
    ``server`` is the gunicorn master and ``status`` / ``health`` its first health answer.
    """

    def __init__(
        self,
        index_dir: Path,
        log_path: Path,
        *,
        workers: int = 2,
        worker_class: str | None = None,
        threads: int = 1,
        query_cache: int | None = None,
        want_200: bool = False,
        timeout: float = 60.0,
    ) -> None:
        self.index_dir, self.log_path = index_dir, log_path
        self.want_200, self.timeout = want_200, timeout
        self.port = free_port()
        self.command = gunicorn_command(self.port, workers, worker_class, threads)
        self.env = server_env(index_dir, query_cache)
        self.server: subprocess.Popen | None = None
        self.status: int | None = None
        self.health: dict = {}

    def __enter__(self):
        self.server = start_server(self.command, self.env, self.log_path)
        try:
            self.status, self.health = wait_for_health(
                self.server, self.port, self.log_path, self.timeout, self.want_200
            )
        except BaseException:  # SetupError, or a Ctrl-C while waiting: never leave it running
            stop_server(self.server)
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        if self.server is not None:
            stop_server(self.server)


def log_tail(path: Path, lines: int = 20) -> str:
    """The end of a server log, to say why it failed."""
    try:
        return "\n".join(path.read_text("utf-8", errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


# ---------------------------------------------------------------- the peers' set-ups

#: SQLite FTS5's tokenizer for French: Unicode words, accents folded, no stemming.
FTS5_TOKENIZE = "unicode61 remove_diacritics 2"
#: The FTS5 table of every benchmark (FTS5 keeps the text, so title and body are stored).
FTS5_TABLE = f"CREATE VIRTUAL TABLE docs USING fts5(id UNINDEXED, title, body, tokenize = '{FTS5_TOKENIZE}')"


def fts5_available() -> bool:
    """Whether this Python's SQLite was built with FTS5."""
    import sqlite3

    try:
        sqlite3.connect(":memory:").execute("CREATE VIRTUAL TABLE t USING fts5(x)")
        return True
    except sqlite3.OperationalError:
        return False


def fts5_match(text: str) -> str | None:
    """A reader's query as an FTS5 MATCH: its ``\\w+`` tokens, lowercased, each quoted,
    joined with OR (the tokenizer folds the accents); None when it has no token."""
    import re

    tokens = re.findall(r"\w+", text.lower())
    return " OR ".join(f'"{t}"' for t in tokens) if tokens else None


#: The name under which :func:`tantivy_analyzer` is registered on a tantivy index.
TANTIVY_TOKENIZER = "fr_stem_fold"


def tantivy_available() -> bool:
    """Whether tantivy-py is installed (the ``bench`` extra)."""
    try:
        import tantivy  # noqa: F401
    except ImportError:
        return False
    return True


def tantivy_analyzer():
    """tantivy's French chain for the benchmarks: its simple tokenizer, lowercase,
    ASCII folding, Snowball French (no stop words)."""
    import tantivy

    return (
        tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.simple())
        .filter(tantivy.Filter.lowercase())
        .filter(tantivy.Filter.ascii_fold())
        .filter(tantivy.Filter.stemmer("french"))
        .build()
    )


def tantivy_schema(stored: bool = True):
    """``id`` (raw, stored), ``title`` and ``body`` on :data:`TANTIVY_TOKENIZER`, stored
    when the benchmark shows them (snippets) and not when it only ranks."""
    import tantivy

    builder = tantivy.SchemaBuilder()
    builder.add_text_field("id", stored=True, tokenizer_name="raw")
    builder.add_text_field("title", stored=stored, tokenizer_name=TANTIVY_TOKENIZER)
    builder.add_text_field("body", stored=stored, tokenizer_name=TANTIVY_TOKENIZER)
    return builder.build()
