"""Issue 18: files other software writes, one generated file per class, each with the indication it must get.

Before this issue every case marked "crashed" below raised out of ``verify_pdf`` (EdDSA: UnboundLocalError in
asn1crypto; /M without offset: TypeError; a truncated file: PdfVerificationError), and the legacy / plain-ECDSA /
two-SignerInfo cases came out TOTAL_FAILED although their bytes are intact.
"""

from __future__ import annotations

import io
import re

import pytest
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign import fields, signers, timestamps
from pyhanko_certvalidator import ValidationContext

from signing.pdf.report import Indication, ModificationLevel, SubIndication
from signing.pdf.revocation import RevocationMode, RevocationPolicy
from signing.pdf.verify import PdfVerificationError
from tests.unit.signing import foreign_pdfs as F
from tests.unit.signing.test_pdf_verify_kit import UNTRUSTED_SET, asn1, base_pdf, sign, verify

PASSED, FAILED, INDET = Indication.TOTAL_PASSED, Indication.TOTAL_FAILED, Indication.INDETERMINATE
SOFT = RevocationMode.SOFT_FAIL


@pytest.fixture(scope="module")
def pdf() -> bytes:
    return base_pdf()


@pytest.fixture(scope="module")
def signed(test_pki, pdf) -> bytes:
    return sign(pdf, test_pki, "good-rsa")


def _resign(test_pki, signed_pdf: bytes, name: str = "good-rsa", patches=(), **cms_options) -> bytes:
    key, cert, chain = F.signer_material(test_pki, name)
    return F.patch_and_resign(signed_pdf, lambda data: F.build_cms(data, key, cert, chain, **cms_options), patches)


def _flip_image_byte(data: bytes) -> bytes:
    """One byte changed inside the first page's image stream (signed content)."""
    at = data.index(b"/DCTDecode") + 300
    return data[:at] + bytes([data[at] ^ 0x01]) + data[at + 1 :]


def _soft(pdf_bytes: bytes, pki):
    return verify(pdf_bytes, pki, policy=RevocationPolicy(mode=SOFT))


@pytest.mark.parametrize("curve", ["ed25519", "ed448"])
def test_eddsa_is_reported_not_crashed(test_pki, pdf, curve):  # crashed before
    report = _soft(F.eddsa_signed(pdf, test_pki, curve), test_pki)
    (sig,) = report.signatures
    assert sig.integrity is True
    assert sig.algorithms is not None and sig.algorithms.key_type == curve and not sig.algorithms.weak
    assert sig.algorithms.key_size == {"ed25519": 256, "ed448": 456}[curve]
    assert sig.indication is not FAILED


def test_signing_time_without_offset_is_read_as_utc(test_pki, signed):  # crashed before (TypeError)
    old = re.search(rb"/M \([^)]*\)", signed)[0]
    data = _resign(test_pki, signed, patches=((old, b"/M (D:20260601020000)".ljust(len(old))),))
    report = _soft(data, test_pki)
    (sig,) = report.signatures
    assert sig.integrity is True and sig.indication is PASSED, [f.en for f in sig.errors + sig.warnings]
    assert sig.claimed_signing_time is not None and sig.claimed_signing_time.isoformat() == "2026-06-01T02:00:00+00:00"
    assert "signing_time_without_offset" in {w.code for w in sig.warnings}


def test_legacy_pkcs7_sha1_is_verified_and_reported_weak(test_pki, signed):  # TOTAL_FAILED FORMAT_FAILURE before
    data = _resign(
        test_pki, signed, patches=((b"/ETSI.CAdES.detached", b"/adbe.pkcs7.sha1    "),), digest="sha1", legacy_sha1=True
    )
    report = _soft(data, test_pki)
    (sig,) = report.signatures
    assert (sig.indication, sig.sub_indication) == (INDET, SubIndication.CRYPTO_CONSTRAINTS_FAILURE)
    assert sig.integrity is True and sig.algorithms is not None and sig.algorithms.weak
    assert "legacy_subfilter" in {w.code for w in sig.warnings}


