"""The archive (issue 20): a completed exchange becomes one AIP per document, written by the worker to every
archive store and recorded; a redelivered message or a second sweep adds nothing."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from lxml import etree

from service.archive.archiving import archive, sweep
from storage import archive as repo
from tests.support.exchange import header, status, submit
from tests.support.gateway import A, B, Env, gateway_env
from tests.support.pdfs import simple_pdf

T = "{urn:edoc-gateway:tt02-2019:document:1}"


@pytest.fixture
def file_env(empty_database_url: str, tmp_path: Path) -> Iterator[Env]:
    yield from gateway_env(empty_database_url, tmp_path, archive_sweep_seconds=0)


def complete_exchange(env: Env, pdf: bytes | None = None, number: str = "12") -> str:
    resp = submit(env, "A", header(A, [B], number=number), files=[("Công văn số 12.pdf", pdf or simple_pdf(2))])
    assert resp.status_code == 202, resp.text
    doc: str = resp.json()["id"]
    env.deliver()
    for code in ("03", "06"):
        assert status(env, "B", doc, code).status_code == 202
    env.deliver()
    return doc


def aip_files(env: Env, doc: str) -> tuple[repo.AipRow, list[repo.CopyRow]]:
    with env.gw.sessions() as session:
        aip = repo.aip_of_package(session, doc)
        assert aip is not None
        return aip, repo.copies_of(session, aip.id)


def test_a_completed_exchange_is_archived_once_by_the_worker(file_env: Env) -> None:
    env = file_env
    resp = submit(env, "A", header(A, [B]))
    doc = resp.json()["id"]
    env.deliver()
    assert sweep(env.gw) == 0  # B has not finished: nothing to archive yet
    assert status(env, "B", doc, "03").status_code == 202
    env.deliver()
    assert sweep(env.gw) == 0
    assert status(env, "B", doc, "06").status_code == 202
    env.deliver()

    assert sweep(env.gw) == 1
    assert sweep(env.gw) == 0  # queued once
    aip, copies = aip_files(env, doc)
    assert aip.state == "pending" and copies == []
    env.deliver()  # the archive handler
    aip, copies = aip_files(env, doc)
    assert aip.state == "complete" and aip.complete and aip.retention == "10 năm"
    assert aip.id.startswith("urn:uuid:") and aip.retain_until is not None
    assert [c.store_url for c in copies] == [(env.gw.settings.data_dir / "archive").resolve().as_uri()]
    store = env.gw.archive_copies[0]
    files = copies[0].files
    assert {"METS.xml", "metadata/descriptive/document.xml", "metadata/preservation/PREMIS.xml",
            "manifest-sha256.txt", "bagit.txt", "representations/rep1/data/package.edxml",
            "documentation/status-history.json", "documentation/exchange-log.json",
            "documentation/verification.json"} <= set(files)
    assert any(p.startswith("representations/rep1/data/attachments/01-") for p in files)
    for path, entry in files.items():
        assert hashlib.sha256(store.read(entry["sha256"])).hexdigest() == entry["sha256"], path
    manifest = store.read(files["manifest-sha256.txt"]["sha256"]).decode()
    assert hashlib.sha256(manifest.encode()).hexdigest() == aip.manifest_sha256
    listed = dict(line.split(" ", 1)[::-1] for line in manifest.splitlines())
    assert listed == {p: e["sha256"] for p, e in files.items() if p not in ("manifest-sha256.txt", "bagit.txt")}

    meta = etree.fromstring(store.read(files["metadata/descriptive/document.xml"]["sha256"]))
    assert meta.findtext(f"{T}CodeNumber") == "12"
    assert meta.findtext(f"{T}CodeNotation") == "STTTT-VP"
    assert meta.findtext(f"{T}Subject", "").startswith("Về việc triển khai")
    assert meta.findtext(f"{T}Maintenance") == "10 năm"
    assert meta.findtext(f"{T}SignerFullName") == "Nguyễn Văn Ấn"

    # a redelivered message finds the AIP complete and writes nothing
    assert archive(env.gw, aip.id) is False
    assert aip_files(env, doc)[1] == copies


def test_an_unfinished_exchange_is_archived_as_incomplete_after_the_limit(file_env: Env) -> None:
    env = file_env
    doc = submit(env, "A", header(A, [B])).json()["id"]
    env.deliver()
    from datetime import UTC, datetime, timedelta

    later = datetime.now(UTC) + timedelta(days=env.gw.settings.archive_after_days + 1)
    assert sweep(env.gw, now=later) == 1
    env.deliver()
    aip, copies = aip_files(env, doc)
    assert aip.state == "complete" and not aip.complete and len(copies) == 1


def test_the_retention_table_decides_the_period(empty_database_url: str, tmp_path: Path) -> None:
    table = tmp_path / "retention.json"
    table.write_text('{"default": "5 năm", "rules": [{"type_name": "công văn", "agency": "*.H53", '
                     '"retention": "Vĩnh viễn"}]}', encoding="utf-8")
    for env in gateway_env(empty_database_url, tmp_path, archive_sweep_seconds=0, retention_table=table):
        doc = complete_exchange(env)
        assert sweep(env.gw) == 1
        env.deliver()
        aip, _copies = aip_files(env, doc)
        assert aip.permanent and aip.retain_until is None and aip.retention == "Vĩnh viễn"


def test_the_archive_endpoint_shows_the_aip_its_copies_and_last_fixity(file_env: Env) -> None:
    from service.archive.fixity import audit

    env = file_env
    doc = complete_exchange(env)
    early = env.http.get(f"/api/v1/edocs/{doc}/archive", headers=env.as_("A"))
    assert early.status_code == 404 and early.json()["code"] == "not_archived"
    sweep(env.gw)
    env.deliver()
    audit(env.gw, everything=True)
    for who in ("A", "B", "auditor"):
        resp = env.http.get(f"/api/v1/edocs/{doc}/archive", headers=env.as_(who))
        assert resp.status_code == 200, resp.text
        body = resp.json()
        assert body["aip"].startswith("urn:uuid:") and body["state"] == "complete" and body["retention"] == "10 năm"
        [copy] = body["copies"]
        assert copy["files"] >= 10 and copy["last_fixity"]["outcome"] == "ok"
    assert env.http.get(f"/api/v1/edocs/{doc}/archive", headers=env.as_("C")).status_code in (403, 404)


def test_the_export_endpoint_for_auditors_with_a_logged_reason(file_env: Env) -> None:
    import io
    import zipfile

    env = file_env
    doc = complete_exchange(env)
    sweep(env.gw)
    env.deliver()
    body = {"ids": [doc], "dip": True, "reason": "Kiểm tra hồ sơ lưu trữ năm 2026"}
    assert env.http.post("/api/v1/archive/export", json=body, headers=env.as_("A")).json()["code"] == "wrong_role"
    no_reason = env.http.post("/api/v1/archive/export", json={**body, "reason": "vì"}, headers=env.as_("auditor"))
    assert no_reason.status_code == 403 and no_reason.json()["code"] == "reason_required"
    missing = env.http.post("/api/v1/archive/export", json={**body, "ids": ["nothing"]}, headers=env.as_("auditor"))
    assert missing.status_code == 404 and missing.json()["code"] == "aip_not_found"

    resp = env.http.post("/api/v1/archive/export", json=body, headers=env.as_("auditor"))
    assert resp.status_code == 200 and resp.headers["content-type"] == "application/zip"
    names = zipfile.ZipFile(io.BytesIO(resp.content)).namelist()
    assert names[0].startswith("001-") and any(n.endswith(".pdf") for n in names)
    transfer = env.http.post("/api/v1/archive/export", json={**body, "dip": False}, headers=env.as_("admin"))
    assert "manifest-sha256.txt" in zipfile.ZipFile(io.BytesIO(transfer.content)).namelist()

    log = env.http.get("/api/v1/events", params={"package_id": doc, "kind": "content_read"},
                       headers=env.as_("auditor")).json()
    reads = [e for e in log["items"] if e["kind"] == "content_read"]
    assert len(reads) == 2 and {r["detail"]["what"] for r in reads} == {"archive DIP", "archive transfer"}
    assert all(r["detail"]["reason"] == body["reason"] for r in reads)
