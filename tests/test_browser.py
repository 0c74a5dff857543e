"""The search page in a real browser: headless Chromium driven by Selenium.

The app runs on loopback in a thread over a small index of its own (below: a
few dozen short articles from four sources over six years). One browser serves
the whole module; JavaScript is switched off (through the DevTools protocol)
for the tests that check the page without it.

Needs Debian's ``chromium`` and ``chromium-driver`` (``.ci/run`` installs
them). Without them these tests are skipped, unless SEARCHSVC_REQUIRE_BROWSER=1,
as in CI, where they fail instead.
"""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Iterator
from urllib.parse import parse_qs, quote, urlsplit

import pytest

from .builders import index_documents, make_app

REQUIRED = os.environ.get("SEARCHSVC_REQUIRE_BROWSER") == "1"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")

try:
    from selenium import webdriver
    from selenium.common.exceptions import NoAlertPresentException
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import WebDriverWait
except ImportError:  # pragma: no cover - the test extra installs it
    webdriver = None

PWNED = "window.__pwned"

# (id, date, source, title, body): short articles written for these tests.
ARTICLES = [
    ("pres-2022-t1", "2022-04-10", "AFP", "La présidentielle de 2022 : le premier tour",
     "Les électeurs votent pour le premier tour de l'élection présidentielle. La participation est en baisse."),
    ("pres-2022-t2", "2022-04-24", "Le Courrier du Sud", "Second tour de l'élection présidentielle",
     "Le président sortant affronte sa rivale au second tour de l'élection, comme il y a cinq ans."),
    ("europeennes-2019", "2019-05-26", "Radio Lyon", "Élections européennes : forte participation à Lyon",
     "Les élections européennes ont mobilisé les électeurs lyonnais, surtout dans les quartiers étudiants."),
    ("municipales-2020-t1", "2020-03-15", "La Gazette de l'Est", "Municipales : une élection sous le signe de l'épidémie",
     "Le premier tour des municipales s'est tenu malgré l'épidémie ; les assesseurs portaient des masques."),
    ("municipales-2020-t2", "2020-06-28", "AFP", "Second tour des municipales",
     "L'élection des maires s'est déroulée dans des bureaux de vote aménagés, avec du gel à l'entrée."),
    ("regionales-2021", "2021-06-20", "Radio Lyon", "Élections régionales : une abstention record",
     "Deux électeurs sur trois ne se sont pas déplacés pour ces élections régionales."),
    ("regionales-2021-t2", "2021-06-27", "Le Courrier du Sud", "Régionales : les présidents de région réélus",
     "Tous les présidents sortants ont été réélus lors de cette élection sans surprise."),
    ("legislatives-2022", "2022-06-19", "La Gazette de l'Est", "Législatives : la nouvelle Assemblée",
     "Après l'élection présidentielle, les législatives ne donnent qu'une majorité relative."),
    ("universite-2023", "2023-03-02", "AFP", "L'élection du président de l'université",
     "Le conseil d'administration de l'université de Lyon a élu sa nouvelle présidente."),
    ("europeennes-2024", "2024-06-09", "Radio Lyon", "Européennes 2024 : les résultats à Lyon",
     "Les résultats de l'élection européenne à Lyon confirment la poussée des listes écologistes."),
    ("legislatives-2024", "2024-07-07", "AFP", "Législatives anticipées : le second tour",
     "Une élection législative anticipée, convoquée après la dissolution, a fait monter la participation."),
    ("americaine-2024", "2024-11-06", "La Gazette de l'Est", "Élection américaine : les résultats",
     "Les États-Unis ont élu leur président au terme d'une campagne très serrée."),
    ("jeunes-2023", "2023-10-12", "Le Courrier du Sud", "Élection du conseil municipal des jeunes",
     "Les collégiens ont voté pour élire leurs représentants au conseil municipal des jeunes."),
    ("americaine-2019", "2019-11-20", "AFP", "La présidentielle américaine se prépare",
     "Les candidats à l'élection présidentielle de 2020 aux États-Unis multiplient les meetings."),
    ("rentree-2019", "2019-09-02", "Radio Lyon", "La rentrée à l'université de Lyon",
     "Les étudiants de l'université reprennent les cours dans des amphithéâtres rénovés."),
    ("meteo-2020", "2020-01-15", "AFP", "Prévisions météo : de la pluie sur la Bretagne",
     "Des pluies abondantes sont prévues sur la Bretagne et la Normandie jusqu'à dimanche."),
    ("presse-2021", "2021-02-03", "La Gazette de l'Est", "La presse régionale face au numérique",
     "Les journaux de la presse régionale misent sur les abonnements en ligne."),
    ("canicule-2022", "2022-08-14", "Le Courrier du Sud", "Canicule : les hôpitaux en alerte",
     "Les urgences des hôpitaux du Sud reçoivent des personnes âgées déshydratées."),
    ("theatre-2023", "2023-05-20", "Radio Lyon", "Festival de théâtre sur les pentes de la Croix-Rousse",
     "Les troupes jouent en plein air pendant une semaine ; l'entrée est libre."),
    ("retraites-2024", "2024-02-10", "AFP", "Retraites : la réforme votée",
     "Le Parlement a adopté la réforme des retraites après des semaines de débats."),
    ("tour-2019", "2019-07-14", "Le Courrier du Sud", "Le Tour de France passe par Toulouse",
     "Les coureurs du Tour de France ont traversé la ville rose sous une chaleur écrasante."),
    ("coeur-2020", "2020-11-05", "Radio Lyon", "Une greffe du cœur réussie à Lyon",
     "Les chirurgiens de l'hôpital ont greffé un cœur artificiel, une première en France."),
    ("pain-2021", "2021-09-30", "AFP", "Le prix du pain augmente",
     "Les boulangers répercutent la hausse du prix de la farine et de l'énergie."),
    ("noel-2022", "2022-12-18", "La Gazette de l'Est", "Le marché de Noël de Strasbourg",
     "Le plus ancien marché de Noël de France attire des visiteurs venus de toute l'Europe."),
    ("incendies-2023", "2023-07-01", "Le Courrier du Sud", "Incendies de forêt dans les Landes",
     "Les pompiers luttent contre plusieurs feux de forêt attisés par le vent."),
    ("femmes-2024", "2024-03-08", "Radio Lyon", "Journée des droits des femmes : une présidente témoigne",
     "La présidente d'une association lyonnaise raconte vingt ans de combat pour l'égalité."),
    ("rugby-2023", "2023-01-20", "AFP", "Le président de la fédération de rugby démissionne",
     "Mis en cause par un rapport, le président de la fédération quitte ses fonctions."),
    ("pret-2021", "2021-12-01", "Le Courrier du Sud", "Le prêt étudiant à taux zéro",
     "Les banques proposent un prêt étudiant sans intérêts garanti par l'État."),
    ("ecoles-2020", "2020-09-10", "La Gazette de l'Est", "Première rentrée masquée dans les écoles",
     "Les élèves de plus de onze ans portent le masque en classe."),
    # A document holding markup: what it says must reach the page as text.
    ("piege", "2024-01-01", "Courrier des lecteurs",
     "Piège <script>window.__pwned=1;alert('titre')</script> au fromage",
     "Un fromage <img src=x onerror=\"window.__pwned=1;alert('corps')\"> affiné, "
     "</p><script>window.__pwned=1</script> et du comté."),
]  # fmt: skip

