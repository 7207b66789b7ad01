"""Small blobs live in the database (storage/blobs.py), written in the transaction of the rows that reference them;
large ones in the object store. Reads find either, whatever the limit is now. On SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from storage.blobs import Blobs
from storage.errors import BlobNotFound
from storage.models import AttachmentRow, Package, SmallBlob
from tests.support.exchange import header, submit
from tests.support.gateway import A, B, Env, gateway_env
from tests.support.pdfs import simple_pdf

LIMIT = 20_000


@pytest.fixture
def env(empty_database_url: str, tmp_path: Path) -> Iterator[Env]:
    yield from gateway_env(empty_database_url, tmp_path, inline_blob_max_bytes=LIMIT)


def _files(env: Env) -> set[str]:
    root = env.gw.settings.data_dir / "objects"
    return {p.name for p in root.rglob("*") if p.is_file() and p.relative_to(root).parts[0] != "tmp"}


def _rows(env: Env) -> dict[str, bytes]:
    with env.gw.sessions() as session:
        return {r.sha256: bytes(r.data) for r in session.execute(sa.select(SmallBlob.sha256, SmallBlob.data))}


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_small_blobs_go_to_the_database_and_large_ones_to_the_object_store(env: Env) -> None:
    small, large = simple_pdf(1), simple_pdf(2, pad_to=60_000)
    assert len(small) <= LIMIT < len(large)
    resp = submit(env, "A", header(A, [B]), files=[("nho.pdf", small), ("lon.pdf", large)])
    assert resp.status_code == 202, resp.text
    package_id = resp.json()["id"]
    with env.gw.sessions() as session:
        package = session.get(Package, package_id)
        assert package is not None
        atts = session.execute(
            sa.select(AttachmentRow).where(AttachmentRow.package_id == package_id).order_by(AttachmentRow.position)
        ).scalars().all()
        package_sha, package_size = package.blob_sha256, package.size
    assert [a.blob_sha256 for a in atts] == [_sha(small), _sha(large)]
    rows, files = _rows(env), _files(env)
    assert rows == {_sha(small): small}  # the package (with both files in base64) is over the limit too
    assert package_size > LIMIT and package_sha in files and _sha(large) in files
    assert _sha(small) not in files
    # Served the same from either place.
    for n, data in enumerate((small, large)):
        got = env.http.get(f"/api/v1/edocs/{package_id}/attachments/{n}", headers=env.as_("B"))
        assert got.status_code == 200 and got.content == data


def test_status_packages_and_verification_reports_are_written_with_their_rows(env: Env) -> None:
    resp = submit(env, "A", header(A, [B]), files=[("cv.pdf", simple_pdf(1))])
    package_id = resp.json()["id"]
    env.deliver()  # delivers, and verifies the PDF: its report is small
    assert env.http.post(f"/api/v1/edocs/{package_id}/ack", headers=env.as_("B")).status_code == 200
    env.deliver()  # the automatic 01 back to A
    files_before = _files(env)

    with env.gw.sessions() as session:
        status = session.execute(sa.select(Package).where(Package.kind == "status")).scalar_one()
        report_sha = session.execute(
            sa.select(AttachmentRow.verification).where(AttachmentRow.package_id == package_id)
        ).scalar_one()["report_sha256"]
        status_id, status_sha = status.id, status.blob_sha256
    rows = _rows(env)
    assert status_sha in rows and report_sha in rows
    assert status_sha not in files_before and report_sha not in files_before

    edxml = env.http.get(f"/api/v1/edocs/{status_id}/edxml", headers=env.as_("A"))
    assert edxml.status_code == 200 and _sha(edxml.content) == status_sha
    assert b"<edXML:StatusCode>01</edXML:StatusCode>" in edxml.content
    report = env.http.get(f"/api/v1/edocs/{package_id}/attachments/0/verification", headers=env.as_("B"))
    assert report.status_code == 200 and _sha(report.content) == report_sha


def test_reads_find_a_blob_in_either_place_whatever_the_limit_is_now(env: Env) -> None:
    data = b"<edXML>" + b"x" * 5_000 + b"</edXML>"
    in_store = Blobs(env.gw.store, env.gw.engine, inline_max=0).put_bytes_now(data)  # written when the limit was 0
    assert in_store.sha256 in _files(env) and in_store.sha256 not in _rows(env)
    other = data + b" "
    in_rows = Blobs(env.gw.store, env.gw.engine, inline_max=LIMIT).put_bytes_now(other)
    assert in_rows.sha256 in _rows(env) and in_rows.sha256 not in _files(env)

    for limit in (0, 10, LIMIT, 10 * LIMIT):  # now read with every limit, with and without the size hint
        blobs = Blobs(env.gw.store, env.gw.engine, inline_max=limit)
        for ref, expected in ((in_store, data), (in_rows, other)):
            assert blobs.read(ref.sha256) == expected
            assert blobs.read(ref.sha256, ref.size) == expected
            with blobs.open(ref.sha256, ref.size) as stream:
                assert stream.read() == expected
            assert blobs.exists(ref.sha256)
    missing = "0" * 64
    with pytest.raises(BlobNotFound):
        env.gw.blobs.read(missing)
    with pytest.raises(BlobNotFound):
        env.gw.blobs.read(missing, 10 * LIMIT)
    assert not env.gw.blobs.exists(missing)


def test_the_same_small_blob_twice_is_one_row(env: Env) -> None:
    pdf = simple_pdf(1)
    for number in ("1", "2"):
        resp = submit(env, "A", header(A, [B], number=number), files=[("cv.pdf", pdf)])
        assert resp.status_code == 202, resp.text
    with env.gw.sessions() as session:
        count = session.execute(
            sa.select(sa.func.count()).select_from(SmallBlob).where(SmallBlob.sha256 == _sha(pdf))
        ).scalar_one()
    assert count == 1


def test_a_limit_of_zero_keeps_every_blob_in_the_object_store(empty_database_url: str, tmp_path: Path) -> None:
    for env in gateway_env(empty_database_url, tmp_path, inline_blob_max_bytes=0):
        resp = submit(env, "A", header(A, [B]), files=[("cv.pdf", simple_pdf(1))])
        assert resp.status_code == 202, resp.text
        env.deliver()
        assert _rows(env) == {}
        assert _sha(simple_pdf(1)) in _files(env)
