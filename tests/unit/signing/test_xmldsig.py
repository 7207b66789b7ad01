"""XML-DSig of edXML packages: both engines (in memory with signxml verifying, streaming for files), cross-checked
both ways with signxml."""

from __future__ import annotations

import base64
import hashlib
import os
from collections.abc import Callable
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import Encoding
from lxml import etree
from signxml import SignatureConfiguration, XMLSigner, XMLVerifier
from signxml.algorithms import CanonicalizationMethod, DigestAlgorithm, SignatureMethod

from signing import xmldsig
from signing.demo import create_demo_pkcs12, demo_certificate
from signing.keys import KeyMaterial
from signing.xmldsig import (
    DS_NS,
    EDXML_NS,
    XmlSignatureCheck,
    XmlSignatureError,
    algorithms,
    c14n,
    parsing,
    sign_package,
    sign_package_file,
    verify_package,
    verify_package_file,
)

SUBJECT = "Công văn về việc triển khai"
ATTACHMENT = os.urandom(3000)
HEADER = f"{{{EDXML_NS}}}edXMLEnvelope/{{{EDXML_NS}}}edXMLHeader"


def make_package(subject: str = SUBJECT, attachment: bytes = ATTACHMENT) -> bytes:
    content = base64.encodebytes(attachment).decode()
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<edXML xmlns="{EDXML_NS}">
  <edXML:edXMLEnvelope xmlns:edXML="{EDXML_NS}">
    <!-- XML 102 -->
    <edXML:edXMLHeader>
      <edXML:MessageHeader>
        <edXML:From><edXML:OrganId>000.00.00.H41</edXML:OrganId>
          <edXML:OrganName>UBND Tỉnh Nghệ An</edXML:OrganName></edXML:From>
        <edXML:Subject>{subject}</edXML:Subject>
        <edXML:SignerInfo><edXML:Competence>TL. CHỦ TỊCH</edXML:Competence>
          <edXML:FullName>Trần Anh Tuấn</edXML:FullName></edXML:SignerInfo>
      </edXML:MessageHeader>
      <edXML:TraceHeaderList><edXML:TraceHeader><edXML:OrganId>000.00.00.H41</edXML:OrganId>
        <edXML:Timestamp>2024/05/15 07:19:17</edXML:Timestamp></edXML:TraceHeader></edXML:TraceHeaderList>
    </edXML:edXMLHeader>
    <edXML:edXMLBody><edXML:edXMLManifest version="1.0"><edXML:Reference>
      <edXML:ContentId>cid:1</edXML:ContentId><edXML:AttachmentName>cong-van.pdf</edXML:AttachmentName>
    </edXML:Reference></edXML:edXMLManifest></edXML:edXMLBody>
  </edXML:edXMLEnvelope>
  <AttachmentEncoded>
    <Attachment>
      <ContentId>cid:1</ContentId>
      <AttachmentName>cong-van.pdf</AttachmentName>
      <ContentType>application/pdf</ContentType>
      <ContentTransferEncoded>{content}</ContentTransferEncoded>
    </Attachment>
  </AttachmentEncoded>
