"""Pages of results already computed, reused while they are still right.

Readers of a news site search the same few names all day: a page computed
once answers every later identical request, in microseconds instead of
milliseconds. The key is the generation, the version of the synonyms list
and the request: a reindex or an edited synonyms file never serves a page
computed before it. The oldest entries go first.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable
from dataclasses import replace

from .cache import BoundedCache
from .searching import SearchPage


class QueryCache:
    """A bounded LRU of :class:`SearchPage` by (generation, synonyms version, request);
    ``size`` 0 disables it."""

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
