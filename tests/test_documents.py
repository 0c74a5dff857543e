"""The document loaders: the plain-text article, JSON Lines, encodings, bad input."""

from __future__ import annotations

import hashlib
import json
import unicodedata
from pathlib import Path

import pytest

from searchsvc.index.decoding import decode
from searchsvc.index.documents import Document, InputError, Loaded, LoadReport, Problem
from searchsvc.index.jsonlines import parse_json_document
from searchsvc.index.plaintext import parse_article, parse_french_date
from searchsvc.index.sources import find_files, load_documents

#: A byte-for-byte copy of ../shared/data/seed_article/000_b62a3627335c637b.txt
SEED = Path(__file__).parent / "data" / "seed_article.txt"
SEED_SHA256 = "2ec8c8079e98ed70f455e5bd37c2f2ecd756a6d4cc35db687fb316c75b6c46c4"
SEED_TITLE = "L’Australie refuse un visa à Ayelet Shaked"

ARTICLE = "Titre de l’article\n- Le 1er mars 2021\nPremier paragraphe.\nSecond paragraphe.\nSource : AFP\n"


def load(*sources, **kwargs) -> tuple[list[Loaded], LoadReport]:
    report = LoadReport()
    loaded = list(load_documents(list(sources), report, **kwargs))
    return loaded, report


def write(path: Path, data: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(data, str):
        data = data.encode("utf-8")
    path.write_bytes(data)
    return path


def jsonl(*records: dict | str) -> str:
    return "".join(
        (r if isinstance(r, str) else json.dumps(r, ensure_ascii=False)) + "\n" for r in records
    )


def problems(report: LoadReport) -> list[tuple[str, int | None, bool]]:
    return [(p.path, p.line, p.skipped) for p in report.problems]


# --------------------------------------------------------------------------
# The seed article


def test_seed_copy_is_byte_exact():
    raw = SEED.read_bytes()
    assert hashlib.sha256(raw).hexdigest() == SEED_SHA256
    assert len(raw) == 2169
    assert raw.endswith(b"Source : AA")  # no newline at the end, on purpose
    assert b"\r" not in raw


def test_seed_article_loads():
    [loaded], report = load(SEED)
    doc = loaded.document
    assert report.problems == []
    assert report.damaged_files == set()
    assert report.files_read == 1
    assert report.bytes_read == 2169
    assert loaded.origin == "seed_article.txt"
    assert doc.id == "seed_article.txt"
    assert doc.title == SEED_TITLE
    assert doc.date == "2024-11-22"
    assert doc.source == "AA"
    assert doc.url is None
    paragraphs = doc.body.split("\n")
    assert len(paragraphs) == 8
    assert paragraphs[0].startswith("Lors d'un entretien vidéo de deux heures, le président russe")
    assert paragraphs[3].startswith('Et d’ajouter que, lors de cette rencontre "franche"')
    assert "mise en œuvre" in paragraphs[3]
    assert paragraphs[-1].endswith("de la stabilité internationales.")
    assert "Source" not in doc.body
    assert "Novembre" not in doc.body
    assert "’" in doc.title and doc.body.count("’") == 1
    assert doc.body.count('"') == 14
    assert unicodedata.is_normalized("NFC", doc.body)


def test_seed_article_with_a_final_newline_or_crlf_is_the_same_document(tmp_path):
    raw = SEED.read_bytes()
    write(tmp_path / "lf.txt", raw + b"\n")
    write(tmp_path / "crlf.txt", b"\xef\xbb\xbf" + raw.replace(b"\n", b"\r\n") + b"\r\n")
    [reference], _ = load(SEED)
    loaded, report = load(tmp_path)
    assert report.problems == []
    assert [x.document.id for x in loaded] == ["crlf.txt", "lf.txt"]
    for x in loaded:
        assert (x.document.title, x.document.date, x.document.source, x.document.body) == (
            reference.document.title,
            reference.document.date,
            reference.document.source,
            reference.document.body,
        )


def test_seed_article_in_windows_1252_reads_the_same_with_a_warning(tmp_path):
    text = SEED.read_text(encoding="utf-8")
    write(tmp_path / "ansi.txt", text.encode("cp1252"))
    [reference], _ = load(SEED)
    [loaded], report = load(tmp_path)
    assert loaded.document.body == reference.document.body
    assert loaded.document.title == SEED_TITLE
    assert loaded.document.date == "2024-11-22"
    assert [(p.path, p.skipped) for p in report.problems] == [("ansi.txt", False)]
    assert "Windows-1252" in report.problems[0].reason
    assert report.damaged_files == set()


# --------------------------------------------------------------------------
# French date lines


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("- Le 22 Novembre 2024", "2024-11-22"),
        ("- Le 22 novembre 2024", "2024-11-22"),
        ("- Le 22 NOVEMBRE 2024", "2024-11-22"),
        ("- LE 22 NOVEMBRE 2024", "2024-11-22"),
        ("- Le 1er mars 2021", "2021-03-01"),
        ("- Le 1ER MARS 2021", "2021-03-01"),
        ("- Le 1 mars 2021", "2021-03-01"),
        ("- Le 05 juillet 2019", "2019-07-05"),
        ("- Le 15 août 2020", "2020-08-15"),
        ("- Le 15 aout 2020", "2020-08-15"),
        ("- Le 15 AOÛT 2020", "2020-08-15"),
        ("- Le 3 février 2022", "2022-02-03"),
        ("- Le 3 fevrier 2022", "2022-02-03"),
        ("- Le 3 Février 2022", "2022-02-03"),
        ("- Le 3 fe\u0301vrier 2022", "2022-02-03"),  # decomposed é
        ("- Le 24 décembre 2023", "2023-12-24"),
        ("- Le 24 decembre 2023", "2023-12-24"),
        ("- Le 29 février 2024", "2024-02-29"),  # leap year
        ("- Le 12 janvier 2020", "2020-01-12"),
        ("- Le 12 avril 2020", "2020-04-12"),
        ("- Le 12 mai 2020", "2020-05-12"),
        ("- Le 12 juin 2020", "2020-06-12"),
        ("- Le 12 septembre 2020", "2020-09-12"),
        ("- Le 12 octobre 2020", "2020-10-12"),
        ("Le 5 juin 2019", "2019-06-05"),
        ("– Le 5 juin 2019", "2019-06-05"),
        ("— Le 5 juin 2019.", "2019-06-05"),
        ("   - Le 5 juin 2019   ", "2019-06-05"),
        ("-Le 5 juin 2019", "2019-06-05"),
    ],
)
def test_parse_french_date(line, expected):
    assert parse_french_date(line) == expected


