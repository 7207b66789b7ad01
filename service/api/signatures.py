"""PDF signature routes: ``POST /api/v1/verify``, ``POST /api/v1/sign``, an attachment's stored report, and the
clerks' page ``GET``/``POST /verify`` and its receipt ``POST /verify/receipt``. Thin: the work is in
:mod:`service.signatures` (and :mod:`service.web.receipt` for the receipt's seal).

Why the page needs no login. Verification only reads the file the visitor uploads and reports on that file; it
discloses nothing held by the gateway (no package, no directory data) and the file is not stored. Clerks are on
the agency network and do not carry API keys (those belong to client systems); a key typed into a page and kept
in the browser would be a long-lived secret in the least protected place. What a login would prevent is
resource use, so the page is guarded against that instead: the same size limit as the API, at most two
verifications from the page at a time per process (503 "busy" beyond), and revocation fetches only for
certificates that chain to a configured anchor (an uploaded file cannot make the gateway fetch arbitrary URLs).
An operator who wants the page closed puts it behind the reverse proxy's access rules like any other path.
The JSON API (``/api/v1/verify``) stays authenticated, as every ``/api/v1`` route is.
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal
from urllib.parse import quote

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError

from service import remote_poller, remote_signing
from service.access import Op, require
from service.api.deps import CallerDep, GatewayDep, read_limited_body
from service.errors import status_for
from service.exchange import inbox
from service.exchange.errors import ExchangeError, Invalid, NotFound, PayloadTooLarge
from service.signatures import SignOptions, build_appearance, render_report, services, sign_document, verify_document
from service.web import receipt, verify_page
from signing.errors import SigningError

__all__ = ["page", "router"]

router = APIRouter(prefix="/api/v1", tags=["signatures"], lifespan=remote_poller.poller_lifespan)
page = APIRouter(include_in_schema=False)

Lang = Annotated[Literal["vi", "en"], Query(description="language of html/pdf renderings")]
Fmt = Annotated[Literal["json", "html", "pdf"], Query(alias="format", description="json, html page or PDF receipt")]

_VERIFY_DOC = {
    "requestBody": {
        "required": True,
        "content": {
            "application/pdf": {"schema": {"type": "string", "format": "binary"}},
            "multipart/form-data": {
                "schema": {"type": "object", "required": ["file"], "properties": {"file": {"type": "string",
                                                                                              "format": "binary"}}}
            },
        },
    }
}
_SIGN_DOC = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file", "options"],
                    "properties": {
                        "file": {"type": "string", "format": "binary", "description": "the PDF"},
                        "options": {"type": "string", "description": 'JSON, e.g. {"key": "org-seal", "level": "B-T"} '
                                    'or {"remote": {"provider": "vnpt", "credential": "079200000001"}}'},
                        "image": {"type": "string", "format": "binary", "description": "signer's image (PNG)"},
                        "seal": {"type": "string", "format": "binary", "description": "seal image (PNG)"},
                    },
                }
            }
        },
    }
}


class RemoteIn(BaseModel):
    """A remote-signing credential: a provider configured on this node, the official's credential there, and the
    official's PIN/OTP where the provider takes one with the request (never stored nor logged)."""

    model_config = ConfigDict(extra="forbid")

    provider: str = Field(max_length=64, description="name of a provider in EDOC_REMOTE_SIGNERS")
    credential: str = Field(min_length=1, max_length=300, description="USER or USER/CERTIFICATE at the provider")
    pin: SecretStr | None = Field(None, max_length=100)
    otp: SecretStr | None = Field(None, max_length=100)
    webhook_url: str | None = Field(None, max_length=2000, description="called (POST JSON) when the transaction ends")

    def authorization(self) -> dict[str, str]:
        found = {"PIN": self.pin, "OTP": self.otp}  # the CSC names (credentials/authorize)
        return {k: v.get_secret_value() for k, v in found.items() if v is not None}


class SignIn(BaseModel):
    """Options of ``POST /api/v1/sign``: a configured key by name (never a key path), or a remote credential."""

    model_config = ConfigDict(extra="forbid")

    key: str | None = Field(None, max_length=100, description="name of a key in EDOC_SIGNING_KEYS")
    remote: RemoteIn | None = None
    level: Literal["B-B", "B-T", "B-LT", "B-LTA"] | None = None
    certify: bool = False
    pss: bool = False
    reason: str | None = Field(None, max_length=200)
    location: str | None = Field(None, max_length=200)
    attachment_stamp: str | None = Field(None, max_length=120, examples=["Số: 05/BNV-VP"])
    box: tuple[int, float, float, float, float] | None = Field(None, description="page (from 1), x1, y1, x2, y2")
    anchor: str | None = Field(None, max_length=100)
    size: tuple[float, float] | None = Field(None, description="largest image box at the anchor: width, height (pt)")


