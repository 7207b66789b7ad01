"""The rows the two busiest writes leave, on both databases (PostgreSQL writes each in one statement, SQLite in a
transaction): a submit's package, attachment, deliveries, outbox messages and event; an ack's acked state, event
and, for a document, one automatic-01 outbox row (none on a repeat, none for a status package)."""

from __future__ import annotations

import hashlib
from typing import Any

import sqlalchemy as sa

from storage.models import Delivery, ExchangeEvent, OutboxMessage
from tests.support.exchange import header, inbox, submit
from tests.support.gateway import A, B, C, Env


def _rows(env: Env) -> tuple[list[Any], list[Any], list[Any]]:
    with env.gw.sessions() as session:
        deliveries = session.execute(sa.select(Delivery.to_code, Delivery.state, Delivery.acked_at)).all()
        events = session.execute(
            sa.select(ExchangeEvent.kind, ExchangeEvent.agency_code, ExchangeEvent.actor, ExchangeEvent.detail)
            .where(ExchangeEvent.kind == "acked")
        ).all()
        automatic = session.execute(
            sa.select(OutboxMessage.payload, OutboxMessage.done_at).where(OutboxMessage.topic == "auto_status")
        ).all()
    return deliveries, events, automatic


def test_an_ack_writes_the_acked_state_one_event_and_one_automatic_status(env: Env) -> None:
    doc = submit(env, "A", header(A, [B, C])).json()["id"]
    env.deliver()
    first = env.http.post(f"/api/v1/edocs/{doc}/ack", headers=env.as_("B"))
    assert first.status_code == 200, first.text
    assert first.json() == {"id": doc, "agency": B, "state": "acked", "already": False}
    deliveries, events, automatic = _rows(env)
    states = {code: (state, acked_at is not None) for code, state, acked_at in deliveries}
    assert states == {B: ("acked", True), C: ("delivered", False)}
    assert [(e.kind, e.agency_code, e.actor, e.detail) for e in events] == [("acked", B, "test-B", {"kind": "edoc"})]
    with env.gw.sessions() as session:
        b_delivery = session.execute(sa.select(Delivery.id).where(Delivery.to_code == B)).scalar_one()
    assert [(m.payload, m.done_at) for m in automatic] == [({"delivery_id": b_delivery, "code": "01"}, None)]

    again = env.http.post(f"/api/v1/edocs/{doc}/ack", headers=env.as_("B"))
    assert again.json() == {"id": doc, "agency": B, "state": "acked", "already": True}
    assert _rows(env)[1:] == (events, automatic)  # nothing more written

    assert env.http.post(f"/api/v1/edocs/{doc}/ack", headers=env.as_("A")).status_code == 404  # the sender's own


def test_acking_a_status_package_owes_no_status(env: Env) -> None:
    doc = submit(env, "A", header(A, [B])).json()["id"]
    env.deliver()
    assert env.http.post(f"/api/v1/edocs/{doc}/ack", headers=env.as_("B")).status_code == 200
    env.deliver()  # the automatic 01 goes to A's inbox
    statuses = [i for i in inbox(env, "A") if i["kind"] == "status"]
    assert [s["code"] for s in statuses] == ["01"]
    resp = env.http.post(f"/api/v1/edocs/{statuses[0]['id']}/ack", headers=env.as_("A"))
    assert resp.status_code == 200 and resp.json()["already"] is False
    _deliveries, events, automatic = _rows(env)
    assert [(e.agency_code, e.detail) for e in events] == [(B, {"kind": "edoc"}), (A, {"kind": "status"})]
    assert len(automatic) == 1  # only the document's


def test_a_submit_writes_the_same_rows_on_both_databases(env: Env) -> None:
    """PostgreSQL writes a plain document's rows in one statement, SQLite in a transaction; these are the rows."""
    from storage.models import AttachmentRow, Package

    resp = submit(env, "A", header(A, [B, C]), key="rows-1")
    assert resp.status_code == 202, resp.text
    doc = resp.json()["id"]
    with env.gw.sessions() as session:
        package = session.get(Package, doc)
        assert package is not None
        assert (package.kind, package.from_code, package.business_type, package.channel, package.idempotency_key) == (
            "edoc", A, 0, "api", "rows-1"
        )
        assert package.summary["to"] == [B, C] and package.signature["incoming"]["code"] == "built"
        assert package.oddities == [] and package.created_at is not None and package.size > 0
        attachments = session.execute(sa.select(AttachmentRow)).scalars().all()
        assert [(a.position, a.content_type, a.verification) for a in attachments] == [
            (0, "application/pdf", {"state": "pending"})
        ]
        deliveries = session.execute(
            sa.select(Delivery.to_code, Delivery.state, Delivery.route, Delivery.attempts).order_by(Delivery.to_code)
        ).all()
        assert [tuple(d) for d in deliveries] == [(C, "pending", "local", 0), (B, "pending", "local", 0)]
        messages = session.execute(
            sa.select(OutboxMessage.topic, OutboxMessage.payload, OutboxMessage.attempts).order_by(OutboxMessage.id)
        ).all()
        assert [m.topic for m in messages] == ["verify_attachment", "deliver", "deliver"]
        assert messages[0].payload == {"package_id": doc, "position": 0} and {m.attempts for m in messages} == {0}
        events = session.execute(
            sa.select(ExchangeEvent.kind, ExchangeEvent.package_id, ExchangeEvent.agency_code, ExchangeEvent.detail)
        ).all()
    assert [tuple(e) for e in events] == [("submitted", doc, A, {"to": [B, C]})]


