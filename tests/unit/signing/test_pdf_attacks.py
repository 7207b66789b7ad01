"""Attacks on signed PDFs, generated here from a genuinely signed file, each with the verdict it must get.

The rule every case obeys: none may come out TOTAL_PASSED with ``whole_document_signed`` (the verdict a clerk
reads as "this document, as shown, is what was signed"). The signer-side cases (revoked, expired, not-yet-valid,
wrong key usage, RSA-1024, SHA-1, untrusted root) are in ``test_pdf_verify.py::MATRIX``.
"""

from __future__ import annotations

import io
import re

import pytest
from asn1crypto import cms as asn1_cms
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.generic import pdf_name
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader

from signing.pdf.report import Coverage, Indication, SubIndication
from tests.unit.signing.test_pdf_verify_kit import asn1, base_pdf, sign, verify

PASSED, FAILED, INDET = Indication.TOTAL_PASSED, Indication.TOTAL_FAILED, Indication.INDETERMINATE


# --- building blocks -----------------------------------------------------------------------------------------


def _update(signed: bytes, change) -> bytes:
    """Append one incremental update made by ``change(writer)``."""
    writer = IncrementalPdfFileWriter(io.BytesIO(signed))
    change(writer)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _content(text: str) -> generic.StreamObject:
    return generic.StreamObject(stream_data=f"BT /F1 28 Tf 72 700 Td ({text}) Tj ET".encode("latin-1"))


def add_page(signed: bytes) -> bytes:
    def change(w: IncrementalPdfFileWriter) -> None:
        first = w.root["/Pages"]["/Kids"][0].get_object()
        page = generic.DictionaryObject({
            pdf_name("/Type"): pdf_name("/Page"),
            pdf_name("/MediaBox"): first["/MediaBox"],
            pdf_name("/Resources"): first["/Resources"],
            pdf_name("/Contents"): w.add_object(_content("Trang gia mao")),
        })
        w.insert_page(page)

    return _update(signed, change)


def replace_content_stream(signed: bytes) -> bytes:
    def change(w: IncrementalPdfFileWriter) -> None:
        page_ref = w.root["/Pages"]["/Kids"][0]
        page = page_ref.get_object()
        page["/Contents"] = w.add_object(_content("So tien: 999.000.000 dong"))
        w.update_container(page)

    return _update(signed, change)


def replace_visible_page(signed: bytes) -> bytes:
    """Rewrite the page object itself (same object number) with other content and resources."""

    def change(w: IncrementalPdfFileWriter) -> None:
        page_ref = w.root["/Pages"]["/Kids"].raw_get(0)
        old = page_ref.get_object()
        new = generic.DictionaryObject({
            pdf_name("/Type"): pdf_name("/Page"),
            pdf_name("/Parent"): old.raw_get("/Parent"),
            pdf_name("/MediaBox"): old["/MediaBox"],
            pdf_name("/Resources"): old.raw_get("/Resources"),
            pdf_name("/Contents"): w.add_object(_content("Quyet dinh da bi thay the")),
        })
        w.mark_update(page_ref)
        w.objects[(page_ref.generation, page_ref.idnum)] = new

    return _update(signed, change)


def annotation_over_text(signed: bytes) -> bytes:
    """A white square with new text drawn over the signed text: an annotation, not page content."""

    def change(w: IncrementalPdfFileWriter) -> None:
        page = w.root["/Pages"]["/Kids"][0].get_object()
        appearance = generic.StreamObject(
            {pdf_name("/Type"): pdf_name("/XObject"), pdf_name("/Subtype"): pdf_name("/Form"),
             pdf_name("/BBox"): generic.ArrayObject(map(generic.NumberObject, (0, 0, 400, 60)))},
            stream_data=b"1 g 0 0 400 60 re f 0 g BT /Helv 14 Tf 5 20 Td (Noi dung moi) Tj ET",
        )
        annot = generic.DictionaryObject({
            pdf_name("/Type"): pdf_name("/Annot"),
            pdf_name("/Subtype"): pdf_name("/Square"),
            pdf_name("/Rect"): generic.ArrayObject(map(generic.NumberObject, (72, 700, 472, 760))),
            pdf_name("/AP"): generic.DictionaryObject({pdf_name("/N"): w.add_object(appearance)}),
        })
        page["/Annots"] = generic.ArrayObject([w.add_object(annot)])
        w.update_container(page)

    return _update(signed, change)