@pytest.mark.parametrize(
    "line",
    [
        "",
        "Lors d'un entretien vidéo de deux heures",
        "- Le 22 Novembre",
        "- Le Novembre 2024",
        "- 22 Novembre 2024",
        "- Le 22 Novembre 24",
        "- Le 22 Novembre 2024 à 14h30",
        "Le 22 novembre 2024, le président a dit",
    ],
)
def test_parse_french_date_not_a_date_line(line):
    assert parse_french_date(line) is None


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("- Le 31 février 2021", "no such date"),
        ("- Le 29 février 2023", "no such date"),
        ("- Le 31 avril 2021", "no such date"),
        ("- Le 32 janvier 2021", "no such date"),
        ("- Le 0 mars 2021", "no such date"),
        ("- Le 3 brumaire 2021", "unknown month 'brumaire'"),
        ("- Le 3 fevier 2021", "unknown month 'fevier'"),
    ],
)
def test_parse_french_date_invalid_raises(line, reason):
    with pytest.raises(InputError, match=reason):
        parse_french_date(line)


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("- Le 22 Novembre 2024", "2024-11-22"),
        ("- Le 1er mars 2021", "2021-03-01"),
        ("- Le 22 NOVEMBRE 2024", "2024-11-22"),
        ("- le 15 aout 2020", "2020-08-15"),
        ("- Le 24 Décembre 2023", "2023-12-24"),
    ],
)
def test_article_date_line(tmp_path, line, expected):
    write(tmp_path / "a.txt", f"Titre\n{line}\nCorps.\nSource : AA")
    [loaded], report = load(tmp_path)
    assert report.problems == []
    assert loaded.document.date == expected
    assert loaded.document.body == "Corps."


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("- Le 31 février 2021", "no such date: '- Le 31 février 2021'"),
        ("- Le 32 janvier 2021", "no such date: '- Le 32 janvier 2021'"),
        ("- Le 3 brumaire 2021", "unknown month 'brumaire'"),
    ],
)
def test_article_with_an_invalid_date_is_loaded_without_a_date(tmp_path, line, reason):
    write(tmp_path / "a.txt", f"Titre\n\n{line}\nCorps.\nSource : AA\n")
    write(tmp_path / "b.txt", ARTICLE)
    loaded, report = load(tmp_path)
    assert [x.document.id for x in loaded] == ["a.txt", "b.txt"]
    doc = loaded[0].document
    assert (doc.title, doc.date, doc.body, doc.source) == ("Titre", None, "Corps.", "AA")
    assert problems(report) == [("a.txt", 3, False)]  # a warning naming the line
    assert report.problems[0].reason.startswith(reason)
    assert "loaded without a date" in report.problems[0].reason
    assert str(report.problems[0]).startswith("a.txt:3: ")
    assert report.skipped == []
    assert report.damaged_files == set()


def test_parse_article_invalid_date_notes():
    notes: list[tuple[int, str]] = []
    doc = parse_article("Titre\n- Le 30 février 2020\nCorps", "x.txt", notes=notes)
    assert doc == Document(id="x.txt", title="Titre", body="Corps")
    assert notes == [
        (2, "no such date: '- Le 30 février 2020'; the article is loaded without a date")
    ]
    # Without a list to note it in, the article is still parsed.
    assert parse_article("Titre\n- Le 30 février 2020\nCorps", "x.txt").date is None


# --------------------------------------------------------------------------
# The article layout


