"""Issue 16 item 11: the NĐ 30/2020 signature block in one ``edoc sign`` call, rendered and checked pixel by pixel.

The page has the block NĐ 30/2020 Phụ lục I draws: position ("CHU TICH"), the ``[[CHU_KY]]`` placeholder where
the signature goes, and the signer's full name below. One call with ``--image``, ``--seal`` and ``--anchor`` must
put the signer's image over the placeholder (which no longer shows), the seal over the left third of the image,
and leave the position and the name lines untouched, also when the requested ``--size`` is too tall for the gap.
"""

from __future__ import annotations

import subprocess
import zlib
from pathlib import Path

import pytest
from PIL import Image
from typer.testing import CliRunner

from service.cli import app
from tests.support.env import require_executable
from tests.unit.service.test_cli_signing import PASSWORD_ENV, sign_args
from tests.unit.signing.test_pdf_sign_appearance import SEAL_PNG, SIGNATURE_PNG

SCALE = 2  # render at 144 dpi: two pixels per point
POSITION = (330, 330, "CHU TICH")
ANCHOR = (340, 285, "[[CHU_KY]]")
NAME = (325, 245, "Nguyen Van An")
SIZE = 12  # Helvetica 12 pt; caps ≈ 8.6 pt tall, descenders ≈ 2.5 pt


def block_pdf() -> bytes:
    """One A4 page with the signature block in Helvetica, written by hand (no tool)."""
    ops = "\n".join(f"BT /F1 {SIZE} Tf {x} {y} Td ({text}) Tj ET" for x, y, text in (POSITION, ANCHOR, NAME))
    content = zlib.compress(ops.encode("latin-1"))
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Count 1 /Kids [3 0 R] >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(content) + content + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
    ]
    out = bytearray(b"%PDF-1.7\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def render(pdf: Path, tmp_path: Path) -> Image.Image:
    exe = require_executable("pdftoppm", "install poppler-utils")
    prefix = tmp_path / pdf.stem
    subprocess.run([exe, "-r", str(72 * SCALE), "-f", "1", "-l", "1", "-png", str(pdf), str(prefix)], check=True)
    return Image.open(next(tmp_path.glob(f"{pdf.stem}*.png"))).convert("RGB")


def region(image: Image.Image, x1: float, y1: float, x2: float, y2: float) -> list[tuple[int, int, int]]:
    """Pixels of a rectangle given in PDF points (origin bottom-left)."""
    top = image.height - y2 * SCALE
    crop = image.crop((int(x1 * SCALE), int(top), int(x2 * SCALE), int(image.height - y1 * SCALE)))
    return list(crop.getdata())


def text_band(line: tuple[int, int, str]) -> tuple[float, float, float, float]:
    x, y, text = line
    return x - 1, y - 3, x + 0.62 * SIZE * len(text), y + 9.5


def black(pixels) -> int:
    return sum(1 for p in pixels if max(p) < 90)


@pytest.fixture
def runner(monkeypatch: pytest.MonkeyPatch, test_pki) -> CliRunner:
    for name in ("EDOC_TRUST_SETS", "EDOC_TSA_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv(PASSWORD_ENV, test_pki.signer("good-rsa")[1].decode())
    return CliRunner()


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    paths = {"pdf": tmp_path / "to-trinh.pdf", "image": tmp_path / "chu-ky.png", "seal": tmp_path / "con-dau.png"}
    paths["pdf"].write_bytes(block_pdf())
    paths["image"].write_bytes(SIGNATURE_PNG)
    paths["seal"].write_bytes(SEAL_PNG)
    return paths


@pytest.mark.parametrize("size", [None, "240x120"])  # default, and a box too tall for the gap between the lines
def test_signer_image_and_seal_in_one_call(runner, test_pki, files, tmp_path, size):
    out = tmp_path / "signed.pdf"
    extra = ["--image", str(files["image"]), "--seal", str(files["seal"]), "--anchor", "[[CHU_KY]]"]
    extra += ["--size", size] if size else []
    result = runner.invoke(app, sign_args(test_pki, files["pdf"], out, *extra))
    assert result.exit_code == 0, result.output
    before, after = render(files["pdf"], tmp_path), render(out, tmp_path)
    before.save(tmp_path / "before.png")
    after.save(tmp_path / "after.png")

    anchor = text_band(ANCHOR)
    assert black(region(before, *anchor)) > 50  # the placeholder is printed on the unsigned page
    assert black(region(after, *anchor)) == 0  # and no longer shows once signed
    for line in (POSITION, NAME):  # position and full name are not covered: same pixels as before signing
        assert region(after, *text_band(line)) == region(before, *text_band(line)), line

    blue = [(x, y) for x, y, p in _coloured(after, lambda p: p[2] > 150 and p[0] < 110)]
    red = [(x, y) for x, y, p in _coloured(after, lambda p: p[0] > 150 and p[1] < 110 and p[2] < 110)]
    assert blue and red
    blue_left, blue_right = min(x for x, _ in blue), max(x for x, _ in blue)
    red_right = max(x for x, _ in red)
    # NĐ 30/2020: the seal overlaps about one third of the signer's image, on its left
    assert min(x for x, _ in red) < blue_left < red_right
    assert red_right == pytest.approx(blue_left + (blue_right - blue_left) / 3, abs=25 * SCALE)
    name_top = (NAME[1] + 9.5) * SCALE
    assert all(after.height - y > name_top for _, y in blue)  # the image sits above the name line


def _coloured(image: Image.Image, keep):
    width = image.width
    return [(i % width, i // width, p) for i, p in enumerate(image.getdata()) if keep(p)]


def test_size_option_is_checked(runner, test_pki, files, tmp_path):
    out = tmp_path / "x.pdf"
    result = runner.invoke(app, sign_args(test_pki, files["pdf"], out, "--image", str(files["image"]),
                                          "--anchor", "[[CHU_KY]]", "--size", "big"))
    assert result.exit_code == 1 and "--size" in result.output and "Traceback" not in result.output


def test_fit_shrinks_to_the_gap_and_refuses_when_there_is_none():
    from signing.pdf.placement import TextRun, fit_between_lines
    from signing.pdf.sign_errors import PdfSigningError

    runs = [TextRun("CHỦ TỊCH", 330, 330, 12), TextRun("[[CHU_KY]]", 340, 285, 12),
            TextRun("Nguyễn Văn An", 325, 245, 12)]
    fitted = fit_between_lines(runs, "[[CHU_KY]]", 300, 150)
    assert fitted is not None
    x1, y1, x2, y2 = fitted.box
    assert y1 >= 245 + 0.95 * 12 and y2 <= 330 - 0.3 * 12  # between the name's marks and the position's descenders
    assert (x2 - x1) / (y2 - y1) == pytest.approx(2.0)  # proportions kept
    assert fitted.cover[1] <= 285 - 3 and fitted.cover[3] >= 285 + 11  # the placeholder is painted over
    assert fit_between_lines(runs, "Không có", 150, 60) is None
    crowded = [TextRun("CHỦ TỊCH", 330, 298, 12), runs[1], TextRun("Nguyễn Văn An", 325, 272, 12)]
    with pytest.raises(PdfSigningError) as err:
        fit_between_lines(crowded, "[[CHU_KY]]", 150, 60)
    assert err.value.code == "appearance_no_room"
