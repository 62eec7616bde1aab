"""Errors as 1.2.0 reported them: a message whose words choose the status (notes §0.2)."""

from __future__ import annotations

# Substring -> status, checked in this order (case-sensitive), as httpError did.
_STATUS_BY_SUBSTRING = (
    ("No such", 404),
    ("Bad parameter", 400),
    ("Conflict", 409),
    ("Impossible", 406),
    ("Wrong login/password", 401),
    ("hasn't been activated", 403),
)


def status_for(message: str) -> int:
    """The status 1.2.0's httpError picked for an error message."""
    for needle, status in _STATUS_BY_SUBSTRING:
        if needle in message:
            return status
    return 500


class DaemonError(Exception):
    """A job error: the message is what the client reads; the status follows from it unless given."""

    def __init__(self, message: str, status: int | None = None):
        super().__init__(message)
        self.message = message
        self.status = status if status is not None else status_for(message)
