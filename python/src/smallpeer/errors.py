"""Exceptions: every failed C call raises a DittoError subclass carrying the status code and message."""

from __future__ import annotations

OK = 0
ERR_INVALID_ARGUMENT = 1
ERR_VALIDATION = 2
ERR_NOT_FOUND = 3
ERR_CLOSED = 4
ERR_IO = 5
ERR_LOCKED = 6
ERR_STORE = 7
ERR_INTERNAL = 8


class DittoError(Exception):
    """Base of every SmallPeer error; `code` is the C status (SP_ERR_*), `message` the engine's text."""

    code: int
    message: str

    def __init__(self, code: int, message: str) -> None:
        super().__init__(f"{message} (status {code})" if message else f"status {code}")
        self.code = code
        self.message = message


class InvalidArgumentError(DittoError, ValueError, TypeError):
    """SP_ERR_INVALID_ARGUMENT: a malformed parameter (unknown enum value, bad URL, wrong JSON shape) or a
    value of the wrong Python type; also a ValueError and a TypeError, so existing `except` clauses work."""


class ValidationError(DittoError, ValueError):
    """SP_ERR_VALIDATION: well-formed input that breaks a documented limit (metadata size or depth)."""


class NotFoundError(DittoError, LookupError):
    """SP_ERR_NOT_FOUND."""


class ClosedError(DittoError):
    """SP_ERR_CLOSED: the Ditto instance was closed."""


class IOError_(DittoError, OSError):
    """SP_ERR_IO: the file system refused."""


class LockedError(DittoError):
    """SP_ERR_LOCKED: the persistence directory is used by another open instance."""


class StoreError(DittoError):
    """SP_ERR_STORE: the storage engine failed."""


class InternalError(DittoError):
    """SP_ERR_INTERNAL: a bug in the engine."""


PersistenceIOError = IOError_

_BY_CODE: dict[int, type[DittoError]] = {
    ERR_INVALID_ARGUMENT: InvalidArgumentError,
    ERR_VALIDATION: ValidationError,
    ERR_NOT_FOUND: NotFoundError,
    ERR_CLOSED: ClosedError,
    ERR_IO: IOError_,
    ERR_LOCKED: LockedError,
    ERR_STORE: StoreError,
    ERR_INTERNAL: InternalError,
}


def _invalid(message: str) -> InvalidArgumentError:
    """The error the package raises itself for a bad value, with the engine's code for one."""
    return InvalidArgumentError(ERR_INVALID_ARGUMENT, message)


def _from_status(code: int, message: str) -> DittoError:
    """Called by the native module to build the exception for a failed call."""
    return _BY_CODE.get(code, DittoError)(code, message)
