"""Native REST API v1: documents and status packages. Routes stay thin; the work is in service.exchange."""

from __future__ import annotations

import datetime as dt
import functools
import json
import shutil
import tempfile
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response, StreamingResponse
from pydantic import BaseModel, Field

from schemas.agency import AgencyCode
from schemas.edxml import Receiver
from service.access import REASON_MAX, Op, require
from service.api.deps import CallerDep, GatewayDep, gateway_of, read_limited_body
from service.api.downloads import download_headers, served_type
from service.api.lean import LeanRoute, caller_of, header_param, lean_doc
from service.edge.jsondepth import json_depth_exceeds
from service.exchange import answers, compose, inbox
from service.exchange.errors import Invalid, PayloadTooLarge
from service.exchange.submit import SubmitResult, submit_package

router = APIRouter(prefix="/api/v1", tags=["documents"])
# The submit, and the fetch and ack every recipient makes of every document: endpoints that read their own request
# (service/api/lean.py), included before the other routes.
hot = APIRouter(prefix="/api/v1", tags=["documents"], route_class=LeanRoute)

IDEMPOTENCY_KEY_MAX = 200
IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key", max_length=IDEMPOTENCY_KEY_MAX)]


class Staff(BaseModel):
    department: str | None = None
    staff: str | None = None
    email: str | None = None
    mobile: str | None = None


class StatusIn(BaseModel):
    code: str = Field(pattern=r"^(0[1-6]|13|15|16)$", description="01…06, 13 (sender), 15/16 (answers to 13)")
    description: str | None = Field(None, max_length=500)
    staff: Staff | None = None
    agency: str | None = Field(None, description="the recipient agency answering, when the caller acts for several")


class RecallIn(BaseModel):
    to: list[str] | None = Field(None, description="recipients to recall from (default: all)")
    reason: str | None = Field(None, max_length=500)
    staff: Staff | None = None


def _accepted(result: SubmitResult) -> JSONResponse:
    headers = {"Idempotent-Replayed": "true"} if result.replayed else {}
    return JSONResponse(result.as_json(), status_code=202, headers=headers)


_SUBMIT_DOC = {
    "requestBody": {
        "required": True,
        "content": {
            "application/xml": {"schema": {"type": "string", "format": "binary"}},
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["header"],
                    "properties": {
                        "header": {
                            "type": "string",
                            "description": "JSON: from, to[], code{number,notation}, subject…",
                        },
                        "files": {"type": "array", "items": {"type": "string", "format": "binary"}},
                    },
                }
            },
        },
    }
}


@hot.post(
    "/edocs",
    status_code=202,
    openapi_extra={
        **_SUBMIT_DOC,
        **lean_doc(query=("share_statuses",), headers={"Idempotency-Key": IDEMPOTENCY_KEY_MAX}),
    },
    summary="Submit a document or status package",
)
async def submit(request: Request) -> Response:
    gw = gateway_of(request)
    caller = await caller_of(request, gw)
    idempotency_key = header_param(request, "Idempotency-Key", max_length=IDEMPOTENCY_KEY_MAX)
    require(caller, Op.SUBMIT)
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype.startswith("multipart/") or ctype == "application/x-www-form-urlencoded":
        return await _submit_multipart(request, gw, caller, idempotency_key)
    if ctype not in ("application/xml", "text/xml", "application/octet-stream", ""):
        raise Invalid(
            f"unsupported Content-Type {ctype!r}: send application/xml or multipart/form-data",
            code="unsupported_media_type",
        )
    raw = await read_limited_body(request, gw.settings.max_package_bytes, code="package_too_large", what="package")
    share = _flag(request.query_params.get("share_statuses"))
    result = await run_in_threadpool(
        functools.partial(
            submit_package, gw, caller=caller, raw=raw, idempotency_key=idempotency_key, channel="api",
            share_statuses=share,
        )
    )
    return _accepted(result)


def _flag(value: str | None) -> bool:
    """A boolean query parameter (``share_statuses=true``)."""
    if value is None or value.lower() in ("", "0", "false", "no"):
        return False
    if value.lower() in ("1", "true", "yes"):
        return True
    raise Invalid(f"expected true or false, not {value!r}", code="invalid_flag")