@pytest.mark.parametrize(
    ("text", "title", "date", "body", "source"),
    [
        (
            ARTICLE,
            "Titre de l’article",
            "2021-03-01",
            "Premier paragraphe.\nSecond paragraphe.",
            "AFP",
        ),
        ("Titre\nCorps un.\nCorps deux.", "Titre", None, "Corps un.\nCorps deux.", None),
        ("Titre\nCorps.\nSource : Le Monde", "Titre", None, "Corps.", "Le Monde"),
        ("Titre\n- Le 2 mai 2020\nCorps.", "Titre", "2020-05-02", "Corps.", None),
        ("Titre\n- Le 2 mai 2020\nSource : AA", "Titre", "2020-05-02", "", "AA"),
        ("Titre seul", "Titre seul", None, "", None),
        ("  Titre  \n\n\n  Un.  \n\n\tDeux.\n\n", "Titre", None, "Un.\nDeux.", None),
        ("Titre\nCorps.\nsource: afp", "Titre", None, "Corps.", "afp"),
        ("Titre\nCorps.\nSource\u00a0: AFP", "Titre", None, "Corps.", "AFP"),
        # A "Source :" line that is not the last one is body text.
        ("Titre\nSource : AA\nCorps.", "Titre", None, "Source : AA\nCorps.", None),
        # A date line further down is body text.
        ("Titre\nCorps.\n- Le 2 mai 2020", "Titre", None, "Corps.\n- Le 2 mai 2020", None),
        ("Titre\n« Bonjour\u00a0», dit-il.", "Titre", None, "« Bonjour\u00a0», dit-il.", None),
    ],
)
def test_parse_article(text, title, date, body, source):
    assert parse_article(text, "x.txt") == Document(
        id="x.txt", title=title, body=body, date=date, source=source
    )


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "empty file"),
        ("\n \n\t\n", "empty file"),
        ("- Le 1er mars 2021\nCorps.", "missing title: line 1 is a date line"),
        ("\n\n- Le 31 février 2021\nCorps.", "missing title: line 3 is a date line"),
    ],
)
def test_parse_article_rejects(text, reason):
    with pytest.raises(InputError) as e:
        parse_article(text, "x.txt")
    assert str(e.value) == reason


def test_article_keeps_typographic_quotes_and_apostrophes(tmp_path):
    text = "L’été « chaud »\n- Le 15 août 2020\nIl a dit : « C’est l’été ».\nSource : AA"
    write(tmp_path / "a.txt", text)
    [loaded], report = load(tmp_path)
    assert report.problems == []
    assert loaded.document.title == "L’été « chaud »"
    assert loaded.document.body == "Il a dit : « C’est l’été »."
    assert loaded.document.date == "2020-08-15"


def test_article_text_is_nfc(tmp_path):
    write(
        tmp_path / "a.txt", "E\u0301te\u0301 pre\u0301coce\nLe cafe\u0301 de l'e\u0301te\u0301.\n"
    )
    [loaded], report = load(tmp_path)
    doc = loaded.document
    assert report.problems == []
    assert doc.title == "\u00c9t\u00e9 pr\u00e9coce"
    assert len(doc.title) == len("Été précoce") == 11
    assert doc.body == "Le caf\u00e9 de l'\u00e9t\u00e9."
    assert "\u0301" not in doc.title + doc.body


# --------------------------------------------------------------------------
# Finding files: ids, what is ignored, order


def test_ids_are_posix_paths_relative_to_the_source(tmp_path):
    write(tmp_path / "site" / "a.txt", ARTICLE)
    write(tmp_path / "site" / "sub" / "deep" / "b.txt", ARTICLE)
    loaded, report = load(tmp_path / "site")
    assert report.problems == []
    assert [(x.document.id, x.origin) for x in loaded] == [
        ("a.txt", "a.txt"),
        ("sub/deep/b.txt", "sub/deep/b.txt"),
    ]


def test_single_file_source_id_is_its_name(tmp_path):
    path = write(tmp_path / "sub" / "one.txt", ARTICLE)
    [loaded], report = load(path)
    assert report.problems == []
    assert loaded.document.id == "one.txt"
    assert loaded.origin == "one.txt"
    assert loaded.document.date == "2021-03-01"


def test_single_file_source_of_another_type_is_reported(tmp_path):
    path = write(tmp_path / "notes.md", "# Titre\n")
    loaded, report = load(path)
    assert loaded == []
    assert problems(report) == [("notes.md", None, True)]
    assert "unsupported file type '.md'" in report.problems[0].reason


