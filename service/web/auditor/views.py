"""The bodies of the auditors' pages (wrapped by layout.page). Pure functions of what the routes read."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime

from service.web.auditor.charts import bar_chart, line_chart
from service.web.auditor.evidence import BundleCheck
from service.web.auditor.i18n import KIND_LABELS, STATUS_LABELS, lang_of, words
from service.web.auditor.layout import e, href
from storage.events import EventRow
from storage.stats import VIETNAM, StatRow

__all__ = ["SEARCH_FIELDS", "evidence_body", "login_body", "search_body", "stats_body", "timeline_body"]

SEARCH_FIELDS = ("q", "status", "kind", "sender", "recipient", "agency", "document_id", "since", "until", "sort")
KINDS = ("submitted", "delivered", "acked", "status", "status_submitted", "dead", "content_read")
COUNTS = ("sent", "received", "acked", "processed", "rejected", "recalled", "overdue")


def _error(message: str | None, lang: str) -> str:
    if not message:
        return ""
    return f'<p class="error" role="alert" id="form-error"><strong>{e(words(lang)["error"])}:</strong> {e(message)}</p>'


def _input(name: str, label: str, value: str | None, *, kind: str = "text", extra: str = "") -> str:
    return (f'<div><label for="f-{name}">{e(label)}</label>'
            f'<input id="f-{name}" name="{name}" type="{kind}" value="{e(value)}"{extra}></div>')


def _select(name: str, label: str, value: str | None, options: Sequence[tuple[str, str]]) -> str:
    opts = "".join(
        f'<option value="{e(v)}"{" selected" if (value or "") == v else ""}>{e(text)}</option>' for v, text in options
    )
    return f'<div><label for="f-{name}">{e(label)}</label><select id="f-{name}" name="{name}">{opts}</select></div>'


def login_body(lang: str, csrf: str, error: str | None = None) -> str:
    t = words(lang)
    return (
        f'<div class="narrow"><p>{e(t["login_intro"])}</p>{_error(error, lang)}'
        f'<form method="post" action="{e(href("/audit/login", lang))}" id="login-form">'
        f'<input type="hidden" name="csrf" value="{e(csrf)}">'
        f'<label for="api_key">{e(t["api_key"])}</label>'
        f'<input id="api_key" name="api_key" type="password" autocomplete="current-password" required '
        f'aria-describedby="api_key_hint" spellcheck="false">'
        f'<p id="api_key_hint" class="hint">{e(t["api_key_hint"])}</p>'
        f'<div class="actions"><button class="btn" type="submit" id="login">{e(t["login"])}</button></div>'
        "</form></div>"
    )


def _local(at: datetime) -> str:
    return at.astimezone(VIETNAM).strftime("%Y-%m-%d %H:%M:%S")


def _status_cell(row: EventRow, lang: str) -> str:
    code = row.status_code
    if code is None:
        return ""
    return f'<span>{e(code)} <span class="hint">{e(STATUS_LABELS[lang_of(lang)].get(code, ""))}</span></span>'


def _kind(row: EventRow, lang: str) -> str:
    return e(KIND_LABELS[lang_of(lang)].get(row.kind, row.kind))


def search_body(lang: str, values: Mapping[str, str], rows: Sequence[EventRow], *, error: str | None,
                next_href: str | None, first_href: str | None, export: Mapping[str, str]) -> str:
    t = words(lang)
    statuses = [("", t["any"])] + [(c, f"{c} — {label}") for c, label in STATUS_LABELS[lang_of(lang)].items()]
    kinds = [("", t["any"])] + [(k, KIND_LABELS[lang_of(lang)].get(k, k)) for k in KINDS]
    form = (
        f'<form method="get" action="/audit/search" id="search-form" role="search">'
        f'{"<input type=hidden name=lang value=en>" if lang_of(lang) == "en" else ""}'
        f'<fieldset><legend>{e(t["filters"])}</legend><div class="grid">'
        + _input("q", t["q"], values.get("q"))
        + _select("status", t["status"], values.get("status"), statuses)
        + _select("kind", t["kind"], values.get("kind"), kinds)
        + _input("sender", t["sender"], values.get("sender"), extra=' placeholder="000.00.00.G22"')
        + _input("recipient", t["recipient"], values.get("recipient"))
        + _input("agency", t["agency"], values.get("agency"))
        + _input("document_id", t["document_id"], values.get("document_id"))
        + _input("since", t["since"], values.get("since"), kind="date")
        + _input("until", t["until"], values.get("until"), kind="date")
        + _select("sort", t["sort"], values.get("sort") or "-at", [("-at", t["sort_desc"]), ("at", t["sort_asc"])])
        + f'</div><div class="actions"><button class="btn" type="submit" id="do-search">{e(t["search"])}</button>'
        f'<a class="btn secondary" id="export-csv" href="{e(export["csv"])}" download>{e(t["export_csv"])}</a>'
        f'<a class="btn secondary" id="export-jsonl" href="{e(export["jsonl"])}" download>{e(t["export_jsonl"])}</a>'
        "</div></fieldset></form>"
    )
    return form + _error(error, lang) + _results(lang, rows, next_href, first_href)


def _results(lang: str, rows: Sequence[EventRow], next_href: str | None, first_href: str | None) -> str:
    t = words(lang)
    if not rows:
        return f'<h2 id="results">{e(t["results"])}</h2><p id="no-results">{e(t["no_results"])}</p>'
    cols = ("col_at", "col_kind", "col_status", "col_document", "col_subject", "col_agency", "col_actor")
    head = "".join(f"<th scope=col>{e(t[c])}</th>" for c in cols)
    body = "".join(
        _cells(t, cols, (e(_local(r.at)), _kind(r, lang), _status_cell(r, lang), _document_link(r, lang),
                         e(r.subject), e(r.agency), e(r.actor)))
        for r in rows
    )
    pager = "".join((
        f'<a id="first-page" href="{e(first_href)}">{e(t["first_page"])}</a>' if first_href else "",
        f'<a id="next-page" rel="next" href="{e(next_href)}">{e(t["next_page"])}</a>' if next_href else "",
    ))
    return (f'<h2 id="results">{e(t["results"])}</h2><div class="scroll"><table id="events" class="cards">'
            f'<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div><p class="actions">{pager}</p>')


def _cells(t: Mapping[str, str], cols: Sequence[str], cells: Sequence[str]) -> str:
    """A row whose cells carry their column's name (``data-label``), shown before each value on a phone."""
    tds = "".join(
        f'<td data-label="{e(t[c])}"{" class=proof" if c == "col_proof" else ""}>{cell}</td>'
        for c, cell in zip(cols, cells, strict=True)
    )
    return f"<tr>{tds}</tr>"


