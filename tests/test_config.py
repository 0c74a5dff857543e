"""Configuration comes from SEARCHSVC_* variables, and the README documents each one."""

from pathlib import Path

from searchsvc import config, create_app

README = Path(__file__).resolve().parents[1] / "README.md"


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


def test_every_setting_is_documented_in_the_readme():
    text = README.read_text("utf-8")
    for setting in config.SETTINGS:
        assert f"`SEARCHSVC_{setting.name}`" in text, setting.name


def test_creating_the_app_opens_nothing(tmp_path):
    create_app({"INDEX_DIR": str(tmp_path / "ix")})
    assert not (tmp_path / "ix").exists()
