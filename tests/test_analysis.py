"""The French analysis chain: each behaviour the index and the queries rely on."""

import pickle
import unicodedata
from pathlib import Path

import pytest

from searchsvc.text.analysis import (
    STOP_WORDS,
    TOKEN_PATTERN,
    exact_analyzer,
    french_analyzer,
    terms,
)
from searchsvc.text.schema import TITLE_WEIGHT, build_schema

VOCABULARY = Path(__file__).parent / "data" / "snowball_french" / "voc.txt"


def exact(text):
    return terms(text, exact_analyzer())


def strip_accents(word: str) -> str:
    """What a reader types without accents. Written independently of the
    chain's own folding, so the test checks it rather than repeats it."""
    word = word.replace("œ", "oe").replace("æ", "ae").replace("Œ", "OE").replace("Æ", "AE")
    decomposed = unicodedata.normalize("NFD", word)
    return "".join(c for c in decomposed if unicodedata.category(c) != "Mn")


def test_every_snowball_word_gives_the_same_terms_with_and_without_accents():
    words = VOCABULARY.read_text("utf-8").split()
    assert len(words) == 21655
    accented = [w for w in words if strip_accents(w) != w]
    assert len(accented) > 3000  # the check below is not vacuous
    ranking, exact_chain = french_analyzer(), exact_analyzer()
    mismatches = [
        w
        for w in accented
        if terms(w, ranking) != terms(strip_accents(w), ranking)
        or terms(w, exact_chain) != terms(strip_accents(w), exact_chain)
        or terms(w.upper(), ranking) != terms(w, ranking)
    ]
    assert mismatches == []


def test_fold_then_stem_keeps_universite_together():
    assert terms("université") == terms("universite") == terms("UNIVERSITÉ") == ["universit"]


@pytest.mark.parametrize(
    "prefix", ["l", "d", "j", "m", "n", "s", "t", "c", "qu", "jusqu", "lorsqu", "puisqu", "quoiqu", "presqu"]
)
@pytest.mark.parametrize("apostrophe", ["'", "\u2019"])
def test_elisions_are_removed_in_any_case(prefix, apostrophe):
    word = "ordinateur"
    expected = terms(word)
    assert terms(f"{prefix}{apostrophe}{word}") == expected
    assert terms(f"{prefix.upper()}{apostrophe}{word}") == expected
    assert terms(f"{prefix.capitalize()}{apostrophe}{word.capitalize()}") == expected


@pytest.mark.parametrize("query", ["l'otan", "L'OTAN", "l’Otan", "otan"])
def test_elided_article_does_not_hide_the_word(query):
    assert terms(query) == ["otan"]


@pytest.mark.parametrize("typed", ["aujourd'hui", "aujourd’hui", "aujourdhui", "Aujourd'hui"])
def test_aujourdhui_is_one_searchable_word(typed):
    assert terms(typed) == ["aujourdhui"]
    assert exact(typed) == ["aujourdhui"]


@pytest.mark.parametrize(
    "written, typed",
    [
        ("cœur", "coeur"),
        ("Œuvre", "oeuvre"),
        ("ex æquo", "ex aequo"),
        ("ÉCOLE", "ecole"),
        ("À ÉTÉ ÇA", "a ete ca"),
        ("Ça", "ca"),
        ("e\u0301le\u0300ve", "élève"),  # decomposed é and è (NFD) = composed
    ],
)
def test_ligatures_capitals_and_decomposed_accents(written, typed):
    assert terms(written) == terms(typed)
    assert exact(written) == exact(typed)


@pytest.mark.parametrize(
    "compound, variants, part",
    [
        ("États-Unis", ["etats-unis", "etats unis", "Etats-Unis", "ÉTATS-UNIS"], "unis"),
        ("porte-monnaie", ["porte monnaie", "Porte-Monnaie"], "monnaie"),
        ("américano-russe", ["americano-russe", "americano russe"], "russe"),
    ],
)
def test_hyphenated_compounds_give_their_parts(compound, variants, part):
    for variant in variants:
        assert terms(variant) == terms(compound)
    assert set(terms(part)) <= set(terms(compound))


def test_glued_sentences_are_split():
    assert exact("dans la nuit de mercredi à jeudi.Le gouvernement") == [
        "dans", "la", "nuit", "de", "mercredi", "a", "jeudi", "le", "gouvernement",
    ]  # fmt: skip
    assert terms("action.Lundi") == terms("action Lundi")


@pytest.mark.parametrize(
    "text, expected",
    [
        ("une hausse de 14,2 %", ["hauss", "14,2"]),
        ("la version 3.5", ["version", "3.5"]),
        ("le COVID-19", ["covid", "19"]),
        ("le G7 de 2024", ["g7", "2024"]),
        ("en 2020.Le virus", ["2020", "virus"]),
    ],
)
def test_numbers_stay_searchable(text, expected):
    assert terms(text) == expected


