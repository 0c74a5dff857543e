"""Every command, in one list: registered on the app (``flask --app searchsvc
reindex``) and on the ``searchsvc`` group (:mod:`.main`)."""

from __future__ import annotations

import click
from flask import Flask

from .evaluate import eval_command
from .indexing import reindex_command, serve_command, switch_command
from .stats import stats_command
from .wordlists import protected_words_command, synonyms_command

COMMANDS = [
    reindex_command, serve_command, eval_command, switch_command, stats_command, synonyms_command,
    protected_words_command,
]  # fmt: skip


def register_commands(app: Flask) -> None:
    """Make every command reachable as ``flask --app searchsvc <command>``."""
    for command in COMMANDS:
        app.cli.add_command(command)


@click.group(help="searchsvc: French site search. Configure with SEARCHSVC_* variables.")
@click.version_option(package_name="searchsvc")
def cli() -> None:
    pass


for _command in COMMANDS:
    cli.add_command(_command)