def with_text_field(pdf: bytes, value: str) -> bytes:
    """The base document with one filled text field (so that a signed form can be re-filled afterwards)."""

    def change(w: IncrementalPdfFileWriter) -> None:
        page_ref = w.root["/Pages"]["/Kids"][0]
        widget = w.add_object(generic.DictionaryObject({
            pdf_name("/Type"): pdf_name("/Annot"),
            pdf_name("/Subtype"): pdf_name("/Widget"),
            pdf_name("/FT"): pdf_name("/Tx"),
            pdf_name("/T"): generic.TextStringObject("SoTien"),
            pdf_name("/V"): generic.TextStringObject(value),
            pdf_name("/Rect"): generic.ArrayObject(map(generic.NumberObject, (72, 600, 300, 620))),
            pdf_name("/P"): page_ref,
        }))
        page = page_ref.get_object()
        page["/Annots"] = generic.ArrayObject([widget])
        w.update_container(page)
        w.root["/AcroForm"] = generic.DictionaryObject({pdf_name("/Fields"): generic.ArrayObject([widget])})
        w.update_root()

    return _update(pdf, change)


def change_form_value(signed: bytes) -> bytes:
    def change(w: IncrementalPdfFileWriter) -> None:
        for ref in w.root["/AcroForm"]["/Fields"]:
            fld = ref.get_object()
            if fld.get("/T") == "SoTien":
                fld["/V"] = generic.TextStringObject("999.000.000")
                w.update_container(fld)

    return _update(signed, change)


def _byte_range(data: bytes) -> tuple[re.Match, list[int]]:
    match = list(re.finditer(rb"/ByteRange\s*\[\s*(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s*\]", data))[-1]
    return match, [int(g) for g in match.groups()]


def _set_byte_range(data: bytes, values: list[int]) -> bytes:
    match, _ = _byte_range(data)
    text = b"/ByteRange [%d %d %d %d]" % tuple(values)
    old = match.group(0)
    assert len(text) <= len(old)
    return data[: match.start()] + text.ljust(len(old)) + data[match.end():]


def inject_in_gap(signed: bytes) -> bytes:
    """Signature wrapping: bytes inserted in the unsigned gap after a shortened /Contents, offsets unchanged."""
    _, (_, len1, start2, _) = _byte_range(signed)
    hex_part = signed[len1 + 1 : start2 - 1]
    der_hex = hex_part.rstrip(b"0")
    der_hex += b"0" * (len(der_hex) % 2)
    inject = b"> /Injected (" + b"x" * 16 + b")"
    gap = b"<" + der_hex + inject
    assert len(gap) < start2 - len1
    gap = gap[:-1] + b" " * (start2 - len1 - len(gap)) + b")"
    return signed[:len1] + gap + signed[start2:]


def shift_byte_range(signed: bytes) -> bytes:
    """Signature wrapping: shift the second range so that injected bytes sit inside the unsigned gap."""
    _, (_, len1, start2, len2) = _byte_range(signed)
    inject = b"\n99 0 obj\n(injected content the signature does not cover)\nendobj\n"
    shifted = signed[:start2] + inject + signed[start2:]
    return _set_byte_range(shifted, [0, len1, start2 + len(inject), len2])


def trailing_junk(signed: bytes) -> bytes:
    """Bytes after %%EOF that are no revision: not covered, and lenient viewers may still act on them."""
    return signed + b"\n5 0 obj\n<< /Length 20 >>\nstream\nBT (Gia mao) Tj ET\nendstream\nendobj\n"


def tamper_signed_byte(signed: bytes) -> bytes:
    """Flip one byte inside the JPEG of page 1 (inside the signed range, parseable either way)."""
    at = signed.index(b"/DCTDecode")
    at = signed.index(b"stream", at) + 500
    return signed[:at] + bytes([signed[at] ^ 0xFF]) + signed[at + 1:]


def swap_certificate(signed: bytes, other_cert) -> bytes:
    """Replace the signer's certificate in the CMS (and the SignerInfo's pointer to it) with another one."""
    _, (_, len1, start2, _) = _byte_range(signed)
    hex_start, hex_end = len1 + 1, start2 - 1
    raw = bytes.fromhex(signed[hex_start:hex_end].decode())
    info = asn1_cms.ContentInfo.load(raw.rstrip(b"\0"))
    sd = info["content"]
    other = asn1(other_cert)
    sd["certificates"] = asn1_cms.CertificateSet([asn1_cms.CertificateChoices(name="certificate", value=other)])
    signer_info = sd["signer_infos"][0]
    signer_info["sid"] = asn1_cms.SignerIdentifier(
        name="issuer_and_serial_number",
        value=asn1_cms.IssuerAndSerialNumber({"issuer": other.issuer, "serial_number": other.serial_number}),
    )
    new_hex = asn1_cms.ContentInfo({"content_type": "signed_data", "content": sd}).dump(force=True).hex().encode()
    assert len(new_hex) <= hex_end - hex_start
    return signed[:hex_start] + new_hex.ljust(hex_end - hex_start, b"0") + signed[hex_end:]