</edXML>
""".encode()


@pytest.fixture(params=["rsa", "ec"])
def key(request: pytest.FixtureRequest) -> KeyMaterial:
    return request.getfixturevalue(f"{request.param}_key")


Signer = Callable[[bytes, KeyMaterial], bytes]
Verifier = Callable[..., XmlSignatureCheck]


@pytest.fixture(params=["memory", "file"])
def sign(request: pytest.FixtureRequest, tmp_path: Path) -> Signer:
    if request.param == "memory":
        return sign_package

    def via_files(xml: bytes, key: KeyMaterial) -> bytes:
        (tmp_path / "in.edxml").write_bytes(xml)
        sign_package_file(tmp_path / "in.edxml", tmp_path / "signed.edxml", key)
        return (tmp_path / "signed.edxml").read_bytes()

    return via_files


@pytest.fixture(params=["memory", "file"])
def verify(request: pytest.FixtureRequest, tmp_path: Path) -> Verifier:
    if request.param == "memory":
        return verify_package

    def via_file(xml: bytes, **kwargs: object) -> XmlSignatureCheck:
        path = tmp_path / "to-verify.edxml"
        path.write_bytes(xml)
        return verify_package_file(path, **kwargs)  # type: ignore[arg-type]

    return via_file


def signatures(xml: bytes) -> list[etree._Element]:
    return list(etree.fromstring(xml).iter(f"{{{DS_NS}}}Signature"))


# ------------------------------------------------------------------------------------------ valid


def test_signed_package_verifies_across_engines(sign: Signer, verify: Verifier, key: KeyMaterial) -> None:
    check = verify(sign(make_package(), key), trusted=[key.certificate])
    assert check.code == "valid" and check.valid and check.present and not check.weak
    assert check.problems == ()
    assert check.signature_algorithm == ("ecdsa-sha256" if check.key_size == 256 else "rsa-sha256")
    assert check.digest_algorithm == "sha256"
    assert check.signer_subject == key.certificate.subject.rfc4514_string()
    assert check.signer_certificate_sha256 == key.certificate_sha256
    assert check.trusted is True


def test_signature_is_last_child_of_header_with_the_agreed_transforms(sign: Signer, rsa_key: KeyMaterial) -> None:
    root = etree.fromstring(sign(make_package(), rsa_key))
    header = root.find(HEADER)
    assert header is not None and header[-1].tag == f"{{{DS_NS}}}Signature"
    ds = {"ds": DS_NS}
    assert header[-1].xpath("ds:SignedInfo/ds:CanonicalizationMethod/@Algorithm", namespaces=ds) == [algorithms.C14N_10]
    assert header[-1].xpath("ds:SignedInfo/ds:Reference/@URI", namespaces=ds) == [""]
    transforms = header[-1].xpath("ds:SignedInfo/ds:Reference/ds:Transforms/ds:Transform/@Algorithm", namespaces=ds)
    assert transforms == [algorithms.ENVELOPED, algorithms.C14N_10]
    certs = header[-1].xpath("ds:KeyInfo/ds:X509Data/ds:X509Certificate/text()", namespaces=ds)
    assert x509.load_der_x509_certificate(base64.b64decode("".join(certs[0].split()))) == rsa_key.certificate
    assert SUBJECT in etree.tostring(root, encoding="unicode")


def test_a_relay_re_signs_replacing_the_signature(
    sign: Signer, verify: Verifier, rsa_key: KeyMaterial, ec_key: KeyMaterial
) -> None:
    resigned = sign(sign(make_package(), rsa_key), ec_key)
    assert len(signatures(resigned)) == 1
    check = verify(resigned)
    assert check.code == "valid" and check.signer_certificate_sha256 == ec_key.certificate_sha256


def test_trust_list_that_does_not_hold_the_signer(verify: Verifier, rsa_key: KeyMaterial, ec_key: KeyMaterial) -> None:
    check = verify(sign_package(make_package(), rsa_key), trusted=[ec_key.certificate])
    assert check.valid and check.trusted is False
    assert verify(sign_package(make_package(), rsa_key)).trusted is None


# -------------------------------------------------------------------------------------- tampering


def test_changed_subject_is_invalid(sign: Signer, verify: Verifier, key: KeyMaterial) -> None:
    signed = sign(make_package(), key)
    tampered = signed.replace(SUBJECT.encode(), SUBJECT.replace("triển", "triễn").encode())
    assert tampered != signed
    check = verify(tampered)
    assert check.present and not check.valid and check.code == "invalid"
    assert xmldsig.P_DIGEST in check.problems


def test_one_changed_byte_of_the_attachment_is_invalid(sign: Signer, verify: Verifier, key: KeyMaterial) -> None:
    signed = sign(make_package(), key)
    start = signed.index(b"<ContentTransferEncoded>") + len(b"<ContentTransferEncoded>") + 10
    flipped = b"B" if signed[start : start + 1] != b"B" else b"C"
    tampered = signed[:start] + flipped + signed[start + 1 :]
    check = verify(tampered)
    assert check.code == "invalid" and xmldsig.P_DIGEST in check.problems


def test_swapped_certificate_is_invalid(verify: Verifier, rsa_key: KeyMaterial, tmp_path: Path) -> None:
    other = create_demo_pkcs12(tmp_path / "o.p12", common_name="Kẻ giả mạo", organization="X", password=None)
    root = etree.fromstring(sign_package(make_package(), rsa_key))
    cert = root.find(f"{HEADER}/{{{DS_NS}}}Signature/{{{DS_NS}}}KeyInfo/{{{DS_NS}}}X509Data/{{{DS_NS}}}X509Certificate")
    assert cert is not None
    cert.text = base64.b64encode(other.certificate.public_bytes(Encoding.DER)).decode()
    check = verify(etree.tostring(root), trusted=[other.certificate])
    assert not check.valid and check.code == "invalid" and xmldsig.P_SIGNATURE in check.problems
    assert check.signer_certificate_sha256 == other.certificate_sha256


# ------------------------------------------------------------------------- weak algorithms and keys


class _LegacySigner(XMLSigner):
    """signxml refuses SHA-1 when signing; the field still sends it, so the tests must be able to make one."""

    def check_deprecated_methods(self) -> None:
        return None


def signxml_sign(
    xml: bytes, key: object, cert: x509.Certificate, method: SignatureMethod, digest: DigestAlgorithm
) -> bytes:
    root = etree.fromstring(xml)
    header = root.find(HEADER)
    assert header is not None
    etree.SubElement(header, f"{{{DS_NS}}}Signature", {"Id": "placeholder"}, nsmap={"ds": DS_NS})
    signer = _LegacySigner(
        signature_algorithm=method, digest_algorithm=digest, c14n_algorithm=CanonicalizationMethod.CANONICAL_XML_1_0
    )
    return etree.tostring(signer.sign(root, key=key, cert=[cert]), xml_declaration=True, encoding="UTF-8")


def test_sha1_signature_is_weak_but_intact_and_can_still_be_broken(verify: Verifier, rsa_key: KeyMaterial) -> None:
    signed = signxml_sign(
        make_package(), rsa_key.private_key, rsa_key.certificate, SignatureMethod.RSA_SHA1, DigestAlgorithm.SHA1
    )
    check = verify(signed)
    assert check.valid and check.weak and check.code == "weak"
    assert check.signature_algorithm == "rsa-sha1" and check.digest_algorithm == "sha1"
    assert any("SHA-1" in p for p in check.problems)
    broken = verify(signed.replace(SUBJECT.encode(), b"Something else"))
    assert broken.weak and not broken.valid and broken.code == "invalid"


def test_rsa_1024_key_is_weak(verify: Verifier) -> None:
    small = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    cert = demo_certificate(small, common_name="Khóa yếu", organization="Test")
    check = verify(signxml_sign(make_package(), small, cert, SignatureMethod.RSA_SHA256, DigestAlgorithm.SHA256))
    assert check.valid and check.weak and check.code == "weak" and check.key_size == 1024
    assert any("RSA 1024" in p for p in check.problems)


# ------------------------------------------------------------------------------ absent and field data


def test_unsigned_package_is_absent(verify: Verifier) -> None:
    check = verify(make_package())
    assert check.code == "absent" and not check.present and not check.valid and check.trusted is None


def _signed_samples() -> list[Path]:
    folder = Path(__file__).resolve().parents[3].parent / "shared" / "samples" / "edxml"
    return sorted(p for p in folder.glob("*.edxml") if b"Signature" in p.read_bytes())


@pytest.mark.parametrize("sample", _signed_samples(), ids=lambda p: p.name)
def test_field_samples_are_present_and_not_valid(verify: Verifier, sample: Path, samples_dir: Path) -> None:
    check = verify((samples_dir / sample.name).read_bytes())
    assert check.present and not check.valid and check.code == "invalid"
    assert check.weak and check.signature_algorithm == "rsa-sha1"  # the kit signs with RSA-SHA1
    assert check.problems


def test_there_are_signed_samples(samples_dir: Path) -> None:
    assert len(_signed_samples()) >= 2


def test_signature_in_the_edxml_namespace_is_reported_not_raised(verify: Verifier, samples_dir: Path) -> None:
    check = verify((samples_dir / "edoc_new.edxml").read_bytes())
    assert check.present and check.code == "invalid" and check.problems[0] == xmldsig.P_FOREIGN


# ------------------------------------------------------------------------------------ hostile input

DOCTYPE = b"""<?xml version="1.0"?>
<!DOCTYPE edXML [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]>
<edXML xmlns="http://www.mic.gov.vn/TBT/QCVN_102_2016"><x>&b;</x></edXML>"""
EXTERNAL = b"""<?xml version="1.0"?>
<!DOCTYPE edXML SYSTEM "http://example.invalid/evil.dtd"><edXML xmlns="urn:x">&ext;</edXML>"""


@pytest.mark.parametrize("hostile", [DOCTYPE, EXTERNAL], ids=["entities", "external-dtd"])
def test_doctype_and_entities_are_refused(verify: Verifier, hostile: bytes) -> None:
    with pytest.raises(XmlSignatureError, match=r"DOCTYPE|entit"):
        verify(hostile)


def test_signing_refuses_hostile_or_foreign_input(sign: Signer, rsa_key: KeyMaterial) -> None:
    with pytest.raises(XmlSignatureError, match=r"DOCTYPE|entit"):
        sign(DOCTYPE, rsa_key)
    with pytest.raises(XmlSignatureError, match="not an edXML package"):
        sign(b"<other xmlns='urn:x'><a/></other>", rsa_key)
    with pytest.raises(XmlSignatureError, match="not well-formed"):
        sign(b"<edXML", rsa_key)


# ------------------------------------------------------------------------------- engine cross-checks


def test_signxml_accepts_what_both_signers_write(sign: Signer, key: KeyMaterial) -> None:
    signed = sign(make_package(), key)
    config = SignatureConfiguration(location=f"./{HEADER}/", verification_time=key.certificate.not_valid_before_utc)
    result = XMLVerifier().verify(signed, x509_cert=key.certificate, expect_config=config)
    assert SUBJECT.encode() in result.signed_data  # type: ignore[union-attr]


def test_both_verifiers_accept_signxml_and_both_signers_digest_alike(
    tmp_path: Path, verify: Verifier, key: KeyMaterial
) -> None:
    is_ec = isinstance(key.private_key, ec.EllipticCurvePrivateKey)
    method = SignatureMethod.ECDSA_SHA256 if is_ec else SignatureMethod.RSA_SHA256
    by_signxml = signxml_sign(make_package(), key.private_key, key.certificate, method, DigestAlgorithm.SHA256)
    assert verify(by_signxml).code == "valid"
    in_memory = sign_package(make_package(), key)
    (tmp_path / "in.edxml").write_bytes(make_package())
    sign_package_file(tmp_path / "in.edxml", tmp_path / "s.edxml", key)
    digest = f".//{{{DS_NS}}}DigestValue"
    streamed = (tmp_path / "s.edxml").read_bytes()
    assert len({etree.fromstring(x).findtext(digest) for x in (by_signxml, in_memory, streamed)}) == 1


def _stream_c14n(path: Path, *, exclusive: bool, with_comments: bool) -> bytes:
    out: list[bytes] = []
    writer = c14n._C14nWriter(out.append, exclusive=exclusive, with_comments=with_comments)
    c14n._stream_file(path, c14n._C14nPass(writer, skip=lambda _e: False))
    return b"".join(out)


@pytest.mark.parametrize(("exclusive", "with_comments"), [(False, False), (False, True), (True, False), (True, True)])
def test_streaming_c14n_equals_lxml_on_field_samples(
    samples_dir: Path, tmp_path: Path, exclusive: bool, with_comments: bool
) -> None:
    extra = tmp_path / "made.edxml"
    odd = (
        b'<edXML:Subject b="1" a="x&#9;&quot;y&#13;&lt;" xml:lang="vi"><?pi data?>a &gt; b &amp; c&#13; <![CDATA[<x>]]>'
    )
    extra.write_bytes(
        make_package()
        .replace(b"<edXML:Subject>", odd)
        .replace(b"<edXML:edXMLHeader>", b"<edXML:edXMLHeader xmlns:u='urn:u' u:z='1'><u:x xmlns=''/>")
    )
    files = [*sorted(samples_dir.glob("*.edxml")), extra]
    compared = 0
    for path in files:
        try:
            tree = etree.parse(str(path), parsing._parser())
        except etree.XMLSyntaxError:  # edoc.edxml: undeclared xlink prefix, not namespace-well-formed
            continue
        expected = etree.tostring(tree, method="c14n", exclusive=exclusive, with_comments=with_comments)
        assert _stream_c14n(path, exclusive=exclusive, with_comments=with_comments) == expected, path.name
        compared += 1
    assert compared >= 10


def test_signed_file_hash_is_stable(tmp_path: Path, rsa_key: KeyMaterial) -> None:
    """RSA PKCS#1 v1.5 is deterministic: signing the same file twice writes the same bytes."""
    (tmp_path / "in.edxml").write_bytes(make_package())
    sign_package_file(tmp_path / "in.edxml", tmp_path / "a.edxml", rsa_key)
    sign_package_file(tmp_path / "in.edxml", tmp_path / "b.edxml", rsa_key)
    digest = [hashlib.sha256((tmp_path / n).read_bytes()).hexdigest() for n in ("a.edxml", "b.edxml")]
    assert digest[0] == digest[1]


