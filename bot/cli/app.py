"""The Typer application and the helpers every command uses."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, TypeVar

import typer
from rich.console import Console

from bot.config import ConfigError, Settings, get_settings
from bot.services.errors import DomainError
from bot.services.wards import WardFileError

T = TypeVar("T")

app = typer.Typer(
    name="wardbot",
    help="wardbot — the messaging bot for grassroots democracy in a Vietnamese ward.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)


def settings() -> Settings:
    try:
        return get_settings()
    except Exception as exc:  # pydantic's ValidationError for a malformed variable
        fail(f"A WARDBOT_ setting is malformed: {exc}")
        raise  # unreachable


def fail(message: str, code: int = 1) -> None:
    err.print(f"[red]Error:[/red] {message}", highlight=False)
    raise typer.Exit(code)


def run_async(coro_fn: Callable[[], Coroutine[Any, Any, T]] | Awaitable[T]) -> T:
    """Run a command's coroutine, turning known errors into one clear sentence."""
    coro = coro_fn() if callable(coro_fn) else coro_fn
    try:
        return asyncio.run(coro)  # type: ignore[arg-type]
    except ConfigError as exc:
        fail(str(exc), code=2)
    except WardFileError as exc:
        fail(f"the ward file cannot be loaded; nothing was changed.\n{exc}")
    except DomainError as exc:
        from bot.i18n import get_i18n

        # The bot's own catalogs, in English for the operator.
        with get_i18n().use_locale("en"):
            fail(exc.render())
    except KeyboardInterrupt:
        sys.exit(130)
    raise AssertionError("unreachable")
