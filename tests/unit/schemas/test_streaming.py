"""Streaming: write_edoc reads attachment files in chunks; parse with a sink decodes chunk-wise to files.

Memory is measured with tracemalloc (Python allocations; the SAX-style parse builds no libxml2 tree).
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import os
import tracemalloc
from pathlib import Path

import pytest

from schemas.edxml import (
    Attachment,
    AttachmentFiles,
    EdocPackage,
    PackageCheckFailed,
    build_edoc,
    parse_edoc_file,
    parse_package,
    write_edoc,
)

MIB = 1024 * 1024


def _file(path: Path, size: int) -> str:
    data = os.urandom(size)
    path.write_bytes(data)
    return hashlib.sha256(data).hexdigest()


def _with_attachments(edoc: EdocPackage, *attachments: Attachment) -> EdocPackage:
    return dataclasses.replace(edoc, attachments=attachments)


def test_streamed_file_equals_in_memory_data(edoc: EdocPackage, tmp_path: Path) -> None:
    source = tmp_path / "scan.pdf"
    _file(source, 2 * MIB + 7)  # several encoder chunks and a ragged end
    in_memory = _with_attachments(
        edoc, Attachment(content_id="cid:1", name="scan.pdf", content_type="application/pdf", data=source.read_bytes())
    )
    streamed = dataclasses.replace(in_memory, attachments=(dataclasses.replace(in_memory.attachments[0], data=b""),))
    out = io.BytesIO()
    write_edoc(streamed, out, attachment_files={"cid:1": source})
    assert out.getvalue() == build_edoc(in_memory)


def test_large_attachment_streams_both_ways(edoc: EdocPackage, tmp_path: Path) -> None:
    source = tmp_path / "big.zip"
    digest = _file(source, 20 * MIB)
    pkg = _with_attachments(
        edoc,
        Attachment(content_id="cid:1", name="small.txt", content_type="text/plain", data="Xin chào".encode()),
        Attachment(content_id="cid:2", name="big.zip", content_type="application/zip"),
    )
    package_path = tmp_path / "big.edxml"
    tracemalloc.start()
    try:
        with package_path.open("wb") as out:
            write_edoc(pkg, out, attachment_files={"cid:2": source})
        _, write_peak = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        out_dir = tmp_path / "out"
        out_dir.mkdir()
        with AttachmentFiles(out_dir) as sink:
            parsed = parse_edoc_file(package_path, attachment_sink=sink)
        _, parse_peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    size = package_path.stat().st_size
    assert write_peak < 4 * MIB and parse_peak < 8 * MIB, (write_peak, parse_peak, size)
    assert parsed.oddities == () and parsed.edoc is not None
    assert [a.data for a in parsed.edoc.attachments] == [b"", b""]  # the content went to the sink
    assert parsed.edoc == dataclasses.replace(pkg, attachments=parsed.edoc.attachments)
    assert [a.content_id for a in parsed.edoc.attachments] == ["cid:1", "cid:2"]
    assert sink.sha256[1] == digest and sink.sizes[1] == 20 * MIB
    assert sink.paths[0].read_bytes() == "Xin chào".encode()


def test_attachment_files_must_match_content_ids(edoc: EdocPackage, tmp_path: Path) -> None:
    with pytest.raises(PackageCheckFailed, match="cid:9"):
        write_edoc(edoc, io.BytesIO(), attachment_files={"cid:9": tmp_path / "x"})
    with pytest.raises(PackageCheckFailed, match="both data and a file"):
        write_edoc(edoc, io.BytesIO(), attachment_files={"cid:1": tmp_path / "x"})


def test_invalid_base64_in_streaming_mode_is_an_oddity(edoc: EdocPackage, tmp_path: Path) -> None:
    data = build_edoc(edoc).replace(b"JVBERi0xLjcgLi4u", b"JVBERi0x!!!gLi4u")
    chunks: list[tuple[int, bytes]] = []
    parsed = parse_package(data, attachment_sink=lambda index, chunk: chunks.append((index, chunk)))
    assert "invalid_base64" in {o.code for o in parsed.oddities}
    assert parsed.edoc is not None and parsed.edoc.attachments[0].data == b""


def test_wrapped_base64_is_accepted(edoc: EdocPackage) -> None:
    payload = os.urandom(1000)
    pkg = _with_attachments(edoc, Attachment(content_id="cid:1", name="a", content_type="x/y", data=payload))
    encoded = build_edoc(pkg)
    start = encoded.index(b"<edXML:ContentTransferEncoded>") + len(b"<edXML:ContentTransferEncoded>")
    end = encoded.index(b"</edXML:ContentTransferEncoded>")
    body = encoded[start:end]
    wrapped = b"\r\n".join(body[i : i + 76] for i in range(0, len(body), 76))
    parsed = parse_package(encoded[:start] + wrapped + encoded[end:])
    assert parsed.edoc is not None and parsed.edoc.attachments[0].data == payload
    assert parsed.oddities == ()
