"""Property tests (hypothesis): whatever a reader types, the analysis chain and
the search path give terms, a page of results or a clean 400, never another
exception; and typing without accents never changes what is searched.

Deterministic (``derandomize=True``, no example database), so CI runs the same
examples every time; the whole file takes a few seconds.
"""

from __future__ import annotations

import json
import unicodedata

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from searchsvc.errors import QueryError
from searchsvc.search.limits import MAX_EXPANSIONS, MAX_QUERY_CHARS, MAX_WORDS
from searchsvc.search.parsing import parse
from searchsvc.search.searching import SearchRequest, search
from searchsvc.text.analysis import WordCache, exact_analyzer, french_analyzer, index_terms, terms

from .builders import make_client, validate

FAST = settings(
    max_examples=150,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

#: Every analysis chain of the schema: ranking (title weighted or not) and exact forms.
CHAINS = {
    "ranking": french_analyzer(),
    "ranking, title weighted": french_analyzer(lead_boost=1.5),
    "exact": exact_analyzer(),
}

# --------------------------------------------------------------------------
# Strategies

#: Any character but the surrogates (which no valid UTF-8 request can carry):
#: controls and NUL, format characters (bidi marks), combining marks, emoji…
ANY_CHAR = st.characters(codec="utf-8")

#: What hostile or careless input is made of, so that short runs meet it often.
HOSTILE_PIECES = [
    "\x00", "\u200f", "\u200e", "\u202e", "\u2066", "\ufeff", "\u200b", "\u0301", "\u0308\u0327",
    "😀", "👩\u200d👩\u200d👧", "🇫🇷", "北京", "ا", "עברית", "\u2029", "\n", "\t", " ",
    "*", "?", "~", "~2", "^", "^2", ":", "(", ")", "[", "]", "{", "}", '"', "'", "’", "-", "+",
    " OR ", " AND ", " NOT ", " ANDNOT ", " ANDMAYBE ", " TO ", "title:", "exact:", "date:", "id:",
    "url:", "source:", "\\", "%", "%00", "&", "=", "<script>", "</mark>", "&amp;", "1,5", "3.5",
]  # fmt: skip

FRENCH_LOWER = "abcdefghijklmnopqrstuvwxyzàâäçéèêëîïôöùûüÿœæ"
FRENCH_LETTER = st.sampled_from(FRENCH_LOWER + FRENCH_LOWER.upper())

#: Real words where accents, elisions and stop words meet.
FRENCH_WORDS = [
    "ç'a", "Ç'aurait", "ça", "à", "où", "été", "Été", "l'été", "d'où", "qu'à", "jusqu'à", "aujourd'hui",
    "États-Unis", "cœur", "Œuvre", "ex-æquo", "Noël", "naïf", "déjà", "élève", "ÉLÈVE", "Ÿ", "L'Haÿ-les-Roses",
    "était", "même", "présidentielle", "université", "garçon", "français", "où-est-ce", "s'ils", "c'était",
    # words of the test corpus, so that searches also find something
    "coeur", "greffe", "l'OTAN", "Genève", "mercredi", "jeudi", "Hamlet", "être", "porte-monnaie", "élection",
]  # fmt: skip


@st.composite
def french_word(draw) -> str:
    """A word of French letters, possibly hyphenated or elided."""
    shape = draw(st.sampled_from(["known", "elided", "compound"]))
    if shape == "known":
        return draw(st.sampled_from(FRENCH_WORDS))
    parts = draw(st.lists(st.text(FRENCH_LETTER, min_size=1, max_size=10), min_size=1, max_size=3))
    joiners = draw(
        st.lists(st.sampled_from(["-", "'", "’"]), min_size=len(parts) - 1, max_size=len(parts) - 1)
    )
    word = parts[0]
    for joiner, part in zip(joiners, parts[1:], strict=True):
        word += joiner + part
    if shape == "elided":  # one or two letters and an apostrophe, as in l'été, qu'à
        word = (
            draw(st.text(FRENCH_LETTER, min_size=1, max_size=2))
            + draw(st.sampled_from("'’"))
            + word
        )
    return word


@st.composite
def french_text(draw) -> str:
    """Words of French letters, separated as in running text."""
    words = draw(st.lists(french_word(), min_size=1, max_size=8))
    seps = draw(
        st.lists(
            st.sampled_from([" ", ", ", ". ", " ? ", "\n", " « ", " » ", " ; "]),
            min_size=len(words),
            max_size=len(words),
        )
    )
    return "".join(w + s for w, s in zip(words, seps, strict=True))


#: Any text a reader could send, from empty to just past the length limit.
ANY_TEXT = st.one_of(
    st.lists(
        st.one_of(st.text(ANY_CHAR, max_size=12), st.sampled_from(HOSTILE_PIECES), french_word()),
        max_size=30,
    ).map("".join),
    st.text(ANY_CHAR, max_size=80),
    st.text(ANY_CHAR, min_size=MAX_QUERY_CHARS - 5, max_size=MAX_QUERY_CHARS + 5),
)


def strip_accents(text: str) -> str:
    """What a reader typing without accents produces: every combining mark
    removed after canonical decomposition (é → e, ç → c, ÿ → y). Ligatures
    (œ, æ) have no decomposition and stay: turning them into ``oe``/``ae`` is
    folding, checked by test_analysis.py's ligature table."""
    decomposed = unicodedata.normalize("NFD", text)
    return unicodedata.normalize(
        "NFC", "".join(c for c in decomposed if not unicodedata.combining(c))
    )


# --------------------------------------------------------------------------
# Fixtures: the session's shared index of the small corpus (the tests only
# read it); ``searcher`` is conftest.py's, on that index


@pytest.fixture(scope="module")
def client(shared):
    # No result cache: every example is a search really computed; no query log: none is read.
    return make_client(shared.index, query_log="off", QUERY_CACHE=0)


@pytest.fixture(scope="module")
def openapi(client):
    return client.get("/api/openapi.json").get_json()


# --------------------------------------------------------------------------
# The analysis chain


@FAST
@given(text=ANY_TEXT)
def test_any_text_gives_terms_and_the_indexer_agrees_with_the_chain(text):
    """Every chain takes any text: terms are non-empty words with offsets
    inside the (NFC) text; and the indexer's per-word shortcut
    (:func:`index_terms`) gives exactly the terms and positions the chain
    gives token by token, so index time and query time cannot drift."""
    normalized = unicodedata.normalize("NFC", text)
    for name, chain in CHAINS.items():
        tokens = [
            (t.text, t.pos, t.startchar, t.endchar) for t in chain(text, positions=True, chars=True)
        ]
        for term, _, start, end in tokens:
            assert isinstance(term, str) and term and not any(c.isspace() for c in term), name
            assert 0 <= start < end <= len(normalized), name
        expected: dict[str, list[int]] = {}
        for term, pos, _, _ in tokens:
            expected.setdefault(term, []).append(pos)
        positions, _ = index_terms(WordCache(chain), text)
        assert positions == expected, name


@settings(FAST, max_examples=500)  # cheap: no index
@given(text=french_text())
def test_stripping_accents_never_changes_the_terms(text):
    """Domain: text made of French words (the 26 letters, à â ä ç é è ê ë î ï
    ô ö ù û ü ÿ œ æ in either case, joined by hyphens or apostrophes) and
    ordinary punctuation. There, removing the combining marks (:func:`strip_accents`)
    gives the same terms in every chain.

    Every accented French letter has a precomposed form, so after NFC the
    chain sees one letter, folds it, and only then drops stop words, removes
    elisions (``ç'a`` is ``c'a``) and stems. Outside that domain the property
    does not hold: a combining mark with no precomposed letter (``n̈``,
    Devanagari's virama) is not a word character, so the chain cuts the word
    there (``spin̈al`` → ``spin``, ``al``) while the bare text stays whole."""
    bare = strip_accents(text)
    for name, chain in CHAINS.items():
        assert terms(text, chain) == terms(bare, chain), name
        assert terms(text.upper(), chain) == terms(text, chain), name


@FAST
@given(text=french_text())
def test_a_query_typed_without_accents_is_the_same_query(searcher, text):
    """Same domain as above, through the whole query parser: typo forgiveness,
    stop words and question words included."""
    try:
        accented = parse(text, searcher.schema, searcher.reader())
    except QueryError:
        with pytest.raises(QueryError):
            parse(strip_accents(text), searcher.schema, searcher.reader())
        return
    bare = parse(strip_accents(text), searcher.schema, searcher.reader())
    assert bare.query == accented.query
    assert bare.bonus == accented.bonus


# --------------------------------------------------------------------------
# The search path


#: Leaf terms a parsed query may hold: every word expanded to the most
#: expansions, plus the word's exact-form bonus.
MAX_QUERY_TERMS = MAX_WORDS * (MAX_EXPANSIONS + 1)


@FAST
@given(text=ANY_TEXT)
def test_any_query_gives_a_page_or_a_clean_query_error(searcher, text):
    """The function every view calls: a page of hits, or a :class:`QueryError`
    that names ``q`` (empty, or too long); and the query it runs is bounded."""
    try:
        page = search(searcher, SearchRequest(q=text))
    except QueryError as e:
        assert e.status == 400 and e.message.startswith(("q is empty", "q is too long")), e.message
        if "too long" in e.message:  # as typed, or once NFC-normalised (a few characters decompose)
            assert max(len(text), len(unicodedata.normalize("NFC", text))) > MAX_QUERY_CHARS
        return
    assert page.total >= 0 and len(page.hits) <= page.per_page
    assert len(page.query) <= MAX_QUERY_CHARS
    json.dumps(page.to_dict())  # the JSON endpoint can send it
    parsed = parse(text, searcher.schema, searcher.reader())
    assert len(list(parsed.query.leaves())) <= MAX_QUERY_TERMS


# --------------------------------------------------------------------------
# The JSON endpoint and the page

#: Each parameter's valid values, then odd ones (any text is added to those).
PARAMS = {
    "q": (["coeur", "etats-unis", "greffe OR genève", "hamlet*"], ["", " ", "*", "?"]),
    "page": (["1", "2", "3"], ["0", "-1", "1e3", "١", "²", " 3 ", "101", "999999", "1000000"]),
    "per_page": (["1", "10", "100"], ["0", "101", "+5", "007", "٣"]),
    "sort": (["relevance", "date"], ["DATE", "random", "relevance,date"]),
    "source": (["AFP", "AA", "Théâtre", "Le Monde"], ["afp", "%", "*"]),
    "from": (
        ["2000-01-01", "2021-03-03"],
        ["2021-02-30", "20210303", "2021-03-03T10:00", "+2021-03-03"],
    ),
    "to": (["2030-12-31", "2021-03-03"], ["1999-12-31", "2021-13-01", "٢٠٢١-٠٣-٠٣"]),
}


@st.composite
def search_params(draw) -> dict[str, str]:
    """Query parameters: ``q`` any text; the others absent or valid, or one of
    them (or all) odd: so that both pages of hits and every 400 are reached."""
    odd = draw(st.sampled_from(["none", "one", "all"]))
    odd_one = draw(st.sampled_from(sorted(PARAMS)))
    args = {}
    for name, (valid, weird) in PARAMS.items():
        if odd == "all" or (odd == "one" and name == odd_one):
            value = draw(
                st.one_of(
                    st.none(), st.sampled_from(weird), st.text(ANY_CHAR, max_size=30), ANY_TEXT
                )
            )
        elif name == "q":
            value = draw(st.one_of(ANY_TEXT, french_text(), st.sampled_from(valid)))
        else:
            value = draw(st.one_of(st.none(), st.sampled_from(valid)))
        if value is not None:
            args[name] = value
    return args


@FAST
@given(args=search_params())
def test_any_parameters_give_200_or_400_in_the_documented_shape(client, openapi, args):
    response = client.get("/api/search", query_string=args)
    assert response.status_code in (200, 400), (args, response.status_code)
    assert response.mimetype == "application/json"
    body = response.get_json()
    validate(openapi, "/api/search", response.status_code, body)
    if response.status_code == 400:
        assert body["error"]["code"] == "bad_request"
        assert any(name in body["error"]["message"] for name in PARAMS), body


@settings(FAST, max_examples=60)
@given(args=search_params())
def test_any_parameters_give_the_page_or_a_400_page(client, args):
    response = client.get("/", query_string=args)
    assert response.status_code in (200, 400), (args, response.status_code)
    assert response.mimetype == "text/html"


#: Raw query strings: invalid percent-encoding, stray separators, bytes that
#: are not UTF-8 once decoded.
RAW_QUERY = st.text(st.sampled_from("q=&%;+#?/ 0123456789abcdefABCDEFZz%%%%%==&&"), max_size=60)


@settings(FAST, max_examples=80)
@given(raw=RAW_QUERY)
def test_any_raw_query_string_gives_200_or_400(client, openapi, raw):
    response = client.get(f"/api/search?{raw}")
    assert response.status_code in (200, 400), (raw, response.status_code)
    validate(openapi, "/api/search", response.status_code, response.get_json())
    assert client.get(f"/?{raw}").status_code in (200, 400), raw