async def _submit_multipart(request: Request, gw: Any, caller: Any, key: str | None) -> Response:
    form = await request.form(max_files=100, max_fields=20)
    spool = _Spool()
    try:
        header_text = form.get("header")
        if not isinstance(header_text, str):
            raise Invalid("the multipart body needs a 'header' field with the JSON header", code="invalid_header")
        if json_depth_exceeds(header_text, 32):  # json would recurse into it (RecursionError, issue 17)
            raise Invalid("the 'header' field nests too deeply", code="invalid_header")
        try:
            header = json.loads(header_text)
        except json.JSONDecodeError as exc:
            raise Invalid(f"the 'header' field is not JSON: {exc}", code="invalid_header") from exc
        if not isinstance(header, dict):
            raise Invalid("the 'header' field must be a JSON object", code="invalid_header")
        uploads = _uploads(form, gw.settings.max_package_bytes * 3 // 4)  # base64 grows the files by a third
        result = await run_in_threadpool(_submit_uploads, gw, caller, header, uploads, spool, key)
    finally:
        await form.close()
        spool.cleanup()
    return _accepted(result)


LARGE_FILE = 8 * 1024 * 1024


def _submit_uploads(
    gw: Any, caller: Any, header: dict[str, Any], uploads: list[Any], spool: Any, key: str | None
) -> SubmitResult:
    """Read the uploaded files and submit, in one trip to the thread pool (file reads block)."""
    files = [_file_input(upload, spool) for upload in uploads]
    return answers.submit_native(gw, caller=caller, header=header, files=files, idempotency_key=key)


class _Spool:
    """A temporary folder for the large files of one multipart submit, made only when the first one arrives: most
    submits carry small files only, and a folder made and removed per request costs two inode operations each."""

    def __init__(self) -> None:
        self._dir: tempfile.TemporaryDirectory[str] | None = None
        self._count = 0

    def new_path(self) -> Path:
        if self._dir is None:
            self._dir = tempfile.TemporaryDirectory(prefix="edoc-upload-")
        self._count += 1
        return Path(self._dir.name) / f"upload-{self._count}"

    def cleanup(self) -> None:
        if self._dir is not None:
            self._dir.cleanup()


def _file_input(upload: Any, spool: _Spool) -> compose.FileInput:
    """Small files stay in memory; large ones are copied to a named temporary file and streamed from there."""
    name = upload.filename or "file"
    ctype = upload.content_type or "application/octet-stream"
    upload.file.seek(0)
    if (upload.size or 0) <= LARGE_FILE:
        return compose.FileInput(name, ctype, data=upload.file.read())
    path = spool.new_path()
    with open(path, "wb") as out:
        shutil.copyfileobj(upload.file, out, 1024 * 1024)
    return compose.FileInput(name, ctype, path=path)


@router.get("/inbox", summary="Packages and status packages waiting for an agency, oldest first")
def list_inbox(
    gw: GatewayDep,
    caller: CallerDep,
    agency: str | None = None,
    after: str | None = Query(None, description="cursor from the previous page's next_cursor"),
    limit: int = Query(50, ge=1, le=500),
) -> Response:
    with gw.sessions() as session:
        page = inbox.inbox(session, caller, agency=agency, after=after, limit=limit)
    # A JSONResponse of plain JSON types: FastAPI would otherwise walk every item of every page through its encoder.
    return JSONResponse({"items": page.items, "next_cursor": page.next_cursor})


@router.get("/edocs/{package_id}", summary="A package's record: deliveries, status history, signature check")
def get_edoc(package_id: str, gw: GatewayDep, caller: CallerDep) -> dict[str, Any]:
    with gw.sessions() as session:
        return inbox.package_record(session, caller, package_id)


@hot.get(
    "/edocs/{package_id}/edxml",
    openapi_extra=lean_doc(path=("package_id",), query=("reason",)),
    summary="The package as delivered (signed by this node); auditors give a ?reason=, written to the log",
)
async def get_edxml(request: Request) -> Response:
    gw = gateway_of(request)
    caller = await caller_of(request, gw)
    package_id, reason = request.path_params["package_id"], request.query_params.get("reason")
    return await run_in_threadpool(_edxml_response, gw, caller, package_id, reason)


def _edxml_response(gw: Any, caller: Any, package_id: str, reason: str | None) -> Response:
    """The package's bytes, looked up and read in one trip to the thread pool."""
    package = inbox.edxml_of(gw, caller, package_id, reason=reason)
    return _blob_response(gw, package.blob_sha256, "application/xml", f"{package.id}.edxml", package.size)


@router.get("/edocs/{package_id}/attachments/{n}", summary="An attachment, decoded (auditors: with a ?reason=)")
def get_attachment(
    package_id: str,
    n: int,
    gw: GatewayDep,
    caller: CallerDep,
    reason: Annotated[str | None, Query(max_length=REASON_MAX, description="an auditor's reason, logged")] = None,
) -> Response:
    att = inbox.attachment_for(gw, caller, package_id, n, reason=reason)
    # served as octet-stream unless passive, the sender's type in X-Edoc-Content-Type (service/api/downloads.py)
    media_type = served_type(att.content_type)
    return _blob_response(gw, att.blob_sha256, media_type, att.name, att.size, original=att.content_type)


# Blobs up to this size are read whole in the handler's thread and sent as one body; larger ones are streamed in
# chunks, so memory stays flat (each chunk of a streamed body costs the event loop a hop to the thread pool).
INLINE_BLOB = 4 * 1024 * 1024


def _blob_headers(sha: str, filename: str, original: str | None = None) -> dict[str, str]:
    return {**download_headers(filename, original), "ETag": f'"{sha}"'}


def _blob_response(
    gw: Any, sha: str, media_type: str, filename: str, size: int, *, original: str | None = None
) -> Response:
    if size <= INLINE_BLOB:
        headers = _blob_headers(sha, filename, original)
        return Response(gw.blobs.read(sha, size), media_type=media_type, headers=headers)
    return _streamed(gw.blobs.open(sha, size), sha, media_type, filename, size, original=original)


def _streamed(
    stream: Any, sha: str, media_type: str, filename: str, size: int, *, original: str | None = None
) -> Response:
    def chunks() -> Any:
        with stream:
            while chunk := stream.read(1024 * 1024):
                yield chunk

    headers = {**_blob_headers(sha, filename, original), "Content-Length": str(size)}
    return StreamingResponse(chunks(), media_type=media_type, headers=headers)


@hot.post(
    "/edocs/{package_id}/ack",
    openapi_extra=lean_doc(path=("package_id",), query=("agency",)),
    summary="Transport acknowledgement: leaves the inbox, sends 01 to the sender",
)
async def ack(request: Request) -> Response:
    gw = gateway_of(request)
    caller = await caller_of(request, gw)
    package_id, agency = request.path_params["package_id"], request.query_params.get("agency")
    return JSONResponse(await run_in_threadpool(functools.partial(inbox.ack, gw, caller, package_id, agency=agency)))


@router.post("/edocs/{package_id}/status", status_code=202, summary="Send a business status about a document")
def post_status(
    package_id: str, body: StatusIn, gw: GatewayDep, caller: CallerDep, idempotency_key: IdempotencyKey = None
) -> Response:
    require(caller, Op.STATUS)
    result = answers.send_status(
        gw,
        caller=caller,
        package_id=package_id,
        code=body.code,
        agency=body.agency,
        description=body.description,
        staff=body.staff.model_dump(exclude_none=True) if body.staff else None,
        idempotency_key=idempotency_key,
    )
    return _accepted(result)


@router.post("/edocs/{package_id}/recall", status_code=202, summary="Recall a document (QĐ 28/2018, type 1)")
def post_recall(
    package_id: str, body: RecallIn, gw: GatewayDep, caller: CallerDep, idempotency_key: IdempotencyKey = None
) -> Response:
    require(caller, Op.RECALL)
    result = answers.recall(
        gw,
        caller=caller,
        package_id=package_id,
        to=body.to,
        reason=body.reason,
        staff=body.staff.model_dump(exclude_none=True) if body.staff else None,
        idempotency_key=idempotency_key,
    )
    return _accepted(result)


# --- update and replace (QĐ 28/2018, BussinessDocType 2 and 3): beside /recall, answered by 15/16 the same way ---


class ReceiverIn(BaseModel):
    agency: str = Field(description="agency code of a receiver (BussinessDocumentInfo/ReceiverList)")
    type: int | None = Field(None, ge=0, le=99, description="ReceiverType, carried as given")


class UpdateIn(BaseModel):
    to: list[str] | None = Field(None, max_length=500, description="recipients to update (default: all)")
    reason: str | None = Field(None, max_length=500)
    staff: Staff | None = None
    subject: str | None = Field(None, min_length=1, max_length=500)
    content: str | None = Field(None, max_length=500)
    due_date: dt.date | None = None
    priority: int | None = Field(None, ge=0, le=4)
    receivers: list[ReceiverIn] | None = Field(None, max_length=500, description="the receiver list, if it changed")


@router.post("/edocs/{package_id}/update", status_code=202, summary="Update a document (QĐ 28/2018, type 2)")
def post_update(
    package_id: str, body: UpdateIn, gw: GatewayDep, caller: CallerDep, idempotency_key: IdempotencyKey = None
) -> Response:
    require(caller, Op.RECALL)
    changes = compose.DocumentChanges(
        subject=body.subject, content=body.content, due_date=body.due_date, priority=body.priority
    )
    receivers = [
        Receiver(organ_id=str(AgencyCode.parse(r.agency)), receiver_type=r.type) for r in body.receivers or ()
    ]
    result = answers.update(
        gw,
        caller=caller,
        package_id=package_id,
        changes=changes,
        receivers=receivers,
        to=body.to,
        reason=body.reason,
        staff=body.staff.model_dump(exclude_none=True) if body.staff else None,
        idempotency_key=idempotency_key,
    )
    return _accepted(result)


_REPLACE_DOC = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["header"],
                    "properties": {
                        "header": {
                            "type": "string",
                            "description": "JSON header of the replacing document, as for POST /edocs (from and to "
                            "default to the replaced document's sender and recipients)",
                        },
                        "reason": {"type": "string", "description": "BussinessDocReason"},
                        "files": {"type": "array", "items": {"type": "string", "format": "binary"}},
                    },
                }
            },
            "application/json": {
                "schema": {
                    "type": "object",
                    "required": ["header"],
                    "properties": {"header": {"type": "object"}, "reason": {"type": "string"}},
                }
            },
        },
    }
}


