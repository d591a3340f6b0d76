from typing import Any

from ninja import Schema


class ErrorOut(Schema):
    """The one error shape of the API."""

    code: str
    message: str
    details: dict[str, Any] = {}


# Declared on every operation so clients and fuzzers know the error shapes.
ERRORS = {401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 422: ErrorOut}
PUBLIC_ERRORS = {404: ErrorOut, 422: ErrorOut, 429: ErrorOut}