def test_a_file_that_is_not_a_pdf_gets_no_verification_and_no_check_message(env: Env) -> None:
    """The attachment rows' NULLs (no verification to do) come out as NULLs on both databases, and only the PDF
    gets a verify_attachment message."""
    import json

    from storage.models import AttachmentRow
    from tests.support.pdfs import simple_pdf

    files = [("files", ("cong-van.pdf", simple_pdf(1), "application/pdf")),
             ("files", ("ghi-chu.txt", "Ghi chú kèm theo".encode(), "text/plain"))]
    resp = env.http.post("/api/v1/edocs", data={"header": json.dumps(header(A, [B]), ensure_ascii=False)},
                         files=files, headers=env.as_("A"))
    assert resp.status_code == 202, resp.text
    with env.gw.sessions() as session:
        attachments = session.execute(
            sa.select(AttachmentRow.position, AttachmentRow.name, AttachmentRow.content_type,
                      AttachmentRow.description, AttachmentRow.verification).order_by(AttachmentRow.position)
        ).all()
        topics = session.execute(sa.select(OutboxMessage.topic).order_by(OutboxMessage.id)).scalars().all()
        # SQL NULL, not a JSON null (which the JSON type would also read as None)
        sql_nulls = session.execute(sa.text("SELECT count(*) FROM attachment WHERE verification IS NULL")).scalar()
    assert sql_nulls == 1
    assert [tuple(a) for a in attachments] == [
        (0, "cong-van.pdf", "application/pdf", None, {"state": "pending"}),
        (1, "ghi-chu.txt", "text/plain", None, None),
    ]
    assert topics == ["verify_attachment", "deliver"]


def _automatic_rows(env: Env, doc: str) -> dict[str, Any]:
    """The rows the automatic 01 statuses about ``doc`` left, with ids and times replaced by what they refer to."""
    with env.gw.sessions() as session:
        conn = session.connection()
        original = conn.execute(sa.text("SELECT document_id FROM package WHERE id = :doc"), {"doc": doc}).scalar_one()
        packages = conn.execute(sa.text(
            "SELECT id, kind, document_id, from_code, business_type, subject, status_code, response_for_id, size,"
            " request_sha256, idempotency_key, submitted_by, channel, summary, signature, oddities,"
            " created_at IS NOT NULL, (SELECT size FROM small_blob WHERE sha256 = blob_sha256)"
            " FROM package WHERE response_for_id = :doc ORDER BY from_code"
        ).columns(summary=sa.JSON, signature=sa.JSON, oddities=sa.JSON), {"doc": doc}).all()
        names = {row[0]: f"status-from-{row[3]}" for row in packages}
        names[doc] = "document"
        for delivery_id, to_code in conn.execute(
            sa.text("SELECT id, to_code FROM delivery WHERE package_id = :doc"), {"doc": doc}
        ):
            names[delivery_id] = f"delivery-to-{to_code}"
        deliveries = conn.execute(sa.text(
            "SELECT package_id, to_code, route, state, attempts, delivered_at IS NOT NULL, last_error,"
            " business_status, created_at IS NOT NULL FROM delivery WHERE package_id IN :ids ORDER BY package_id"
        ).bindparams(sa.bindparam("ids", expanding=True)), {"ids": list(names)}).all()
        entries = conn.execute(sa.text(
            "SELECT package_id, agency_code, code, description, staff IS NULL, staff, status_package_id"
            " FROM status_entry WHERE package_id = :doc ORDER BY id"
        ).columns(staff=sa.JSON), {"doc": doc}).all()
        events = conn.execute(sa.text(
            "SELECT kind, package_id, document_id, agency_code, actor, detail FROM exchange_event"
            " WHERE (package_id = :doc AND kind = 'status') OR package_id IN :statuses ORDER BY id"
        ).bindparams(sa.bindparam("statuses", expanding=True)).columns(detail=sa.JSON),
            {"doc": doc, "statuses": [p[0] for p in packages]}).all()

    def named(value: Any) -> Any:
        if isinstance(value, str):
            if value == original:
                return "original-document-id"
            if len(value) == 64 and value in keys:  # request_sha256: the hash of the idempotency key, named
                return f"sha256({named(keys[value])})"
            for known, name in names.items():
                value = value.replace(known, name)  # ids, also inside a key such as auto:<delivery>:01
            return value
        if isinstance(value, dict):
            return {k: named(v) for k, v in value.items()}
        return value

    def plain(row: Any) -> tuple[Any, ...]:
        return tuple(named(v) for v in row)

    keys = {hashlib.sha256(row[10].encode()).hexdigest(): row[10] for row in packages}  # request_sha256 -> key
    by_status: dict[str, list[tuple[Any, ...]]] = {}  # each status's events, in the order they were written
    for row in events:
        about = row.package_id if row.kind != "status" else row.detail["via_package"]
        by_status.setdefault(names[about], []).append(plain(row))
    return {
        "packages": [(*plain(row[1:]), named(row[0])) for row in packages],
        "deliveries": sorted(plain(row) for row in deliveries),
        "entries": sorted(plain(row) for row in entries),  # a batch's order is the order its jobs were read in
        "events": by_status,
    }


