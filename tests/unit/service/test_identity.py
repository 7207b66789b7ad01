"""The content digest of service/exchange/identity.py: the fast form a submit takes from the envelope it writes
equals the slow form built for a resend, with or without TraceHeaders, attachments in memory or in files; and
what the issue says must count does count."""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

import pytest

from schemas.edxml import TraceHeader, build_edoc, parse_package, write_edoc
from service.exchange.identity import attachment_digests, content_digest, content_digest_of, envelope_of
from tests.unit.vxp.sdk_client import edoc_xml

SAMPLES = ("edoc.edxml", "edoc_new.edxml", "edoc_update.edxml", "edoc_replacement.edxml", "edoc_revocation.edxml")


def _packages(samples_dir: Path) -> list:
    found = [parse_package(edoc_xml("000.00.11.H53", ["000.00.12.H53", "000.00.00.G22"], "12")).edoc]
    found += [parse_package((samples_dir / name).read_bytes()).edoc for name in SAMPLES]
    return [p for p in found if p is not None]


def test_the_envelope_written_gives_the_resends_digest(samples_dir: Path, tmp_path: Path) -> None:
    for pkg in _packages(samples_dir):
        shas = attachment_digests(pkg)
        slow = content_digest(pkg, shas)
        for trace in ((), (TraceHeader(organ_id="000.00.00.H53", timestamp=dt.datetime(2026, 12, 7, 9, 0)),)):
            traced = dataclasses.replace(pkg, trace=(*pkg.trace, *trace))
            assert content_digest_of(envelope_of(build_edoc(traced, strict=False)), shas) == slow
            path = tmp_path / "p.edxml"
            with open(path, "wb") as out:
                write_edoc(traced, out, strict=False)
            assert content_digest_of(envelope_of(path), shas) == slow


def test_what_counts(samples_dir: Path) -> None:
    pkg = _packages(samples_dir)[0]
    shas = attachment_digests(pkg)
    base = content_digest(pkg, shas)
    assert content_digest(pkg, ["0" * 64] * len(shas)) != base  # the attachments' bytes
    other_subject = dataclasses.replace(pkg, header=dataclasses.replace(pkg.header, subject="Khác"))
    assert content_digest(other_subject, shas) != base
    fewer = dataclasses.replace(pkg, header=dataclasses.replace(pkg.header, to=pkg.header.to[:1]))
    assert content_digest(fewer, shas) != base  # the recipients


@pytest.mark.parametrize("size", [0, 70_000, 200_000])
def test_a_long_envelope_is_read_whole_from_a_file(tmp_path: Path, size: int) -> None:
    pkg = parse_package(edoc_xml("000.00.11.H53", ["000.00.12.H53"], "12")).edoc
    assert pkg is not None
    pkg = dataclasses.replace(pkg, header=dataclasses.replace(pkg.header, content="x" * size))
    path = tmp_path / "p.edxml"
    with open(path, "wb") as out:
        write_edoc(pkg, out, strict=False)
    assert envelope_of(path) == envelope_of(build_edoc(pkg, strict=False))
