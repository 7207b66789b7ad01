"""Fixity audits (issue 20 item 5, done-when): a byte flipped in one copy of one AIP and an object deleted from
the other copy of another AIP are both found by the next audit, repaired from the good copies, and PREMIS event
files record the failed check, the repair and the check that passed after it; the audit after finds nothing.
On the file store (SQLite and PostgreSQL) and on two Object Lock buckets of the local S3 server."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from lxml import etree

from service.archive.archiving import sweep
from service.archive.fixity import audit
from storage import archive as repo
from storage.objects.s3 import S3ObjectStore
from tests.integration.test_archive import complete_exchange
from tests.support.gateway import Env, gateway_env
from tests.support.pdfs import simple_pdf
from tests.support.s3server import S3Server

P = {"p": "http://www.loc.gov/premis/v3"}


def two_archived(env: Env) -> list[tuple[repo.AipRow, list[repo.CopyRow]]]:
    docs = [complete_exchange(env, pdf=simple_pdf(2 + n), number=str(40 + n)) for n in range(2)]
    assert sweep(env.gw) == 2
    env.deliver()
    found = []
    with env.gw.sessions() as session:
        for doc in docs:
            aip = repo.aip_of_package(session, doc)
            assert aip is not None and aip.state == "complete"
            found.append((aip, repo.copies_of(session, aip.id)))
    return found


def attachment(copy: repo.CopyRow) -> str:
    return next(e["sha256"] for p, e in copy.files.items() if "/attachments/" in p)


def check_audit(env: Env, damaged: tuple[str, str], removed: tuple[str, str]) -> None:
    summary = audit(env.gw, everything=True)
    assert len(summary.copies) == 4
    assert sorted((c.aip_id, c.store_url, c.outcome) for c in summary.copies if c.outcome != "ok") == sorted(
        [(*damaged, "repaired"), (*removed, "repaired")]
    )
    problems = sorted(p["problem"] for c in summary.copies for p in c.problems)
    assert problems == ["mismatch", "missing"]
    stores = {s.url: s for s in env.gw.archive_copies}
    with env.gw.sessions() as session:
        for aip_id, store_url in (damaged, removed):
            checks = repo.fixity_checks(session, aip_id)
            assert [c["outcome"] for c in checks if c["store_url"] == store_url] == ["repaired"]
            copy = next(c for c in repo.copies_of(session, aip_id) if c.store_url == store_url)
            events = [p for p in copy.files if p.startswith("metadata/preservation/events/")]
            assert len(events) == 1
            premis = etree.fromstring(stores[store_url].read(copy.files[events[0]]["sha256"]))
            kinds = [(e.findtext("p:eventType", namespaces=P),
                      e.findtext("p:eventOutcomeInformation/p:eventOutcome", namespaces=P))
                     for e in premis.findall("p:event", P)]
            assert kinds == [("fixity check", "failure"), ("replication", "success"), ("fixity check", "success")]
    again = audit(env.gw, everything=True)
    assert [c.outcome for c in again.copies] == ["ok"] * 4  # the event files are checked too now


def test_an_audit_finds_and_repairs_a_flipped_byte_and_a_missing_object(empty_database_url: str,
                                                                        tmp_path: Path) -> None:
    urls = ((tmp_path / "copy-1").as_uri(), (tmp_path / "copy-2").as_uri())
    for env in gateway_env(empty_database_url, tmp_path, archive_urls=urls, archive_sweep_seconds=0):
        (first, first_copies), (second, second_copies) = two_archived(env)
        sha = attachment(first_copies[0])
        path = tmp_path / "copy-1" / sha[:2] / sha[2:4] / sha
        data = bytearray(path.read_bytes())
        data[len(data) // 2] ^= 0x01
        path.write_bytes(bytes(data))
        mets = second_copies[1].files["METS.xml"]["sha256"]
        (tmp_path / "copy-2" / mets[:2] / mets[2:4] / mets).unlink()
        check_audit(env, (first.id, first_copies[0].store_url), (second.id, second_copies[1].store_url))
        assert audit(env.gw).copies == []  # nothing due within EDOC_FIXITY_DAYS


@pytest.fixture
def s3_env(_pg_function_db: str, s3_server: S3Server, tmp_path: Path):  # type: ignore[no-untyped-def]
    urls = (s3_server.new_bucket_url(object_lock=True), s3_server.new_bucket_url(object_lock=True))
    yield from gateway_env(_pg_function_db, tmp_path, archive_urls=urls, archive_sweep_seconds=0)


def test_an_audit_repairs_s3_copies_with_new_versions(s3_env: Env) -> None:
    env = s3_env
    (first, first_copies), (second, second_copies) = two_archived(env)
    one, two = env.gw.archive_copies
    assert isinstance(one, S3ObjectStore) and isinstance(two, S3ObjectStore)
    sha = attachment(first_copies[0])
    good = one.read(sha)
    bad = bytearray(good)
    bad[len(bad) // 2] ^= 0x01
    # The locked version cannot be changed: a new version under the key is what a damaged copy looks like.
    one.client.put_object(one.bucket, one.key(sha), io.BytesIO(bytes(bad)), len(bad))
    assert one.read(sha) != good
    mets = second_copies[1].files["METS.xml"]["sha256"]
    # Deleting without a version id adds a delete marker (the locked version stays): the object is missing.
    two.client.remove_object(two.bucket, two.key(mets))
    assert not two.exists(mets)
    check_audit(env, (first.id, first_copies[0].store_url), (second.id, second_copies[1].store_url))
    assert one.read(sha) == good and two.exists(mets)


def test_the_audit_and_verify_commands(empty_database_url: str, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from service.cli import app

    urls = ((tmp_path / "copy-1").as_uri(), (tmp_path / "copy-2").as_uri())
    variables = {"EDOC_DATABASE_URL": empty_database_url, "EDOC_DATA_DIR": str(tmp_path),
                 "EDOC_STORAGE_URL": (tmp_path / "objects").as_uri(), "EDOC_ARCHIVE_URLS": ",".join(urls)}
    runner = CliRunner()
    for env in gateway_env(empty_database_url, tmp_path, archive_urls=urls, archive_sweep_seconds=0):
        (first, copies), _second = two_archived(env)
        ok = runner.invoke(app, ["archive", "verify", first.id], env=variables)
        assert ok.exit_code == 0, ok.output
        assert "intact" in ok.output

        mets = copies[0].files["METS.xml"]["sha256"]
        (tmp_path / "copy-1" / mets[:2] / mets[2:4] / mets).write_bytes(b"<not-mets/>")
        bad = runner.invoke(app, ["archive", "verify", first.package_id], env=variables)
        assert bad.exit_code == 1
        assert "METS.xml: SHA-256" in bad.output and "copy-1" in bad.output and "copy-2" not in bad.output

        audited = runner.invoke(app, ["archive", "audit", "--aip", first.id], env=variables)
        assert audited.exit_code == 0, audited.output
        assert "2 copies: 1 ok, 1 repaired, 0 damaged, 0 not audited" in audited.output
        assert runner.invoke(app, ["archive", "verify", first.id], env=variables).exit_code == 0

        folder = tmp_path / "unpacked"
        for path, entry in copies[1].files.items():
            (folder / path).parent.mkdir(parents=True, exist_ok=True)
            (folder / path).write_bytes((tmp_path / "copy-2" / entry["sha256"][:2] / entry["sha256"][2:4] /
                                         entry["sha256"]).read_bytes())
        assert runner.invoke(app, ["archive", "verify", str(folder)], env=variables).exit_code == 0
        (folder / "documentation" / "status-history.json").write_text("{}")
        lines = runner.invoke(app, ["archive", "verify", str(folder)], env=variables).output.strip().splitlines()
        assert lines and all(line.startswith("documentation/status-history.json:") for line in lines), lines
        package = folder / "representations" / "rep1" / "data" / "package.edxml"
        package.write_bytes(package.read_bytes().replace("triển khai".encode(), b"trien khai"))
        lines = runner.invoke(app, ["archive", "verify", str(folder)], env=variables).output.strip().splitlines()
        assert any(line.startswith("representations/rep1/data/package.edxml: XML signature") for line in lines), lines

        missing = runner.invoke(app, ["archive", "audit", "--aip", "urn:uuid:nothing"], env=variables)
        assert missing.exit_code == 1 and "no AIP urn:uuid:nothing" in missing.output
        assert "Traceback" not in missing.output


def test_export_a_transfer_and_a_dip(empty_database_url: str, tmp_path: Path) -> None:
    import hashlib
    import zipfile

    from typer.testing import CliRunner

    from service.cli import app
    from tests.support.gateway import A

    urls = ((tmp_path / "copy-1").as_uri(), (tmp_path / "copy-2").as_uri())
    variables = {"EDOC_DATABASE_URL": empty_database_url, "EDOC_DATA_DIR": str(tmp_path),
                 "EDOC_STORAGE_URL": (tmp_path / "objects").as_uri(), "EDOC_ARCHIVE_URLS": ",".join(urls)}
    runner = CliRunner()
    for env in gateway_env(empty_database_url, tmp_path, archive_urls=urls, archive_sweep_seconds=0):
        (first, copies), (second, _c) = two_archived(env)
        sha = attachment(copies[0])  # damaged in copy 1: the export takes copy 2's
        (tmp_path / "copy-1" / sha[:2] / sha[2:4] / sha).write_bytes(b"damaged")
        year = first.created_at.year
        done = runner.invoke(app, ["archive", "export", "--agency", A, "--year", str(year), "--to",
                                   str(tmp_path / "t.zip")], env=variables)
        assert done.exit_code == 0, done.output
        with zipfile.ZipFile(tmp_path / "t.zip") as zf:
            names = zf.namelist()
            manifest = zf.read("manifest-sha256.txt").decode().splitlines()
            assert len(manifest) == len(names) - 2  # all but bagit.txt and itself
            for line in manifest:
                digest, name = line.split(" ", 1)
                assert hashlib.sha256(zf.read(name)).hexdigest() == digest, name
        for aip in (first, second):  # each AIP as archived, a sub-package of the SIP
            assert f"representations/{aip.id.removeprefix('urn:uuid:')}/METS.xml" in names
        assert {"METS.xml", "metadata/descriptive/transfer.xml", "bagit.txt"} <= set(names)

        dip = runner.invoke(app, ["archive", "export", first.package_id, second.id, "--dip", "-o",
                                  str(tmp_path / "d.zip")], env=variables)
        assert dip.exit_code == 0, dip.output
        with zipfile.ZipFile(tmp_path / "d.zip") as zf:
            names = zf.namelist()
        assert names[0].startswith("001-") and names[0].endswith("/document.xml")
        assert any(n.startswith("002-") and n.endswith(".pdf") for n in names)

        bad = runner.invoke(app, ["archive", "export", "nothing", "-o", str(tmp_path / "x.zip")], env=variables)
        assert bad.exit_code == 1 and "no archived document" in bad.output and not (tmp_path / "x.zip").exists()