def test_missing_source_raises(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such file or folder"):
        list(find_files([tmp_path / "nope"]))


def test_hidden_files_and_other_suffixes_are_ignored(tmp_path):
    for name in [
        ".hidden.txt",
        ".git/config.txt",
        ".cache/sub/a.txt",
        "notes.md",
        "data.json",
        "a.txt.bak",
        "a.txt~",
        "README",
        "sub/.swp.jsonl",
    ]:
        write(tmp_path / name, "\x00 not an article")
    write(tmp_path / "kept.txt", ARTICLE)
    write(tmp_path / "LOUD.TXT", ARTICLE)
    write(tmp_path / "sub" / "docs.JSONL", jsonl({"id": "j1", "title": "T"}))
    assert [name for _, name in find_files([tmp_path])] == [
        "LOUD.TXT",
        "kept.txt",
        "sub/docs.JSONL",
    ]
    loaded, report = load(tmp_path)
    assert report.problems == []
    assert report.files_read == 3
    assert [x.document.id for x in loaded] == ["LOUD.TXT", "kept.txt", "j1"]


def test_order_is_stable_and_sorted(tmp_path):
    # Created out of order: the listing does not depend on creation order.
    for name in ["z.jsonl", "sub/c.txt", "b.txt", "A.txt", "a.txt", "sub/a/x.txt", "aa/y.txt"]:
        if name.endswith(".jsonl"):
            write(tmp_path / name, jsonl({"id": "z1", "title": "Z"}))
        else:
            write(tmp_path / name, ARTICLE)
    expected = ["A.txt", "a.txt", "b.txt", "z.jsonl", "aa/y.txt", "sub/c.txt", "sub/a/x.txt"]
    assert [name for _, name in find_files([tmp_path])] == expected
    assert [name for _, name in find_files([tmp_path])] == expected
    assert [path for path, _ in find_files([tmp_path])] == [tmp_path / n for n in expected]
    loaded, _ = load(tmp_path)
    assert [x.origin for x in loaded] == expected


def test_several_sources_in_the_order_given(tmp_path):
    write(tmp_path / "one" / "a.txt", ARTICLE)
    write(tmp_path / "two" / "docs.jsonl", jsonl({"id": "x", "title": "X"}))
    single = write(tmp_path / "three.txt", ARTICLE)
    loaded, report = load(tmp_path / "two", single, tmp_path / "one")
    assert report.problems == []
    assert [x.document.id for x in loaded] == ["x", "three.txt", "a.txt"]


# --------------------------------------------------------------------------
# Encodings


def test_utf8_bom_and_crlf(tmp_path):
    raw = ("\ufeff" + ARTICLE).replace("\n", "\r\n").encode("utf-8")
    write(tmp_path / "a.txt", raw)
    [loaded], report = load(tmp_path)
    doc = loaded.document
    assert report.problems == []
    assert doc.title == "Titre de l’article"
    assert doc.date == "2021-03-01"
    assert doc.body == "Premier paragraphe.\nSecond paragraphe."
    assert doc.source == "AFP"
    assert "\r" not in doc.title + doc.body + doc.source
    assert "\ufeff" not in doc.title


def test_old_mac_line_ends(tmp_path):
    write(tmp_path / "a.txt", ARTICLE.replace("\n", "\r"))
    [loaded], _ = load(tmp_path)
    assert loaded.document.body == "Premier paragraphe.\nSecond paragraphe."
    assert loaded.document.source == "AFP"


def test_windows_1252_file_is_decoded_with_a_warning(tmp_path):
    text = "Été à Noël\r\n- Le 3 février 2022\r\nÇa coûte 5 € : « œuvre » çà et là…\r\nSource : AFP\r\n"
    raw = text.encode("cp1252")
    assert b"\xe9" in raw and b"\x9c" in raw and b"\x80" in raw
    write(tmp_path / "ansi.txt", raw)
    write(tmp_path / "utf8.txt", ARTICLE)
    loaded, report = load(tmp_path)
    assert [x.document.id for x in loaded] == ["ansi.txt", "utf8.txt"]
    doc = loaded[0].document
    assert doc.title == "Été à Noël"
    assert doc.date == "2022-02-03"
    assert doc.body == "Ça coûte 5 € : « œuvre » çà et là…"
    assert doc.source == "AFP"
    assert problems(report) == [("ansi.txt", None, False)]
    assert report.problems[0].reason.startswith("not UTF-8 (invalid byte at offset 0)")
    assert "read as Windows-1252" in report.problems[0].reason
    assert report.damaged_files == set()


def test_decode_windows_1252():
    text, note = decode("é à ç œ".encode("cp1252"))
    assert text == "é à ç œ"
    assert note == "not UTF-8 (invalid byte at offset 0): read as Windows-1252"


def test_decode_plain_utf8_has_no_note():
    assert decode("\ufeffé à ç œ\r\n".encode()) == ("é à ç œ\r\n", None)
    assert decode(b"") == ("", None)


def test_double_encoded_utf8_is_repaired(tmp_path):
    good = "L’été à Noël\n- Le 15 août 2020\nIl a dit « ça », c’est l’œuvre.\nSource : AA"
    mojibake = good.encode("utf-8").decode("cp1252")
    assert mojibake.startswith("Lâ€™Ã©tÃ©")
    write(tmp_path / "a.txt", mojibake)
    [loaded], report = load(tmp_path)
    doc = loaded.document
    assert doc.title == "L’été à Noël"
    assert doc.date == "2020-08-15"
    assert doc.body == "Il a dit « ça », c’est l’œuvre."
    assert problems(report) == [("a.txt", None, False)]
    assert report.problems[0].reason == "double-encoded UTF-8 (mojibake) repaired"


def test_mojibake_mixed_with_correct_text_is_repaired():
    # Correct "’" and a character that Windows-1252 cannot encode sit beside
    # the mojibake, so the text cannot be re-decoded as a whole.
    text, note = decode("L’été de Ĉapek : Ã©tÃ© Ã\u00a0 la plage, câ€™est lâ€™Å“uvre".encode())
    assert text == "L’été de Ĉapek : été à la plage, c’est l’œuvre"
    assert note == "double-encoded UTF-8 (mojibake) repaired"


def test_utf8_mixed_with_windows_1252_bytes_is_repaired():
    raw = "Été ".encode() + "à Noël".encode("cp1252") + " – l’œuvre".encode()
    text, note = decode(raw)
    assert text == "Été à Noël – l’œuvre"
    assert note is not None and "Windows-1252" in note and "repaired" in note


def test_windows_1252_after_a_utf8_bom_drops_the_bom():
    text, note = decode(b"\xef\xbb\xbf" + "Été".encode("cp1252"))
    assert text == "Été"
    assert note is not None


def test_unrepairable_mojibake_is_reported_not_indexed(tmp_path):
    write(tmp_path / "a.txt", "Titre\nPrix : 5 â€ HT, Ã©tÃ©.\n")
    write(tmp_path / "b.txt", ARTICLE)
    loaded, report = load(tmp_path)
    assert [x.document.id for x in loaded] == ["b.txt"]
    assert problems(report) == [("a.txt", None, True)]
    assert report.problems[0].reason.startswith(
        "double-encoded UTF-8 (mojibake) that cannot be repaired"
    )
    assert report.damaged_files == {"a.txt"}


@pytest.mark.parametrize(
    "text",
    [
        "Un café\u00a0» et l’ÉTÉ\u00a0! Ça va.",  # é/É before a no-break space
        "Ångström, Århus, Âge d’or, prêt-à-porter",
        "Prix\u00a0: 5\u00a0€, «\u00a0guillemets\u00a0»",
    ],
)
def test_ordinary_french_is_not_mistaken_for_mojibake(text):
    assert decode(text.encode("utf-8")) == (text, None)
    decoded, note = decode(text.encode("cp1252"))
    assert decoded == text
    assert note is not None and note.endswith("): read as Windows-1252")


def test_decode_normalises_to_nfc():
    text, note = decode("e\u0301te\u0301".encode())
    assert text == "\u00e9t\u00e9"
    assert note is None


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("Titre\nCorps".encode("utf-16"), "UTF-16 text: convert it to UTF-8"),
        (
            "Titre\nCorps".encode("utf-16-be"),
            "binary file (contains NUL bytes), not a text article",
        ),
        (
            b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR",
            "binary file (contains NUL bytes), not a text article",
        ),
        (b"Titre\x01\x02\x03\x04", "binary file (4 control characters), not a text article"),
        (
            b"Titre \x81\xe9",
            "neither UTF-8 nor Windows-1252 (invalid byte at offset 6); convert it to UTF-8",
        ),
    ],
)
def test_decode_refuses(raw, reason):
    with pytest.raises(InputError) as e:
        decode(raw)
    assert str(e.value) == reason


