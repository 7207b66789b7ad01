"""NĐ 30/2020 appearances: rendered with poppler's pdftoppm and checked pixel by pixel."""

from __future__ import annotations

import io
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fontTools.ttLib import TTFont
from PIL import Image, ImageDraw
from pyhanko.pdf_utils.reader import PdfFileReader

from signing.pdf import Appearance, Box, PdfSigningError, TextAnchor, key_source_from_spec, sign_pdf
from signing.pdf.appearance import FONT_PATH, attachment_time_text
from tests.support.env import require_executable
from tests.support.pki import TestPki
from tests.support.pki.pdfs import make_pdf

PDF = make_pdf(pages=2, size=40_000)
DPI = 72  # one pixel per point: PDF coordinates map straight onto the bitmap (y flipped)
VIETNAMESE = "aàáảãạăằắẳẵặâầấẩẫậeèéẻẽẹêềếểễệiìíỉĩịoòóỏõọôồốổỗộơờớởỡợuùúủũụưừứửữựyỳýỷỹỵđ"


def _png(color: tuple[int, int, int], size: tuple[int, int], shape: str) -> bytes:
    image = Image.new("RGBA", size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    if shape == "circle":
        draw.ellipse((4, 4, size[0] - 4, size[1] - 4), outline=(*color, 255), width=10)
    else:
        draw.line((5, size[1] - 10, size[0] // 2, 10, size[0] - 5, size[1] - 20), fill=(*color, 255), width=8)
    buf = io.BytesIO()
    image.save(buf, "PNG")
    return buf.getvalue()


SIGNATURE_PNG = _png((20, 40, 200), (300, 120), "stroke")
SEAL_PNG = _png((220, 20, 20), (200, 200), "circle")


def _render(pdf: bytes, tmp_path: Path) -> Image.Image:
    exe = require_executable("pdftoppm", "install poppler-utils")
    src = tmp_path / "render.pdf"
    src.write_bytes(pdf)
    subprocess.run([exe, "-r", str(DPI), "-f", "1", "-l", "1", "-png", str(src), str(tmp_path / "page")],
                   check=True, capture_output=True)
    return Image.open(next(tmp_path.glob("page*.png"))).convert("RGB")


def _pixels(image: Image.Image, box: tuple[float, float, float, float]) -> list[tuple[int, int, int]]:
    x1, y1, x2, y2 = box
    height = image.height
    crop = image.crop((int(x1), int(height - y2), int(x2), int(height - y1)))
    # Pillow 12.1 added get_flattened_data and deprecated getdata (removed in Pillow 14); older ones have only getdata.
    pixels = getattr(crop, "get_flattened_data", None) or crop.getdata
    return list(pixels())


def _key(pki: TestPki, name: str = "good-rsa"):
    path, password, _ = pki.signer(name)
    return key_source_from_spec(f"p12:{path}", secret=password)


def _field_rect(pdf: bytes, index: int = -1) -> tuple[float, ...]:
    sig = PdfFileReader(io.BytesIO(pdf)).embedded_regular_signatures[index]
    return tuple(float(v) for v in sig.sig_field["/Rect"])


def test_bundled_font_covers_every_vietnamese_letter() -> None:
    cmap = TTFont(FONT_PATH).getBestCmap()
    letters = VIETNAMESE + VIETNAMESE.upper()
    assert [c for c in letters if ord(c) not in cmap] == []


def test_attachment_time_is_iso_8601_in_vietnam_time() -> None:
    assert attachment_time_text(datetime(2026, 6, 1, 2, 30, tzinfo=UTC)) == "2026-06-01T09:30:00+07:00"
    with pytest.raises(PdfSigningError):
        attachment_time_text(datetime(2026, 6, 1, 2, 30))


def test_attachment_stamp_is_black_text_at_top_right_of_page_one(test_pki: TestPki, tmp_path: Path) -> None:
    appearance = Appearance.attachment("Số: 05/BNV-VP", signing_time=test_pki.now,
                                       extra_lines=("SAO Y - Ủy ban nhân dân tỉnh Đắk Lắk",))
    signed = sign_pdf(PDF, key=_key(test_pki), appearance=appearance)
    rect = _field_rect(signed)
    assert rect[2] > 500 and rect[3] > 780  # top-right of an A4 page (595 × 842)
    image = _render(signed, tmp_path)
    image.save(tmp_path / "attachment.png")
    stamp = _pixels(image, rect)
    dark = [p for p in stamp if max(p) < 100]
    assert len(dark) > 200  # glyphs were drawn
    assert all(abs(p[0] - p[1]) < 40 and abs(p[1] - p[2]) < 40 for p in dark)  # black, not coloured
    content = PdfFileReader(io.BytesIO(signed)).embedded_regular_signatures[0].sig_field["/AP"]["/N"].data
    assert b"Do" not in content or b"/Img" not in content  # no image in the attachment stamp


def test_signer_image_and_seal_overlapping_its_left_third(test_pki: TestPki, tmp_path: Path) -> None:
    signer_box = Box(0, 300, 150, 450, 210)
    first = sign_pdf(PDF, key=_key(test_pki), appearance=Appearance.signer(SIGNATURE_PNG, signer_box))
    second = sign_pdf(first, key=_key(test_pki, "good-ec"), appearance=Appearance.seal(SEAL_PNG, signer_box))
    seal_rect = _field_rect(second, -1)
    assert seal_rect[2] == pytest.approx(signer_box.x1 + signer_box.width / 3)  # overlaps one third, on the left
    assert seal_rect[0] < signer_box.x1  # and sticks out to the left
    image = _render(second, tmp_path)
    blue = [p for p in _pixels(image, (signer_box.x1 + 60, 150, 450, 210)) if p[2] > 150 and p[0] < 100]
    red = [p for p in _pixels(image, seal_rect) if p[0] > 150 and p[1] < 100 and p[2] < 100]
    assert blue and red


def test_anchor_placement_finds_the_placeholder(test_pki: TestPki) -> None:
    anchor = TextAnchor("[[CHU_KY]]", width=150, height=60, dx=0, dy=-70, page=0)
    signed = sign_pdf(PDF, key=_key(test_pki), appearance=Appearance.signer(SIGNATURE_PNG, anchor))
    x1, y1, x2, y2 = _field_rect(signed)
    assert (x1, y1, x2, y2) == pytest.approx((300, 150, 450, 210), abs=0.5)  # placeholder drawn at (300, 220)


def test_missing_anchor_is_an_error(test_pki: TestPki) -> None:
    with pytest.raises(PdfSigningError) as err:
        sign_pdf(PDF, key=_key(test_pki), appearance=Appearance.signer(SIGNATURE_PNG, TextAnchor("Không có", 10, 10)))
    assert err.value.code == "anchor_not_found"


def test_images_must_be_png() -> None:
    with pytest.raises(PdfSigningError) as err:
        Appearance.signer(b"GIF89a...", Box(0, 1, 1, 2, 2))
    assert err.value.code == "appearance_invalid"
