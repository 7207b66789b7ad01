"""Which incremental updates after a signature are allowed changes, beyond pyHanko's default rules (issue 18).

Structure-tree updates. Tagged PDFs (ISO 32000-1 §14.7, PDF/UA) carry a logical structure tree; tools that
fill a form or add a signature field to a tagged file add a structure element for it, and pyHanko's default
policy reports that as an unexplained change (TOTAL_FAILED) although nothing visible changed. PAdES (ETSI EN
319 142-1 §5.4 and ISO 32000-1 §12.8.2.2: what DocMDP P=2 permits) treats such bookkeeping as part of the
permitted form filling. :class:`StructTreeRule` clears, at ``FORM_FILLING`` level, exactly the objects of the
structure tree and nothing a viewer renders:

* the walk starts at ``/Root /StructTreeRoot`` (which must keep its object number) and follows only structural
  children (``/K``, ``/ParentTree``, ``/IDTree`` and number/name tree ``/Kids``, ``/Nums``, ``/Names``), never
  ``/Pg``, ``/Obj``, ``/Stm`` or ``/P``, so pages, annotations and content streams are not reached;
* each object reached must be a dictionary whose keys all belong to its kind (structure tree root, structure
  element, marked-content or object reference, tree node) or an array; streams never qualify. A key outside
  those lists (``/JS``, ``/URI``, ``/AA`` …) disqualifies the object, so an action dictionary disguised as a
  structure element is still an unexplained change;
* an object that existed before must already have been part of the old revision's structure tree: an update
  cannot pull, say, an existing annotation into the tree and have its change cleared.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.reader import HistoricalResolver
from pyhanko.sign.diff_analysis import (
    DEFAULT_DIFF_POLICY,
    ModificationLevel,
    QualifiedWhitelistRule,
    ReferenceUpdate,
    StandardDiffPolicy,
)

__all__ = ["VERIFY_DIFF_POLICY", "StructTreeRule"]

_TREE_ROOT = {
    "/Type", "/K", "/IDTree", "/ParentTree", "/ParentTreeNextKey", "/RoleMap", "/ClassMap", "/Namespaces",
    "/PronunciationLexicon", "/AF",
}
_ELEMENT = {
    "/Type", "/S", "/P", "/ID", "/Ref", "/Pg", "/K", "/A", "/C", "/R", "/T", "/Lang", "/Alt", "/E", "/ActualText",
    "/AF", "/NS", "/PhoneticAlphabet", "/Phoneme",
}
_MCR = {"/Type", "/Pg", "/Stm", "/StmOwn", "/MCID"}
_OBJR = {"/Type", "/Pg", "/Obj"}
_TREE_NODE = {"/Kids", "/Nums", "/Names", "/Limits"}
_CHILD_KEYS = ("/K", "/ParentTree", "/IDTree", "/Kids", "/Nums", "/Names")
_MAX_NODES = 200_000  # a bound on the walk: the file is untrusted


def _allowed(obj: generic.PdfObject) -> bool:
    if isinstance(obj, generic.StreamObject):
        return False
    if isinstance(obj, generic.ArrayObject):
        return True
    if not isinstance(obj, generic.DictionaryObject):
        return False
    keys = set(obj.keys())
    kind = obj.get("/Type")
    if kind == "/StructTreeRoot":
        return keys <= _TREE_ROOT
    if kind == "/MCR":
        return keys <= _MCR
    if kind == "/OBJR":
        return keys <= _OBJR
    if kind in (None, "/StructElem") and "/S" in keys:
        return keys <= _ELEMENT
    return kind is None and keys <= _TREE_NODE


def _walk(resolver: HistoricalResolver, start: generic.Reference) -> dict[generic.Reference, generic.PdfObject]:
    """Indirect objects reached from ``start`` through structural children only."""
    found: dict[generic.Reference, generic.PdfObject] = {}
    stack: list[generic.PdfObject] = [generic.IndirectObject(start.idnum, start.generation, resolver)]
    steps = 0
    while stack and steps < _MAX_NODES:
        steps += 1
        item = stack.pop()
        if isinstance(item, generic.IndirectObject):
            ref = item.reference
            if ref in found:
                continue
            obj = item.get_object()
            found[ref] = obj
        else:
            obj = item
        stack.extend(_children(obj))
    return found


def _children(obj: generic.PdfObject) -> Iterator[generic.PdfObject]:
    if isinstance(obj, generic.ArrayObject):
        kinds = generic.IndirectObject | generic.DictionaryObject | generic.ArrayObject
        yield from (v for v in (obj.raw_get(i) for i in range(len(obj))) if isinstance(v, kinds))
    elif isinstance(obj, generic.DictionaryObject) and not isinstance(obj, generic.StreamObject):
        for key in _CHILD_KEYS:
            if key in obj:
                yield obj.raw_get(key)


class StructTreeRule(QualifiedWhitelistRule):
    """Clear updates of the logical structure tree (see the module docstring for what qualifies)."""

    def apply_qualified(
        self, old: HistoricalResolver, new: HistoricalResolver
    ) -> Iterable[tuple[ModificationLevel, ReferenceUpdate]]:
        new_root = new.root.raw_get("/StructTreeRoot") if "/StructTreeRoot" in new.root else None
        if not isinstance(new_root, generic.IndirectObject):
            return
        old_root = old.root.raw_get("/StructTreeRoot") if "/StructTreeRoot" in old.root else None
        if not isinstance(old_root, generic.IndirectObject) or old_root.reference != new_root.reference:
            return  # a new or replaced tree root changes the catalog: left to the catalog rule
        before = _walk(old, old_root.reference)
        for ref, obj in _walk(new, new_root.reference).items():
            if not _allowed(obj):
                continue
            if not old.is_ref_unassignable(ref) and not (ref in before and _allowed(before[ref])):
                continue  # an object from elsewhere in the old file, not a structure object
            yield ModificationLevel.FORM_FILLING, ReferenceUpdate(ref)


VERIFY_DIFF_POLICY = StandardDiffPolicy(
    global_rules=[*DEFAULT_DIFF_POLICY.global_rules, StructTreeRule()],
    form_rule=DEFAULT_DIFF_POLICY.form_rule,
)
