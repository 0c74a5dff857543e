"""A bounded, thread-safe LRU: what the read side remembers per generation.

Expansions of a prefix, completions, written forms, result pages: each is
kept in a :class:`BoundedCache` whose keys name the generation they were
computed on (:func:`searchsvc.search.postings.reader_key`, or its number),
so a reindex never serves what an older index computed.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

T = TypeVar("T")


class BoundedCache(Generic[T]):
    """A thread-safe LRU of values by hashable key, at most ``size`` of them."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._values: OrderedDict[Hashable, T] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = self.misses = 0

    def __contains__(self, key: Hashable) -> bool:
        with self._lock:
            return key in self._values

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
