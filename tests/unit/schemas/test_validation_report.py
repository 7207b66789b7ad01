"""``check_package`` tells "invalid against the schema" from "field quirks" (issue 16 item 2): every document
sample of the national-axis kit is read; its quirks are warnings, and only what breaks the schema in a way the field
does not excuse (a recipient code that cannot be routed, an element the format does not have) is an error."""

from __future__ import annotations

from pathlib import Path

import pytest

from schemas.edxml import build_edoc, check_package
from tests.unit.schemas.conftest import make_edoc

QUIRKS = {
    "edoc.edxml": {"undeclared_prefix", "invalid_document_id", "element_order", "invalid_base64", "empty_element"},
    "edoc_revocation.edxml": {"signature_default_namespace", "weak_signature_algorithm"},
    "edoc_update.edxml": {"impossible_date", "signature_default_namespace"},
    "edoc_replacement.edxml": {"signature_default_namespace", "unprefixed_attachment"},
}


@pytest.mark.parametrize("name", sorted(QUIRKS))
def test_signed_field_samples_are_valid_with_their_quirks_as_warnings(samples_dir: Path, name: str) -> None:
    report = check_package((samples_dir / name).read_bytes())
    assert report.errors == (), report.errors
    assert report.valid
    assert QUIRKS[name] <= {w.code for w in report.warnings}


def test_a_recipient_code_that_cannot_be_routed_is_an_error(samples_dir: Path) -> None:
    report = check_package((samples_dir / "edoc_new.edxml").read_bytes())
    assert not report.valid
    assert [e.field for e in report.errors] == ["/edXML/edXMLEnvelope/edXMLHeader/MessageHeader/To/OrganId"]
    assert "28.22.H17" in report.errors[0].message
    assert {"impossible_date", "signature_default_namespace"} <= {w.code for w in report.warnings}


@pytest.mark.parametrize("name", ["status.edxml", "status_inbox_01.edxml", "status_cancellation_13.edxml"])
def test_status_samples_are_clean(samples_dir: Path, name: str) -> None:
    report = check_package((samples_dir / name).read_bytes())
    assert report.valid and report.warnings == ()


def test_what_the_builder_writes_is_clean() -> None:
    report = check_package(build_edoc(make_edoc()))
    assert report.valid and report.warnings == ()


def test_an_element_the_format_does_not_have_is_an_error() -> None:
    xml = build_edoc(make_edoc()).replace(b"<edXML:Subject>", b"<edXML:Secret>x</edXML:Secret><edXML:Subject>", 1)
    report = check_package(xml)
    assert not report.valid and report.errors


def test_a_field_date_form_is_a_warning_not_an_error() -> None:
    xml = build_edoc(make_edoc()).replace(b"<edXML:DueDate>2015/10/30<", b"<edXML:DueDate>30/10/2015<", 1)
    report = check_package(xml)
    assert report.valid, report.errors
    assert "day_first_date" in {w.code for w in report.warnings}
