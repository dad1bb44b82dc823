"""Domain errors: raised by services, shown to the person by whichever channel they use.

Each carries a lazily translated message, so a Telegram or Zalo handler renders it in
the language of the person it is answering, and nothing is changed when one is raised.
"""

from __future__ import annotations

from typing import Any

from bot.i18n import __


class DomainError(Exception):
    default_message: Any = __("This action could not be completed.")

    def __init__(self, message: Any = None, **params: Any) -> None:
        self.message = message if message is not None else self.default_message
        self.params = params
        # Not translated here: the log line stays readable whatever the locale.
        super().__init__(type(self).__name__, params)

    def render(self) -> str:
        text = str(self.message)
        return text.format(**self.params) if self.params else text


class NotAllowed(DomainError):
    default_message = __("You are not allowed to do this.")


class NotFound(DomainError):
    default_message = __("This item no longer exists.")


class InvalidInput(DomainError):
    default_message = __("This input is not valid.")


class Conflict(DomainError):
    default_message = __("This has already been done.")


class StaleButton(DomainError):
    """A button whose step is over, from an old message, or with forged data."""

    default_message = __("This button is no longer valid.")