# --------------------------------------------------------------------------
# Bad input in a folder: each reported, everything else loaded


def test_bad_files_are_reported_and_siblings_loaded(tmp_path):
    write(tmp_path / "01_good.txt", ARTICLE)
    write(tmp_path / "02_empty.txt", b"")
    write(tmp_path / "03_blank.txt", b"\xef\xbb\xbf\r\n  \r\n")
    write(tmp_path / "04_no_title.txt", "- Le 1er mars 2021\nCorps.\n")
    write(tmp_path / "05_binary.txt", b"GIF89a\x01\x00\x01\x00\x00\xff\x00,")
    write(tmp_path / "06_huge.txt", "Titre\n" + "x" * 5000)
    write(tmp_path / "07_utf16.txt", "Titre\nCorps\n".encode("utf-16"))
    write(tmp_path / "08_ansi.txt", "Été\nCorps.\n".encode("cp1252"))
    write(tmp_path / "09_bad_date.txt", "Titre\n- Le 31 février 2021\nCorps.\n")
    write(tmp_path / "sub" / "10_good.txt", ARTICLE)

    loaded, report = load(tmp_path, max_file_bytes=1000)

    assert [x.document.id for x in loaded] == [
        "01_good.txt",
        "08_ansi.txt",
        "09_bad_date.txt",
        "sub/10_good.txt",
    ]
    assert problems(report) == [
        ("02_empty.txt", None, True),
        ("03_blank.txt", None, True),
        ("04_no_title.txt", None, True),
        ("05_binary.txt", None, True),
        ("06_huge.txt", None, True),
        ("07_utf16.txt", None, True),
        ("08_ansi.txt", None, False),
        ("09_bad_date.txt", 2, False),
    ]
    reasons = {p.path: p.reason for p in report.problems}
    assert reasons["02_empty.txt"] == "empty file"
    assert reasons["03_blank.txt"] == "empty file"
    assert reasons["04_no_title.txt"] == "missing title: line 1 is a date line"
    assert reasons["05_binary.txt"] == "binary file (contains NUL bytes), not a text article"
    assert reasons["06_huge.txt"] == (
        "file is 4.9 KB, over the 1000 bytes limit for one article (SEARCHSVC_MAX_FILE_MB)"
    )
    assert reasons["07_utf16.txt"] == "UTF-16 text: convert it to UTF-8"
    assert report.damaged_files == {
        "02_empty.txt",
        "03_blank.txt",
        "04_no_title.txt",
        "05_binary.txt",
        "06_huge.txt",
        "07_utf16.txt",
    }
    assert len(report.skipped) == 6
    assert len(report.warnings) == 2
    assert report.files_read == 10
    # The huge file is not read at all.
    sizes = sum(p.stat().st_size for p in tmp_path.rglob("*.txt") if p.name != "06_huge.txt")
    assert report.bytes_read == sizes
    assert [str(p) for p in report.skipped][:2] == [
        "02_empty.txt: empty file",
        "03_blank.txt: empty file",
    ]


def test_huge_file_message_in_megabytes(tmp_path):
    write(tmp_path / "big.txt", "Titre\n" + "x" * (3 * 1048576))
    loaded, report = load(tmp_path, max_file_bytes=2 * 1048576)
    assert loaded == []
    assert [p.reason for p in report.problems] == [
        "file is 3.0 MB, over the 2.0 MB limit for one article (SEARCHSVC_MAX_FILE_MB)"
    ]


def test_file_at_the_size_limit_is_read(tmp_path):
    path = write(tmp_path / "a.txt", ARTICLE)
    size = path.stat().st_size
    [loaded], report = load(tmp_path, max_file_bytes=size)
    assert report.problems == []
    assert loaded.document.source == "AFP"
    loaded2, report2 = load(tmp_path, max_file_bytes=size - 1)
    assert loaded2 == []
    assert report2.damaged_files == {"a.txt"}


# --------------------------------------------------------------------------
# JSON Lines