ELECTION_TOTAL = 14  # the articles above holding « élection(s) »


def documents() -> list[dict]:
    return [
        {"id": doc_id, "date": day, "source": source, "title": title, "body": body}
        for doc_id, day, source, title, body in ARTICLES
    ]


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[str]:
    """The app over its own index, served on a free loopback port."""
    from werkzeug.serving import make_server

    root = tmp_path_factory.mktemp("browser")
    app = make_app(index_documents(root, documents()), query_log="off")  # no test reads the log
    httpd = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_port}"
    httpd.shutdown()
    thread.join(5)


def _unavailable(reason: str):
    if REQUIRED:
        pytest.fail(f"{reason} (SEARCHSVC_REQUIRE_BROWSER=1)", pytrace=False)
    pytest.skip(f"{reason}: install Debian's chromium and chromium-driver to run the browser tests")


@pytest.fixture(scope="module")
def browser():
    if webdriver is None:
        _unavailable("selenium is not installed")
    if not CHROMIUM or not CHROMEDRIVER:
        _unavailable("chromium or chromedriver not found on PATH")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-dev-shm-usage",
        "--disable-gpu",
        "--window-size=1280,900",
        "--lang=fr-FR",
        "--disable-extensions",
    ):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    # Leave any alert open so that a test sees it instead of the driver dismissing it.
    options.set_capability("unhandledPromptBehavior", "ignore")
    # An explicit driver path: Selenium Manager never looks anything up or downloads.
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(20)
    yield driver
    driver.quit()


