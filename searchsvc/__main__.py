"""``python -m searchsvc``: the same as the ``searchsvc`` command."""

from .cli.main import main

main()
