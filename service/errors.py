"""The one place where errors become HTTP answers: RFC 9457 problem+json with a stable ``code`` (STYLE.md 6)."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from schemas.errors import SchemaError
from service.exchange import errors as ex
from signing.errors import SigningError
from storage.errors import BlobNotFound, StorageError

__all__ = ["install_error_handlers", "problem", "status_for"]

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
    (StorageError, 503, "Storage unavailable"),
    (SchemaError, 400, "Invalid package"),
    (SigningError, 422, "Signature problem"),
]

_SCHEMA_STATUS = {"xml_too_large": 413}


def status_for(exc: BaseException) -> tuple[int, str]:
    if isinstance(exc, SchemaError) and exc.code in _SCHEMA_STATUS:
        return _SCHEMA_STATUS[exc.code], "Package too large"
    for cls, status, title in _STATUS:
        if isinstance(exc, cls):
            return status, title
    return 500, "Internal error"


def problem(status: int, title: str, code: str, detail: str, **extra: Any) -> JSONResponse:
    body = {"type": f"https://edoc-gateway.dev/problems/{code}", "title": title, "status": status, "code": code}
    body["detail"] = detail
    body.update(extra)
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse(body, status_code=status, media_type=PROBLEM, headers=headers)


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


def install_error_handlers(app: FastAPI) -> None:
    for cls in (ex.ExchangeError, SchemaError, SigningError, StorageError):
        app.add_exception_handler(cls, _domain_error)
    app.add_exception_handler(RequestValidationError, _validation_error)  # type: ignore[arg-type]
    app.add_exception_handler(StarletteHTTPException, _http_error)  # type: ignore[arg-type]
