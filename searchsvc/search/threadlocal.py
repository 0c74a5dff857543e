"""Per-thread state that stays per operating-system thread under gevent.

gunicorn's gevent worker (``gunicorn.conf.py``) patches ``threading`` so that
``threading.local`` is per greenlet, and there is a greenlet per connection:
each connection would open its own Whoosh searcher and allocate its own
scratch arrays (8 MB each at a million articles). A search never yields to
another greenlet (it reads memory-mapped arrays and computes, no socket and
no sleep), so what one OS thread holds can serve its greenlets in turn.
"""

from __future__ import annotations

import sys
import threading


def os_thread_local() -> threading.local:
    """A ``threading.local`` of the operating system's threads, even when
    gevent has patched the ``threading`` module."""
    monkey = sys.modules.get("gevent.monkey")
    if monkey is not None and monkey.is_module_patched("threading"):
        return monkey.get_original("threading", "local")()
    return threading.local()