# ------------------------------------------------------------------------------------ large packages


@pytest.mark.slow
def test_large_package_memory_stays_under_twice_the_file_size() -> None:
    """~30 MB package signed then verified through the file API, each in a fresh interpreter (bench script)."""
    import json
    import subprocess
    import sys

    require_psutil = pytest.importorskip("psutil")
    assert require_psutil
    script = Path(__file__).resolve().parents[3] / "bench" / "xml_signing.py"
    done = subprocess.run(
        [sys.executable, str(script), "--memory", "--attachment-mb", "22", "--json"],
        check=True, capture_output=True, text=True, timeout=240,
    )  # fmt: skip
    results = {r["operation"]: r for r in json.loads(done.stdout)}
    assert results["sign"]["outcome"] == "signed" and results["verify"]["outcome"] == "valid"
    for result in results.values():
        assert result["file_size"] > 28 * 2**20
        assert result["peak_extra"] <= 2 * result["file_size"], result


def test_in_memory_engine_handles_attachments_over_ten_megabytes(rsa_key: KeyMaterial) -> None:
    """libxml2 refuses text nodes over 10 MB unless huge_tree is on, in the signer's parse and signxml's too."""
    big = make_package(attachment=os.urandom(8 * 2**20))  # ~11 MB of base64 in one text node
    assert verify_package(sign_package(big, rsa_key)).code == "valid"