def test_legacy_pkcs7_sha1_tampered_is_failed(test_pki, signed):
    data = _resign(
        test_pki, signed, patches=((b"/ETSI.CAdES.detached", b"/adbe.pkcs7.sha1    "),), digest="sha1", legacy_sha1=True
    )
    (sig,) = _soft(_flip_image_byte(data), test_pki).signatures
    assert (sig.indication, sig.sub_indication) == (FAILED, SubIndication.HASH_FAILURE)


def test_plain_ecdsa_value_is_not_invalid(test_pki, pdf):  # TOTAL_FAILED SIG_CRYPTO_FAILURE before
    data = _resign(test_pki, sign(pdf, test_pki, "good-ec"), "good-ec", plain_ecdsa=True)
    (sig,) = _soft(data, test_pki).signatures
    assert (sig.indication, sig.sub_indication) == (INDET, SubIndication.FORMAT_FAILURE)
    assert sig.integrity is True
    assert "plain_ecdsa_value" in {w.code for w in sig.warnings}


def test_two_signer_infos_are_not_invalid(test_pki, signed):  # TOTAL_FAILED FORMAT_FAILURE before
    (sig,) = _soft(_resign(test_pki, signed, signer_infos=2), test_pki).signatures
    assert (sig.indication, sig.sub_indication) == (INDET, SubIndication.FORMAT_FAILURE)
    assert sig.integrity is True and sig.signer is not None


@pytest.mark.parametrize(
    "patch", [(b"/T (Sig1)", b"/T (S.g1)"), (b"/Type /Sig", b"/X 999 0 R")], ids=["dot-in-name", "dangling-ref"]
)
def test_odd_dictionaries_still_pass(test_pki, signed, patch):
    report = _soft(_resign(test_pki, signed, patches=(patch,)), test_pki)
    assert report.indication is PASSED, [f.en for s in report.signatures for f in s.errors]


def test_damaged_end_of_file_is_byte_range_invalid(test_pki, signed):  # PdfVerificationError (exit 3) before
    report = _soft(signed[:-7], test_pki)
    (sig,) = report.signatures
    assert (sig.indication, sig.sub_indication) == (FAILED, SubIndication.FORMAT_FAILURE)
    assert "byte_range_invalid" in {e.code for e in sig.errors}


def test_unparseable_file_with_tampered_bytes_gets_a_verdict(test_pki, signed):
    broken = _flip_image_byte(signed).replace(b"startxref", b"startxxxx")
    report = _soft(broken, test_pki)
    (sig,) = report.signatures
    assert (sig.indication, sig.sub_indication) == (FAILED, SubIndication.HASH_FAILURE)


def test_unparseable_intact_file_is_indeterminate(test_pki, signed):
    # a damaged update appended after the signature: pyHanko cannot read the file, the signed bytes are intact
    broken = signed + b"\n7 0 obj\n<< /Broken [ >>\nendobj\nxref\n0 zz\ntrailer\n<< >>\nstartxref\n999999\n%%EOF\n"
    report = _soft(broken, test_pki)
    (sig,) = report.signatures
    assert sig.integrity is True and report.indication is INDET
    assert "structure_unreadable" in {w.code for w in report.warnings}


def test_encrypted_file_is_one_line_refusal(test_pki):
    from pyhanko.pdf_utils.writer import PdfFileWriter

    w = PdfFileWriter()
    w.encrypt("owner", "user")
    buf = io.BytesIO()
    w.write(buf)
    with pytest.raises(PdfVerificationError) as caught:
        _soft(buf.getvalue(), test_pki)
    assert caught.value.code == "pdf_encrypted" and "mã hóa" in str(caught.value)


# --- B-LTA and allowed changes ---------------------------------------------------------------------------------


def _doc_timestamp(data: bytes, pki, name: str = "DocTs2") -> bytes:
    vc = ValidationContext(
        trust_roots=[asn1(pki.root_cert)], allow_fetching=True, revocation_mode="soft-fail", moment=pki.now
    )
    stamper = signers.PdfTimeStamper(timestamps.HTTPTimeStamper(pki.tsa_url), field_name=name)
    out = stamper.timestamp_pdf(IncrementalPdfFileWriter(io.BytesIO(data)), "sha256", vc)
    return out.getvalue()