# --- the corpus ------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def signed(test_pki) -> bytes:
    return sign(base_pdf(), test_pki, "good-rsa")


@pytest.fixture(scope="module")
def signed_form(test_pki) -> bytes:
    return sign(with_text_field(base_pdf(), "1.000.000"), test_pki, "good-rsa")


# name, builder, expected (indication, sub-indication) of the file and of its first signature
CORPUS = [
    ("new_page_added", add_page, (FAILED, SubIndication.SIG_CONSTRAINTS_FAILURE)),
    ("content_stream_replaced", replace_content_stream, (FAILED, SubIndication.SIG_CONSTRAINTS_FAILURE)),
    ("visible_page_replaced", replace_visible_page, (FAILED, SubIndication.SIG_CONSTRAINTS_FAILURE)),
    ("annotation_over_text", annotation_over_text, (FAILED, SubIndication.SIG_CONSTRAINTS_FAILURE)),
    ("wrapping_bytes_in_gap", inject_in_gap, (FAILED, SubIndication.FORMAT_FAILURE)),
    ("trailing_bytes_not_covered", trailing_junk, (FAILED, SubIndication.FORMAT_FAILURE)),
    ("tampered_signed_byte", tamper_signed_byte, (FAILED, SubIndication.HASH_FAILURE)),
]


@pytest.mark.parametrize(("name", "attack", "expected"), CORPUS, ids=[c[0] for c in CORPUS])
def test_attack_corpus(test_pki, signed, name, attack, expected):
    report = verify(attack(signed), test_pki)
    sig = report.signatures[0]
    assert (sig.indication, sig.sub_indication) == expected, [f.en for f in sig.errors + sig.warnings]
    assert (report.indication, report.sub_indication) == expected
    assert not (report.indication is PASSED or report.whole_document_signed)
    assert sig.verdict_vi == "Chữ ký không hợp lệ" and report.exit_code == 1


def test_form_value_changed_after_signing(test_pki, signed_form):
    """Form filling is allowed after an approval signature, so the signature itself stays valid for its revision;
    the file as shown is not what was signed: INDETERMINATE overall, with the changed field named."""
    report = verify(change_form_value(signed_form), test_pki)
    (sig,) = report.signatures
    assert sig.indication is PASSED and sig.coverage is Coverage.ENTIRE_REVISION
    assert sig.changes.changed_form_fields == ("SoTien",) and not sig.covers_final_document
    assert "changed_after_signing" in {w.code for w in sig.warnings}
    assert (report.indication, report.sub_indication) == (INDET, SubIndication.SIG_CONSTRAINTS_FAILURE)
    assert not report.whole_document_signed and report.exit_code == 2


def test_form_untouched_after_signing_passes(test_pki, signed_form):
    """Control for the case above: the same signed form, unchanged, passes."""
    report = verify(signed_form, test_pki)
    assert report.indication is PASSED and report.whole_document_signed


def test_certificate_swapped_in_cms(test_pki, signed):
    """The signed ESS signing-certificate-v2 attribute no longer matches: ETSI NO_SIGNING_CERTIFICATE_FOUND."""
    _, _, other = test_pki.signer("good-ec")
    report = verify(swap_certificate(signed, other), test_pki)
    (sig,) = report.signatures
    assert (sig.indication, sig.sub_indication) == (INDET, SubIndication.NO_SIGNING_CERTIFICATE_FOUND)
    assert report.indication is INDET and not report.whole_document_signed


def test_shifted_byte_range_is_never_passed(test_pki, signed):
    """Shifting the second range breaks every later offset: either unreadable or failed, never passed."""
    from signing.pdf.verify import PdfVerificationError

    try:
        report = verify(shift_byte_range(signed), test_pki)
    except PdfVerificationError as exc:
        assert exc.code == "pdf_unreadable"
        return
    assert report.indication is not PASSED and not report.whole_document_signed


def test_attacked_files_still_parse(test_pki, signed):
    """Every attack file is a PDF pyHanko can open: the verdicts above are about signatures, not parse errors."""
    for _, attack, _ in CORPUS:
        PdfFileReader(io.BytesIO(attack(signed)), strict=False).root  # noqa: B018