@pytest.fixture
def page(browser, server):
    """The browser with JavaScript on, at desktop size, and a helper to open a path."""
    browser.execute_cdp_cmd("Emulation.setScriptExecutionDisabled", {"value": False})

    def open_path(path: str):
        browser.get(server + path)
        return browser

    browser.open = open_path
    yield browser
    _assert_no_alert(browser)
    assert browser.execute_script(f"return typeof {PWNED}") == "undefined"


# --- helpers -----------------------------------------------------------------


def wait(browser, condition, timeout: float = 8):
    return WebDriverWait(browser, timeout, poll_frequency=0.05).until(lambda _: condition())


def params(browser) -> dict[str, list[str]]:
    return parse_qs(urlsplit(browser.current_url).query)


def wait_for_url(browser, test) -> dict[str, list[str]]:
    wait(
        browser,
        lambda: (
            browser.execute_script("return document.readyState") == "complete"
            and test(params(browser))
        ),
    )
    return params(browser)


def hit_titles(browser) -> list[str]:
    return [h.text for h in browser.find_elements(By.CSS_SELECTOR, ".hits .hit h2")]


def hit_meta(browser) -> list[tuple[str, str]]:
    """(date, source) of each hit on the page."""
    return [
        (
            next(iter(m.find_elements(By.TAG_NAME, "time")), None)
            and m.find_element(By.TAG_NAME, "time").text,
            next(iter(m.find_elements(By.CLASS_NAME, "source")), None)
            and m.find_element(By.CLASS_NAME, "source").text,
        )
        for m in browser.find_elements(By.CSS_SELECTOR, ".hits .hit .meta")
    ]


def total(browser) -> int:
    count = browser.find_element(By.CSS_SELECTOR, ".count").text
    return int(count.split(" résultat")[0].replace("\u202f", "").replace(" ", ""))


def chips(browser) -> dict:
    """The active filters' remove links, by what they show ("Source : AFP")."""
    return {
        " ".join(c.get_attribute("textContent").split())
        .removeprefix("Retirer le filtre ")
        .removesuffix(" ×"): c
        for c in browser.find_elements(By.CSS_SELECTOR, ".chips a.chip")
    }


def facet(browser, key: str, value: str):
    """The facet link for ``value`` in the ``key`` group (source, year)."""
    for link in browser.find_elements(By.CSS_SELECTOR, f"[aria-labelledby=facette-{key}] a.facet"):
        if link.find_element(By.CLASS_NAME, "label").text == value:
            return link
    raise AssertionError(f"no facet {key}={value!r}")


def facet_count(link) -> int:
    return int(link.find_element(By.CLASS_NAME, "n").text.split()[0])