def test_b_lta_with_foreign_document_timestamps_is_whole_document(test_pki, pdf):  # newest revision uncovered before
    vc = ValidationContext(
        trust_roots=[asn1(test_pki.root_cert)], allow_fetching=True, revocation_mode="soft-fail", moment=test_pki.now
    )
    meta = signers.PdfSignatureMetadata(
        field_name="Sig1",
        subfilter=fields.SigSeedSubFilter.PADES,
        embed_validation_info=True,
        use_pades_lta=True,
        validation_context=vc,
    )
    p12, pw, _ = test_pki.signer("good-rsa")
    signer = signers.SimpleSigner.load_pkcs12(str(p12), passphrase=pw)
    lta = signers.sign_pdf(
        IncrementalPdfFileWriter(io.BytesIO(pdf)), meta, signer=signer,
        timestamper=timestamps.HTTPTimeStamper(test_pki.tsa_url),
    ).getvalue()
    report = _soft(_doc_timestamp(lta, test_pki), test_pki)
    (sig,) = report.signatures
    assert report.whole_document_signed and report.indication is PASSED, [f.en for f in report.warnings]
    assert sig.covers_final_document
    assert len(report.document_timestamps) == 2 and all(t.intact for t in report.document_timestamps)


def test_fake_document_timestamp_does_not_hide_a_change(test_pki, signed):
    stamped = _doc_timestamp(signed, test_pki)
    at = stamped.rindex(b"/ByteRange")
    digits = re.match(rb"/ByteRange\s*\[\s*\d+\s+\d+\s+\d+\s+(\d+)", stamped[at:])
    assert digits is not None
    # the timestamp token no longer matches: its revision's bytes were altered after it was made
    i = stamped.rindex(b"/DocTimeStamp") - 40
    forged = stamped[:i] + (b"%" if stamped[i : i + 1] != b"%" else b" ") + stamped[i + 1 :]
    report = _soft(forged, test_pki)
    assert not (report.indication is PASSED and report.whole_document_signed)


def test_docmdp_form_fill_is_an_allowed_change(test_pki, pdf):
    from pyhanko.pdf_utils import generic
    from pyhanko.pdf_utils.generic import pdf_name
    from pyhanko.sign.fields import MDPPerm

    w = IncrementalPdfFileWriter(io.BytesIO(pdf))
    fields.append_signature_field(w, fields.SigFieldSpec("Sig2", box=(10, 10, 50, 50)))
    base = io.BytesIO()
    w.write(base)
    p12, pw, _ = test_pki.signer("good-rsa")
    signer = signers.SimpleSigner.load_pkcs12(str(p12), passphrase=pw)
    meta = signers.PdfSignatureMetadata(
        field_name="Sig1", certify=True, docmdp_permissions=MDPPerm.FILL_FORMS, subfilter=fields.SigSeedSubFilter.PADES
    )
    certified = signers.sign_pdf(IncrementalPdfFileWriter(base), meta, signer=signer).getvalue()
    filled = signers.sign_pdf(
        IncrementalPdfFileWriter(io.BytesIO(certified)),
        signers.PdfSignatureMetadata(field_name="Sig2", subfilter=fields.SigSeedSubFilter.PADES),
        signer=signer,
    ).getvalue()
    report = _soft(filled, test_pki)
    assert [s.indication for s in report.signatures] == [PASSED, PASSED]
    assert report.signatures[0].changes.level is ModificationLevel.FORM_FILLING
    assert report.indication is PASSED and report.whole_document_signed
    del generic, pdf_name


def test_signature_cap_refuses_clearly(test_pki, signed):
    with pytest.raises(PdfVerificationError) as caught:
        verify(signed, test_pki, max_signatures=0)
    assert caught.value.code == "too_many_signatures"


# --- structure-tree updates (tagged PDFs) ------------------------------------------------------------------------