PIAF = {
    "id": "piaf000-000",
    "title": "Sport",
    "body": "Les dépenses des ménages représentent plus de 50 % de ces montants.",
}
ORANGESUM = {
    "id": "2",
    "title": "Olivier Véran : 400 millions d'euros supplémentaires",
    "date": "2020-07-02",
    "body": "Cette décision a été annoncée à l'issue d'une réunion.",
    "summary": "Ignored.",
    "source": "orangesum",
    "url": "https://example.org/2",
}


def test_jsonl_documents(tmp_path):
    write(tmp_path / "docs.jsonl", jsonl(PIAF, ORANGESUM))
    loaded, report = load(tmp_path)
    assert report.problems == []
    assert [x.origin for x in loaded] == ["docs.jsonl", "docs.jsonl"]
    assert [x.document for x in loaded] == [
        Document(id="piaf000-000", title="Sport", body=PIAF["body"]),
        Document(
            id="2",
            title="Olivier Véran : 400 millions d'euros supplémentaires",
            body="Cette décision a été annoncée à l'issue d'une réunion.",
            date="2020-07-02",
            source="orangesum",
            url="https://example.org/2",
        ),
    ]


@pytest.mark.parametrize(
    ("record", "expected"),
    [
        ({"id": 7, "title": "T"}, Document(id="7", title="T", body="")),
        ({"id": " a ", "title": " T ", "body": " B "}, Document(id="a", title="T", body="B")),
        (
            {"id": "a", "title": "T", "date": "2020-07-02T10:30:00+02:00"},
            Document(id="a", title="T", body="", date="2020-07-02"),
        ),
        (
            {"id": "a", "title": "T", "date": None, "source": "", "url": None},
            Document(id="a", title="T", body=""),
        ),
        (
            {"id": "a", "title": "E\u0301te\u0301", "body": "cafe\u0301"},
            Document(id="a", title="\u00c9t\u00e9", body="caf\u00e9"),
        ),
        (
            {"id": "a", "title": "L’été « chaud »", "body": "Ligne\nsuivante"},
            Document(id="a", title="L’été « chaud »", body="Ligne\nsuivante"),
        ),
    ],
)
def test_parse_json_document(record, expected):
    assert parse_json_document(json.dumps(record).encode()) == expected
    assert parse_json_document(json.dumps(record, ensure_ascii=False)) == expected


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        (b'{"id": "a", "title": "T"', "invalid JSON: Expecting ',' delimiter at column 25"),
        (b"not json", "invalid JSON: Expecting value at column 1"),
        (b'["a", "T"]', "expected a JSON object, got list"),
        (b'{"title": "T"}', "missing 'id'"),
        (b'{"id": "a"}', "missing 'title'"),
        (b'{"id": "a", "title": "   "}', "missing 'title'"),
        (b'{"id": "a", "title": ["T"]}', "'title' must be a string, got list"),
        (b'{"id": true, "title": "T"}', "'id' must be a string, got bool"),
        (b'{"id": "a", "title": "T\\u0000"}', "'title' contains a NUL character"),
        (b'{"id": "a", "title": "\xe9t\xe9"}', "not UTF-8 (invalid byte at column 23)"),
    ],
)
def test_parse_json_document_rejects(line, reason):
    with pytest.raises(InputError) as e:
        parse_json_document(line)
    assert str(e.value) == reason


def test_jsonl_bad_lines_are_reported_with_their_line_and_the_rest_loaded(tmp_path):
    lines = [
        json.dumps({"id": "a", "title": "A"}),  # 1
        "",  # 2: blank lines are not documents and not problems
        '{"id": "b", "title": ',  # 3: invalid JSON
        json.dumps({"id": "c", "title": "C"}),  # 4
        json.dumps({"id": "a", "title": "A again"}),  # 5: duplicate
        json.dumps({"id": "d"}),  # 6: no title
        "   ",  # 7
        json.dumps({"id": "e", "title": "E", "date": "hier"}),  # 8: bad date, still loaded
        json.dumps({"id": "f", "title": "F"}),  # 9
    ]
    raw = ("\n".join(lines) + "\n").encode()
    write(tmp_path / "docs.jsonl", raw)
    loaded, report = load(tmp_path)
    assert [x.document.id for x in loaded] == ["a", "c", "e", "f"]
    assert loaded[0].document.title == "A"  # the first of a duplicate is kept
    assert loaded[2].document.date is None
    assert problems(report) == [
        ("docs.jsonl", 3, True),
        ("docs.jsonl", 5, True),
        ("docs.jsonl", 6, True),
        ("docs.jsonl", 8, False),
    ]
    assert [str(p) for p in report.problems] == [
        "docs.jsonl:3: invalid JSON: Expecting value at column 22",
        "docs.jsonl:5: duplicate id 'a' (first seen in docs.jsonl:1); skipped",
        "docs.jsonl:6: missing 'title'",
        (
            "docs.jsonl:8: 'date' must be an ISO date (YYYY-MM-DD), got 'hier'; "
            "the document is loaded without a date"
        ),
    ]
    assert report.damaged_files == {"docs.jsonl"}
    assert report.bytes_read == len(raw)


def test_jsonl_bom_and_crlf(tmp_path):
    raw = b"\xef\xbb\xbf" + jsonl(PIAF, ORANGESUM).replace("\n", "\r\n").encode()
    write(tmp_path / "docs.jsonl", raw)
    loaded, report = load(tmp_path)
    assert report.problems == []
    assert [x.document.id for x in loaded] == ["piaf000-000", "2"]
    assert loaded[1].document.url == "https://example.org/2"