@router.post(
    "/edocs/{package_id}/replace",
    status_code=202,
    openapi_extra=_REPLACE_DOC,
    summary="Replace a document by a new one (QĐ 28/2018, type 3)",
)
async def post_replace(
    package_id: str, request: Request, gw: GatewayDep, caller: CallerDep, idempotency_key: IdempotencyKey = None
) -> Response:
    require(caller, Op.RECALL)
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype != "multipart/form-data":
        raw = await read_limited_body(request, 1024 * 1024, code="request_too_large", what="request")
        header, reason = _replace_fields(_json_object(raw, "the body"))
        result = await run_in_threadpool(
            answers.replace, gw, caller=caller, package_id=package_id, header=header, files=[], reason=reason,
            idempotency_key=idempotency_key,
        )
        return _accepted(result)
    form = await request.form(max_files=100, max_fields=20)
    spool = _Spool()
    try:
        header_text = form.get("header")
        if not isinstance(header_text, str):
            raise Invalid("the multipart body needs a 'header' field with the JSON header", code="invalid_header")
        parsed = _json_object(header_text.encode("utf-8"), "the 'header' field")
        header, reason = _replace_fields({"header": parsed, "reason": form.get("reason")})
        uploads = _uploads(form, gw.settings.max_package_bytes * 3 // 4)
        result = await run_in_threadpool(
            _replace_uploads, gw, caller, package_id, header, reason, uploads, spool, idempotency_key
        )
    finally:
        await form.close()
        spool.cleanup()
    return _accepted(result)


def _json_object(raw: bytes, what: str) -> dict[str, Any]:
    try:
        value = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise Invalid(f"{what} is not JSON: {exc}", code="invalid_header") from exc
    if not isinstance(value, dict):
        raise Invalid(f"{what} must be a JSON object", code="invalid_header")
    return value


def _replace_fields(body: dict[str, Any]) -> tuple[dict[str, Any], str | None]:
    header, reason = body.get("header"), body.get("reason")
    if not isinstance(header, dict):
        raise Invalid("the body needs 'header': the JSON header of the replacing document", code="invalid_header")
    if reason is not None and (not isinstance(reason, str) or len(reason) > 500):
        raise Invalid("'reason' must be a text of at most 500 characters", code="invalid_header", field="reason")
    return header, reason


def _uploads(form: Any, limit: int) -> list[Any]:
    uploads, total = [], 0
    for upload in form.getlist("files"):
        if isinstance(upload, str):
            raise Invalid("'files' parts must be files", code="invalid_header")
        total += upload.size or 0
        if total > limit:
            raise PayloadTooLarge(
                f"the files exceed {limit} bytes (the package limit, base64-encoded)", code="package_too_large"
            )
        uploads.append(upload)
    return uploads


def _replace_uploads(
    gw: Any, caller: Any, package_id: str, header: dict[str, Any], reason: str | None, uploads: list[Any],
    spool: _Spool, key: str | None,
) -> SubmitResult:
    files = [_file_input(upload, spool) for upload in uploads]
    return answers.replace(
        gw, caller=caller, package_id=package_id, header=header, files=files, reason=reason, idempotency_key=key
    )