# --- request bodies ---------------------------------------------------------------------------------------------


def _media_type(request: Request) -> str:
    return request.headers.get("content-type", "").split(";")[0].strip().lower()


def _check_declared(request: Request, limit: int) -> None:
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit + 64 * 1024:  # + multipart framing
        raise PayloadTooLarge(f"the request is {declared} bytes; the limit is {limit}", code="file_too_large")


async def _upload(form: Any, name: str, limit: int, *, required: bool = True) -> tuple[bytes, str] | None:
    upload = form.get(name)
    if upload is None or upload == "":
        if required:
            raise Invalid(f"the multipart body needs a '{name}' file part", code="file_missing")
        return None
    if isinstance(upload, str):
        raise Invalid(f"'{name}' must be a file part", code="file_missing")
    if (upload.size or 0) > limit:
        raise PayloadTooLarge(f"'{name}' is {upload.size} bytes; the limit is {limit}", code="file_too_large")
    return await upload.read(), upload.filename or "document.pdf"


async def _pdf_from_request(request: Request, limit: int) -> tuple[bytes, str]:
    """The PDF of a verify request: the raw body (application/pdf) or the multipart part ``file``."""
    _check_declared(request, limit)
    ctype = _media_type(request)
    if ctype.startswith("multipart/"):
        async with request.form(max_files=1, max_fields=5) as form:
            found = await _upload(form, "file", limit)
            assert found is not None
            return found
    if ctype not in ("application/pdf", "application/octet-stream", ""):
        raise Invalid(f"unsupported Content-Type {ctype!r}: send application/pdf or multipart/form-data",
                      code="unsupported_media_type")
    return await read_limited_body(request, limit, code="file_too_large", what="file"), "document.pdf"


# --- API --------------------------------------------------------------------------------------------------------


@router.post("/verify", openapi_extra=_VERIFY_DOC, summary="Verify the signatures of a PDF (any authenticated role)")
async def verify(
    request: Request,
    gw: GatewayDep,
    caller: CallerDep,
    lang: Lang = "vi",
    fmt: Fmt = "json",
    trust: Annotated[list[str] | None, Query(description="limit to these trust sets (default: all)")] = None,
) -> Response:
    data, _name = await _pdf_from_request(request, gw.settings.verify_max_bytes)
    report = await run_in_threadpool(verify_document, gw, data, anchor_sets=trust)
    rendered = await run_in_threadpool(render_report, report, fmt=fmt, lang=lang)
    headers = {"X-Verification-Indication": report.indication.value}
    return Response(rendered.body, media_type=rendered.media_type, headers=headers)


@router.post("/sign", openapi_extra=_SIGN_DOC, summary="Sign a PDF with a configured key (clerk, admin)")
async def sign(request: Request, gw: GatewayDep, caller: CallerDep) -> Response:
    require(caller, Op.SIGN)
    limit = gw.settings.verify_max_bytes
    _check_declared(request, limit)
    if not _media_type(request).startswith("multipart/"):
        raise Invalid("send multipart/form-data with 'file' and 'options'", code="unsupported_media_type")
    async with request.form(max_files=3, max_fields=5) as form:
        options = _options(form.get("options"))
        found = await _upload(form, "file", limit)
        image = await _upload(form, "image", 2 * 1024 * 1024, required=False)
        seal = await _upload(form, "seal", 2 * 1024 * 1024, required=False)
    assert found is not None
    data, name = found
    appearance = build_appearance(
        image=image[0] if image else None,
        seal=seal[0] if seal else None,
        box=options.box,
        anchor=options.anchor,
        attachment_stamp=options.attachment_stamp,
        size=options.size,
    )
    chosen = SignOptions(level=options.level, certify=options.certify, pss=options.pss, reason=options.reason,
                         location=options.location, appearance=appearance)
    if options.remote is not None:
        remote = options.remote
        started = await run_in_threadpool(
            remote_signing.start, gw, data, provider=remote.provider, credential_id=remote.credential, caller=caller,
            options=chosen, authorization=remote.authorization(), webhook_url=remote.webhook_url, file_name=name,
        )
        return _remote_answer(started)
    assert options.key is not None
    signed = await run_in_threadpool(sign_document, gw, data, key_name=options.key, caller=caller, options=chosen)
    return _pdf_answer(signed, name)


