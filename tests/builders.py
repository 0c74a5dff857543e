"""What tests build, written once: corpora, indexes, searchers, apps and clients.

Every test module builds through these (``conftest.py`` turns the common ones
into fixtures); none keeps its own copy.

* the small corpus (:data:`ARTICLES` and :data:`JSONL`: seven documents) and
  :func:`write_corpus`; :func:`write_jsonl` for a corpus of one's own;
* :func:`build_index` (a corpus folder → an index folder) and
  :func:`index_documents` (documents → a corpus → an index, in one call);
* :func:`open_searcher` (the service's searcher on an index folder);
* :func:`make_app` and :func:`make_client`, which always say where the query
  log goes: an app writes it into the index folder unless told otherwise;
* :class:`ReadOnlyFolder`: a folder that tests share and must not change,
  checked (names, sizes and times of every entry) when asked;
* checks and faults several modules share: :func:`validate` (a body against
  the OpenAPI description), :func:`search_ids` (Whoosh's own search),
  :func:`use_a_newer_schema`, :func:`kill_the_first_writer_process`, and
  :func:`run_cli` (the ``searchsvc`` command as a real process).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema
from flask import Flask
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012
from whoosh import index as whoosh_index
from whoosh.qparser import MultifieldParser, OrGroup, QueryParser
from whoosh.searching import Searcher

from searchsvc import create_app
from searchsvc.index.generations import current_generation
from searchsvc.index.reindex import ReindexResult, reindex
from searchsvc.search.live import LiveIndex
from searchsvc.search.weighting import WEIGHTING

# --------------------------------------------------------------------------
# The small corpus: five plain-text articles and two JSON lines

ARTICLES = {
    "universite.txt": (
        "La rentrée à l'université\n- Le 1er septembre 2023\n"
        "Les étudiants de l'université de Lyon reprennent les cours aujourd'hui.\n"
        "Source : AFP\n"
    ),
    "monde/etats-unis.txt": (
        "Les États-Unis et l'OTAN\n- Le 22 Novembre 2024\n"
        "Le sommet américano-russe s'est tenu à Genève.\n"
        "Les États-Unis ont réitéré leur soutien à l'Ukraine.\nSource : AA\n"
    ),
    "coeur.txt": (
        "Une greffe du cœur réussie\n- Le 3 mars 2021\n"
        "Les chirurgiens ont greffé un cœur artificiel, une première mondiale.\n"
        "Source : AFP\n"
    ),
    "nuit.txt": (
        "Négociations salariales\n- Le 2 juillet 2020\n"
        "Un accord a été trouvé dans la nuit de mercredi à jeudi.Le gouvernement "
        "débloque 400 millions d'euros, une hausse de 14,2 %.\nSource : Orange Actu\n"
    ),
    "election.txt": (
        "L'élection présidentielle\n- Le 24 avril 2022\n"
        "La présidente sortante et les présidents des partis ont commenté les "
        "élections économiques.\n"
    ),
}

JSONL = [
    {"id": "hamlet", "title": "Théâtre : Hamlet", "body": "Être ou ne pas être, telle est la question.",
     "date": "2019-05-04", "source": "Théâtre", "url": "https://example.org/hamlet"},
    {"id": "porte", "title": "Le porte-monnaie perdu", "body": "Il a retrouvé son porte-monnaie jusqu'à "
     "la gare, en plein cœur de Paris.", "source": "AFP"},
]  # fmt: skip


def write_corpus(root: Path) -> Path:
    """The small corpus in ``root`` (created): seven documents."""
    for name, text in ARTICLES.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    write_jsonl(root / "extra.jsonl", JSONL)
    return root


def write_jsonl(path: Path, documents: Iterable[Mapping[str, Any]]) -> Path:
    """``documents`` as JSON lines in ``path`` (its folder created)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        for document in documents:
            f.write(json.dumps(document, ensure_ascii=False) + "\n")
    return path


# --------------------------------------------------------------------------
# Indexes, searchers, apps


