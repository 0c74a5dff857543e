"""Configuration comes from SEARCHSVC_* variables, and docs/configuration.md
documents each one exactly as :data:`searchsvc.config.SETTINGS` states it."""

import re
from pathlib import Path

from searchsvc import config, create_app

ROOT = Path(__file__).resolve().parents[1]
PAGE = ROOT / "docs" / "configuration.md"
#: A setting whose default is worked out by config.load() states it last in its help.
DEFAULT_SENTENCE = re.compile(r"\s*Default: (?P<default>.+)\.$")


def default_and_meaning(setting: config.Setting) -> tuple[str, str]:
    """The table's default and meaning cells for ``setting``, from the code alone."""
    stated = DEFAULT_SENTENCE.search(setting.help)
    if stated:
        assert setting.default is None, f"{setting.name} has a default and a 'Default:' sentence"
        return stated["default"], setting.help[: stated.start()]
    return ("unset" if setting.default is None else f"`{setting.default}`"), setting.help


def expected_rows() -> list[str]:
    rows = []
    for setting in config.SETTINGS:
        default, meaning = default_and_meaning(setting)
        rows.append(f"| `SEARCHSVC_{setting.name}` | {default} | {meaning} |")
    return rows


def documented_rows() -> list[str]:
    """The rows of the page's settings table (those naming a SEARCHSVC_ variable)."""
    return [line.rstrip() for line in PAGE.read_text("utf-8").splitlines() if line.startswith("| `SEARCHSVC_")]


def test_environment_variables_configure_the_app(monkeypatch, tmp_path):
    monkeypatch.setenv("SEARCHSVC_INDEX_DIR", str(tmp_path / "ix"))
    monkeypatch.setenv("SEARCHSVC_MAX_FILE_MB", "3")
    app = create_app()
    assert app.config["INDEX_DIR"] == str(tmp_path / "ix")
    assert app.config["MAX_FILE_MB"] == 3


def test_defaults_point_into_index_data():
    app = create_app({"TESTING": True})
    assert app.config["INDEX_DIR"].endswith("index_data/index")
    assert app.config["SOURCE_DIR"].endswith("index_data/corpus")


def test_the_configuration_page_lists_every_setting_as_the_code_states_it():
    """One row per setting, in SETTINGS' order, with its default and its help
    text, word for word. When this fails, paste the expected rows into
    docs/configuration.md (or fix the help text in searchsvc/config.py)."""
    expected = expected_rows()
    assert documented_rows() == expected, "docs/configuration.md's table should read:\n" + "\n".join(expected)


def test_the_stated_defaults_are_the_ones_the_app_uses(tmp_path):
    """A 'Default: `path`' sentence names what config.load() fills in, and a
    literal default is what the app gets when nothing is set."""
    app = create_app({"TESTING": True})
    for setting in config.SETTINGS:
        stated = DEFAULT_SENTENCE.search(setting.help)
        if setting.default is not None:
            assert app.config[setting.name] == setting.default, setting.name
        elif stated and stated["default"].startswith("`index_data/"):
            path = stated["default"].split("`")[1]
            assert app.config[setting.name].endswith(path), (setting.name, app.config[setting.name])
        elif not stated:
            assert app.config[setting.name] is None, setting.name
    # `querylog.sqlite` in the index folder.
    ix = tmp_path / "ix"
    query_log = create_app({"INDEX_DIR": str(ix)}).extensions["searchsvc.querylog"]
    assert query_log.path == ix / "querylog.sqlite"


def test_creating_the_app_opens_nothing(tmp_path):
    create_app({"INDEX_DIR": str(tmp_path / "ix")})
    assert not (tmp_path / "ix").exists()