def options(browser):
    return browser.find_elements(By.CSS_SELECTOR, "#q-suggestions [role=option]")


def type_and_wait_for_suggestions(browser, text: str):
    box = browser.find_element(By.ID, "q")
    box.clear()
    box.send_keys(text)
    wait(browser, lambda: box.get_attribute("aria-expanded") == "true" and options(browser))
    return box


def _assert_no_alert(browser) -> None:
    try:
        alert = browser.switch_to.alert
    except NoAlertPresentException:
        return
    text = alert.text
    alert.dismiss()
    raise AssertionError(f"an alert opened: {text!r}")


# --- suggestions -------------------------------------------------------------


def test_suggestions_appear_as_you_type_as_an_aria_combobox(page):
    page.open("/")
    box = type_and_wait_for_suggestions(page, "pre")
    listbox = page.find_element(By.ID, box.get_attribute("aria-controls"))
    assert box.get_attribute("role") == "combobox"
    assert box.get_attribute("aria-autocomplete") == "list"
    assert listbox.get_attribute("role") == "listbox" and listbox.is_displayed()
    texts = [o.text for o in options(page)]
    assert "présidentielle" in texts  # the word completed, accents restored
    assert any("Article" in t and "présidentielle" in t.lower() for t in texts)  # a title
    assert all(o.get_attribute("aria-selected") == "false" for o in options(page))
    # Escape closes the list and keeps what was typed.
    box.send_keys(Keys.ESCAPE)
    wait(page, lambda: box.get_attribute("aria-expanded") == "false" and not listbox.is_displayed())
    assert box.get_attribute("value") == "pre"


def test_pick_a_suggestion_with_the_keyboard(page):
    page.open("/")
    box = type_and_wait_for_suggestions(page, "pre")
    box.send_keys(Keys.ARROW_DOWN)
    first = options(page)[0]
    assert box.get_attribute("aria-activedescendant") == first.get_attribute("id")
    assert first.get_attribute("aria-selected") == "true"
    box.send_keys(Keys.ARROW_DOWN, Keys.ARROW_UP)  # down and back up again
    assert box.get_attribute("aria-activedescendant") == first.get_attribute("id")
    assert [o.get_attribute("aria-selected") for o in options(page)].count("true") == 1
    chosen = first.text
    assert not first.find_elements(By.CLASS_NAME, "kind")  # words come before titles
    box.send_keys(Keys.ENTER)
    got = wait_for_url(page, lambda p: "q" in p)
    assert got["q"] == [chosen]
    assert total(page) > 0
    assert page.find_element(By.ID, "q").get_attribute("value") == got["q"][0]


def test_pick_a_title_suggestion_with_the_mouse(page):
    page.open("/?q=election&source=AFP")
    type_and_wait_for_suggestions(page, "univ")
    titles = [o for o in options(page) if o.find_elements(By.CLASS_NAME, "kind")]
    assert titles, [o.text for o in options(page)]
    title = titles[0].text.removeprefix("Article").strip()
    titles[0].click()
    got = wait_for_url(page, lambda p: p.get("q", [""])[0].startswith('"'))
    assert got["q"] == [f'"{title}"']
    assert "source" in got  # the filters of the page are kept
    assert hit_titles(page)[0] == title
    assert page.find_element(By.ID, "q").get_attribute("aria-expanded") == "false"


def test_a_word_suggestion_clicked_fills_the_box_and_searches(page):
    page.open("/")
    type_and_wait_for_suggestions(page, "univ")
    words = [o for o in options(page) if not o.find_elements(By.CLASS_NAME, "kind")]
    assert words
    chosen = words[0].text
    words[0].click()
    got = wait_for_url(page, lambda p: "q" in p)
    assert got["q"] == [chosen] and chosen.startswith("univ")
    assert total(page) > 0


# --- facets, sort, pages, did you mean, history ---------------------------------


