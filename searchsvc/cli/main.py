"""The ``searchsvc`` program: the commands of :mod:`.commands`, each run in
an app context of :func:`searchsvc.app.create_app` (so they read the same
``SEARCHSVC_*`` configuration as the service)."""

from __future__ import annotations

from flask.cli import ScriptInfo

from ..app import create_app
from .commands import cli


def main() -> None:
    """The ``searchsvc`` console script: the same commands as ``flask --app searchsvc``."""
    cli.main(prog_name="searchsvc", obj=ScriptInfo(create_app=create_app, set_debug_flag=False))
