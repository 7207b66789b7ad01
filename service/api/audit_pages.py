"""Routes of the auditors' pages under ``/audit`` (issue 21 item 8); rendering is service/web/auditor/.

Sign-in with an auditor API key opens a sealed, HttpOnly, SameSite=Strict session cookie
(service/web/auditor/session.py); every POST carries the CSRF token. Only the role ``auditor`` signs in here: admins
run the node, not the correspondence (docs/roles.md). Search, exports and statistics call the same use cases as
``GET /api/v1/events`` and ``/api/v1/stats`` (service/audit/), so filters and refusals are the same.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse

from service.api.deps import gateway_of
from service.api.events import attachment
from service.audit import search as audit_search
from service.audit import stats as audit_stats
from service.audit.exports import MEDIA_TYPES
from service.context import Gateway
from service.exchange.directory import Caller, authenticate
from service.exchange.errors import ExchangeError, Invalid
from service.web.auditor import evidence, layout, session, views
from service.web.auditor.i18n import lang_of, words
from storage.events import search_events
from storage.stats import VIETNAM

__all__ = ["pages"]

pages = APIRouter(prefix="/audit", include_in_schema=False)
PAGE = 50
BUNDLE_MAX = 64 * 1024 * 1024


class _SignIn(Exception):
    """The request has no valid auditor session: answer with the sign-in page."""


def _lang(request: Request) -> str:
    return lang_of(request.query_params.get("lang"))


def _html(body: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(body, status_code=status, headers=layout.SECURITY_HEADERS)


def _secret(gw: Gateway) -> str:
    return gw.settings.secret_key.get_secret_value()


def _auditor(gw: Gateway, key: str) -> Caller:
    with gw.sessions() as db:
        caller = authenticate(db, key, gw.callers)
    if caller.role != "auditor":
        raise _SignIn("not_auditor")
    return caller


def _signed_in(request: Request) -> tuple[Gateway, Caller, session.Session]:
    gw = gateway_of(request)
    current = session.open_session(_secret(gw), request.cookies.get(session.COOKIE))
    if current is None:
        raise _SignIn("no_session")
    try:
        return gw, _auditor(gw, current.key), current
    except ExchangeError as exc:
        raise _SignIn("bad_key") from exc


def _to_login(request: Request) -> RedirectResponse:
    response = RedirectResponse(layout.href("/audit/login", _lang(request)), status_code=303)
    response.delete_cookie(session.COOKIE, path=session.PATH)
    return response


def _switch(request: Request) -> str:
    params = {k: v for k, v in request.query_params.items() if k != "lang"}
    return layout.href(request.url.path, "vi" if _lang(request) == "en" else "en", **params)


def _page(request: Request, title: str, body: str, *, caller: Caller | None = None, csrf: str | None = None,
          status: int = 200) -> HTMLResponse:
    html = layout.page(_lang(request), title, body, current=request.url.path, user=caller.name if caller else None,
                       csrf=csrf, switch=_switch(request))
    return _html(html, status)


def _message(exc: ExchangeError) -> str:
    return str(exc.args[0]) if exc.args else exc.code


# --- sign-in -------------------------------------------------------------------------------------------------------


@pages.get("")
def home(request: Request) -> Response:
    return RedirectResponse(layout.href("/audit/search", _lang(request)), status_code=303)


@pages.get("/login")
def login_form(request: Request) -> Response:
    return _login_page(request)


def _login_page(request: Request, error: str | None = None, status: int = 200) -> HTMLResponse:
    lang = _lang(request)
    token = secrets.token_urlsafe(24)
    response = _page(request, words(lang)["login_title"], views.login_body(lang, token, error), status=status)
    response.set_cookie(session.PRE_COOKIE, token, max_age=3600, path=session.PATH, httponly=True,
                        samesite="strict", secure=request.url.scheme == "https")
    return response


@pages.post("/login")
async def login(request: Request) -> Response:
    t = words(_lang(request))
    async with request.form(max_files=0, max_fields=4, max_part_size=4096) as form:
        key, token = str(form.get("api_key") or "").strip(), str(form.get("csrf") or "")
    if not session.check_csrf(request.cookies.get(session.PRE_COOKIE), token):
        return _login_page(request, t["csrf"], 403)
    gw = gateway_of(request)
    try:
        await run_in_threadpool(_auditor, gw, key)
    except _SignIn:
        return _login_page(request, t["not_auditor"], 403)
    except ExchangeError:
        return _login_page(request, t["bad_key"], 401)
    cookie, _session = session.seal_session(_secret(gw), key)
    response = RedirectResponse(layout.href("/audit/search", _lang(request)), status_code=303)
    response.set_cookie(session.COOKIE, cookie, max_age=session.LIFETIME, path=session.PATH, httponly=True,
                        samesite="strict", secure=request.url.scheme == "https")
    response.delete_cookie(session.PRE_COOKIE, path=session.PATH)
    return response


@pages.post("/logout")
async def logout(request: Request) -> Response:
    gw = gateway_of(request)
    current = session.open_session(_secret(gw), request.cookies.get(session.COOKIE))
    async with request.form(max_files=0, max_fields=2, max_part_size=1024) as form:
        token = str(form.get("csrf") or "")
    if current is not None and not session.check_csrf(current.csrf, token):
        return _html(layout.page(_lang(request), words(_lang(request))["csrf"], ""), 403)
    return _to_login(request)


# --- search, export, timeline ----------------------------------------------------------------------------------


def _day_start(value: date | None) -> datetime | None:
    return None if value is None else datetime.combine(value, time(), VIETNAM)


def _search_request(values: Mapping[str, str]) -> audit_search.SearchRequest:
    """The form's values as the API's search: days of Vietnam time, ``until`` inclusive."""
    try:
        since, until = views.day_or_none(values.get("since")), views.day_or_none(values.get("until"))
    except ValueError as exc:
        raise Invalid("dates: YYYY-MM-DD", code="invalid_period") from exc
    return audit_search.SearchRequest(
        q=values.get("q"), status=values.get("status"), kind=values.get("kind"), sender=values.get("sender"),
        recipient=values.get("recipient"), agency=values.get("agency"), document_id=values.get("document_id"),
        since=_day_start(since), until=_day_start(until + timedelta(days=1)) if until else None,
        sort=values.get("sort") or "-at", cursor=values.get("cursor"),
    )


def _values(request: Request) -> dict[str, str]:
    return {k: request.query_params.get(k, "") for k in (*views.SEARCH_FIELDS, "cursor")}


@pages.get("/search")
def search_page(request: Request) -> Response:
    try:
        gw, caller, current = _signed_in(request)
    except _SignIn:
        return _to_login(request)
    lang, values = _lang(request), _values(request)
    filters = {k: v for k, v in values.items() if k != "cursor"}
    export = {fmt: layout.href("/audit/export", lang, format=fmt, **filters) for fmt in ("csv", "jsonl")}
    rows: list[Any] = []
    error, next_href = None, None
    try:
        flt = audit_search.to_search(caller, _search_request(values))
        with gw.sessions() as db:
            rows = list(search_events(db, flt, limit=PAGE))
        cursor = audit_search.next_cursor(rows, PAGE, flt.sort)
        next_href = layout.href("/audit/search", lang, cursor=cursor, **filters) if cursor else None
    except ExchangeError as exc:
        error = _message(exc)
    first = layout.href("/audit/search", lang, **filters) if values.get("cursor") else None
    body = views.search_body(lang, values, rows, error=error, next_href=next_href, first_href=first, export=export)
    return _page(request, words(lang)["search_title"], body, caller=caller, csrf=current.csrf,
                 status=422 if error else 200)


@pages.get("/export")
def export(request: Request) -> Response:
    try:
        gw, caller, _current = _signed_in(request)
    except _SignIn:
        return _to_login(request)
    fmt = "jsonl" if request.query_params.get("format") == "jsonl" else "csv"
    values = _values(request)
    values["cursor"] = ""
    flt = audit_search.to_search(caller, _search_request(values))  # errors: problem+json, as the API
    chunks = audit_search.export_chunks(gw.engine, flt, fmt)
    return StreamingResponse(chunks, media_type=MEDIA_TYPES[fmt], headers=attachment("edoc-events", fmt))


@pages.get("/timeline")
def timeline(request: Request) -> Response:
    try:
        gw, caller, current = _signed_in(request)
    except _SignIn:
        return _to_login(request)
    lang = _lang(request)
    document_id = (request.query_params.get("document_id") or "").strip()[:100]
    flt = audit_search.to_search(caller, audit_search.SearchRequest(document_id=document_id or "-", sort="at"))
    with gw.sessions() as db:
        rows = list(search_events(db, flt, limit=1000))
    proofs = evidence.proof_statuses(gw, [r.id for r in rows], lang)
    body = views.timeline_body(lang, document_id, rows, proofs)
    return _page(request, words(lang)["timeline_title"], body, caller=caller, csrf=current.csrf)


# --- statistics ------------------------------------------------------------------------------------------------


@pages.get("/stats")
def stats_page(request: Request) -> Response:
    try:
        gw, caller, current = _signed_in(request)
    except _SignIn:
        return _to_login(request)
    lang = _lang(request)
    today = datetime.now(UTC).astimezone(VIETNAM).date()
    values = {k: request.query_params.get(k, "") for k in ("from", "to", "group", "agency")}
    values["from"] = values["from"] or date(today.year, 1, 1).isoformat()
    values["to"] = values["to"] or today.isoformat()
    values["group"] = values["group"] or "month"
    values["csv_href"] = layout.href("/audit/stats.csv", lang, **{k: values[k] for k in ("from", "to", "group",
                                                                                       "agency")})
    table: list[Any] = []
    error = None
    try:
        query = _stats_query(caller, values)
        with gw.sessions() as db:
            table = audit_stats.compute(db, query)
    except (ExchangeError, ValueError) as exc:
        error = _message(exc) if isinstance(exc, ExchangeError) else "dates: YYYY-MM-DD"
    body = views.stats_body(lang, values, table, error=error)
    return _page(request, words(lang)["stats_title"], body, caller=caller, csrf=current.csrf,
                 status=422 if error else 200)


def _stats_query(caller: Caller, values: Mapping[str, str]) -> Any:
    return audit_stats.to_query(caller, agency=values.get("agency") or None, first=views.day_or_none(values["from"]),
                                last=views.day_or_none(values["to"]), group=values["group"])


@pages.get("/stats.csv")
def stats_csv(request: Request) -> Response:
    try:
        gw, caller, _current = _signed_in(request)
    except _SignIn:
        return _to_login(request)
    values = {k: request.query_params.get(k, "") for k in ("from", "to", "group", "agency")}
    values["group"] = values["group"] or "month"
    try:
        query = _stats_query(caller, values)
    except ValueError:
        raise Invalid("from/to: YYYY-MM-DD", code="invalid_period") from None
    with gw.sessions() as db:
        table = audit_stats.compute(db, query)
    return StreamingResponse(audit_stats.csv_chunks_of(table), media_type=MEDIA_TYPES["csv"],
                             headers=attachment("edoc-stats", "csv"))


# --- evidence --------------------------------------------------------------------------------------------------


@pages.get("/evidence")
def evidence_form(request: Request) -> Response:
    try:
        gw, caller, current = _signed_in(request)
    except _SignIn:
        return _to_login(request)
    lang = _lang(request)
    available = evidence.bundle_verifier(gw) is not None
    body = views.evidence_body(lang, current.csrf, available=available)
    return _page(request, words(lang)["evidence_title"], body, caller=caller, csrf=current.csrf)


@pages.post("/evidence")
async def evidence_check(request: Request) -> Response:
    try:
        gw, caller, current = await run_in_threadpool(_signed_in, request)
    except _SignIn:
        return _to_login(request)
    lang, t = _lang(request), words(_lang(request))
    async with request.form(max_files=1, max_fields=2, max_part_size=BUNDLE_MAX) as form:
        token = str(form.get("csrf") or "")
        upload = form.get("bundle")
        data = await upload.read(BUNDLE_MAX + 1) if upload is not None and not isinstance(upload, str) else b""
    if not session.check_csrf(current.csrf, token):
        return _page(request, t["evidence_title"], f'<p class="error" role="alert">{layout.e(t["csrf"])}</p>',
                     caller=caller, csrf=current.csrf, status=403)
    verifier = evidence.bundle_verifier(gw)
    if verifier is None:
        body = views.evidence_body(lang, current.csrf, available=False)
        return _page(request, t["evidence_title"], body, caller=caller, csrf=current.csrf, status=503)
    if not data or len(data) > BUNDLE_MAX:
        body = views.evidence_body(lang, current.csrf, available=True, error=t["bundle"])
        return _page(request, t["evidence_title"], body, caller=caller, csrf=current.csrf, status=422)
    result = await run_in_threadpool(verifier, gw, data)
    body = views.evidence_body(lang, current.csrf, available=True, result=result)
    return _page(request, t["evidence_title"], body, caller=caller, csrf=current.csrf)
