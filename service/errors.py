"""The one place where errors become HTTP answers: RFC 9457 problem+json with a stable ``code`` (STYLE.md 6)."""

from __future__ import annotations

import logging
from typing import Any

import sqlalchemy as sa
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from schemas.errors import SchemaError
from service.exchange import errors as ex
from signing.errors import SigningError
from storage.db import translate_error
from storage.errors import (
    BlobNotFound,
    DatabaseUnavailable,
    InvalidValue,
    ObjectStoreRefused,
    ObjectStoreUnavailable,
    StorageError,
)

__all__ = ["RETRY_AFTER_SECONDS", "install_error_handlers", "problem", "status_for", "vxp_problem"]

logger = logging.getLogger("edoc.http")
#: ``Retry-After`` of a 503 (the database or the object store is away): clients retry with their idempotency key.
RETRY_AFTER_SECONDS = 5

PROBLEM = "application/problem+json"

_STATUS: list[tuple[type[BaseException], int, str]] = [
    (ex.Unauthorized, 401, "Unauthorized"),
    (ex.Forbidden, 403, "Forbidden"),
    (ex.NotFound, 404, "Not found"),
    (ex.Conflict, 409, "Conflict"),
    (ex.Gone, 410, "Gone"),
    (ex.PayloadTooLarge, 413, "Package too large"),
    (ex.Refused, 422, "Refused by policy"),
    (ex.Invalid, 422, "Invalid request"),
    (BlobNotFound, 404, "Not found"),
    (InvalidValue, 400, "Invalid value"),
    (DatabaseUnavailable, 503, "Database unavailable"),
    (ObjectStoreUnavailable, 503, "Object store unavailable"),
    (ObjectStoreRefused, 503, "Object store unavailable"),
    (StorageError, 503, "Storage unavailable"),
    (SchemaError, 400, "Invalid package"),
    (SigningError, 422, "Signature problem"),
]

_SCHEMA_STATUS = {"xml_too_large": 413}
# Remote signing (issue 23): the provider away is a 503 the client retries; the provider answering nonsense or a
# value that does not verify is a bad gateway; the official's refusal and a closed window end the transaction.
_REMOTE_STATUS = {
    "remote_unreachable": (503, "Remote signing service unavailable"),
    "remote_auth_failed": (502, "Remote signing service refused the gateway"),
    "remote_protocol": (502, "Remote signing service answered wrongly"),
    "remote_bad_signature": (502, "Remote signature does not verify"),
    "remote_certificate_changed": (502, "Remote signature by another certificate"),
    "remote_interrupted": (502, "Remote signing interrupted"),
    "remote_unknown_transaction": (502, "Remote signing service lost the transaction"),
    "remote_rejected": (409, "Rejected by the signer"),
    "remote_expired": (410, "Confirmation window closed"),
    "remote_failed": (502, "Remote signing failed"),
    "remote_bad_request": (422, "Refused by the remote signing service"),
    "remote_unknown_provider": (422, "Unknown remote signing provider"),
    "remote_state_invalid": (502, "Remote signing state unreadable"),
}


def status_for(exc: BaseException) -> tuple[int, str]:
    if isinstance(exc, SchemaError) and exc.code in _SCHEMA_STATUS:
        return _SCHEMA_STATUS[exc.code], "Package too large"
    if isinstance(exc, SigningError | ex.ExchangeError) and exc.code in _REMOTE_STATUS:
        return _REMOTE_STATUS[exc.code]
    for cls, status, title in _STATUS:
        if isinstance(exc, cls):
            return status, title
    return 500, "Internal error"


def problem(status: int, title: str, code: str, detail: str, **extra: Any) -> JSONResponse:
    body = {"type": f"https://edoc-gateway.dev/problems/{code}", "title": title, "status": status, "code": code}
    body["detail"] = detail
    body.update(extra)
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    if status == 503:
        headers = {"Retry-After": str(RETRY_AFTER_SECONDS)}
    return JSONResponse(body, status_code=status, media_type=PROBLEM, headers=headers)


def vxp_problem(status: int, code: str, message: str) -> JSONResponse:
    """A refusal in the VXP FAIL envelope (service/vxp/README.md codes), for the ``/vxp/`` paths."""
    from service.vxp.protocol import fail_envelope

    headers = {"Retry-After": str(RETRY_AFTER_SECONDS)} if status == 503 else None
    return JSONResponse(fail_envelope(code, message, None), status_code=status, headers=headers)


async def _domain_error(_request: Request, exc: Exception) -> JSONResponse:
    status, title = status_for(exc)
    code = getattr(exc, "code", "error")
    extra = getattr(exc, "extra", {}) or {}
    return problem(status, title, code, str(exc.args[0]) if exc.args else title, **extra)


async def _validation_error(_request: Request, exc: RequestValidationError) -> JSONResponse:
    errors = [
        {"loc": list(err.get("loc", ())), "msg": err.get("msg", ""), "type": err.get("type", "")}
        for err in exc.errors()
    ]
    return problem(422, "Invalid request", "validation_error", "the request does not match the API", errors=errors)


async def _http_error(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
    code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
    return problem(exc.status_code, str(exc.detail), code, str(exc.detail))


async def _database_error(request: Request, exc: Exception) -> JSONResponse:
    """SQLAlchemy's errors that reach a route: the database away (503), a value it refused (400), else a bug."""
    translated = translate_error(exc)
    if translated is None:
        return await _internal_error(request, exc)
    if isinstance(translated, DatabaseUnavailable):
        logger.warning("database unavailable on %s %s: %s", request.method, request.url.path, type(exc).__name__)
    return await _domain_error(request, translated)


async def _out_of_range(_request: Request, _exc: Exception) -> JSONResponse:
    # Python raises OverflowError for a number or date out of any representable range: SQLite's driver for an
    # integer beyond 64 bits (?after_id=9223372036854775808), datetime arithmetic at year 9999.
    return problem(400, "Invalid value", "value_out_of_range", "a number or date of the request is out of range")


async def _internal_error(request: Request, exc: Exception) -> JSONResponse:
    # Starlette's ServerErrorMiddleware calls this for any other exception (and re-raises it for the server to
    # log); answered as problem+json rather than text/plain.
    if isinstance(exc, sa.exc.SQLAlchemyError) and translate_error(exc) is None:
        logger.error("database error on %s %s", request.method, request.url.path, exc_info=exc)
    return problem(500, "Internal error", "internal_error", "internal error; the request was not completed")


def install_error_handlers(app: FastAPI) -> None:
    for cls in (ex.ExchangeError, SchemaError, SigningError, StorageError):
        app.add_exception_handler(cls, _domain_error)
    app.add_exception_handler(sa.exc.SQLAlchemyError, _database_error)
    app.add_exception_handler(OverflowError, _out_of_range)
    app.add_exception_handler(Exception, _internal_error)
    app.add_exception_handler(RequestValidationError, _validation_error)  # type: ignore[arg-type]
    app.add_exception_handler(StarletteHTTPException, _http_error)  # type: ignore[arg-type]
