"""Visible signature appearances per NĐ 30/2020 Phụ lục I (see the shared STANDARDS.md §5, beside the repository).

Three styles, one per situation the decree names:

* ``signer``: the signer's image (blue, transparent PNG) fills a box on the page, between position and name.
* ``seal``: the organisation's signature shown as the seal image (red, transparent PNG, real size), placed to
  overlap *about one third of the signer's image on its left*: the seal's right edge sits one third of the way
  into the signer's box, centred vertically on it.
* ``signer_seal``: both in one signature's appearance (one ``edoc sign`` call), the seal drawn over the left third
  of the signer's image as above; the widget spans both. When the organisation signs with its own key, sign twice
  instead (``signer`` then ``seal`` over the same box).
* ``attachment``: attachments and electronic copies: at the top-right of page 1, **no image**, the text
  "Số: 05/BNV-VP" and the signing time ``YYYY-MM-DDThh:mm:ss+07:00`` (ISO 8601, Vietnam time), Times-metric
  serif (Liberation Serif 2.1.5, embedded as a subset), 10 pt, black, upright. Copy forms can add lines before
  (``extra_lines``, e.g. "SAO Y", the copying body).

Placement is either a :class:`Box` (page index + rectangle in PDF points, origin bottom-left) or a
:class:`TextAnchor`: the first occurrence of a text on a page (e.g. ``"Nơi nhận"`` or a ``[[CHU_KY]]``
placeholder), found through pypdf's text extraction with positions (the text matrix × CTM at the start of the
show-text operation containing the anchor); the box is then placed at an offset from the anchor's baseline start,
or, with ``fit=True``, centred on the placeholder, painted over it and sized to fit between the position line and
the name line (:mod:`signing.pdf.placement`). Images keep their proportions inside their box (centred).
Matching is on NFC-normalised text, so it works for Vietnamese when the page's font has a ToUnicode map
(anything produced by a word processor does).

Decoded PNGs are cached per process (by content hash); the font subset is made per document by pyHanko's
GlyphAccumulator (HarfBuzz shaping), because different documents use different glyphs.
"""

from __future__ import annotations

import functools
import hashlib
import io
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Literal

from signing.pdf.sign_errors import PdfSigningError

__all__ = ["VIETNAM_TZ", "Appearance", "Box", "TextAnchor", "attachment_time_text", "build_stamp"]

VIETNAM_TZ = timezone(timedelta(hours=7), "ICT")
FONT_PATH = Path(__file__).resolve().parent.parent / "fonts" / "LiberationSerif-Regular.ttf"
FONT_SIZE = 10  # NĐ 30/2020: cỡ chữ 10
LEADING = 12
TEXT_MARGIN = 2.0
ATTACHMENT_MARGIN = 20.0  # from the top and right edges of page 1


@dataclass(frozen=True)
class Box:
    """A rectangle on page ``page`` (0-based), PDF user units, lower-left (x1, y1) to upper-right (x2, y2)."""

    page: int
    x1: float
    y1: float
    x2: float
    y2: float

    def __post_init__(self) -> None:
        if self.x2 <= self.x1 or self.y2 <= self.y1 or self.page < 0:
            raise PdfSigningError(f"empty or inverted box {self}", code="appearance_invalid")

    @property
    def width(self) -> float:
        return self.x2 - self.x1

    @property
    def height(self) -> float:
        return self.y2 - self.y1


@dataclass(frozen=True)
class TextAnchor:
    """Place a ``width`` × ``height`` box at (``dx``, ``dy``) from where ``text`` starts on its baseline.

    ``page`` limits the search to one page (0-based); otherwise pages are searched in order.
    """

    text: str
    width: float
    height: float
    dx: float = 0.0
    dy: float = 0.0
    page: int | None = None
    fit: bool = False  # centre on the text, paint over it, shrink to fit between the lines around it


Placement = Box | TextAnchor


