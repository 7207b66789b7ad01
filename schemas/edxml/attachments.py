"""Reading the manifest (edXMLBody/edXMLManifest/Reference) and AttachmentEncoded/Attachment (STANDARDS §2).

An attachment's metadata is taken from its Attachment element, completed from the manifest Reference with the
same ContentId (the kit's ``edoc.edxml`` keeps the description only in the manifest); disagreements are
``manifest_mismatch`` oddities. Attachment elements written without the ``edXML:`` prefix, or outside the edXML
namespace because the prefix was never declared, are read and reported once as ``unprefixed_attachment``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

from schemas.edxml import spec as S
from schemas.edxml.fields import Context, check_children, read_object
from schemas.edxml.package import Attachment
from schemas.edxml.reader import Node

__all__ = ["read_attachments"]

_MERGED = ("name", "content_type", "description")


def _child(node: Node | None, name: str) -> Node | None:
    if node is None:
        return None
    return next((c for c in node.children if c.name == name), None)


def _subtree(node: Node) -> Iterator[Node]:
    yield node
    for child in node.children:
        yield from _subtree(child)


def _manifest(ctx: Context, root: Node) -> list[Attachment]:
    body = _child(_child(root, "edXMLEnvelope"), "edXMLBody")
    manifest = _child(body, "edXMLManifest")
    if body is not None:
        check_children(ctx, body, ("edXMLManifest",))
    if manifest is None:
        return []
    check_children(ctx, manifest, ("Reference",))
    return [read_object(ctx, n, S.REFERENCE) for n in manifest.children if n.name == "Reference"]


def _check_prefixes(ctx: Context, encoded: Node) -> None:
    bare = [n for n in _subtree(encoded) if n.prefixed is False]
    if bare:
        outside = sum(1 for n in bare if n.ns is None)
        ctx.odd(
            "unprefixed_attachment",
            f"{len(bare)} attachment elements lack the edXML: prefix ({outside} outside the edXML namespace)",
            bare[0],
        )


def _content(ctx: Context, node: Node, collected: dict[int, bytes] | None) -> bytes:
    content = _child(node, "ContentTransferEncoded")
    if content is None or content.stream is None:
        ctx.odd("missing_element", "Attachment has no ContentTransferEncoded", node)
        return b""
    if content.stream.error is not None:
        ctx.odd("invalid_base64", f"attachment content is unreadable: {content.stream.error}", content)
        return b""
    if collected is None or node.index is None:
        return b""
    return collected.get(node.index, b"")


def _encoded(ctx: Context, root: Node, collected: dict[int, bytes] | None) -> list[Attachment]:
    encoded = _child(root, "AttachmentEncoded")
    if encoded is None:
        return []
    _check_prefixes(ctx, encoded)
    check_children(ctx, encoded, ("Attachment",))
    found = []
    for node in (n for n in encoded.children if n.name == "Attachment"):
        attachment = read_object(ctx, node, S.ATTACHMENT, extra=("ContentTransferEncoded",))
        found.append(replace(attachment, data=_content(ctx, node, collected)))
    return found


def _merge(ctx: Context, attachment: Attachment, reference: Attachment) -> Attachment:
    for name in _MERGED:
        mine, theirs = getattr(attachment, name), getattr(reference, name)
        if mine and theirs and mine != theirs:
            ctx.odd("manifest_mismatch", f"{attachment.content_id}: {name} {mine!r} vs manifest {theirs!r}")
    return replace(attachment, **{n: getattr(attachment, n) or getattr(reference, n) for n in _MERGED})


def read_attachments(ctx: Context, root: Node, collected: dict[int, bytes] | None) -> tuple[Attachment, ...]:
    """Attachments in document order, completed from and checked against the manifest."""
    references = {r.content_id: r for r in _manifest(ctx, root)}
    merged = []
    for attachment in _encoded(ctx, root, collected):
        reference = references.pop(attachment.content_id, None)
        if reference is None:
            ctx.odd("manifest_mismatch", f"attachment {attachment.content_id!r} has no manifest Reference")
            merged.append(attachment)
        else:
            merged.append(_merge(ctx, attachment, reference))
    for content_id in references:
        ctx.odd("manifest_mismatch", f"manifest Reference {content_id!r} has no attachment")
    return tuple(merged)
