"""``python -m searchsvc``: the same as the ``searchsvc`` command."""

from .cli import main

main()
