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
from typing import TYPE_CHECKING, Generic, TypeVar

if TYPE_CHECKING:  # annotations only: the query side uses BoundedCache too
    from .search import SearchPage

T = TypeVar("T")


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


class QueryCache:
    """A bounded LRU of :class:`SearchPage` by (generation, request); ``size`` 0 disables it."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._pages: BoundedCache[SearchPage] = BoundedCache(size)

    @property
    def hits(self) -> int:
        return self._pages.hits

    @property
    def misses(self) -> int:
        return self._pages.misses

    def page(self, key: Hashable, compute: Callable[[], SearchPage]) -> SearchPage:
        """The cached page for ``key``, or ``compute()``'s (then cached).

        A cached page is returned with ``took_ms`` set to this lookup's time:
        the figure always says what this request cost.
        """
        if self.size <= 0:
            return compute()
        started = time.perf_counter()
        computed: list[SearchPage] = []

        def compute_once() -> SearchPage:
            computed.append(compute())
            return computed[0]

        page = self._pages.get(key, compute_once)
        if computed:
            return page
        return replace(page, took_ms=round((time.perf_counter() - started) * 1000, 2))