def _pdf_answer(signed: bytes, name: str, headers: dict[str, str] | None = None) -> Response:
    stem = name[:-4] if name.lower().endswith(".pdf") else name
    headers = {**(headers or {}), "Content-Disposition": f"attachment; filename*=UTF-8''{quote(stem + '-signed.pdf')}"}
    return Response(signed, media_type="application/pdf", headers=headers)


@router.get("/sign/{tx}", summary="Where a remote signature stands: 202 waiting, 200 the signed PDF (clerk, admin)")
async def sign_status(tx: str, gw: GatewayDep, caller: CallerDep) -> Response:
    require(caller, Op.SIGN)
    found = await run_in_threadpool(remote_signing.poll, gw, tx, caller=caller)
    return _remote_answer(found)


def _remote_answer(found: remote_signing.Outcome) -> Response:
    """200 with the PDF when done, 202 with the transaction while the official has not answered, problem+json
    (409 rejected, 410 expired, 502 failed, 503 provider away) otherwise."""
    body = found.to_json()
    headers = {"Location": body["location"], "X-Remote-Signing-Status": found.status}
    if found.status == "done" and found.pdf is not None:
        return _pdf_answer(found.pdf, "document.pdf", headers)
    if found.status in ("pending", "starting") and found.error_code not in ("remote_unreachable", "remote_auth_failed"):
        headers["Retry-After"] = str(max(1, round(found.retry_after or 1)))
        return JSONResponse(body, status_code=202, headers=headers)
    code = found.error_code or remote_signing.ENDED_CODES.get(found.status, "remote_failed")
    raise remote_signing.RemoteFailed(found.message("vi"), code=code, transaction=found.id,
                                      transaction_status=found.status, message_en=found.message("en"),
                                      location=body["location"])


def _options(raw: Any) -> SignIn:
    if not isinstance(raw, str):
        raise Invalid("the multipart body needs an 'options' field with JSON", code="invalid_options")
    try:
        options = SignIn.model_validate(json.loads(raw))
    except json.JSONDecodeError as exc:
        raise Invalid(f"'options' is not JSON: {exc}", code="invalid_options") from exc
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(map(str, first["loc"])) or "options"
        raise Invalid(f"options.{where}: {first['msg']}", code="invalid_options") from exc
    if (options.key is None) == (options.remote is None):
        raise Invalid("options: give exactly one of 'key' and 'remote'", code="invalid_options")
    return options


@router.get(
    "/edocs/{package_id}/attachments/{n}/verification",
    summary="The stored verification report of a received PDF attachment",
)
def attachment_verification(package_id: str, n: int, gw: GatewayDep, caller: CallerDep) -> Response:
    with gw.sessions() as session:
        att = inbox.attachment_of(session, caller, package_id, n)
        summary = att.verification or {}
    sha = summary.get("report_sha256")
    if not sha:
        state = summary.get("state", "not_applicable")
        raise NotFound(f"no verification report for attachment {n} (state: {state})", code="verification_unavailable")
    return Response(gw.blobs.read(sha), media_type="application/json")


# --- the clerks' page -------------------------------------------------------------------------------------------