def build_index(corpus: Path, index_dir: Path, **options: Any) -> Path:
    """Index ``corpus`` into ``index_dir`` (``options``: :func:`reindex`'s); returns ``index_dir``."""
    reindex([corpus], index_dir, **options)
    return index_dir


def build_two_segment_index(
    root: Path, articles: list[Path], *, changed: int, deleted: int, added_line: str
) -> tuple[Path, ReindexResult]:
    """``articles`` indexed, then the first ``changed`` of them edited (``added_line``
    appended) and the next ``deleted`` removed, reindexed incrementally: an index
    of several segments with deleted documents, as a live one is. Returns the
    index folder and the incremental run's result."""
    corpus = root / "corpus"
    corpus.mkdir()
    for path in articles:
        shutil.copy(path, corpus / path.name)
    index_dir = root / "index"
    reindex([corpus], index_dir, procs=1)
    for path in articles[:changed]:  # re-added in a new segment, old copies deleted
        copy = corpus / path.name
        copy.write_text(copy.read_text("utf-8") + f"\n{added_line}\n", "utf-8")
    for path in articles[changed : changed + deleted]:
        (corpus / path.name).unlink()
    return index_dir, reindex([corpus], index_dir, incremental=True)


def build_small_index(root: Path) -> Path:
    """The small corpus in ``root/corpus``, indexed into ``root/index`` (returned)."""
    return build_index(write_corpus(root / "corpus"), root / "index")


def index_documents(root: Path, documents: Iterable[Mapping[str, Any]], **options: Any) -> Path:
    """``documents`` written to ``root/corpus/articles.jsonl`` and indexed into
    ``root/index`` (returned); ``options``: :func:`reindex`'s."""
    write_jsonl(root / "corpus" / "articles.jsonl", documents)
    return build_index(root / "corpus", root / "index", **options)


def open_searcher(index_dir: Path) -> Searcher:
    """The searcher the service would use on ``index_dir`` (its BM25 weighting)."""
    return LiveIndex(index_dir, WEIGHTING).searcher()


def make_app(index_dir: Path, *, query_log: Path | str | None, **config: Any) -> Flask:
    """The app over ``index_dir``, for tests.

    ``query_log``: a file of the test's own, ``"off"``, or ``None`` for the
    service's default, ``querylog.sqlite`` in the index folder, which only a
    test with an index of its own may use. ``config``: other settings
    (``QUERY_CACHE=0``, ``SYNONYMS=…``).
    """
    if query_log is None:
        ReadOnlyFolder.refuse_writes_under(index_dir, "an app writing its query log")
    settings = {"TESTING": True, "INDEX_DIR": str(index_dir), **config}
    if query_log is not None:
        settings["QUERY_LOG"] = str(query_log)
    return create_app(settings)


def make_client(index_dir: Path, *, query_log: Path | str | None, **config: Any):
    """:func:`make_app`'s test client."""
    return make_app(index_dir, query_log=query_log, **config).test_client()


# --------------------------------------------------------------------------
# Folders tests share


