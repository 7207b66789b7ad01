"""What the gateway refuses before it stores anything: foreign senders, unknown recipients, secret documents,
forged or (by policy) missing/weak package signatures.

Secret documents (Mật, Tối mật, Tuyệt mật) are excluded from electronic exchange (STANDARDS.md §1). edXML has no
field for the secrecy level [?]: the gateway treats a package as secret when its OtherInfo/SphereOfPromulgation or
an explicit security level (native API) equals one of the configured markings (default: "Mật", "Tối mật",
"Tuyệt mật", compared case-insensitively after trimming), so that a subject like "bảo mật thông tin" is not a
false positive. The check runs before any blob is written, so a refused secret document is never stored.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable

from service.exchange.directory import Caller
from service.exchange.errors import Forbidden, Refused
from signing.xmldsig import XmlSignatureCheck

__all__ = ["check_not_secret", "check_sender", "check_signature", "is_secret_marking"]


def _norm(text: str) -> str:
    return unicodedata.normalize("NFC", " ".join(text.split())).casefold()


def is_secret_marking(value: str | None, markings: Iterable[str]) -> bool:
    return value is not None and _norm(value) in {_norm(m) for m in markings}


def check_not_secret(values: Iterable[str | None], markings: Iterable[str]) -> None:
    marks = tuple(markings)
    for value in values:
        if is_secret_marking(value, marks):
            raise Refused(
                f"secret documents ({value!r}) must not be exchanged electronically; the package was not stored",
                code="secret_document",
            )


def check_sender(caller: Caller, from_code: str) -> None:
    if not caller.may_act_for(from_code):
        raise Forbidden(
            f"this client system may not send for agency {from_code} (it acts for: "
            f"{', '.join(sorted(caller.agencies)) or 'none'})",
            code="not_your_agency",
        )


def check_signature(check: XmlSignatureCheck, policy: str) -> list[str]:
    """Refuse a forged signature always; unsigned or weak ones per policy. Returns warnings to keep."""
    if check.code == "invalid":
        detail = "; ".join(check.problems) or "the signature does not verify"
        raise Refused(f"the package's XML signature is invalid: {detail}", code="xml_signature_invalid")
    if check.code in ("absent", "weak"):
        what = "not signed" if check.code == "absent" else "signed with a weak algorithm or key"
        if policy == "reject":
            raise Refused(
                f"the package is {what}, and this gateway's policy rejects that", code=f"xml_signature_{check.code}"
            )
        return [f"package {what}"]
    return []