def test_jsonl_not_utf8_line_is_reported(tmp_path):
    raw = jsonl({"id": "a", "title": "A"}).encode() + '{"id": "b", "title": "Été"}\n'.encode(
        "cp1252"
    )
    write(tmp_path / "docs.jsonl", raw + jsonl({"id": "c", "title": "C"}).encode())
    loaded, report = load(tmp_path)
    assert [x.document.id for x in loaded] == ["a", "c"]
    assert [str(p) for p in report.problems] == [
        "docs.jsonl:2: not UTF-8 (invalid byte at column 23)"
    ]
    assert report.damaged_files == {"docs.jsonl"}


def test_jsonl_mojibake_is_repaired_with_a_warning(tmp_path):
    title = "L’été à Noël".encode().decode("cp1252")
    write(tmp_path / "docs.jsonl", jsonl({"id": "a", "title": title, "body": "Ã‡a va"}))
    [loaded], report = load(tmp_path)
    assert loaded.document.title == "L’été à Noël"
    assert loaded.document.body == "Ça va"
    assert [str(p) for p in report.problems] == [
        "docs.jsonl:1: double-encoded UTF-8 (mojibake) repaired in 'title'",
        "docs.jsonl:1: double-encoded UTF-8 (mojibake) repaired in 'body'",
    ]
    assert report.damaged_files == set()


def test_jsonl_text_is_nfc(tmp_path):
    write(
        tmp_path / "docs.jsonl",
        jsonl({"id": "a", "title": "E\u0301te\u0301", "body": "l'e\u0301te\u0301"}),
    )
    [loaded], _ = load(tmp_path)
    assert loaded.document.title == "\u00c9t\u00e9"
    assert loaded.document.body == "l'\u00e9t\u00e9"


@pytest.mark.parametrize("content", [b"", b"\n\n", b"\xef\xbb\xbf", b"  \r\n\t\r\n"])
def test_empty_jsonl_is_reported(tmp_path, content):
    write(tmp_path / "empty.jsonl", content)
    write(tmp_path / "ok.jsonl", jsonl({"id": "a", "title": "A"}))
    loaded, report = load(tmp_path)
    assert [x.document.id for x in loaded] == ["a"]
    assert [str(p) for p in report.problems] == ["empty.jsonl: empty file: no JSON line in it"]
    assert report.damaged_files == {"empty.jsonl"}


