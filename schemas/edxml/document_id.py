"""DocumentId: ``{OrganId},{yyyy/MM/dd},{số}/{ký hiệu}`` (STANDARDS §2; NĐ 30/2020 số và ký hiệu).

Example: ``000.00.00.G22,2015/09/30,7816/VPCP-TTĐT`` is document 7816/VPCP-TTĐT issued by Văn phòng Chính phủ on
30/09/2015. The number is everything before the first ``/`` of the last part, the notation everything after it
(``30/2020/NĐ-CP`` gives number ``30`` and notation ``2020/NĐ-CP``), so ``str()`` always round-trips.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING

from schemas.agency import AgencyCode
from schemas.edxml.wire import WireValueError, format_date, parse_date
from schemas.errors import InvalidAgencyCode, InvalidDocumentId

if TYPE_CHECKING:
    from schemas.edxml.model import Code

__all__ = ["DocumentId"]

_FORM = "{OrganId},{yyyy/MM/dd},{số}/{ký hiệu}"


@dataclass(frozen=True, slots=True, kw_only=True)
class DocumentId:
    """The identifier a sender gives a document; ``str(doc_id)`` is its wire form."""

    organ_id: AgencyCode
    date: dt.date
    number: str
    notation: str

    @classmethod
    def parse(cls, text: str) -> DocumentId:
        """Read the wire form; raise :class:`InvalidDocumentId` naming what is wrong."""
        parts = text.strip().split(",", 2)
        if len(parts) != 3:
            raise InvalidDocumentId(f"{text!r} is not a DocumentId: expected {_FORM}")
        organ, day, code = parts
        number, slash, notation = code.partition("/")
        if not slash or not number or not notation:
            raise InvalidDocumentId(f"{text!r} is not a DocumentId: expected '{{số}}/{{ký hiệu}}' after the date")
        try:
            return cls(organ_id=AgencyCode(organ), date=parse_date(day), number=number, notation=notation)
        except (InvalidAgencyCode, WireValueError) as exc:
            raise InvalidDocumentId(f"{text!r} is not a DocumentId: {exc}") from exc

    @classmethod
    def for_(cls, organ_id: str, date: dt.date, code: Code) -> DocumentId:
        """The DocumentId of the document ``code`` issued by ``organ_id`` on ``date``."""
        return cls(organ_id=AgencyCode.parse(organ_id), date=date, number=code.number, notation=code.notation)

    def __str__(self) -> str:
        return f"{self.organ_id},{format_date(self.date)},{self.number}/{self.notation}"