def test_the_automatic_statuses_write_their_rows(env: Env) -> None:
    """A batch of automatic statuses (service/exchange/auto_status.py) leaves the rows of a status package per
    recipient, checked for what they say once their ids are named."""
    resp = submit(env, "A", header(A, [B, C], number="41"))
    assert resp.status_code == 202 and "Idempotent-Replayed" not in resp.headers, resp.text
    doc = resp.json()["id"]
    env.deliver()
    for who in "BC":
        assert env.http.post(f"/api/v1/edocs/{doc}/ack", headers=env.as_(who)).status_code == 200
    env.deliver()
    first = _automatic_rows(env, doc)
    assert [row[5] for row in first["packages"]] == ["01", "01"]  # status_code
    senders = sorted((B, C))  # the packages are listed by sender
    assert [(row[1], row[2]) for row in first["packages"]] == [("original-document-id", code) for code in senders]
    assert [(row[8], row[9]) for row in first["packages"]] == [  # request_sha256, idempotency_key
        (f"sha256(auto:delivery-to-{code}:01)", f"auto:delivery-to-{code}:01") for code in senders
    ]
    assert all(row[-2] == row[7] for row in first["packages"])  # the signed package is a small blob of its size
    assert [row[:5] + row[6:8] for row in first["deliveries"]] == [
        *[("document", code, "local", "acked", 1, None, "01") for code in senders],
        *[(f"status-from-{code}", A, "local", "delivered", 1, None, None) for code in senders],
    ]
    assert all(row[5] and row[8] for row in first["deliveries"])  # delivered_at and created_at are set
    assert [(row[1], row[2]) for row in first["entries"]] == [(code, "01") for code in senders]
    assert {status: [(row[0], row[3]) for row in rows] for status, rows in first["events"].items()} == {
        f"status-from-{code}": [("status_submitted", code), ("status", code), ("delivered", A)] for code in senders
    }


def _verification_rows(env: Env, doc: str) -> dict[str, Any]:
    """What checking ``doc``'s attachment wrote, with the values that differ from run to run (the time of the
    check, the report's bytes and so its address) named instead."""
    from storage.models import AttachmentRow

    with env.gw.sessions() as session:
        (verification,) = session.execute(
            sa.select(AttachmentRow.verification).where(AttachmentRow.package_id == doc)
        ).scalars().all()
        events = session.execute(
            sa.select(ExchangeEvent.kind, ExchangeEvent.document_id, ExchangeEvent.agency_code,
                      ExchangeEvent.actor, ExchangeEvent.detail)
            .where(ExchangeEvent.package_id == doc, ExchangeEvent.kind == "attachment_verified")
        ).all()
        report = session.execute(
            sa.text("SELECT size FROM small_blob WHERE sha256 = :s"), {"s": verification["report_sha256"]}
        ).scalar()
        pending = session.execute(
            sa.select(sa.func.count()).select_from(OutboxMessage)
            .where(OutboxMessage.topic == "verify_attachment", OutboxMessage.done_at.is_(None))
        ).scalar()
        document_id = session.execute(sa.text("SELECT document_id FROM package WHERE id = :p"), {"p": doc}).scalar()
    named = {"verified_at": "<time>", "report_sha256": "<report>"}
    return {
        "verification": {k: named.get(k, v) for k, v in verification.items()},
        "events": [
            (row[0], "original-document-id" if row[1] == document_id else row[1], *row[2:4],
             {k: named.get(k, v) for k, v in row[4].items()})
            for row in events
        ],
        "report_stored": report is not None and report > 0,
        "messages_left": pending,
        "event_names_the_report": [row[4]["report_sha256"] for row in events] == [verification["report_sha256"]],
    }


def test_checking_an_attachment_writes_its_rows(env: Env) -> None:
    """A batch of attachment checks (service/signatures.py _finish) leaves the summary, the report and one event."""
    resp = submit(env, "A", header(A, [B], number="51"))
    assert resp.status_code == 202, resp.text
    doc = resp.json()["id"]
    env.deliver()
    first = _verification_rows(env, doc)
    assert first["verification"]["state"] == "done" and first["verification"]["signatures"] == 0
    assert first["events"] == [
        ("attachment_verified", "original-document-id", A, first["events"][0][3],
         {"position": 0, "indication": first["verification"]["indication"], "report_sha256": "<report>"})
    ]
    assert first["events"][0][3].startswith("worker:")
    assert first["report_stored"] and first["event_names_the_report"] and first["messages_left"] == 0
