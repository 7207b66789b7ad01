"""Done-when of issue 20 for the archive: an exchange completed on PostgreSQL (send, 03, 06) is archived by the
worker to two S3 copies on the real local S3 server (SeaweedFS, two buckets with Object Lock); each copy is an AIP
that passes ``eark-validator -s V2.1.0`` with no error, whose METS and PREMIS validate against the official XSDs,
whose descriptive metadata carries số, ký hiệu, trích yếu and thời hạn bảo quản; and the server refuses to delete
an archived object before its retention date, whoever asks (the gateway's own store client included)."""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from lxml import etree
from minio.commonconfig import COMPLIANCE
from minio.error import S3Error
from minio.retention import Retention as S3Retention

from service.archive.archiving import sweep
from storage import archive as repo
from storage.objects.s3 import S3ObjectStore
from tests.integration.test_archive import T, complete_exchange
from tests.support.eark import EarkValidator
from tests.support.gateway import Env, gateway_env
from tests.support.s3server import S3Server

PREMIS_XSD = Path(__file__).resolve().parents[2] / "schemas" / "xsd" / "premis" / "premis-v3-0.xsd"


@pytest.fixture
def s3_env(_pg_function_db: str, s3_server: S3Server, tmp_path: Path) -> Iterator[Env]:
    urls = (s3_server.new_bucket_url(object_lock=True), s3_server.new_bucket_url(object_lock=True))
    yield from gateway_env(_pg_function_db, tmp_path, archive_urls=urls, archive_sweep_seconds=0)


def unpack(store: S3ObjectStore, files: dict[str, dict[str, object]], into: Path) -> Path:
    """The copy's objects laid out by their AIP paths (what an export or a validator reads)."""
    for path, entry in files.items():
        target = into / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(store.read(str(entry["sha256"])))
    return into


def xsd(path: Path, local: dict[str, Path]) -> etree.XMLSchema:
    """An XSD whose imports of well-known schemas are answered from local files (no network)."""

    class Resolver(etree.Resolver):
        def resolve(self, url, pubid, context):  # type: ignore[no-untyped-def]
            name = url.rsplit("/", 1)[-1]
            return self.resolve_filename(str(local[name]), context) if name in local else None

    parser = etree.XMLParser(no_network=True)
    parser.resolvers.add(Resolver())
    return etree.XMLSchema(etree.parse(str(path), parser))


def test_an_exchange_is_archived_to_two_locked_s3_copies_that_validate(
    s3_env: Env, eark_validator: EarkValidator, tmp_path: Path
) -> None:
    env = s3_env
    doc = complete_exchange(env)
    assert sweep(env.gw) == 1
    env.deliver()
    with env.gw.sessions() as session:
        aip = repo.aip_of_package(session, doc)
        assert aip is not None and aip.state == "complete"
        copies = repo.copies_of(session, aip.id)
    stores = env.gw.archive_copies
    assert [c.store_url for c in copies] == [s.url for s in stores] and len(copies) == 2
    assert all("edoc-test-secret" not in c.store_url for c in copies)  # recorded without credentials
    assert copies[0].files == copies[1].files

    schema_dir = eark_validator.mets_xsd.parent
    mets_schema = xsd(eark_validator.mets_xsd, {"xlink.xsd": schema_dir / "xlink.xsd"})
    premis_schema = xsd(PREMIS_XSD, {})
    for n, (store, copy) in enumerate(zip(stores, copies, strict=True)):
        assert isinstance(store, S3ObjectStore)
        folder = unpack(store, copy.files, tmp_path / f"copy-{n}")
        for entry in copy.files.values():  # every object is under COMPLIANCE retention on the server
            key = store.key(str(entry["sha256"]))
            assert store.client.get_object_retention(store.bucket, key).mode == "COMPLIANCE"

        result = eark_validator.validate(folder, "V2.1.0")
        errors = [m for m in result["messages"] if m["severity"] == "Error"]
        assert errors == [], errors
        assert (result["structure"], result["schema"], result["schematron"]) == ("WellFormed", "VALID", "VALID")

        mets = etree.parse(str(folder / "METS.xml"))
        assert mets_schema.validate(mets), mets_schema.error_log
        premis = etree.parse(str(folder / "metadata" / "preservation" / "PREMIS.xml"))
        assert premis_schema.validate(premis), premis_schema.error_log
        kinds = premis.xpath("//p:eventType/text()", namespaces={"p": "http://www.loc.gov/premis/v3"})
        assert {"ingestion", "validation", "message digest calculation", "format identification"} <= set(kinds)
        assert kinds.count("replication") == 2
        pronom = premis.xpath("//p:formatRegistryKey/text()", namespaces={"p": "http://www.loc.gov/premis/v3"})
        assert pronom and all(p.startswith("fmt/") for p in pronom)  # the PDF attachment, found by Siegfried

        meta = etree.parse(str(folder / "metadata" / "descriptive" / "document.xml")).getroot()
        assert meta.findtext(f"{T}CodeNumber") == "12"
        assert meta.findtext(f"{T}CodeNotation") == "STTTT-VP"
        assert meta.findtext(f"{T}Subject", "").startswith("Về việc triển khai hệ thống")
        assert meta.findtext(f"{T}Maintenance") == "10 năm"


def test_an_archived_object_cannot_be_deleted_or_overwritten_before_its_date(s3_env: Env) -> None:
    env = s3_env
    doc = complete_exchange(env)
    sweep(env.gw)
    env.deliver()
    with env.gw.sessions() as session:
        aip = repo.aip_of_package(session, doc)
        assert aip is not None
        copy = repo.copies_of(session, aip.id)[0]
    store = env.gw.archive_copies[0]
    assert isinstance(store, S3ObjectStore)
    key = store.key(str(copy.files["METS.xml"]["sha256"]))
    version = store.client.stat_object(store.bucket, key).version_id
    with pytest.raises(S3Error) as refused:  # through the gateway's own client and credentials
        store.client.remove_object(store.bucket, key, version_id=version)
    assert refused.value.code == "AccessDenied"
    # Overwriting makes a new version on a locked bucket; the archived version stays as it was, and shortening
    # its retention is refused as well.
    original = store.read(str(copy.files["METS.xml"]["sha256"]))
    store.client.put_object(store.bucket, key, io.BytesIO(b"tampered"), 8)
    kept = store.client.get_object(store.bucket, key, version_id=version)
    try:
        assert kept.read() == original
    finally:
        kept.close()
        kept.release_conn()
    with pytest.raises(S3Error):
        store.client.set_object_retention(store.bucket, key, S3Retention(COMPLIANCE, datetime.now(UTC)
                                                                         + timedelta(days=1)), version_id=version)
    with pytest.raises(S3Error):
        store.client.remove_object(store.bucket, key, version_id=version)
