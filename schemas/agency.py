"""Agency identifiers (mã định danh), QCVN 102:2016 and STANDARDS §4.

A code has 13 characters ``NNN.NN.NN.LNN``. The right-most group is level 1 (an uppercase letter A–Z and two
digits: G ministries, H provinces, A Party bodies...); each group to the left is one level deeper (2, 2 then 3
digits). A group of zeros means "no unit at that level". The parent of a code is the code with its left-most
non-zero group zeroed, so ``000.00.18.G12`` (Tổng cục Thuế) sits under ``000.00.00.G12`` (Bộ Tài chính).

Real packages carry malformed codes (``28.22.H17``): :meth:`AgencyCode.parse` rejects them with a message that
says what is wrong; the tolerant package parser keeps the raw text and reports an oddity instead.
"""

from __future__ import annotations

import fnmatch
import re

from schemas.errors import InvalidAgencyCode

__all__ = ["AgencyCode", "InvalidAgencyCode", "is_agency_code"]

_FORM = "NNN.NN.NN.LNN"
_PATTERN = re.compile(r"([0-9]{3})\.([0-9]{2})\.([0-9]{2})\.([A-Z][0-9]{2})")
_GROUP_SHAPES = (
    (re.compile(r"[0-9]{3}"), "3 digits (level 4)"),
    (re.compile(r"[0-9]{2}"), "2 digits (level 3)"),
    (re.compile(r"[0-9]{2}"), "2 digits (level 2)"),
    (re.compile(r"[A-Z][0-9]{2}"), "an uppercase letter A–Z and 2 digits (level 1)"),
)


def _explain(text: str) -> str:
    """Say, in English, why ``text`` does not have the shape ``NNN.NN.NN.LNN``."""
    if len(text) != 13:
        return f"expected 13 characters {_FORM}, got {len(text)}"
    groups = text.split(".")
    if len(groups) != 4:
        return f"expected 4 groups separated by dots ({_FORM}), got {len(groups)}"
    for group, (shape, wanted) in zip(groups, _GROUP_SHAPES, strict=True):
        if not shape.fullmatch(group):
            return f"group {group!r} should be {wanted}"
    return f"expected {_FORM}"  # pragma: no cover - every failing shape is named above


class AgencyCode(str):
    """A validated agency identifier; behaves as the plain 13-character string it is."""

    __slots__ = ()

    def __new__(cls, text: str) -> AgencyCode:
        if not isinstance(text, str):
            raise InvalidAgencyCode(f"{text!r} is not an agency code: expected a string {_FORM}")
        if not _PATTERN.fullmatch(text):
            raise InvalidAgencyCode(f"{text!r} is not an agency code: {_explain(text)}")
        return super().__new__(cls, text)

    @classmethod
    def parse(cls, text: str) -> AgencyCode:
        """Validate ``text`` (surrounding whitespace ignored); raise :class:`InvalidAgencyCode` with the reason."""
        return cls(text.strip() if isinstance(text, str) else text)

    @property
    def groups(self) -> tuple[str, str, str, str]:
        """The four groups, deepest level first: ``("000", "00", "18", "G12")``."""
        first, second, third, top = self.split(".")
        return first, second, third, top

    @property
    def level(self) -> int:
        """1 for a top-level body (``000.00.00.G22``) up to 4; the deepest non-zero group decides."""
        for depth, group in zip((4, 3, 2), self.groups[:3], strict=True):
            if int(group) != 0:
                return depth
        return 1

    @property
    def parent(self) -> AgencyCode | None:
        """The code with its left-most non-zero group zeroed; ``None`` at level 1 (STANDARDS §4)."""
        groups = list(self.groups)
        for index in range(3):
            if int(groups[index]) != 0:
                groups[index] = "0" * len(groups[index])
                return AgencyCode(".".join(groups))
        return None

    def ancestors(self) -> tuple[AgencyCode, ...]:
        """Parent, grandparent, ... up to the level-1 body."""
        chain: list[AgencyCode] = []
        current = self.parent
        while current is not None:
            chain.append(current)
            current = current.parent
        return tuple(chain)

    def is_descendant_of(self, other: str) -> bool:
        """True if ``other`` is a strict ancestor of this code (a code is not its own descendant)."""
        return other in self.ancestors()

    def matches(self, pattern: str) -> bool:
        """Glob match (``fnmatch`` semantics, case-sensitive): ``*``, ``*.H53``, ``000.00.00.G22``."""
        return fnmatch.fnmatchcase(self, pattern)


def is_agency_code(text: object) -> bool:
    """True if ``text`` is exactly a well-formed agency code (no surrounding whitespace)."""
    return isinstance(text, str) and _PATTERN.fullmatch(text) is not None