def test_facets_apply_combine_and_remove(page):
    page.open("/?q=election")
    assert total(page) == ELECTION_TOTAL
    afp = facet(page, "source", "AFP")
    expected = facet_count(afp)
    afp.click()
    got = wait_for_url(page, lambda p: p.get("source") == ["AFP"])
    assert total(page) == expected
    assert {source for _, source in hit_meta(page)} == {"AFP"}
    assert facet(page, "source", "AFP").get_attribute("aria-current") == "true"
    # A second source: either of them (the counts are disjunctive).
    radio = facet(page, "source", "Radio Lyon")
    expected += facet_count(radio)
    radio.click()
    wait_for_url(page, lambda p: sorted(p.get("source", [])) == ["AFP", "Radio Lyon"])
    assert total(page) == expected
    # And a year: sources AND year.
    year = facet(page, "year", "2024")
    expected = facet_count(year)
    year.click()
    got = wait_for_url(page, lambda p: p.get("year") == ["2024"])
    assert sorted(got["source"]) == ["AFP", "Radio Lyon"]
    assert total(page) == expected > 0
    assert all(
        day.startswith("2024") and source in ("AFP", "Radio Lyon") for day, source in hit_meta(page)
    )
    # Remove one with its chip.
    assert set(chips(page)) == {"Source : AFP", "Source : Radio Lyon", "Année : 2024"}
    chips(page)["Source : AFP"].click()
    got = wait_for_url(page, lambda p: p.get("source") == ["Radio Lyon"])
    assert got["year"] == ["2024"]
    assert all(source == "Radio Lyon" for _, source in hit_meta(page))
    page.find_element(By.CSS_SELECTOR, ".chips a.clear").click()
    got = wait_for_url(page, lambda p: "source" not in p and "year" not in p)
    assert got["q"] == ["election"] and total(page) == ELECTION_TOTAL


def test_a_new_query_keeps_the_filters(page):
    page.open("/?q=election&source=AFP&sort=date")
    box = page.find_element(By.ID, "q")
    box.clear()
    box.send_keys("président", Keys.ENTER)
    got = wait_for_url(page, lambda p: p.get("q") == ["président"])
    assert got["source"] == ["AFP"] and got["sort"] == ["date"]
    assert "from" not in got and "to" not in got  # empty fields stay out of the URL


def test_page_through(page):
    page.open("/?q=election&per_page=5")
    first = hit_titles(page)
    assert len(first) == 5
    assert page.find_element(By.CSS_SELECTOR, ".pages p").text == "Page 1 sur 3"
    page.find_element(By.CSS_SELECTOR, ".pages a[rel=next]").click()
    wait_for_url(page, lambda p: p.get("page") == ["2"])
    second = hit_titles(page)
    assert len(second) == 5 and not set(first) & set(second)
    assert page.find_element(By.CSS_SELECTOR, ".hits").get_attribute("start") == "6"
    page.find_element(By.CSS_SELECTOR, ".pages a[aria-label='Page 3']").click()
    wait_for_url(page, lambda p: p.get("page") == ["3"])
    assert len(hit_titles(page)) == ELECTION_TOTAL - 10
    assert not page.find_elements(By.CSS_SELECTOR, ".pages a[rel=next]")
    page.find_element(By.CSS_SELECTOR, ".pages a[rel=prev]").click()
    got = wait_for_url(page, lambda p: p.get("page") == ["2"])
    assert got["per_page"] == ["5"] and hit_titles(page) == second


def test_sort_by_date(page):
    page.open("/?q=election")
    page.find_element(By.LINK_TEXT, "date").click()
    wait_for_url(page, lambda p: p.get("sort") == ["date"])
    days = [day for day, _ in hit_meta(page)]
    assert days == sorted(days, reverse=True) and len(days) == 10
    assert page.find_element(By.CSS_SELECTOR, ".sort [aria-current]").text == "date"
    page.find_element(By.LINK_TEXT, "pertinence").click()
    wait_for_url(page, lambda p: "sort" not in p)