def _update(data: bytes, change) -> bytes:
    writer = IncrementalPdfFileWriter(io.BytesIO(data))
    change(writer)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _tag(w) -> None:
    from pyhanko.pdf_utils import generic
    from pyhanko.pdf_utils.generic import pdf_name

    nums = w.add_object(generic.DictionaryObject({pdf_name("/Nums"): generic.ArrayObject()}))
    tree = generic.DictionaryObject({
        pdf_name("/Type"): pdf_name("/StructTreeRoot"), pdf_name("/K"): generic.ArrayObject(),
        pdf_name("/ParentTree"): nums,
    })
    w.root["/StructTreeRoot"] = w.add_object(tree)
    w.update_root()


def _add_element(extra: dict | None = None, touch_page: bool = False):
    from pyhanko.pdf_utils import generic
    from pyhanko.pdf_utils.generic import pdf_name

    def change(w) -> None:
        tree_ref = w.root.raw_get("/StructTreeRoot")
        tree = tree_ref.get_object()
        page_ref = w.root["/Pages"]["/Kids"].raw_get(0)
        element = generic.DictionaryObject({
            pdf_name("/Type"): pdf_name("/StructElem"), pdf_name("/S"): pdf_name("/Form"),
            pdf_name("/P"): tree_ref, pdf_name("/Pg"): page_ref,
        })
        for key, value in (extra or {}).items():
            element[pdf_name(key)] = value
        tree["/K"].append(w.add_object(element))
        w.update_container(tree)
        if touch_page:
            page = page_ref.get_object()
            page["/Contents"] = w.add_object(generic.StreamObject(stream_data=b"BT /F1 28 Tf 72 700 Td (X) Tj ET"))
            w.update_container(page)

    return change


@pytest.fixture(scope="module")
def tagged_signed(test_pki, pdf) -> bytes:
    return sign(_update(pdf, _tag), test_pki, "good-rsa")


def test_structure_tree_update_is_an_allowed_change(test_pki, tagged_signed):  # TOTAL_FAILED before
    report = _soft(_update(tagged_signed, _add_element()), test_pki)
    (sig,) = report.signatures
    assert sig.changes.level is ModificationLevel.FORM_FILLING
    assert sig.indication is PASSED and report.indication is not FAILED


def test_action_disguised_as_structure_element_is_not_allowed(test_pki, tagged_signed):
    from pyhanko.pdf_utils import generic

    data = _update(tagged_signed, _add_element({"/JS": generic.TextStringObject("app.alert(1)")}))
    (sig,) = _soft(data, test_pki).signatures
    assert (sig.indication, sig.sub_indication) == (FAILED, SubIndication.SIG_CONSTRAINTS_FAILURE)


def test_structure_tree_update_cannot_carry_a_page_change(test_pki, tagged_signed):
    (sig,) = _soft(_update(tagged_signed, _add_element(touch_page=True)), test_pki).signatures
    assert (sig.indication, sig.sub_indication) == (FAILED, SubIndication.SIG_CONSTRAINTS_FAILURE)


# --- resource bounds (issue 17 found a PDF with 50,000 signature fields: 38 s, 1.18 GB) ---------------------------


def test_file_with_too_many_fields_is_refused_before_reading_them(test_pki, pdf):
    import time

    from pyhanko.pdf_utils import generic
    from pyhanko.pdf_utils.generic import pdf_name

    def many(w) -> None:
        fields = generic.ArrayObject(
            w.add_object(generic.DictionaryObject({
                pdf_name("/FT"): pdf_name("/Sig"), pdf_name("/T"): generic.TextStringObject(f"F{i}"),
            }))
            for i in range(6000)
        )
        w.root["/AcroForm"] = generic.DictionaryObject({pdf_name("/Fields"): fields})
        w.update_root()

    data = _update(pdf, many)
    started = time.perf_counter()
    with pytest.raises(PdfVerificationError) as caught:
        verify(data, test_pki, max_signatures=50)
    assert caught.value.code == "too_many_fields"
    assert time.perf_counter() - started < 2.0  # refused from the array's length, no field read


def test_signatures_not_reached_in_time_are_indeterminate(test_pki, signed):
    report = verify(signed, test_pki, max_seconds=0.0)
    (sig,) = report.signatures
    assert (sig.indication, sig.sub_indication) == (INDET, SubIndication.TRY_LATER)
    assert sig.errors[0].code == "time_limit"


