"""Domain errors: the named refusals services raise.

Each carries an HTTP status for the web layer (``triage.web.errors`` maps them to pages,
problem+json and flash messages in one place) and a message marked with ``N_`` whose
placeholders (``%(name)s``) are filled from ``params`` after translation, where it is shown.
"""

from __future__ import annotations

from http import HTTPStatus


def N_(message: str) -> str:
    """Mark a message for translation where it is defined; pages translate it when shown."""
    return message


class DomainError(Exception):
    """A rule of the domain refused the request. ``status`` is the HTTP status it maps to."""

    status: int = HTTPStatus.CONFLICT
    title: str = N_("The request conflicts with the current state")

    #: Further marked messages shown after the message: how to put the input right.
    hints: tuple[str, ...] = ()

    def __init__(self, message: str = "", **params: object) -> None:
        self.message = message or self.title
        self.params = params
        super().__init__(self.text)

    @property
    def text(self) -> str:
        """The message in English with its placeholders filled (logs, the command line)."""
        text = self.message % self.params if self.params else self.message
        return " ".join([text, *self.hints])


class NotFound(DomainError):
    status = HTTPStatus.NOT_FOUND
    title = N_("Not found")


class Forbidden(DomainError):
    status = HTTPStatus.FORBIDDEN
    title = N_("You do not have permission to do that")


class InvalidInput(DomainError):
    status = HTTPStatus.UNPROCESSABLE_ENTITY
    title = N_("The input is not valid")


class Erased(DomainError):
    """The record's data key was destroyed (retention or erasure): its content is gone for good.

    The message names table and id only; the page says what happened without either.
    """

    status = HTTPStatus.GONE
    title = N_("This record's content was erased")


class Conflict(DomainError):
    status = HTTPStatus.CONFLICT
    title = N_("Someone else changed this in the meantime")