def test_follow_the_did_you_mean_link(page):
    page.open("/?q=presidentiele")
    link = page.find_element(By.CSS_SELECTOR, ".suggestion a")
    assert link.text == "présidentielle"
    link.click()
    wait_for_url(page, lambda p: p.get("q") == ["présidentielle"])
    assert total(page) > 0
    assert "présidentielle" in [
        m.text.lower() for m in page.find_elements(By.CSS_SELECTOR, ".hits mark")
    ]


def test_the_back_button_restores_the_previous_results(page):
    page.open("/?q=election&source=AFP")
    before = hit_titles(page)
    box = page.find_element(By.ID, "q")
    box.clear()
    box.send_keys("pluie", Keys.ENTER)
    wait_for_url(page, lambda p: p.get("q") == ["pluie"])
    assert hit_titles(page) != before
    page.back()
    wait_for_url(page, lambda p: p.get("q") == ["election"])
    assert hit_titles(page) == before
    assert page.find_element(By.ID, "q").get_attribute("value") == "election"
    assert page.find_element(By.ID, "q").get_attribute("aria-expanded") == "false"
    page.forward()
    wait_for_url(page, lambda p: p.get("q") == ["pluie"])


# --- nothing runs that a reader or a document wrote -------------------------------


def test_a_query_holding_script_runs_nothing(page):
    payload = "<script>window.__pwned=1;alert(1)</script>"
    page.open("/")
    box = page.find_element(By.ID, "q")
    box.send_keys(payload, Keys.ENTER)
    wait_for_url(page, lambda p: p.get("q") == [payload])
    _assert_no_alert(page)
    assert page.execute_script(f"return typeof {PWNED}") == "undefined"
    assert page.find_element(By.ID, "q").get_attribute("value") == payload
    # Everywhere the page repeats a parameter: the box, a filter chip, the title.
    attack = '"><img src=x onerror="window.__pwned=1;alert(2)">'
    page.open("/?q=" + quote(attack) + "&source=" + quote(payload) + "&from=2020-01-01")
    _assert_no_alert(page)
    assert page.execute_script(f"return typeof {PWNED}") == "undefined"
    assert set(chips(page)) == {f"Source : {payload}", "Depuis le 2020-01-01"}
    assert not page.find_elements(By.CSS_SELECTOR, "main img, main script")


def test_a_document_holding_script_runs_nothing(page):
    page.open("/?q=fromage")
    _assert_no_alert(page)
    assert page.execute_script(f"return typeof {PWNED}") == "undefined"
    assert "<script>" in hit_titles(page)[0]  # shown as text
    assert not page.find_elements(By.CSS_SELECTOR, "main img, main script")
    # Its title among the suggestions is text too.
    type_and_wait_for_suggestions(page, "piè")
    assert any("<script>" in o.text for o in options(page))
    assert not page.find_elements(By.CSS_SELECTOR, "#q-suggestions script, #q-suggestions img")
    _assert_no_alert(page)
    assert page.execute_script(f"return typeof {PWNED}") == "undefined"


def test_no_content_security_policy_violation_or_script_error(page):
    page.get_log("browser")  # drop what earlier tests left
    page.open("/?q=election&source=AFP&year=2022")
    type_and_wait_for_suggestions(page, "pre")
    problems = [
        e["message"]
        for e in page.get_log("browser")
        if e["level"] in ("SEVERE", "WARNING") and "favicon.ico" not in e["message"]
    ]
    assert problems == []


# --- without JavaScript, on a phone, with the keyboard -------------------------------