@dataclass(frozen=True)
class Appearance:
    """What a visible signature looks like and where it goes. Build with the class methods."""

    style: Literal["signer", "seal", "signer_seal", "attachment"]
    placement: Placement | None = None
    image: bytes | None = None
    seal_size: tuple[float, float] | None = None
    seal_image: bytes | None = None
    number_notation: str | None = None
    signing_time: datetime | None = None
    extra_lines: tuple[str, ...] = field(default=())

    @classmethod
    def signer(cls, image_png: bytes | Path, placement: Placement) -> Appearance:
        """The signer's image filling ``placement``."""
        return cls("signer", placement, _read(image_png))

    @classmethod
    def seal(cls, image_png: bytes | Path, over: Placement, size: tuple[float, float] | None = None) -> Appearance:
        """The seal over the left third of the signer's box ``over``; ``size`` in points (default: the PNG's
        physical size from its DPI, else 1.1 × the signer box height, square)."""
        return cls("seal", over, _read(image_png), seal_size=size)

    @classmethod
    def signer_with_seal(
        cls, image_png: bytes | Path, seal_png: bytes | Path, placement: Placement,
        seal_size: tuple[float, float] | None = None,
    ) -> Appearance:
        """The signer's image in ``placement`` and the seal over its left third, in one appearance. Seal size: the
        PNG's physical size from its DPI (NĐ 30/2020: real size), else as tall as the signer's box."""
        return cls("signer_seal", placement, _read(image_png), seal_size=seal_size, seal_image=_read(seal_png))

    @classmethod
    def attachment(
        cls, number_notation: str, signing_time: datetime | None = None, extra_lines: tuple[str, ...] = ()
    ) -> Appearance:
        """Top-right of page 1, no image: ``extra_lines``, "Số: …" and the ISO 8601 Vietnam-time timestamp."""
        return cls(
            "attachment",
            None,
            None,
            number_notation=number_notation,
            signing_time=signing_time,
            extra_lines=extra_lines,
        )

    def __repr__(self) -> str:
        return f"Appearance({self.style!r}, placement={self.placement!r})"


def attachment_time_text(moment: datetime | None = None) -> str:
    """``ngày tháng năm; giờ phút giây; múi giờ Việt Nam`` as ISO 8601, e.g. ``2026-06-01T09:30:00+07:00``."""
    moment = moment or datetime.now(VIETNAM_TZ)
    if moment.tzinfo is None:
        raise PdfSigningError("signing time must be timezone-aware", code="appearance_invalid")
    return moment.astimezone(VIETNAM_TZ).replace(microsecond=0).isoformat()


def _read(image: bytes | Path) -> bytes:
    data = image.read_bytes() if isinstance(image, Path) else image
    if not data.startswith(b"\x89PNG\r\n\x1a\n"):
        raise PdfSigningError("signature and seal images must be PNG", code="appearance_invalid")
    return data


@functools.lru_cache(maxsize=32)
def _decoded(digest: str, data: bytes) -> Any:
    from PIL import Image

    image = Image.open(io.BytesIO(data))
    image.load()
    return image.convert("RGBA") if image.mode not in ("RGB", "RGBA") else image


def _image(data: bytes) -> Any:
    return _decoded(hashlib.sha256(data).hexdigest(), data)


# ---------------------------------------------------------------------------------------------------------------
# Placement


def _page_size(writer: Any, page: int) -> tuple[float, float, float, float]:
    """The page's MediaBox (inherited from the page tree when not on the page itself)."""
    try:
        node = writer.find_page_for_modification(page)[0].get_object()
    except (IndexError, KeyError, ValueError) as exc:
        raise PdfSigningError(f"the document has no page {page + 1}", code="appearance_invalid") from exc
    while "/MediaBox" not in node and "/Parent" in node:
        node = node["/Parent"].get_object()
    x1, y1, x2, y2 = (float(v) for v in node.get("/MediaBox", (0, 0, 595.28, 841.89)))
    return x1, y1, x2, y2


