"""Deterministic sample PDFs for signing tests and benchmarks (no external tools).

Each page carries some text (Helvetica, ASCII) and one photographic JPEG so that the file reaches a realistic
size; page 1 ends with the label ``Noi nhan:`` and a ``[[CHU_KY]]`` placeholder usable as placement anchors.
Written by hand so a 100 MB file takes a second, not a minute.
"""

from __future__ import annotations

import io
import random
import zlib
from pathlib import Path

__all__ = ["make_pdf", "write_pdf"]


def _jpeg(seed: int, size: int) -> tuple[bytes, int, int]:
    from PIL import Image

    def encode(side: int) -> bytes:
        noise = random.Random(seed).randbytes(side * side * 3)
        buf = io.BytesIO()
        Image.frombytes("RGB", (side, side), noise).save(buf, "JPEG", quality=90)
        return buf.getvalue()

    probe = 64
    bytes_per_pixel = len(encode(probe)) / probe**2  # random noise: about one byte per pixel
    side = max(16, int((size / bytes_per_pixel) ** 0.5))
    data = encode(side)
    side = max(16, int(side * (size / len(data)) ** 0.5))  # one correction step: ±2 %
    return encode(side), side, side


def _content(page_no: int) -> bytes:
    lines = [f"CONG HOA XA HOI CHU NGHIA VIET NAM - trang {page_no}", "Doc lap - Tu do - Hanh phuc"]
    lines += [f"Dong noi dung so {i} cua trang {page_no}." for i in range(1, 25)]
    ops = ["BT /F1 11 Tf 72 770 Td 14 TL"] + [f"({line}) '" for line in lines] + ["ET"]
    ops.append("q 200 0 0 150 330 60 cm /Im1 Do Q")
    if page_no == 1:
        ops.append("BT /F1 11 Tf 72 120 Td (Noi nhan:) Tj ET BT /F1 11 Tf 300 220 Td ([[CHU_KY]]) Tj ET")
    return "\n".join(ops).encode("latin-1")


def make_pdf(pages: int = 20, size: int = 1_000_000, *, seed: int = 1) -> bytes:
    """A ``pages``-page A4 PDF of roughly ``size`` bytes."""
    buf = io.BytesIO()
    write_pdf(buf, pages=pages, size=size, seed=seed)
    return buf.getvalue()


def write_pdf(out: io.BufferedIOBase | io.BytesIO, *, pages: int, size: int, seed: int = 1) -> None:
    offsets: dict[int, int] = {}
    start = out.tell()

    def emit(num: int, body: bytes, stream: bytes | None = None) -> None:
        offsets[num] = out.tell() - start
        out.write(b"%d 0 obj\n" % num + body)
        if stream is not None:
            out.write(b"\nstream\n" + stream + b"\nendstream")
        out.write(b"\nendobj\n")

    out.write(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    kids = " ".join(f"{4 + 3 * i} 0 R" for i in range(pages)).encode()
    emit(1, b"<< /Type /Catalog /Pages 2 0 R >>")
    emit(2, b"<< /Type /Pages /Count %d /Kids [%s] >>" % (pages, kids))
    emit(3, b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>")
    per_page = max(1000, size // pages - 1500)
    jpeg, width, height = _jpeg(seed, per_page)
    for i in range(pages):
        page, content, image = 4 + 3 * i, 5 + 3 * i, 6 + 3 * i
        if i:  # vary the image bytes so pages are not identical
            jpeg = jpeg[:-64] + random.Random(seed * 1000 + i).randbytes(62) + jpeg[-2:]
        emit(
            page,
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents %d 0 R "
            b"/Resources << /Font << /F1 3 0 R >> /XObject << /Im1 %d 0 R >> >> >>" % (content, image),
        )
        data = zlib.compress(_content(i + 1))
        emit(content, b"<< /Length %d /Filter /FlateDecode >>" % len(data), data)
        emit(
            image,
            b"<< /Type /XObject /Subtype /Image /Width %d /Height %d /ColorSpace /DeviceRGB "
            b"/BitsPerComponent 8 /Filter /DCTDecode /Length %d >>" % (width, height, len(jpeg)),
            jpeg,
        )
    xref = out.tell() - start
    count = 4 + 3 * pages
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % count)
    out.write(b"".join(b"%010d 00000 n \n" % offsets[n] for n in range(1, count)))
    out.write(b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (count, xref))


if __name__ == "__main__":  # pragma: no cover - manual helper
    import sys

    Path(sys.argv[1]).write_bytes(make_pdf())
