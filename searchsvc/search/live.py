"""The index a running service searches: the generation in use, checked on
every request, and a searcher per thread.

A reindex (:mod:`searchsvc.index.reindex`) or ``searchsvc switch`` moves
the generation pointer; :class:`LiveIndex` notices on the next request and
switches without a restart, and falls back to the last whole generation when
the newest is damaged.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
from pathlib import Path

from whoosh import index as whoosh_index
from whoosh.searching import Searcher

from ..errors import IndexNotReady
from ..index.generations import (
    POINTER,
    Generation,
    check_files,
    current_generation,
    generation_numbers,
    pointer_number,
    read_generation,
)
from ..text import whoosh_patches
from ..text.analysis import ANALYSIS_VERSION
from ..text.protected import ProtectedWordsFile, describe_change, protected_in
from ..text.schema import TITLE_WEIGHT, build_schema, same_schema, title_weight_in
from .threadlocal import os_thread_local

log = logging.getLogger(__name__)

_NEVER = object()
#: What opening a generation raises when it cannot be served.
_OPEN_ERRORS = (IndexNotReady, OSError, whoosh_index.IndexError, ValueError, EOFError)


def _staleness(generation: Generation, ix: whoosh_index.Index) -> tuple[str | None, bool]:
    """Why the generation does not match this code (or ``None``), and whether
    it can still be searched (another analysis version: yes, with its own
    pickled analysers; another schema: no, the query code needs its fields).
    The protected words are compared apart (:meth:`LiveIndex.stale`): the
    file can change while the service runs."""
    # Another title weight is only another ranking: searchable with the index's own analysers.
    weight = title_weight_in(ix.schema)
    vectors = "meaning" in ix.schema  # not in the indexes built before 0.7.0: searchable without
    titles = "title_meaning" in ix.schema  # nor before 0.8.0
    expected = build_schema(protected_in(ix.schema), weight, meaning=vectors, title_meaning=titles)
    if not same_schema(ix.schema, expected):
        return "the index was built with another schema by an older version: run `searchsvc reindex`", False
    built_with = generation.manifest.get("analysis")
    if built_with != ANALYSIS_VERSION:
        return (
            f"the index was built with analysis {built_with!r}, this version uses "
            f"{ANALYSIS_VERSION!r}: run `searchsvc reindex`"
        ), True
    behind = []  # searchable, but not ranked as this version ranks
    if weight != TITLE_WEIGHT:
        behind.append(f"the index weighs title words {weight:g} times, this version {TITLE_WEIGHT:g} times")
    if not vectors:
        behind.append("the index has no article vectors (built before 0.7.0), so its ranking is lexical only")
    elif not titles:
        behind.append("the index has no title vectors (built before 0.8.0)")
    if behind:
        return f"{'; '.join(behind)}: run `searchsvc reindex` to rank as this version does", True
    return None, True


class LiveIndex:
    """The generation in use by a service, and a searcher per thread.

    Each call to :meth:`searcher` costs a ``stat`` of the pointer and one of
    each file of the generation in use. When the pointer moved, the new
    generation is opened and checked, and used from then on. A generation that
    is damaged (files missing or truncated, behind the service's back or
    before the pointer moved to it) is not served: the service answers from
    the last good one (the one in use, else the newest older generation that
    is whole) and reports the problem in :attr:`problem`; with none left, it
    has no index (503 with the reason). A segment file truncated while mapped
    would kill the process (``SIGBUS``) at the next read of a lost page: the
    per-request check finds it first. Whoosh searchers are not thread-safe, so
    each thread keeps its own and reuses it across requests.

    With ``protected_words`` (the configured list), :attr:`stale` also says
    when the list no longer matches the one the generation was built with.
    """

    #: Seconds between two attempts to open a generation that failed.
    RETRY_AFTER = 5.0

    def __init__(
        self, index_dir: str | os.PathLike[str], weighting=None, protected_words: ProtectedWordsFile | None = None
    ) -> None:
        whoosh_patches.install_reader()  # segment files shared through the page cache, not copied
        self.index_dir = Path(index_dir)
        self.weighting = weighting
        self.protected_words = protected_words
        #: The protected words of the generation in use (its analysers').
        self._built_protected: frozenset[str] = frozenset()
        self._protected_reported: tuple | None = None
        self._lock = threading.Lock()
        self._local = os_thread_local()
        self._stamp: tuple[int, int, int] | None | object = _NEVER  # the pointer last acted on
        self._retry_at = 0.0
        self.generation: Generation | None = None
        self.index: whoosh_index.Index | None = None
        #: Why the generation the pointer names is not the one served, if it is not.
        self.problem: str | None = None
        #: Why the generation in use does not match this code, if it does not (see :attr:`stale`).
        self._stale: str | None = None
        #: False when the generation cannot be searched by this code at all.
        self.searchable = True

    def _pointer_stamp(self) -> tuple[int, int, int] | None:
        try:
            st = os.stat(self.index_dir / POINTER)
        except FileNotFoundError:
            return None
        return (st.st_ino, st.st_mtime_ns, st.st_size)

    def _damage(self) -> str | None:
        """What is wrong with the files of the generation in use, if anything."""
        generation = self.generation
        if generation is None:
            return None
        try:
            check_files(generation)
        except IndexNotReady as e:
            return str(e)
        return None

    def _settled(self, stamp: tuple[int, int, int] | None) -> bool:
        """Nothing to do: same pointer, what is in use is whole, no retry due."""
        return (
            stamp == self._stamp
            and (self.problem is None or time.monotonic() < self._retry_at)
            and self._damage() is None
        )

    def refresh(self) -> None:
        """Open the generation the pointer names, if it is not the one in use;
        leave the one in use if it was damaged."""
        stamp = self._pointer_stamp()
        if self._settled(stamp):
            return
        with self._lock:
            if self._settled(stamp):
                return
            self._stamp = stamp
            try:
                generation, ix = self._open(None)
            except _OPEN_ERRORS as e:
                self._retry_at = time.monotonic() + self.RETRY_AFTER
                self._fall_back(str(e))
                return
            self._use(generation, ix, None)

    def _open(self, number: int | None) -> tuple[Generation, whoosh_index.Index]:
        """Open generation ``number`` (default: the pointer's), checked whole."""
        if number is None:
            generation = current_generation(self.index_dir)
            if generation is None:
                raise IndexNotReady(f"no index in {self.index_dir} yet; run `searchsvc reindex`")
        else:
            generation = read_generation(self.index_dir, number)
        ix = whoosh_index.open_dir(str(generation.path))
        # Counted from the table of contents: ix.doc_count() opens a reader
        # on every segment (8 ms at 100,000 articles, after every push).
        held = sum(segment.doc_count() for segment in ix._segments())
        if held != generation.documents:
            raise IndexNotReady(
                f"generation {generation.number} holds {held} documents, its manifest says {generation.documents}"
            )
        return generation, ix

    def _fall_back(self, reason: str) -> None:
        """The pointer's generation cannot be served (``reason``): keep the one
        in use if it is whole, else the newest whole generation older than the
        pointer's, else none."""
        if self.index is not None and self._damage() is None:
            self._use(self.generation, self.index, reason)
            return
        with contextlib.suppress(IndexNotReady):
            pointer = pointer_number(self.index_dir)
            for number in sorted(generation_numbers(self.index_dir), reverse=True):
                if pointer is None or number >= pointer:
                    continue  # never a generation that was not published
                try:
                    generation, ix = self._open(number)
                except _OPEN_ERRORS:
                    continue
                if _staleness(generation, ix)[0] is None:
                    self._use(generation, ix, reason)
                    return
        if self.index is not None:
            log.error("generation %s can no longer be served: %s", self.generation.number, self._damage())
        self.generation = self.index = None
        if reason != self.problem:
            log.error("no usable index: %s", reason)
        self.problem = reason

    def _use(self, generation: Generation, ix: whoosh_index.Index, reason: str | None) -> None:
        """Serve ``generation``; ``reason`` says why it is not the pointer's."""
        problem = None if reason is None else f"{reason}; serving generation {generation.number}, the last good one"
        previous = self.generation
        if previous is not None and previous.number != generation.number:
            if reason is None:
                log.info("switched from generation %s to %s", previous.number, generation.number)
            else:
                log.error("falling back from generation %s to %s: %s", previous.number, generation.number, reason)
        elif reason is not None and problem != self.problem:
            log.error("%s generation %s: %s", "keeping" if previous else "serving", generation.number, reason)
        if ix is not self.index:
            self._stale, self.searchable = _staleness(generation, ix)
            self._built_protected = protected_in(ix.schema)
            if self._stale:
                log.warning("generation %s: %s", generation.number, self._stale)
        self.generation, self.index, self.problem = generation, ix, problem

    @property
    def stale(self) -> str | None:
        """Why the generation in use wants a reindex (another schema or analysis
        version, or other protected words than the configured file's), if it does."""
        return self._stale or self._protected_change()

    def _protected_change(self) -> str | None:
        generation = self.generation
        if self.protected_words is None or generation is None:
            return None
        wanted = self.protected_words.current()
        if wanted.words == self._built_protected:
            return None
        change = describe_change(self._built_protected, wanted.words)
        message = (
            f"the protected words changed since generation {generation.number} was built ({change}): "
            "run `searchsvc reindex`"
        )
        if self._protected_reported != (generation.number, wanted.digest):
            self._protected_reported = (generation.number, wanted.digest)
            log.warning("%s", message)
        return message

    def current(self) -> tuple[Generation, whoosh_index.Index]:
        """The generation in use and its index; raises :class:`IndexNotReady` if none."""
        self.refresh()
        if self.index is None or self.generation is None:
            raise IndexNotReady(self.problem or f"no index in {self.index_dir}")
        return self.generation, self.index

    def searcher(self) -> Searcher:
        """This thread's searcher on the current generation (reused, never per query).

        Raises :class:`IndexNotReady` when there is none, or when it was built
        with a schema this code cannot search.
        """
        generation, ix = self.current()
        if not self.searchable:
            raise IndexNotReady(self.stale or "the index cannot be searched: run `searchsvc reindex`")
        held = getattr(self._local, "held", None)
        if held is not None and held[0] == generation.number:
            return held[1]
        if held is not None:
            held[1].close()
        searcher = ix.searcher(weighting=self.weighting) if self.weighting else ix.searcher()
        self._local.held = (generation.number, searcher)
        return searcher

    def searcher_and_generation(self) -> tuple[Searcher, int]:
        """:meth:`searcher`, and the number of the generation it reads."""
        searcher = self.searcher()
        return searcher, self._local.held[0]
