"""What the tolerant parser notes about XML-DSig signatures; verifying them is ``signing/``'s job.

STANDARDS §2: some packages' ``Signature`` inherits the edXML default namespace instead of declaring
``http://www.w3.org/2000/09/xmldsig#``; old samples sign with RSA-SHA1. We send SHA-256 or stronger
(STANDARDS §7), so SHA-1 and MD5 in ``SignatureMethod``/``DigestMethod`` are reported as weak.
"""

from __future__ import annotations

from collections.abc import Iterator

from schemas.edxml.codes import XMLDSIG_NS
from schemas.edxml.fields import Context
from schemas.edxml.reader import Node

__all__ = ["WEAK_ALGORITHM_MARKERS", "inspect_signatures"]

WEAK_ALGORITHM_MARKERS = ("sha1", "md5")
_METHODS = ("SignatureMethod", "DigestMethod")


def _descendants(node: Node) -> Iterator[Node]:
    for child in node.children:
        yield child
        yield from _descendants(child)


def _signatures(root: Node) -> Iterator[Node]:
    """Every Signature element outside the attachments (which may be large but hold no signatures)."""
    for child in root.children:
        if child.name == "AttachmentEncoded":
            continue
        if child.name == "Signature":
            yield child
        yield from _signatures(child)


def _check_algorithms(ctx: Context, signature: Node) -> None:
    for node in _descendants(signature):
        algorithm = node.attrib.get("Algorithm", "")
        if node.name in _METHODS and any(weak in algorithm.lower() for weak in WEAK_ALGORITHM_MARKERS):
            ctx.odd("weak_signature_algorithm", f"{node.name} uses {algorithm}; SHA-256 or stronger is required", node)


def inspect_signatures(ctx: Context, root: Node, header: Node) -> bool:
    """Note namespace, placement and algorithm oddities of every Signature; True if there is one."""
    found = False
    for signature in _signatures(root):
        found = True
        if signature.ns != XMLDSIG_NS:
            ctx.odd("signature_default_namespace", "Signature is not in the XML-DSig namespace", signature)
        if signature.parent is not header:
            ctx.odd("signature_misplaced", "Signature is not a child of edXMLHeader", signature)
        _check_algorithms(ctx, signature)
    return found