def test_the_page_works_without_javascript(page):
    page.execute_cdp_cmd("Emulation.setScriptExecutionDisabled", {"value": True})
    page.open("/")
    box = page.find_element(By.ID, "q")
    assert box.get_attribute("role") is None  # search.js did not run
    box.send_keys("election", Keys.ENTER)
    wait_for_url(page, lambda p: p.get("q") == ["election"])
    assert total(page) == ELECTION_TOTAL
    # A facet, a second one, sort, a page, remove a filter: all plain links.
    facet(page, "source", "AFP").click()
    wait_for_url(page, lambda p: p.get("source") == ["AFP"])
    facet(page, "year", "2024").click()
    wait_for_url(page, lambda p: p.get("year") == ["2024"] and p.get("source") == ["AFP"])
    assert all(day.startswith("2024") and source == "AFP" for day, source in hit_meta(page))
    facet(page, "year", "2024").click()  # a selected facet removes itself
    wait_for_url(page, lambda p: "year" not in p and p.get("source") == ["AFP"])
    page.find_element(By.LINK_TEXT, "date").click()
    wait_for_url(page, lambda p: p.get("sort") == ["date"])
    page.find_element(By.CSS_SELECTOR, ".chips a.chip").click()
    wait_for_url(page, lambda p: "source" not in p and p.get("sort") == ["date"])
    page.find_element(By.CSS_SELECTOR, ".pages a[rel=next]").click()
    got = wait_for_url(page, lambda p: p.get("page") == ["2"])
    assert got["sort"] == ["date"] and len(hit_titles(page)) == ELECTION_TOTAL - 10
    # The date range, through the form.
    page.execute_script("document.getElementById('from').value = '2022-01-01'")
    page.find_element(By.CSS_SELECTOR, ".filters button").click()
    got = wait_for_url(page, lambda p: p.get("from") == ["2022-01-01"])
    assert "page" not in got and got["sort"] == ["date"]
    assert all(day >= "2022-01-01" for day, _ in hit_meta(page))
    assert list(chips(page)) == ["Depuis le 2022-01-01"]


def test_usable_at_phone_width(page):
    page.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": 375, "height": 812, "deviceScaleFactor": 1, "mobile": True},
    )
    try:
        page.open("/?q=election&source=AFP&per_page=5")
        assert page.execute_script("return document.documentElement.scrollWidth") <= 375
        type_and_wait_for_suggestions(page, "pre")
        rect = page.execute_script(
            "return document.getElementById('q-suggestions').getBoundingClientRect().toJSON()"
        )
        assert rect["left"] >= 0 and rect["right"] <= 375
        assert page.execute_script("return document.documentElement.scrollWidth") <= 375
        # Facets sit above the results, the search box above them all.
        top = page.execute_script(
            "return [document.getElementById('q'), document.querySelector('.facets'),"
            " document.querySelector('.hits')].map(e => e.getBoundingClientRect().top)"
        )
        assert top == sorted(top)
    finally:
        page.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})


def test_labels_and_visible_focus(page):
    page.open("/?q=election")
    unlabelled = page.execute_script(
        "return [...document.querySelectorAll('input:not([type=hidden]), select')]"
        ".filter(e => !e.labels.length && !e.getAttribute('aria-label')).map(e => e.outerHTML)"
    )
    assert unlabelled == []
    box = page.find_element(By.ID, "q")
    box.send_keys(Keys.TAB)  # to the search button, with the keyboard
    focused = page.switch_to.active_element
    assert focused.tag_name == "button"
    style = page.execute_script(
        "const s = getComputedStyle(arguments[0]); return [s.outlineStyle, s.outlineWidth]", focused
    )
    assert style[0] == "solid" and float(style[1].removesuffix("px")) >= 2
    # The first Tab on a fresh page reaches the skip link, which leads to the results.
    page.open("/?q=election")
    ActionChains(page).send_keys(Keys.TAB).perform()
    skip = page.switch_to.active_element
    assert skip.get_attribute("class") == "skip" and skip.is_displayed()
    skip.send_keys(Keys.ENTER)
    wait(page, lambda: page.switch_to.active_element.get_attribute("id") == "resultats")
