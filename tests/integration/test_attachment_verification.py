"""Verification on receipt: PDF attachments of a submitted package are verified by the delivery worker, and the
verdict shows on the recipient's inbox item and the package record (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from storage.models import ExchangeEvent, OutboxMessage
from tests.integration.test_signing_api import KEY_ENV, signature_settings, signed_pdf, tamper
from tests.support.exchange import header, inbox, record
from tests.support.gateway import A, B, Env, gateway_env


@pytest.fixture
def env(empty_database_url: str, test_pki, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Env]:
    monkeypatch.setenv(KEY_ENV, test_pki.signer("good-rsa")[1].decode())
    yield from gateway_env(empty_database_url, tmp_path, **signature_settings(test_pki))


def submit(env: Env, files: list[tuple[str, bytes, str]]) -> str:
    multipart = [("files", f) for f in files]
    hdr = json.dumps(header(A, [B]), ensure_ascii=False)
    resp = env.http.post("/api/v1/edocs", data={"header": hdr}, files=multipart, headers=env.as_("A"))
    assert resp.status_code == 202, resp.text
    package_id: str = resp.json()["id"]
    return package_id


def test_inbox_shows_the_verdict_of_each_pdf(env: Env, test_pki) -> None:
    good = signed_pdf(test_pki)
    package_id = submit(
        env,
        [
            ("cong-van.pdf", good, "application/pdf"),
            ("phu-luc.pdf", tamper(good), "application/pdf"),
            ("ghi-chu.txt", b"khong phai PDF", "text/plain"),
        ],
    )
    before = record(env, "A", package_id)["attachments"]
    assert [a.get("verification") for a in before] == [{"state": "pending"}, {"state": "pending"}, None]
    with env.gw.sessions() as session:
        topics = session.execute(sa.select(OutboxMessage.topic, OutboxMessage.payload)).all()
    assert sorted((t, p.get("position")) for t, p in topics if t == "verify_attachment") == [
        ("verify_attachment", 0),
        ("verify_attachment", 1),
    ]

    env.deliver()

    (item,) = inbox(env, "B")
    first, second, third = item["attachments"]
    assert first["verification"]["verdict_vi"] == "Chữ ký hợp lệ"
    assert first["verification"]["indication"] == "TOTAL_PASSED"
    assert first["verification"]["signers"] == ["Nguyễn Văn An"]
    assert second["verification"]["verdict_vi"] == "Chữ ký không hợp lệ"
    assert second["verification"]["sub_indication"] == "HASH_FAILURE"
    assert "verification" not in third
    assert record(env, "B", package_id)["attachments"][0]["verification"] == first["verification"]

    full = env.http.get(f"/api/v1/edocs/{package_id}/attachments/0/verification", headers=env.as_("B"))
    assert full.status_code == 200
    assert full.json()["signatures"][0]["signer"]["common_name"] == "Nguyễn Văn An"
    assert full.json()["file"]["sha256"] == first["sha256"]
    none = env.http.get(f"/api/v1/edocs/{package_id}/attachments/2/verification", headers=env.as_("B"))
    assert (none.status_code, none.json()["code"]) == (404, "verification_unavailable")
    with env.gw.sessions() as session:
        events = session.execute(sa.select(ExchangeEvent.kind).where(ExchangeEvent.package_id == package_id)).scalars()
        assert list(events).count("attachment_verified") == 2


def test_unreadable_pdf_is_an_outcome_not_a_retry(env: Env) -> None:
    package_id = submit(env, [("hong.pdf", b"%PDF-1.7\nnot really", "application/octet-stream")])
    env.deliver()
    verification = record(env, "B", package_id)["attachments"][0]["verification"]
    assert verification["state"] == "unreadable" and verification["code"] == "pdf_unreadable"
    with env.gw.sessions() as session:
        pending = session.execute(sa.select(OutboxMessage).where(OutboxMessage.done_at.is_(None))).scalars().all()
    assert pending == []