def _document_link(row: EventRow, lang: str) -> str:
    if not row.document_id:
        return ""
    return f'<a class="timeline" href="{e(href("/audit/timeline", lang, document_id=row.document_id))}">' \
           f"{e(row.document_id)}</a>"


def timeline_body(lang: str, document_id: str, rows: Sequence[EventRow], proofs: Mapping[int, str]) -> str:
    t = words(lang)
    subject = next((r.subject for r in rows if r.subject), None)
    cols = ("col_at", "col_kind", "col_status", "col_agency", "col_actor", "col_proof")
    head = "".join(f"<th scope=col>{e(t[c])}</th>" for c in cols)
    body = "".join(
        _cells(t, cols, (e(_local(r.at)), _kind(r, lang), _status_cell(r, lang), e(r.agency), e(r.actor),
                         e(proofs.get(r.id) or t["proof_none"])))
        for r in rows
    )
    intro = f"<p><strong>{e(document_id)}</strong>{' — ' + e(subject) if subject else ''}</p>"
    if not rows:
        return intro + f'<p id="no-results">{e(t["no_results"])}</p>'
    return (intro + '<div class="scroll"><table id="timeline" class="cards">'
            f"<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>")


def _minutes(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    if seconds < 3600:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"


def stats_body(lang: str, values: Mapping[str, str], table: Sequence[StatRow], *, error: str | None) -> str:
    t = words(lang)
    form = (
        f'<form method="get" action="/audit/stats" id="stats-form">'
        f'{"<input type=hidden name=lang value=en>" if lang_of(lang) == "en" else ""}'
        f'<fieldset><legend>{e(t["filters"])}</legend><div class="grid">'
        + _input("from", t["from"], values.get("from"), kind="date")
        + _input("to", t["to"], values.get("to"), kind="date")
        + _select("group", t["group"], values.get("group") or "month",
                  [("day", t["group_day"]), ("month", t["group_month"]), ("quarter", t["group_quarter"])])
        + _input("agency", t["agency"], values.get("agency"))
        + f'</div><div class="actions"><button class="btn" type="submit" id="do-stats">{e(t["show"])}</button>'
        f'<a class="btn secondary" id="stats-csv" href="{e(values.get("csv_href", ""))}" download>'
        f'{e(t["export_csv"])}</a></div></fieldset></form>'
    )
    if error or not table:
        return form + (_error(error, lang) or f'<p id="no-results">{e(t["no_stats"])}</p>')
    return form + _charts(lang, table) + _stats_table(lang, table) + f'<p class="hint">{e(t["overdue_rule"])}</p>'


def _charts(lang: str, table: Sequence[StatRow]) -> str:
    t = words(lang)
    periods = sorted({r.period for r in table})
    totals = {name: [float(sum(getattr(r, name) for r in table if r.period == p)) for p in periods]
              for name in ("sent", "received", "processed", "overdue")}
    bars = bar_chart("chart-periods", t["chart_periods"], periods, {t[k]: v for k, v in totals.items()})
    by_agency: dict[str, float] = {}
    for r in table:
        by_agency[r.agency] = by_agency.get(r.agency, 0) + r.received
    top = [a for a, n in sorted(by_agency.items(), key=lambda kv: (-kv[1], kv[0])) if n > 0][:5]
    lines = ""
    if top:
        series = {a: [float(sum(r.received for r in table if r.agency == a and r.period == p)) for p in periods]
                  for a in top}
        lines = f'<h2>{e(t["chart_agencies"])}</h2>' + line_chart("chart-agencies", t["chart_agencies"], periods,
                                                                  series)
    return f'<h2>{e(t["chart_periods"])}</h2>{bars}{lines}'


def _stats_table(lang: str, table: Sequence[StatRow]) -> str:
    t = words(lang)
    head = f"<th scope=col>{e(t['col_agency'])}</th><th scope=col>{e(t['period'])}</th>" + "".join(
        f'<th scope=col class="num">{e(t[c])}</th>' for c in (*COUNTS, "median_to_01", "median_to_06"))
    body = "".join(
        f"<tr><td>{e(r.agency)}</td><td>{e(r.period)}</td>"
        + "".join(f'<td class="num">{getattr(r, c)}</td>' for c in COUNTS)
        + f'<td class="num">{_minutes(r.median_to_01)}</td><td class="num">{_minutes(r.median_to_06)}</td></tr>'
        for r in table
    )
    return (f'<h2>{e(t["table"])}</h2><div class="scroll"><table id="stats"><thead><tr>{head}</tr></thead>'
            f"<tbody>{body}</tbody></table></div>")


def evidence_body(lang: str, csrf: str, *, available: bool, result: BundleCheck | None = None,
                  error: str | None = None) -> str:
    t = words(lang)
    if not available:
        return (f'<div class="narrow"><p>{e(t["evidence_intro"])}</p><p class="error" role="status" '
                f'id="unavailable"><strong>{e(t["unavailable"])}.</strong> {e(t["unavailable_text"])}</p></div>')
    outcome = ""
    if result is not None:
        cls, verdict = ("ok", t["valid"]) if result.ok else ("error", t["invalid"])
        problems = "".join(f"<li>{e(p)}</li>" for p in result.problems)
        facts = "".join(f"<dt>{e(t.get(k, k))}</dt><dd>{e(v)}</dd>" for k, v in result.facts.items())
        listed = f"<ul>{problems}</ul>" if problems else ""
        outcome = (f'<div role="alert" id="verdict" class="{cls}"><strong>{e(verdict)}</strong>{listed}</div>'
                   f'{"<dl>" + facts + "</dl>" if facts else ""}')
    return (
        f'<div class="narrow"><p>{e(t["evidence_intro"])}</p>{_error(error, lang)}{outcome}'
        f'<form method="post" action="{e(href("/audit/evidence", lang))}" enctype="multipart/form-data" '
        f'id="evidence-form"><input type="hidden" name="csrf" value="{e(csrf)}">'
        f'<label for="bundle">{e(t["bundle"])}</label>'
        f'<input id="bundle" name="bundle" type="file" accept=".zip,application/zip" required>'
        f'<div class="actions"><button class="btn" type="submit" id="do-check">{e(t["check"])}</button></div>'
        "</form></div>"
    )


def day_or_none(value: str | None) -> date | None:
    """A ``YYYY-MM-DD`` form value, None when blank; ValueError when malformed."""
    value = (value or "").strip()
    return date.fromisoformat(value) if value else None
