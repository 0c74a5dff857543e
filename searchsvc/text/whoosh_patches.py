"""Two fixes to Whoosh itself, each exactly equivalent: field lengths read
from memory while writing, and segment files read in place.

Writing a segment, Whoosh's posting writer asks for the length of the
document of every posting (for the block's min/max length), and each call
seeks and reads one byte of the lengths column through three layers of
Python: 15-25% of a full reindex. :func:`install` replaces that method with
one that reads the column once per reader and field and indexes a ``bytes``
object. Same values, same defaults, same errors.

It is installed by the indexing path (:class:`searchsvc.text.schema.FrenchText`),
in every process that writes, including Whoosh's writer subprocesses.

Reading, whoosh-reloaded copies every file of a segment it opens into a
``BytesIO`` (:class:`ViewReader` says more); :func:`install_reader`, called
when the service opens its index, reads them in place instead.
"""

from __future__ import annotations

import io
import pickle

from whoosh.codec import whoosh3
from whoosh.filedb import structfile
from whoosh.util.numeric import byte_to_length

_original = whoosh3.W3PerDocReader.doc_field_length


def _doc_field_length(self, docnum: int, fieldname: str, default: int = 0):
    if docnum > self._doccount:
        raise IndexError(f"Asked for docnum {docnum!r} of {self._doccount}")
    cache = self.__dict__.setdefault("_searchsvc_lengths", {})
    data = cache.get(fieldname)
    if data is None:
        column = self._cached_reader(whoosh3._lenfield(fieldname), whoosh3.LENGTHS_COLUMN)
        if column is None:
            return default
        data = cache[fieldname] = column._dbfile.get(column._basepos, column._count)
    lbyte = data[docnum] if docnum < len(data) else 0
    if lbyte:
        return byte_to_length(lbyte)
    return None  # what Whoosh returns for a zero length byte


def install() -> None:
    """Replace ``W3PerDocReader.doc_field_length`` (idempotent)."""
    whoosh3.W3PerDocReader.doc_field_length = _doc_field_length


def uninstall() -> None:
    whoosh3.W3PerDocReader.doc_field_length = _original


class ViewReader:
    """A read-only file over a buffer (an ``mmap`` slice), without copying it.

    whoosh-reloaded's ``BufferFile`` wraps every file of a segment in
    ``BytesIO(buf)``, which copies it: each process that opens an index held
    a private copy of its postings and term index (the size of the index, per
    gunicorn worker). Read through this instead, the pages stay the
    operating system's file cache, shared by all workers.
    """

    def __init__(self, buf) -> None:
        self._view = memoryview(buf)
        self._pos = 0

    def read(self, n: int | None = -1) -> bytes:
        size = len(self._view)
        end = size if n is None or n < 0 else min(size, self._pos + n)
        data = self._view[self._pos : end].tobytes()
        self._pos = end
        return data

    def load_pickle(self):
        """The pickle at the current position. ``pickle.load`` on this file
        would call :meth:`read` once per opcode (a posting block's header
        took 20 calls); a small pickle is read from one copied slice instead."""
        start = self._pos
        chunk = io.BytesIO(self._view[start : start + _PICKLE_SLICE])
        try:
            value = pickle.load(chunk)
        except (EOFError, pickle.UnpicklingError):  # longer than the slice
            return pickle.load(self)
        self._pos = start + chunk.tell()
        return value

    def readinto(self, b) -> int:
        data = self.read(len(b))
        b[: len(data)] = data
        return len(data)

    def readline(self, size: int | None = -1) -> bytes:
        end = len(self._view) if size is None or size < 0 else min(len(self._view), self._pos + size)
        i = self._pos
        while i < end and self._view[i] != 10:  # b"\n"
            i += 1
        return self.read(min(i + 1, end) - self._pos)

    def __iter__(self):
        while self._pos < len(self._view):
            yield self.readline()

    def seek(self, pos: int, whence: int = 0) -> int:
        base = {0: 0, 1: self._pos, 2: len(self._view)}[whence]
        self._pos = max(0, base + pos)
        return self._pos

    def tell(self) -> int:
        return self._pos

    def close(self) -> None:
        self._view.release()


#: Bytes copied to read a pickle in one go (a block header takes about 60).
_PICKLE_SLICE = 512


def _read_pickle(self):
    if isinstance(self.file, ViewReader):
        return self.file.load_pickle()
    return pickle.load(self.file)


def _buffer_file_init(self, buf, name=None, onclose=None) -> None:
    self._buf = buf
    self._name = name
    self.file = ViewReader(buf)
    self.onclose = onclose
    self.is_real = False
    self.is_closed = False


_original_buffer_file_init = structfile.BufferFile.__init__
_original_read_pickle = structfile.StructFile.read_pickle


def install_reader() -> None:
    """Read segment files in place instead of copying them (idempotent)."""
    structfile.BufferFile.__init__ = _buffer_file_init
    structfile.StructFile.read_pickle = _read_pickle


def uninstall_reader() -> None:
    structfile.BufferFile.__init__ = _original_buffer_file_init
    structfile.StructFile.read_pickle = _original_read_pickle