def test_configuration_errors_are_not_sent_to_the_tolerant_reader(test_pki, signed):
    from signing.errors import SigningError

    with pytest.raises(SigningError) as caught:
        verify(signed, test_pki, anchor_sets=["no-such-set"])
    assert caught.value.code == "trust_unknown_set"


@pytest.mark.parametrize(("perm", "expected"), [("FILL_FORMS", PASSED), ("NO_CHANGES", FAILED)])
def test_text_field_filled_under_docmdp(test_pki, perm, expected):
    """A form value filled after a certification signature: allowed by DocMDP P=2 (the signature stays valid, the
    file is INDETERMINATE because the shown value was not signed), forbidden by P=1 (TOTAL_FAILED)."""
    from pyhanko.sign.fields import MDPPerm

    from tests.unit.signing.test_pdf_attacks import change_form_value, with_text_field

    p12, pw, _ = test_pki.signer("good-rsa")
    signer = signers.SimpleSigner.load_pkcs12(str(p12), passphrase=pw)
    meta = signers.PdfSignatureMetadata(
        field_name="Sig1", certify=True, docmdp_permissions=MDPPerm[perm], subfilter=fields.SigSeedSubFilter.PADES
    )
    form = with_text_field(base_pdf(), "1.000.000")
    certified = signers.sign_pdf(IncrementalPdfFileWriter(io.BytesIO(form)), meta, signer=signer).getvalue()
    report = _soft(change_form_value(certified), test_pki)
    (sig,) = report.signatures
    assert sig.indication is expected, [f.en for f in sig.errors]
    if expected is PASSED:
        assert sig.changes.level is ModificationLevel.FORM_FILLING and sig.changes.changed_form_fields == ("SoTien",)
        assert (report.indication, report.sub_indication) == (INDET, SubIndication.SIG_CONSTRAINTS_FAILURE)


def test_unparseable_two_signature_file_reads_each_dictionary_apart(test_pki, pdf):
    two = sign(sign(pdf, test_pki, "good-rsa"), test_pki, "good-ec", field="Sig2")
    broken = two + b"\n9 0 obj\n<< /Broken [ >>\nendobj\nxref\n0 zz\ntrailer\n<< >>\nstartxref\n999999\n%%EOF\n"
    report = _soft(broken, test_pki)
    assert "structure_unreadable" in {w.code for w in report.warnings}
    assert [s.algorithms.key_type for s in report.signatures if s.algorithms] == ["rsa", "ec"]
    assert [s.integrity for s in report.signatures] == [True, True]
    assert [s.covers_final_document for s in report.signatures] == [False, False]  # the broken tail is unsigned
    assert report.indication is INDET


def test_document_timestamp_from_an_untrusted_tsa_is_not_lta_data(test_pki, signed):
    """Anyone can run a TSA: its document timestamp (and the field it adds) leaves the newest revision uncovered."""
    report = verify(_doc_timestamp(signed, test_pki), test_pki, anchor_sets=[UNTRUSTED_SET],
                    policy=RevocationPolicy(mode=SOFT))
    (stamp,) = report.document_timestamps
    assert stamp.intact and stamp.covers_revision and not stamp.trusted
    assert not report.whole_document_signed
    assert "document_timestamp_invalid" in {w.code for w in report.warnings}


def test_legacy_x509_rsa_sha1_is_verified_and_reported_weak(test_pki, pdf):  # no verdict path before
    data = F.x509_rsa_sha1_signed(pdf, test_pki)
    (sig,) = _soft(data, test_pki).signatures
    assert (sig.indication, sig.sub_indication) == (INDET, SubIndication.CRYPTO_CONSTRAINTS_FAILURE)
    assert sig.integrity is True and sig.signer is not None and sig.signer.common_name == "Nguyễn Văn An"
    (bad,) = _soft(_flip_image_byte(data), test_pki).signatures
    assert (bad.indication, bad.sub_indication) == (FAILED, SubIndication.HASH_FAILURE)