def _html(body: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(body, status_code=status, headers=verify_page.SECURITY_HEADERS)


@page.get("/verify", response_class=HTMLResponse)
def verify_form(gw: GatewayDep, lang: Lang = "vi") -> HTMLResponse:
    return _html(verify_page.form_page(lang, max_mb=gw.settings.verify_max_bytes // (1024 * 1024)))


@page.get("/verify/app.js")
def verify_script() -> Response:
    headers = {"Cache-Control": "max-age=3600", "X-Content-Type-Options": "nosniff"}
    return Response(verify_page.SCRIPT, media_type="text/javascript; charset=utf-8", headers=headers)


@page.post("/verify", response_class=HTMLResponse)
async def verify_upload(request: Request, gw: GatewayDep, lang: Lang = "vi") -> HTMLResponse:
    max_mb = gw.settings.verify_max_bytes // (1024 * 1024)
    try:
        # The body first, then a slot: a client sending its file slowly (or not at all) holds no slot; the edge
        # guard bounds how long a body may take (EDOC_BODY_IDLE_TIMEOUT_SECONDS, issue 17).
        data, name = await _pdf_from_request(request, gw.settings.verify_max_bytes)
    except ExchangeError as exc:
        status, _title = status_for(exc)
        return _html(verify_page.error_page(lang, _page_error(exc, lang), max_mb=max_mb), status)
    slots = services(gw).page_slots
    if not slots.acquire(blocking=False):
        message = "Máy chủ đang bận, vui lòng thử lại sau ít phút." if lang == "vi" else "Busy, try again shortly."
        return _html(verify_page.error_page(lang, message, max_mb=max_mb), 503)
    try:
        report = await run_in_threadpool(verify_document, gw, data)
        rendered = await run_in_threadpool(render_report, report, fmt="html", lang=lang)
    except (ExchangeError, SigningError) as exc:
        status, _title = status_for(exc)
        return _html(verify_page.error_page(lang, _page_error(exc, lang), max_mb=max_mb), status)
    finally:
        slots.release()
    report_json = report.to_json(indent=None)
    sealed = (report_json, name, receipt.seal(report_json, name, gw.settings.secret_key.get_secret_value()))
    return _html(verify_page.result_page(lang, rendered.body.decode(), name, max_mb=max_mb, receipt=sealed))


@page.post("/verify/receipt")
async def verify_receipt(request: Request, gw: GatewayDep, lang: Lang = "vi") -> Response:
    """The PDF receipt of a report the result page carries, sealed by this gateway (service/web/receipt.py)."""
    max_mb = gw.settings.verify_max_bytes // (1024 * 1024)
    try:
        body = await read_limited_body(request, receipt.MAX_FORM_BYTES, code="receipt_too_large", what="form")
        report_json, name, tag = receipt.parse_form(body)
        report = receipt.unseal(report_json, name, tag, gw.settings.secret_key.get_secret_value())
    except (receipt.ReceiptRequest, PayloadTooLarge) as exc:
        message = ("biểu mẫu biên nhận không hợp lệ; hãy kiểm tra lại tệp rồi tải biên nhận." if lang == "vi"
                   else f"invalid receipt form ({exc}); verify the file again, then download the receipt.")
        status = 413 if isinstance(exc, PayloadTooLarge) else 400
        return _html(verify_page.error_page(lang, message, max_mb=max_mb), status)
    slots = services(gw).page_slots
    if not slots.acquire(blocking=False):
        busy = "Máy chủ đang bận, vui lòng thử lại sau ít phút." if lang == "vi" else "Busy, try again shortly."
        return _html(verify_page.error_page(lang, busy, max_mb=max_mb), 503)
    try:
        rendered = await run_in_threadpool(render_report, report, fmt="pdf", lang=lang)
    except SigningError as exc:
        return _html(verify_page.error_page(lang, _page_error(exc, lang), max_mb=max_mb), 500)
    finally:
        slots.release()
    headers = {**verify_page.SECURITY_HEADERS, "Content-Disposition": receipt.filename(name, lang),
               "X-Verification-Indication": report.indication.value}
    return Response(rendered.body, media_type="application/pdf", headers=headers)


_PAGE_ERRORS_VI = {
    "not_a_pdf": "tệp không phải là tệp PDF.",
    "pdf_unreadable": "không đọc được nội dung tệp PDF (tệp hỏng hoặc được mã hóa bằng mật khẩu).",
    "file_too_large": "tệp vượt quá dung lượng cho phép.",
    "file_missing": "chưa chọn tệp.",
    "unsupported_media_type": "trình duyệt gửi tệp không đúng định dạng biểu mẫu; hãy chọn lại tệp PDF.",
}
_PAGE_ERROR_VI_OTHER = "cổng gặp lỗi khi kiểm tra tệp này; hãy thử lại, nếu vẫn lỗi hãy báo quản trị viên."


def _page_error(exc: Exception, lang: str) -> str:
    code = getattr(exc, "code", "")
    if lang == "vi":  # a clerk reads Vietnamese sentences, never an English library message
        return _PAGE_ERRORS_VI.get(code, _PAGE_ERROR_VI_OTHER)
    return str(exc.args[0]) if exc.args else code
