"""A flat, JSON-ready view of a parsed package for the CLI (``edoc edxml show``).

The package's XML signature is shown as the verifier's verdict (valid / invalid / weak / absent), never as a bare
"signed": a package whose signature does not verify (the kit's samples: a truncated certificate) must not look
signed-and-fine. The check is offline: the signature against the certificate it carries, no trust list.
"""

from __future__ import annotations

from typing import Any

__all__ = ["package_view"]


_VERDICTS = {
    "valid": "valid: the signature verifies with the certificate it carries",
    "invalid": "invalid: the signature does not verify, or cannot be verified",
    "weak": "weak: the signature verifies, but with SHA-1 or a short key",
    "absent": "absent: the package is not signed",
}


def package_view(parsed: Any, signature: Any) -> dict[str, Any]:
    """``parsed``: a ParsedPackage; ``signature``: the XmlSignatureCheck of the same bytes."""
    fields: dict[str, Any] = {"kind": parsed.kind, "xml_signature": _VERDICTS.get(signature.code, signature.code)}
    attachments: list[dict[str, Any]] = []
    if parsed.edoc is not None:
        pkg = parsed.edoc
        h = pkg.header
        fields.update(
            {
                "from": h.from_.organ_id,
                "from_name": h.from_.organ_name,
                "to": ", ".join(o.organ_id for o in h.to),
                "document_id": h.document_id,
                "code": str(h.code) if h.code else None,
                "type": h.document_type.type_name if h.document_type else None,
                "date": h.promulgation_info.date.isoformat()
                if h.promulgation_info and h.promulgation_info.date
                else None,
                "subject": h.subject,
                "signer": h.signer_info.full_name if h.signer_info else None,
                "business_type": int(pkg.business.doc_type) if pkg.business else None,
                "trace": " → ".join(t.organ_id for t in pkg.trace),
            }
        )
        attachments = [
            {"content_id": a.content_id, "name": a.name, "content_type": a.content_type, "size": len(a.data)}
            for a in pkg.attachments
        ]
    elif parsed.status is not None:
        st = parsed.status
        fields.update(
            {
                "from": st.from_.organ_id,
                "status_code": st.status_code,
                "description": st.description,
                "response_for": st.response_for.document_id if st.response_for else None,
                "timestamp": st.timestamp.isoformat() if st.timestamp else None,
            }
        )
    oddities = [{"code": o.code, "message": o.message, "path": o.path} for o in parsed.oddities]
    verdict = {
        "verdict": signature.code,
        "signer": signature.signer_subject,
        "algorithm": signature.signature_algorithm,
        "problems": [p for p in signature.problems if signature.code != "absent"],
    }
    return {"fields": fields, "xml_signature": verdict, "attachments": attachments, "oddities": oddities}