class ReadOnlyFolder:
    """A folder shared by many tests, which none may change.

    :meth:`changes` lists what differs from the listing taken when it was
    made (every entry's name, kind, size and modification time, in
    nanoseconds: a file written, added, removed or touched shows). We run
    as root, for whom ``chmod`` stops nothing: hence a comparison.
    """

    _guarded: list[Path] = []

    def __init__(self, path: Path) -> None:
        self.path = Path(path).resolve()
        self.original = self.last = self._listing()
        ReadOnlyFolder._guarded.append(self.path)

    def _listing(self) -> dict[str, tuple]:
        listing = {}
        for entry in sorted([self.path, *self.path.rglob("*")]):
            st = entry.lstat()
            kind = "dir" if entry.is_dir() else "file"
            listing[str(entry.relative_to(self.path))] = (kind, st.st_size if kind == "file" else None, st.st_mtime_ns)
        return listing

    def changes(self, since_start: bool = False) -> list[str]:
        """What changed since the last call (or since the folder was made)."""
        before, now = (self.original if since_start else self.last), self._listing()
        self.last = now
        return [
            f"{name}: {before.get(name, 'absent')} -> {now.get(name, 'absent')}"
            for name in sorted(set(before) | set(now))
            if before.get(name) != now.get(name)
        ]

    def check(self, when: str, since_start: bool = False) -> None:
        changed = self.changes(since_start)
        if changed:
            raise AssertionError(
                f"the shared read-only folder {self.path} changed {when}; a test that writes "
                "needs a folder of its own (fresh_index, corpus):\n  " + "\n  ".join(changed)
            )

    @classmethod
    def refuse_writes_under(cls, path: Path, what: str) -> None:
        resolved = Path(path).resolve()
        for guarded in cls._guarded:
            if resolved == guarded or guarded in resolved.parents:
                raise AssertionError(f"{what} in the shared read-only folder {guarded}: give it a folder of its own")


@dataclass(frozen=True)
class SharedIndex:
    """An index many tests read (``conftest.shared``), its corpus, and the
    guard on the folder holding both."""

    corpus: Path
    index: Path
    folder: ReadOnlyFolder


# --------------------------------------------------------------------------
# Checks


def validate(openapi: dict, path: str, status: int, body: dict, method: str = "get") -> None:
    """Check ``body`` against the schema the description gives for ``path`` and ``status``."""
    assert str(status) in openapi["paths"][path][method]["responses"], (path, status)
    pointer = f"/paths/{path.replace('/', '~1')}/{method}/responses/{status}/content/application~1json/schema"
    registry = Registry().with_resource("urn:openapi", Resource.from_contents(openapi, default_specification=DRAFT202012))
    jsonschema.Draft202012Validator({"$ref": f"urn:openapi#{pointer}"}, registry=registry).validate(body)


def search_ids(index_dir: Path, text: str, fields=("text",), group=None) -> set[str]:
    """Ids matching ``text``, parsed with the index's own schema (and analyzer)."""
    generation = current_generation(index_dir)
    ix = whoosh_index.open_dir(str(generation.path))
    parser = (
        QueryParser(fields[0], ix.schema, group=group or OrGroup)
        if len(fields) == 1
        else MultifieldParser(list(fields), ix.schema, group=group or OrGroup)
    )
    with ix.searcher() as s:
        return {hit["id"] for hit in s.search(parser.parse(text), limit=None)}


# --------------------------------------------------------------------------
# Faults and processes


def use_a_newer_schema(monkeypatch, module) -> None:
    """Make ``module`` build a schema with one more field, as a later version would."""
    from whoosh.fields import STORED

    original = module.build_schema

    def newer_schema(protected=(), title_weight=None, **options):
        schema = original(protected, title_weight, **options)
        schema.add("added_later", STORED)
        return schema

    monkeypatch.setattr(module, "build_schema", newer_schema)


def kill_the_first_writer_process(monkeypatch, tmp_path: Path) -> None:
    """The writer processes are forked: a patch made here is in them too.
    The first one to take a batch of documents kills itself, as the OOM
    killer would (after taking it: its documents are lost with it)."""
    from searchsvc.index import writers

    flag = tmp_path / "killed-one"
    original = writers._build_segments

    def build_segments(ix, folder, segment_docs, inbox, outbox, first_docs=None):
        try:
            os.close(os.open(flag, os.O_CREAT | os.O_EXCL))
        except FileExistsError:
            return original(ix, folder, segment_docs, inbox, outbox, first_docs)
        inbox.get()
        os.kill(os.getpid(), signal.SIGKILL)

    monkeypatch.setattr(writers, "_build_segments", build_segments)


def run_cli(*args: str, **kwargs) -> subprocess.Popen:
    """``searchsvc ARGS`` as a real process (text pipes for its output)."""
    return subprocess.Popen(
        [sys.executable, "-m", "searchsvc", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **kwargs,
    )
