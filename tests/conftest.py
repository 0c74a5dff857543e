"""Shared fixtures: a tiny French corpus, its index, the app and its clients."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from whoosh import index as whoosh_index
from whoosh.qparser import MultifieldParser, OrGroup, QueryParser

from searchsvc import create_app
from searchsvc.index.generations import current_generation
from searchsvc.index.reindex import reindex

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
    for name, text in ARTICLES.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    with open(root / "extra.jsonl", "w", encoding="utf-8") as f:
        for doc in JSONL:
            f.write(json.dumps(doc, ensure_ascii=False) + "\n")
    return root


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    return write_corpus(tmp_path / "corpus")


@pytest.fixture
def index_dir(tmp_path: Path, corpus: Path) -> Path:
    path = tmp_path / "index"
    reindex([corpus], path)
    return path


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


def use_a_newer_schema(monkeypatch, module) -> None:
    """Make ``module`` build a schema with one more field, as a later version would."""
    from whoosh.fields import STORED

    original = module.build_schema

    def newer_schema(protected=()):
        schema = original(protected)
        schema.add("added_later", STORED)
        return schema

    monkeypatch.setattr(module, "build_schema", newer_schema)


@pytest.fixture
def app(tmp_path: Path, index_dir: Path, corpus: Path):
    return create_app({"TESTING": True, "INDEX_DIR": str(index_dir), "SOURCE_DIR": str(corpus)})


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()
