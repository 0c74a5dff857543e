"""gunicorn's settings for searchsvc, read by ``gunicorn wsgi:app`` from the
working directory (see docs/operations.md, "Running in production").

Chosen by measurement (``python -m bench.checks.slow_clients --setups
sync,gthread,gevent``, 2 CPUs): with 50 clients sending their headers a byte
every 5 s and 50 idle keep-alive connections, gunicorn's sync workers (its
default) and gthread workers with 8 threads each answered no search at all
(each slow client holds a worker or a thread until its request is whole);
gevent workers answered every one, as fast as without them. A search never
waits on the network, so a greenlet per connection costs only memory
(``searchsvc.search.threadlocal`` keeps the searchers per OS thread).

Every value can be overridden on the command line (``--workers 4``) or with
``GUNICORN_CMD_ARGS``.
"""

import multiprocessing
import os

bind = os.environ.get("SEARCHSVC_BIND", "127.0.0.1:8000")
#: One per core, at least 2 (a search uses one core; the workers share the
#: index through the page cache).
workers = int(os.environ.get("SEARCHSVC_WORKERS", max(2, multiprocessing.cpu_count())))
#: A greenlet per connection: a slow or idle client holds a little memory,
#: never a worker.
worker_class = "gevent"
#: Connections a worker holds at once (slow and idle ones included).
worker_connections = 1000

#: A worker silent this long (a search is bounded well under a second) is restarted.
timeout = 30
graceful_timeout = 30
#: No keep-alive: each response closes its connection. Measured (the load run
#: of bench/checks/fault_runs.py, 8 connections on 2 workers during reindexes,
#: twice each): kept alive 5 s, a connection stays with one worker and
#: queues behind its searches while the other worker idles, p99 149 and 192 ms;
#: closed, p99 69 and 67 ms, as sync workers (72 ms). nginx keeps the
#: readers' connections alive in front (deploy/nginx); on loopback a new one
#: costs a tenth of a millisecond.
keepalive = 0

#: The request line: q is at most 1,000 characters, up to 9 bytes each once
#: percent-encoded (accents); gunicorn allows 8,190 at most. Longer: 414.
limit_request_line = 8190
#: Headers: at most 50, each at most 8 KB; past them, 431 at once.
limit_request_fields = 50
limit_request_field_size = 8190

#: Access log on stdout (systemd's journal, or the file gunicorn is told).
accesslog = "-"
errorlog = "-"
#: The address of the reader as nginx passed it (docs/operations.md), when
#: behind a proxy on this host.
forwarded_allow_ips = "127.0.0.1"


def when_ready(server):
    """Load the word vectors (searchsvc.text.meaning) once, in the arbiter,
    before the workers fork: each worker shares them instead of spending a
    second of its event loop on them at its first search."""
    from searchsvc.text.meaning import word_vectors

    word_vectors()
