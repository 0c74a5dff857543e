"""``searchsvc synonyms`` and ``searchsvc protected-words``: the site owner's
word lists as the service reads them, with every ignored line and its number.

With ``--check``, the exit code is 1 when a line is ignored, so a deploy
script can refuse a broken list before it goes live.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext

from ..search.live import LiveIndex
from ..text.protected import describe_change, load_protected_words, protected_in
from ..text.synonyms import load_synonyms


def _echo_problems(problems) -> None:
    if problems:
        click.echo(f"Ignored ({len(problems)}):")
        for problem in problems:
            click.echo(f"  {problem}")


def _file_option(what: str, setting: str):
    return click.option(
        "--file", "path", type=click.Path(dir_okay=False, path_type=Path),
        help=f"The {what} file (default: SEARCHSVC_{setting}, else index_data/{setting.lower()}.txt).",
    )  # fmt: skip


@click.command("synonyms")
@_file_option("synonyms", "SYNONYMS")
@click.option("--check", is_flag=True, help="Print only what is wrong; exit 1 if a line is ignored.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@with_appcontext
def synonyms_command(path, check, as_json) -> None:
    """List the synonym groups the service applies, and the lines it ignores
    (with their numbers). The service reloads the file within a second of an
    edit: no reindex, no restart."""
    path = path or current_app.config["SYNONYMS"] or None
    synonyms = load_synonyms(path)
    if as_json:
        rules = [{"line": r.line, "from": list(r.sources), "to": list(r.targets), "equivalent": r.equivalent}
                 for r in synonyms.rules]  # fmt: skip
        click.echo(json.dumps({"file": str(path or ""), "version": synonyms.version, "groups": rules,
                               "problems": [p.to_dict() for p in synonyms.problems]}, ensure_ascii=False))  # fmt: skip
    else:
        exists = bool(path) and Path(path).is_file()
        click.echo(f"{path or '(no file)'}: {len(synonyms.rules)} groups"
                   + ("" if exists or not path else " (no such file: no synonyms)"))  # fmt: skip
        if not check:
            for rule in synonyms.rules:
                arrow = ", ".join(rule.sources) if rule.equivalent else f"{', '.join(rule.sources)} => {', '.join(rule.targets)}"
                click.echo(f"  {rule.line:>4}  {arrow}")
        _echo_problems(synonyms.problems)
    if check and synonyms.problems:
        sys.exit(1)


@click.command("protected-words")
@_file_option("protected words", "PROTECTED_WORDS")
@click.option("--check", is_flag=True, help="Print only what is wrong; exit 1 if a line is ignored "
              "or the index in use was built with other words.")  # fmt: skip
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@with_appcontext
def protected_words_command(path, check, as_json) -> None:
    """List the protected words (indexed unstemmed), the lines ignored, and
    whether the index in use was built with this list (if not: reindex)."""
    path = path or current_app.config["PROTECTED_WORDS"] or None
    protected = load_protected_words(path)
    built = None
    live = LiveIndex(current_app.config["INDEX_DIR"])
    live.refresh()
    if live.index is not None:
        built = protected_in(live.index.schema)
    stale = built is not None and built != protected.words
    if as_json:
        click.echo(json.dumps({
            "file": str(path or ""), "words": sorted(protected.words),
            "problems": [p.to_dict() for p in protected.problems],
            "index": None if built is None else {"generation": live.generation.number, "words": sorted(built),
                                                 "reindex_needed": stale},
        }, ensure_ascii=False))  # fmt: skip
    else:
        click.echo(f"{path or '(no file)'}: {len(protected.words)} words")
        if not check and protected.words:
            click.echo("  " + ", ".join(sorted(protected.words)))
        _echo_problems(protected.problems)
        if built is None:
            click.echo("No index yet: the next `searchsvc reindex` uses this list.")
        elif stale:
            click.echo(f"Generation {live.generation.number} was built with other words "
                       f"({describe_change(built, protected.words)}): run `searchsvc reindex`.")  # fmt: skip
        else:
            click.echo(f"Generation {live.generation.number} was built with this list.")
    if check and (protected.problems or stale):
        sys.exit(1)

