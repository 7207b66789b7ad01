"""Where a visible signature goes in the NĐ 30/2020 signature block, found from the page's own text.

NĐ 30/2020 Phụ lục I (STANDARDS.md §5): the signer's image sits *between* the position line ("CHỦ TỊCH") and the
signer's full name; drafts mark that spot with a placeholder such as ``[[CHU_KY]]``. A fitted placement
(:class:`~signing.pdf.appearance.TextAnchor` with ``fit=True``) therefore:

* centres the box on the placeholder, which the appearance then paints over (white), so it is not left printed;
* shrinks the requested box, keeping its proportions, until it fits between the nearest text line above and the
  nearest line below that share its columns, so it never covers the position or the name.

Text runs come from pypdf's extraction with positions (text matrix × CTM at the start of each show-text
operation) and the effective font size. Glyph extents are estimated from the size (ascent with Vietnamese marks
≈ 0.95 em, descent ≈ 0.3 em, average advance ≈ 0.55 em): exact metrics would need every font's widths, and a
margin of a couple of points makes the estimate safe for body text.
"""

from __future__ import annotations

import math
import unicodedata
from dataclasses import dataclass
from typing import Any

from signing.pdf.sign_errors import PdfSigningError

__all__ = ["Fitted", "TextRun", "fit_between_lines", "text_runs"]

ASCENT, DESCENT, ADVANCE = 0.95, 0.3, 0.55  # in em, see the module docstring
MARGIN = 2.0  # points kept free above the name line and below the position line


@dataclass(frozen=True)
class TextRun:
    text: str  # NFC
    x: float
    y: float  # baseline
    size: float  # effective font size in points

    def span(self, start: int = 0, length: int | None = None) -> tuple[float, float]:
        """Estimated horizontal extent of ``length`` characters from ``start``."""
        length = len(self.text) - start if length is None else length
        left = self.x + start * ADVANCE * self.size
        return left, left + length * ADVANCE * self.size


@dataclass(frozen=True)
class Fitted:
    """Page rectangles (x1, y1, x2, y2): the signer's box and the placeholder text to paint over."""

    box: tuple[float, float, float, float]
    cover: tuple[float, float, float, float]


def text_runs(page: Any) -> list[TextRun]:
    """Every non-blank text run of a pypdf page with its baseline start and effective size."""
    runs: list[TextRun] = []

    def visit(text: str, cm: list[float], tm: list[float], _font: Any, size: float, *_: Any) -> None:
        if not text.strip():
            return
        x = tm[4] * cm[0] + tm[5] * cm[2] + cm[4]
        y = tm[4] * cm[1] + tm[5] * cm[3] + cm[5]
        scale = math.hypot(tm[2] * cm[0] + tm[3] * cm[2], tm[2] * cm[1] + tm[3] * cm[3]) or 1.0
        runs.append(TextRun(unicodedata.normalize("NFC", text), x, y, float(size or 12) * scale))

    page.extract_text(visitor_text=visit)
    return runs


def fit_between_lines(runs: list[TextRun], wanted: str, width: float, height: float,
                      dx: float = 0.0, dy: float = 0.0) -> Fitted | None:
    """The box for the first run containing ``wanted``, or None when no run contains it."""
    anchor = next((r for r in runs if wanted in r.text), None)
    if anchor is None:
        return None
    left, right = anchor.span(anchor.text.index(wanted), len(wanted))
    bottom, top = anchor.y - DESCENT * anchor.size, anchor.y + ASCENT * anchor.size
    cover = (left - 1, bottom - 1, right + 1, top + 1)
    cx, cy = (left + right) / 2 + dx, (bottom + top) / 2 + dy
    columns = (cx - width / 2, cx + width / 2)
    above = [r.y - DESCENT * r.size for r in runs if r.y > top and _overlaps(r.span(), columns)]
    below = [r.y + ASCENT * r.size for r in runs if r.y < bottom and _overlaps(r.span(), columns)]
    ceiling = min(above, default=math.inf) - MARGIN
    floor = max(below, default=-math.inf) + MARGIN
    h = min(height, ceiling - floor)
    if h < top - bottom:
        raise PdfSigningError(
            f"no room for the signature around {wanted!r}: the lines above and below are {ceiling - floor:.0f} pt "
            "apart", code="appearance_no_room")
    w = width * h / height
    y1 = min(max(cy - h / 2, floor), ceiling - h)
    return Fitted(box=(cx - w / 2, y1, cx + w / 2, y1 + h), cover=cover)


def _overlaps(a: tuple[float, float], b: tuple[float, float]) -> bool:
    return a[0] < b[1] and b[0] < a[1]
