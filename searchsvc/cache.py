"""Pages of results already computed, reused while the generation lasts.

Readers of a news site search the same few names all day: a page computed
once answers every later identical request for the same generation, in
microseconds instead of milliseconds. The generation number is part of the
key, so a reindex never serves stale results; the oldest entries go first.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import replace
from typing import Generic, TypeVar

from .search import SearchPage

T = TypeVar("T")


class QueryCache:
    """A bounded LRU of :class:`SearchPage` by (generation, request); ``size`` 0 disables it."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._pages: OrderedDict[Hashable, SearchPage] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = self.misses = 0

    def page(self, key: Hashable, compute: Callable[[], SearchPage]) -> SearchPage:
        """The cached page for ``key``, or ``compute()``'s (then cached).

        A cached page is returned with ``took_ms`` set to this lookup's time:
        the figure always says what this request cost.
        """
        if self.size <= 0:
            return compute()
        started = time.perf_counter()
        with self._lock:
            cached = self._pages.get(key)
            if cached is not None:
                self._pages.move_to_end(key)
                self.hits += 1
        if cached is not None:
            return replace(cached, took_ms=round((time.perf_counter() - started) * 1000, 2))
        page = compute()
        with self._lock:
            self.misses += 1
            self._pages[key] = page
            while len(self._pages) > self.size:
                self._pages.popitem(last=False)
        return page


class BoundedCache(Generic[T]):
    """A thread-safe LRU of values by hashable key, at most ``size`` of them."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._values: OrderedDict[Hashable, T] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = self.misses = 0

    def get(self, key: Hashable, compute: Callable[[], T]) -> T:
        """The value cached for ``key``, or ``compute()``'s (then cached)."""
        with self._lock:
            if key in self._values:
                self._values.move_to_end(key)
                self.hits += 1
                return self._values[key]
        value = compute()
        with self._lock:
            self.misses += 1
            self._values[key] = value
            while len(self._values) > self.size:
                self._values.popitem(last=False)
        return value
