"""What the gateway refuses before it stores anything: foreign senders, unknown recipients, secret documents,
forged or (by policy) missing/weak/unverifiable package signatures.

A signature is *forged* when it can be checked and does not match (the content changed after signing, or the
signature value does not verify with the certificate it names): always refused. It is *unverifiable* when it cannot
be checked at all (the kit's samples: a Signature outside the XML-DSig namespace, a truncated certificate, a
package that breaks the namespace rules): that says no more about the package than no signature would, so with
``EDOC_RELAY_POLICY=tolerant`` it is treated as an absent one under ``EDOC_XML_SIGNATURE_POLICY`` (accepted with a
warning, or refused under ``reject``); ``strict`` refuses it as invalid, as before.

Secret documents (Mật, Tối mật, Tuyệt mật) are excluded from electronic exchange (STANDARDS.md §1). edXML has no
field for the secrecy level [?]: the gateway treats a package as secret when its OtherInfo/SphereOfPromulgation or
an explicit security level (native API) is one of the configured markings (default: "Mật", "Tối mật",
"Tuyệt mật"). DMS in the field write the marking in any case and often without accents ("MAT", "Toi mat"), so
the comparison is of whole phrases after normalisation: case folded, punctuation and runs of spaces made one
space, and each letter compared by its base letter, its accents either the marking's or left out. So "Mat",
"MẬT" and "Tuyet-mat" are secret, while "Bảo mật" (a longer phrase), "Matxcova" (another word) and "Mát" (a
different tone mark, so a different word) are not. The check runs before any blob is written, so a refused
secret document is never stored.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable

from service.exchange.directory import Caller
from service.exchange.errors import Forbidden, Refused
from signing.xmldsig import P_DIGEST, P_SIGNATURE, XmlSignatureCheck

__all__ = ["check_not_secret", "check_sender", "check_signature", "is_forged", "is_secret_marking"]


_Letter = tuple[str, frozenset[str]]  # a base letter and the combining marks written on it


def _letters(text: str) -> tuple[_Letter, ...]:
    """``text`` as (base letter, marks) pairs: NFD, case folded, every run of other characters one space.

    "đ" is a letter of its own in Vietnamese but written "d" without accents: it is "d" with a stroke mark."""
    letters: list[tuple[str, set[str]]] = []
    for char in unicodedata.normalize("NFD", text).casefold():
        if unicodedata.combining(char):
            if letters and letters[-1][0] != " ":
                letters[-1][1].add(char)
        elif char.isalnum() or char == "đ":
            letters.append(("d", {"stroke"}) if char == "đ" else (char, set()))
        elif letters and letters[-1][0] != " ":  # a separator: runs of them are one space
            letters.append((" ", set()))
    while letters and letters[-1][0] == " ":
        letters.pop()
    return tuple((base, frozenset(marks)) for base, marks in letters)


def _written_as(value: tuple[_Letter, ...], marking: tuple[_Letter, ...]) -> bool:
    """Whether ``value`` is ``marking`` with some or all of its accents left out (and no other accent added)."""
    if len(value) != len(marking):
        return False
    pairs = zip(value, marking, strict=True)
    return all(base == want_base and marks <= want_marks for (base, marks), (want_base, want_marks) in pairs)


def is_secret_marking(value: str | None, markings: Iterable[str]) -> bool:
    """Whether ``value`` is one of ``markings`` as a whole phrase, whatever its case and accents (module docstring)."""
    if value is None:
        return False
    letters = _letters(value)
    return bool(letters) and any(_written_as(letters, _letters(marking)) for marking in markings)


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


def is_forged(check: XmlSignatureCheck) -> bool:
    """Whether the signature was checked and does not match (module docstring); False if it cannot be checked."""
    return check.code == "invalid" and any(p in (P_DIGEST, P_SIGNATURE) for p in check.problems)


def check_signature(check: XmlSignatureCheck, policy: str, *, tolerant: bool = False) -> list[str]:
    """Refuse a forged signature always; unsigned, weak or (``tolerant``) unverifiable ones per policy. Returns
    warnings to keep."""
    unverifiable = check.code == "invalid" and tolerant and not is_forged(check)
    if check.code == "invalid" and not unverifiable:
        detail = "; ".join(check.problems) or "the signature does not verify"
        raise Refused(f"the package's XML signature is invalid: {detail}", code="xml_signature_invalid")
    if check.code in ("absent", "weak") or unverifiable:
        what = {"absent": "not signed", "weak": "signed with a weak algorithm or key"}.get(
            check.code, "signed, but its signature cannot be verified"
        )
        if policy == "reject":
            code = "xml_signature_" + ("unverifiable" if unverifiable else check.code)
            raise Refused(f"the package is {what}, and this gateway's policy rejects that", code=code)
        return [f"package {what}" + (f" ({'; '.join(check.problems)})" if unverifiable else "")]
    return []
