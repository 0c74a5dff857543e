"""The one place where the service's typed errors become command-line errors:
``Error: <message>`` on stderr and the error's own exit code."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click

from ..errors import SearchServiceError


class ServiceCommandError(click.ClickException):
    """A :class:`SearchServiceError` shown as ``Error: …`` with its exit code."""

    def __init__(self, error: SearchServiceError) -> None:
        super().__init__(error.message)
        self.exit_code = error.exit_code


def run_service_call(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Call a domain function, turning our typed errors into CLI errors."""
    try:
        return fn(*args, **kwargs)
    except SearchServiceError as e:
        raise ServiceCommandError(e) from e