def _first_hit(page: Any, wanted: str) -> tuple[float, float] | None:
    hits: list[tuple[float, float]] = []

    def visit(text: str, cm: list[float], tm: list[float], *_: Any) -> None:
        if not hits and wanted in unicodedata.normalize("NFC", text):
            hits.append((tm[4] * cm[0] + tm[5] * cm[2] + cm[4], tm[4] * cm[1] + tm[5] * cm[3] + cm[5]))

    page.extract_text(visitor_text=visit)
    return hits[0] if hits else None


def find_anchor(stream: Any, anchor: TextAnchor) -> tuple[int, float, float]:
    """(page index, x, y) of the start of the first text run containing ``anchor.text``."""
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    wanted = unicodedata.normalize("NFC", anchor.text)
    try:
        reader = PdfReader(stream, strict=False)
        pages = [anchor.page] if anchor.page is not None else range(len(reader.pages))
        for index in pages:
            hit = _first_hit(reader.pages[index], wanted)
            if hit is not None:
                return index, hit[0], hit[1]
    except (PdfReadError, IndexError, ValueError) as exc:
        raise PdfSigningError(f"cannot search the page text: {exc}", code="pdf_unreadable") from exc
    finally:
        stream.seek(0)
    raise PdfSigningError(f"anchor text {anchor.text!r} not found", code="anchor_not_found")


def _fit_anchor(stream: Any, anchor: TextAnchor) -> tuple[Box, Box]:
    """(signer's box, placeholder to paint over) for a fitted anchor (:mod:`signing.pdf.placement`)."""
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    from signing.pdf.placement import fit_between_lines, text_runs

    wanted = unicodedata.normalize("NFC", anchor.text)
    try:
        reader = PdfReader(stream, strict=False)
        pages = [anchor.page] if anchor.page is not None else range(len(reader.pages))
        for index in pages:
            fitted = fit_between_lines(text_runs(reader.pages[index]), wanted, anchor.width, anchor.height,
                                       anchor.dx, anchor.dy)
            if fitted is not None:
                return Box(index, *fitted.box), Box(index, *fitted.cover)
    except (PdfReadError, IndexError, ValueError) as exc:
        raise PdfSigningError(f"cannot search the page text: {exc}", code="pdf_unreadable") from exc
    finally:
        stream.seek(0)
    raise PdfSigningError(f"anchor text {anchor.text!r} not found", code="anchor_not_found")


def resolve_placement(writer: Any, stream: Any, placement: Placement) -> tuple[Box, Box | None]:
    """The box ``placement`` describes, and the placeholder text to paint over (fitted anchors only)."""
    if isinstance(placement, TextAnchor) and placement.fit:
        return _fit_anchor(stream, placement)
    return resolve_box(writer, stream, placement), None


def resolve_box(writer: Any, stream: Any, placement: Placement) -> Box:
    if isinstance(placement, Box):
        return placement
    page, x, y = find_anchor(stream, placement)
    return Box(
        page,
        x + placement.dx,
        y + placement.dy,
        x + placement.dx + placement.width,
        y + placement.dy + placement.height,
    )


def _contain(box: Box, image: Any) -> Box:
    """The largest box of ``image``'s proportions inside ``box``, centred (signatures are not distorted)."""
    scale = min(box.width / image.width, box.height / image.height)
    w, h = image.width * scale, image.height * scale
    x, y = box.x1 + (box.width - w) / 2, box.y1 + (box.height - h) / 2
    return Box(box.page, x, y, x + w, y + h)


def _union(boxes: list[Box]) -> Box:
    return Box(boxes[0].page, min(b.x1 for b in boxes), min(b.y1 for b in boxes), max(b.x2 for b in boxes),
               max(b.y2 for b in boxes))