@pytest.mark.parametrize(
    "word", ["les", "ils", "cette", "sans", "où", "ou", "à", "a", "était", "etait", "Étaient", "qu", "jusqu"]
)
def test_stop_words_are_dropped_accented_or_bare(word):
    assert terms(word) == []
    assert exact(word) == [exact(word)[0]]  # the exact field keeps them


def test_stop_list_holds_both_forms():
    for accented, bare in [("à", "a"), ("où", "ou"), ("était", "etait"), ("même", "meme")]:
        assert accented in STOP_WORDS and bare in STOP_WORDS


def test_homonyms_that_are_content_words_are_kept():
    # "est" (east), "été" (summer): dropped by Snowball's list, kept by ours.
    assert terms("l'est") == ["est"]
    assert terms("cet été") == terms("cet ete") != []


@pytest.mark.parametrize(
    "forms",
    [
        ["élection", "élections", "election"],
        ["président", "présidente", "présidents", "presidentes"],
        ["économique", "économiques", "economique"],
    ],
)
def test_singular_plural_masculine_feminine_meet(forms):
    assert len({tuple(terms(f)) for f in forms}) == 1


def test_question_keeps_its_content_words():
    assert terms("Qui a influencé la fête de Noel au Canada ?") == ["influenc", "fet", "noel", "canad"]


def test_exact_chain_keeps_elided_words_for_phrases():
    assert exact("jusqu'à") == exact("jusqu'a") == ["jusqu", "a"]
    assert exact("être ou ne pas être") == ["etre", "ou", "ne", "pas", "etre"]


def test_offsets_point_at_the_words_in_the_original_text():
    text = "Selon l’État-providence, aujourd'hui."
    tokens = [(t.text, text[t.startchar : t.endchar]) for t in french_analyzer()(text, chars=True)]
    assert tokens == [
        ("selon", "Selon"),
        ("etat", "État"),
        ("provident", "providence"),
        ("aujourdhui", "aujourd'hui"),
    ]


def test_positions_are_consecutive_without_stop_words():
    positions = [t.pos for t in french_analyzer()("la nuit de mercredi à jeudi", positions=True)]
    assert len(positions) == 3
    assert [b - a for a, b in zip(positions, positions[1:], strict=False)] == [1, 1]


def test_highlighting_mode_keeps_stop_words_marked():
    tokens = [(t.text, t.stopped) for t in french_analyzer()("les élections", removestops=False)]
    assert tokens == [("les", True), ("elect", False)]


def test_analyzers_pickle_into_the_schema_and_compare_equal():
    schema = build_schema()
    restored = pickle.loads(pickle.dumps(schema))
    assert restored["title"].analyzer == french_analyzer()
    assert restored["text"].analyzer == french_analyzer(lead_boost=TITLE_WEIGHT)
    assert restored["text"].analyzer != french_analyzer()
    assert restored["exact"].analyzer == exact_analyzer(lead_boost=TITLE_WEIGHT)
    assert restored["text"].analyzer != restored["exact"].analyzer
    assert french_analyzer(["France"]) != french_analyzer()


def test_title_words_weigh_more_in_the_combined_field():
    tokens = [(t.text, t.boost) for t in french_analyzer(lead_boost=1.5)("Le Président\u2029le président")]
    assert tokens == [("president", 1.5), ("president", 1.0)]
    assert [t.boost for t in french_analyzer()("Le Président\u2029le président")] == [1.0, 1.0]


def test_protected_words_are_not_stemmed():
    assert terms("France", french_analyzer(["france"])) == ["france"]
    assert terms("francs", french_analyzer(["france"])) == ["franc"]


def test_any_text_gives_terms_without_error():
    weird = "\x00\u200f\u202e😀 <script>alert(1)</script> ''' --- \u0301 ٣ 北京 ñ ø ł"
    assert all(isinstance(t, str) and t for t in terms(weird))
    assert terms("") == []


@pytest.mark.parametrize("joined", ["États-Unis", "aujourd'hui", "COVID-19", "l’OTAN"])
def test_joined_words_are_one_token(joined):
    assert TOKEN_PATTERN.findall(f"les {joined} ici") == ["les", joined, "ici"]


@pytest.mark.parametrize("between", ["\u2009", "\u00b7", "\u00d7", "\u2002", "\u00b4\u00b4"])
def test_only_apostrophes_and_hyphens_join_words(between):
    """A thin space, a middle dot or a multiplication sign separates words
    (the joiners' character class once ran from ´ to ‐ and took them all)."""
    assert TOKEN_PATTERN.findall(f"bonjour{between}monde") == ["bonjour", "monde"]