def test_binary_jsonl_is_reported(tmp_path):
    write(tmp_path / "docs.jsonl", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00")
    loaded, report = load(tmp_path)
    assert loaded == []
    assert [(p.line, p.skipped) for p in report.problems] == [(1, True), (2, True), (3, True)]
    assert all(p.reason.startswith(("not UTF-8", "invalid JSON")) for p in report.problems)
    assert report.damaged_files == {"docs.jsonl"}


def test_jsonl_huge_line_is_skipped_and_the_next_lines_keep_their_numbers(tmp_path):
    huge = json.dumps({"id": "big", "title": "B", "body": "x" * 5000})
    raw = jsonl({"id": "a", "title": "A"}, huge, {"id": "c", "title": "C"}).encode()
    write(tmp_path / "docs.jsonl", raw)
    loaded, report = load(tmp_path, max_file_bytes=1000)
    assert [x.document.id for x in loaded] == ["a", "c"]
    assert [str(p) for p in report.problems] == [
        (
            "docs.jsonl:2: line is 4.9 KB, over the 1000 bytes limit for one document "
            "(SEARCHSVC_MAX_FILE_MB)"
        )
    ]
    assert report.damaged_files == {"docs.jsonl"}
    assert report.bytes_read == len(raw)


def test_jsonl_huge_last_line_without_newline(tmp_path):
    raw = jsonl({"id": "a", "title": "A"}).encode() + b'{"id": "z", "body": "' + b"y" * 3000
    write(tmp_path / "docs.jsonl", raw)
    loaded, report = load(tmp_path, max_file_bytes=1000)
    assert [x.document.id for x in loaded] == ["a"]
    assert [(p.line, p.skipped) for p in report.problems] == [(2, True)]
    assert report.problems[0].reason.startswith("line is 3.0 KB, over the 1000 bytes limit")


def test_jsonl_file_larger_than_the_limit_is_read_line_by_line(tmp_path):
    records = [{"id": f"d{i}", "title": f"T{i}", "body": "b" * 50} for i in range(100)]
    path = write(tmp_path / "docs.jsonl", jsonl(*records))
    assert path.stat().st_size > 1000
    loaded, report = load(tmp_path, max_file_bytes=1000)
    assert report.problems == []
    assert [x.document.id for x in loaded] == [f"d{i}" for i in range(100)]


# --------------------------------------------------------------------------
# Duplicate ids


def test_duplicate_id_across_files_keeps_the_first(tmp_path):
    write(tmp_path / "a.jsonl", jsonl({"id": "x", "title": "First"}))
    write(tmp_path / "b.jsonl", jsonl({"id": "y", "title": "Y"}, {"id": "x", "title": "Second"}))
    loaded, report = load(tmp_path)
    assert [(x.document.id, x.document.title, x.origin) for x in loaded] == [
        ("x", "First", "a.jsonl"),
        ("y", "Y", "b.jsonl"),
    ]
    assert [str(p) for p in report.problems] == [
        "b.jsonl:2: duplicate id 'x' (first seen in a.jsonl:1); skipped"
    ]
    assert report.damaged_files == {"b.jsonl"}


def test_duplicate_id_between_an_article_and_a_jsonl_record(tmp_path):
    write(tmp_path / "a.txt", ARTICLE)
    write(
        tmp_path / "docs.jsonl", jsonl({"id": "a.txt", "title": "Other"}, {"id": "b", "title": "B"})
    )
    loaded, report = load(tmp_path)
    assert [(x.document.id, x.document.title) for x in loaded] == [
        ("a.txt", "Titre de l’article"),
        ("b", "B"),
    ]
    assert [str(p) for p in report.problems] == [
        "docs.jsonl:1: duplicate id 'a.txt' (first seen in a.txt); skipped"
    ]


def test_same_article_from_two_sources_is_a_duplicate(tmp_path):
    write(tmp_path / "one" / "a.txt", ARTICLE)
    write(tmp_path / "two" / "a.txt", "Autre\nCorps.")
    loaded, report = load(tmp_path / "one", tmp_path / "two")
    assert [x.document.title for x in loaded] == ["Titre de l’article"]
    assert [(p.path, p.line, p.reason) for p in report.problems] == [
        ("a.txt", None, "duplicate id 'a.txt' (first seen in a.txt); skipped")
    ]


# --------------------------------------------------------------------------
# Small pieces


def test_problem_str_and_report_views():
    report = LoadReport()
    report.skip("a.jsonl", 3, "invalid JSON")
    report.warn("b.txt", None, "read as Windows-1252")
    assert report.problems == [
        Problem("a.jsonl", 3, "invalid JSON"),
        Problem("b.txt", None, "read as Windows-1252", skipped=False),
    ]
    assert [str(p) for p in report.skipped] == ["a.jsonl:3: invalid JSON"]
    assert [str(p) for p in report.warnings] == ["b.txt: read as Windows-1252"]
    assert report.damaged_files == {"a.jsonl"}


def test_fingerprint_follows_content():
    a = Document(id="a", title="T", body="B")
    assert a.fingerprint == Document(id="a", title="T", body="B").fingerprint
    assert len(a.fingerprint) == 24
    others = {
        Document(id="b", title="T", body="B").fingerprint,
        Document(id="a", title="T2", body="B").fingerprint,
        Document(id="a", title="T", body="B2").fingerprint,
        Document(id="a", title="T", body="B", date="2020-01-01").fingerprint,
        Document(id="a", title="T", body="B", source="AA").fingerprint,
        Document(id="a", title="T", body="B", url="u").fingerprint,
    }
    assert len(others) == 6
    assert a.fingerprint not in others


def test_loading_twice_gives_the_same_documents(tmp_path):
    write(tmp_path / "a.txt", ARTICLE)
    write(tmp_path / "sub" / "docs.jsonl", jsonl(PIAF, ORANGESUM))
    first, _ = load(tmp_path)
    second, _ = load(tmp_path)
    assert [x.document.fingerprint for x in first] == [x.document.fingerprint for x in second]
    assert len(first) == 3


def test_json_date_with_trailing_garbage_is_not_a_date():
    from searchsvc.index.jsonlines import parse_json_document

    notes: list[str] = []
    doc = parse_json_document('{"id": "1", "title": "t", "date": "2020-07-02garbage"}', notes=notes)
    assert doc.date is None and "ISO date" in notes[0]
    assert parse_json_document('{"id": "1", "title": "t", "date": "2020-07-02T10:00:00"}').date == "2020-07-02"


def test_file_names_become_nfc_ids(tmp_path):
    from searchsvc.index.documents import LoadReport
    from searchsvc.index.sources import load_documents

    (tmp_path / "e\u0301te\u0301.txt").write_text("Titre\ncorps", "utf-8")
    [loaded] = load_documents([tmp_path], LoadReport())
    assert loaded.document.id == "\u00e9t\u00e9.txt"


def test_an_unreadable_folder_is_reported(tmp_path, monkeypatch):
    import os

    from searchsvc.index.documents import LoadReport
    from searchsvc.index.sources import load_documents

    locked = tmp_path / "locked"
    locked.mkdir()
    (locked / "hidden.txt").write_text("Titre\ncorps", "utf-8")
    (tmp_path / "ok.txt").write_text("Titre\ncorps", "utf-8")
    real_scandir = os.scandir

    def scandir(path="."):  # what a folder without read permission does (root reads all)
        if os.fspath(path) == str(locked):
            raise PermissionError(13, "Permission denied", os.fspath(path))
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)
    report = LoadReport()
    assert [d.document.id for d in load_documents([tmp_path], report)] == ["ok.txt"]
    assert [str(p) for p in report.skipped] == ["locked: folder cannot be read: Permission denied"]


@pytest.mark.parametrize(
    "url, kept",
    [
        ("https://www.example.fr/a?b=1", True),
        ("HTTP://example.fr", True),
        ("/archives/2019/article.html", True),
        ("javascript:alert(1)", False),
        (" JavaScript:alert(1)", False),
        ("java\tscript:alert(1)", False),
        ("data:text/html,<script>alert(1)</script>", False),
        ("//evil.example/x", False),
        ("vbscript:msgbox", False),
        ("article.html", False),
    ],
)
def test_only_web_addresses_become_links(url, kept):
    notes: list[str] = []
    doc = parse_json_document(json.dumps({"id": "a", "title": "T", "url": url}).encode(), notes=notes)
    assert doc.url == (url.strip() if kept else None)
    assert bool(notes) is not kept