def _seal_box(signer_box: Box, image: Any, size: tuple[float, float] | None, factor: float = 1.1) -> Box:
    if size is None:
        dpi = image.info.get("dpi")
        if dpi and dpi[0] > 1:
            size = (image.width * 72.0 / float(dpi[0]), image.height * 72.0 / float(dpi[1]))
        else:
            side = factor * signer_box.height
            size = (side * image.width / max(image.width, image.height),
                    side * image.height / max(image.width, image.height))
    width, height = size
    right = signer_box.x1 + signer_box.width / 3.0  # NĐ 30/2020: the seal covers ~1/3 of the image, on its left
    centre_y = (signer_box.y1 + signer_box.y2) / 2.0
    return Box(signer_box.page, right - width, centre_y - height / 2.0, right, centre_y + height / 2.0)


@functools.lru_cache(maxsize=1)
def _font_metrics() -> tuple[dict[int, str], dict[str, tuple[int, int]], int]:
    from fontTools.ttLib import TTFont

    font = TTFont(FONT_PATH, lazy=True)
    return font.getBestCmap(), dict(font["hmtx"].metrics), font["head"].unitsPerEm


def _text_width(line: str) -> float:
    """Advance width of ``line`` at 10 pt (no kerning: a slight over-estimate is harmless for a box)."""
    cmap, metrics, units = _font_metrics()
    advance = sum(metrics.get(cmap.get(ord(c), ".notdef"), (units // 2, 0))[0] for c in line)
    return advance * FONT_SIZE / units


def _attachment_box(writer: Any, lines: tuple[str, ...]) -> Box:
    _, _, x2, y2 = _page_size(writer, 0)
    width = max(_text_width(line) for line in lines) + 2 * TEXT_MARGIN + 14  # + slack: TextBox offsets, rounding
    height = LEADING * len(lines) + 2 * TEXT_MARGIN + 6  # + room for marks above capitals (Ủ, Ấ)
    right, top = x2 - ATTACHMENT_MARGIN, y2 - ATTACHMENT_MARGIN
    return Box(0, right - width, top - height, right, top)


# ---------------------------------------------------------------------------------------------------------------
# pyHanko glue: a stamp style drawing our content into the field's appearance stream


def _font_factory() -> Any:
    """A pyHanko glyph accumulator factory for the bundled font, measuring in 1/1000 em.

    pyHanko 0.38 writes glyph widths (/W) and TJ kerning adjustments in the font's own units, while PDF reads
    both as 1/1000 em. Liberation Serif has 2048 units/em, so text came out about twice as wide (seen in the
    pdftoppm rendering). We shape with HarfBuzz at a 1000-unit scale and store widths scaled the same way.
    """
    from pyhanko.pdf_utils.font.opentype import GlyphAccumulator, GlyphAccumulatorFactory

    class Per1000Accumulator(GlyphAccumulator):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self._font_upem = self.units_per_em
            self.units_per_em = 1000
            self.hb_font.scale = (1000, 1000)

        def _get_cid_and_width(self, glyph_id: int) -> tuple[int, int]:
            if glyph_id not in self._glyphs:
                cid, width = super()._get_cid_and_width(glyph_id)
                self._glyphs[glyph_id] = (cid, round(width * 1000 / self._font_upem))
            return self._glyphs[glyph_id]

    class Per1000Factory(GlyphAccumulatorFactory):
        def create_font_engine(self, writer: Any, obj_stream: Any = None) -> Any:
            if obj_stream is None and writer.stream_xrefs and self.create_objstream_if_needed:
                obj_stream = writer.prepare_object_stream()
            return Per1000Accumulator(
                writer=writer,
                font_handle=open(self.font_file, "rb"),
                font_size=self.font_size,
                obj_stream=obj_stream,
                bcp47_lang_code="vi",
            )

    return Per1000Factory(str(FONT_PATH), font_size=FONT_SIZE)


def _stamp_classes() -> tuple[type, type]:
    from pyhanko.pdf_utils import layout
    from pyhanko.pdf_utils.images import PdfImage
    from pyhanko.pdf_utils.text import TextBox, TextBoxStyle
    from pyhanko.stamp.base import BaseStamp, BaseStampStyle

    class NdStamp(BaseStamp):
        def _render_inner_content(self) -> list[bytes]:
            style: NdStampStyle = self.style
            if style.lines:
                text_style = TextBoxStyle(
                    font=_font_factory(),
                    font_size=FONT_SIZE,
                    leading=LEADING,
                    border_width=0,
                    text_color=(0, 0, 0),
                )
                text = TextBox(text_style, writer=self.writer, resources=self.resources)  # natural size: 1:1
                text.content = "\n".join(style.lines)
                return [b"q 1 0 0 1 %g %g cm" % (TEXT_MARGIN, TEXT_MARGIN), text.render(), b"Q"]
            ops = []
            if style.cover is not None:  # paint the placeholder text over (white), under the images
                ops.append(b"q 1 g %g %g %g %g re f Q" % style.cover)
            for image, (x, y, w, h) in style.layers:
                pdf_image = PdfImage(image, writer=self.writer, resources=self.resources,
                                     box=layout.BoxConstraints(width=w, height=h))
                ops += [b"q 1 0 0 1 %g %g cm" % (x, y), pdf_image.render(), b"Q"]
            return ops

    class NdStampStyle(BaseStampStyle):
        def __init__(self, layers: tuple[tuple[Any, tuple[float, ...]], ...] = (), lines: tuple[str, ...] = (),
                     cover: tuple[float, ...] | None = None) -> None:
            super().__init__(border_width=0, background=None)
            self.layers = layers  # (image, (x, y, width, height) in the widget)
            self.lines = lines
            self.cover = cover

        def create_stamp(self, writer: Any, box: Any, text_params: dict[str, Any]) -> Any:
            return NdStamp(writer, self, box=box)

    return NdStamp, NdStampStyle


def _image_layers(appearance: Appearance, box: Box) -> list[tuple[Any, Box]]:
    """The images to draw, bottom first, each in its page rectangle."""
    assert appearance.image is not None
    image = _image(appearance.image)
    if appearance.style == "seal":  # ``box`` is the signer's box the seal overlaps
        return [(image, _seal_box(box, image, appearance.seal_size))]
    signer = _contain(box, image)
    if appearance.style == "signer" or appearance.seal_image is None:
        return [(image, signer)]
    seal = _image(appearance.seal_image)
    return [(image, signer), (seal, _seal_box(signer, seal, appearance.seal_size, factor=box.height / signer.height))]


def _relative(inner: Box, outer: Box) -> tuple[float, float, float, float]:
    return inner.x1 - outer.x1, inner.y1 - outer.y1, inner.width, inner.height


def build_stamp(writer: Any, appearance: Appearance, field_name: str) -> tuple[Any, Any]:
    """pyHanko (field spec, stamp style) for ``appearance`` in ``writer`` (internal to :mod:`signing.pdf`)."""
    from pyhanko.sign.fields import SigFieldSpec

    _, style_cls = _stamp_classes()
    if appearance.style == "attachment":
        raw = (*appearance.extra_lines, appearance.number_notation or "", attachment_time_text(appearance.signing_time))
        lines = tuple(unicodedata.normalize("NFC", line) for line in raw if line)
        box = _attachment_box(writer, lines)
        style = style_cls(lines=lines)
    else:
        assert appearance.image is not None and appearance.placement is not None
        placed, cover = resolve_placement(writer, writer.prev.stream, appearance.placement)
        layers = _image_layers(appearance, placed)
        box = _union([b for _, b in layers] + ([cover] if cover else []))
        style = style_cls(layers=tuple((image, _relative(b, box)) for image, b in layers),
                          cover=_relative(cover, box) if cover else None)
    _page_size(writer, box.page)
    # pyHanko annotates the box as ints, but PDF rectangles are reals and it writes them as given.
    rect = (box.x1, box.y1, box.x2, box.y2)
    spec = SigFieldSpec(sig_field_name=field_name, on_page=box.page, box=rect)  # type: ignore[arg-type]
    return spec, style
