"""Domain errors. Each carries a message that is safe to show to a user."""

from __future__ import annotations


class AmayeshError(ValueError):
    """Base of every domain error.

    ``user_message`` is what a person sees (CLI, HTTP problem+json); ``str(err)`` may hold more
    detail for logs.
    """

    code = "amayesh-error"

    def __init__(self, user_message: str, *, detail: str | None = None) -> None:
        super().__init__(detail or user_message)
        self.user_message = user_message


class CRSMismatchError(AmayeshError):
    code = "crs-mismatch"


class SchemaError(AmayeshError):
    code = "schema-error"


class UnknownLayerError(AmayeshError):
    code = "unknown-layer"


class ReferenceDataError(AmayeshError):
    code = "reference-data"
