"""A second, tolerant reading path for PDF signatures: the byte range, the digest and the signature value only.

pyHanko reads a PDF through its object structure; when that structure is damaged (a broken cross-reference
table, an object stream it rejects) or the signature uses a format it does not implement (the legacy
sub-filters ``adbe.pkcs7.sha1`` and ``adbe.x509.rsa_sha1`` of ISO 32000-1 §12.8.3, a plain r‖s ECDSA value
per BSI TR-03111, two SignerInfos), it raises and nothing is known about the signature. The bytes often still
allow a verdict (issue 18): the /ByteRange is four integers in the signature dictionary, the /Contents is the
hex string in the gap, and RFC 5652 says what the signer signed. This module checks exactly that, with
``asn1crypto`` and ``cryptography``, and nothing else (no trust path, no revocation, no difference analysis):

* the byte range is well-formed (starts at 0, the gap is exactly the hex string, nothing overlaps or runs past
  the end of the file), and whether it covers the whole file;
* the digest of the covered bytes equals the signed one (``messageDigest``, or the encapsulated SHA-1 digest
  of ``adbe.pkcs7.sha1``, or the RSA digest of ``adbe.x509.rsa_sha1``);
* the signature value verifies with the public key of the certificate the SignerInfo names (RSA PKCS#1 v1.5
  and PSS, ECDSA in DER or plain form, Ed25519, Ed448).

The verdict of this path is never TOTAL_PASSED: it proves integrity or tampering of the signed bytes, not a
trusted signature. ``signing.pdf.verify`` turns the result into a report.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime

from asn1crypto import cms as asn1_cms
from asn1crypto import core as asn1_core
from asn1crypto import x509 as asn1_x509

__all__ = ["RawSignature", "check_signature", "find_signatures"]

_BYTE_RANGE = re.compile(rb"/ByteRange\s*\[\s*(-?\d+)\s+(-?\d+)\s+(-?\d+)\s+(-?\d+)\s*\]")
_NAME_AFTER = {
    "subfilter": re.compile(rb"/SubFilter\s*/([A-Za-z0-9._#-]+)"),
    "type": re.compile(rb"/Type\s*/([A-Za-z0-9._#-]+)"),
}
_CERT = re.compile(rb"/Cert\s*<([0-9A-Fa-f\s]*)>")
_M = re.compile(rb"/M\s*\((D:[0-9]{4,14}[^)]{0,12})\)")
_DICT_WINDOW = 4096  # how far before the /ByteRange its dictionary's other keys are looked for
_OBJECT_SPAN = 1 << 20  # and after it (the /Contents hex string in between can be long)
_HASHES = {"sha1", "sha224", "sha256", "sha384", "sha512", "sha3_256", "sha3_384", "sha3_512"}


@dataclass
class RawSignature:
    """What the bytes say about one signature (all fields best effort; ``problem`` names the first failure)."""

    byte_range: tuple[int, int, int, int]
    subfilter: str | None = None
    doc_timestamp: bool = False
    claimed_time: datetime | None = None
    byte_range_ok: bool = False
    covers_file: bool = False
    digest_ok: bool | None = None  # None: not reached
    signature_ok: bool | None = None
    digest_algorithm: str | None = None
    signature_algorithm: str | None = None
    signer_cert: asn1_x509.Certificate | None = None
    certificates: list[asn1_x509.Certificate] = field(default_factory=list)
    signer_infos: int = 0
    problem: str | None = None

    @property
    def intact(self) -> bool:
        return bool(self.byte_range_ok and self.digest_ok and self.signature_ok)

    @property
    def tampered(self) -> bool:
        """The bytes prove a change or a forgery (as opposed to "could not be evaluated")."""
        return self.byte_range_ok and (self.digest_ok is False or self.signature_ok is False)


def find_signatures(raw: bytes, *, limit: int = 1000) -> list[RawSignature]:
    """Every /ByteRange in the file with its dictionary's neighbouring keys, each checked; at most ``limit``."""
    found: list[RawSignature] = []
    seen: set[tuple[int, int, int, int]] = set()
    for match in _BYTE_RANGE.finditer(raw):
        br = (int(match[1]), int(match[2]), int(match[3]), int(match[4]))
        if br in seen or br == (0, 0, 0, 0):
            continue  # a placeholder of an unfinished signature, or the same dictionary twice
        seen.add(br)
        window = _object_around(raw, match.start(), match.end())
        subfilter, doc_timestamp, cert_der, claimed = _dict_keys(window)
        found.append(
            check_signature(
                raw, br, subfilter=subfilter, doc_timestamp=doc_timestamp, cert_der=cert_der, claimed_time=claimed
            )
        )
        if len(found) >= limit:
            break
    return found


def _object_around(raw: bytes, start: int, end: int) -> bytes:
    """The bytes of the indirect object holding a /ByteRange (from its ``obj`` to its ``endobj``), so that the
    keys read next to it are its own dictionary's and not a neighbouring signature's; bounded either way."""
    lo = raw.rfind(b"obj", max(0, start - _DICT_WINDOW), start)  # " obj" of this object or "endobj" of the last
    hi = raw.find(b"endobj", end, end + _OBJECT_SPAN)
    return raw[lo if lo >= 0 else max(0, start - _DICT_WINDOW) : hi if hi >= 0 else end + _DICT_WINDOW]


def _dict_keys(window: bytes) -> tuple[str | None, bool, bytes | None, datetime | None]:
    """(sub-filter, is a document timestamp, /Cert DER, /M) found near a /ByteRange."""
    subfilter = _NAME_AFTER["subfilter"].search(window)
    kind = _NAME_AFTER["type"].findall(window)
    cert = _CERT.search(window)
    when = _M.search(window)
    return (
        subfilter[1].decode("ascii", "replace") if subfilter else None,
        b"DocTimeStamp" in kind or (subfilter is not None and subfilter[1] == b"ETSI.RFC3161"),
        _unhex(cert[1]) if cert else None,
        parse_pdf_date(when[1].decode("latin-1")) if when else None,
    )


def check_signature(
    raw: bytes,
    byte_range: tuple[int, int, int, int],
    *,
    subfilter: str | None = None,
    doc_timestamp: bool = False,
    cert_der: bytes | None = None,
    claimed_time: datetime | None = None,
    contents: bytes | None = None,
) -> RawSignature:
    """Check one signature from the file bytes; never raises (problems are recorded in ``problem``)."""
    sig = RawSignature(byte_range, subfilter=subfilter, doc_timestamp=doc_timestamp, claimed_time=claimed_time)
    try:
        _check(raw, sig, cert_der, contents)
    except Exception as exc:  # the bytes are attacker-controlled: any parser failure is a finding, not a crash
        sig.problem = sig.problem or f"{type(exc).__name__}: {exc}"[:300]
    return sig


def _check(raw: bytes, sig: RawSignature, cert_der: bytes | None, contents: bytes | None) -> None:
    start1, len1, start2, len2 = sig.byte_range
    if start1 != 0 or min(len1, start2, len2) < 0 or start2 < len1 or start2 + len2 > len(raw):
        sig.problem = "byte range does not lie within the file"
        return
    gap = raw[len1:start2]
    if len(gap) < 2 or gap[:1] != b"<" or gap[-1:] != b">":
        sig.problem = "the gap of the byte range is not the signature value"
        return
    sig.byte_range_ok = True
    sig.covers_file = start2 + len2 == len(raw)
    signed = raw[:len1] + raw[start2 : start2 + len2]
    value = contents if contents is not None else _unhex(gap[1:-1])
    if sig.subfilter == "adbe.x509.rsa_sha1":
        _check_x509_rsa_sha1(sig, signed, value, cert_der)
    else:
        _check_cms(sig, signed, value)


def _unhex(text: bytes) -> bytes:
    digits = bytes(c for c in text if c not in b" \t\r\n\f\0")
    if len(digits) % 2:
        digits += b"0"  # ISO 32000: an odd final digit is followed by an implied 0
    return bytes.fromhex(digits.decode("ascii"))


# --- CMS (adbe.pkcs7.detached, ETSI.CAdES.detached, adbe.pkcs7.sha1, ETSI.RFC3161) ---------------------------


def _check_cms(sig: RawSignature, signed: bytes, value: bytes) -> None:
    info = asn1_cms.ContentInfo.load(_strip_padding(value))
    if info["content_type"].native != "signed_data":
        sig.problem = "the signature value is not CMS SignedData"
        return
    sd = info["content"]
    certs = [c.chosen for c in sd["certificates"] or () if c.name == "certificate"]
    sig.certificates = certs
    infos = list(sd["signer_infos"])
    sig.signer_infos = len(infos)
    if not infos:
        sig.problem = "the CMS carries no SignerInfo"
        return
    si = infos[0]
    sig.signer_cert = _signer_cert(si, certs)
    algo = si["digest_algorithm"]["algorithm"].native
    sig.digest_algorithm = algo
    if algo not in _HASHES:
        sig.problem = f"unsupported digest algorithm {algo}"
        return
    content = sd["encap_content_info"]["content"]
    encapsulated = content.native is not None
    econtent = bytes(content.contents or b"") if encapsulated else b""
    if sig.doc_timestamp:
        sig.digest_ok, sig.claimed_time = _timestamp_imprint_ok(content, signed)
        to_digest = econtent
    elif encapsulated:
        # ISO 32000-1 §12.8.3.3.1 (adbe.pkcs7.sha1): the SHA-1 digest of the byte range is the content
        sig.digest_ok = econtent == hashlib.sha1(signed).digest()  # noqa: S324 - legacy format, reported weak
        to_digest = econtent
    else:
        to_digest = signed
    if sig.digest_ok is False:
        return
    attrs = si["signed_attrs"]
    if attrs.native is not None and len(attrs):
        digest = _message_digest(attrs)
        ok = digest == hashlib.new(algo, to_digest).digest()
        sig.digest_ok = ok if sig.digest_ok is None else (sig.digest_ok and ok)
        if not ok:
            return
        original = attrs.dump()  # the bytes as signed, not re-encoded: other software does not always write DER
        tbs = b"\x31" + original[1:]  # RFC 5652 §5.4: signed over the EXPLICIT SET OF tag, not the [0] of SignerInfo
    else:
        if sig.digest_ok is None:
            sig.digest_ok = True  # no attributes: the signature is over the content itself, checked below
        tbs = to_digest
    if sig.signer_cert is None:
        sig.problem = "the CMS does not carry the signer's certificate"
        return
    assert sig.signer_cert is not None
    sig.signature_algorithm = si["signature_algorithm"]["algorithm"].native
    sig.signature_ok = _verify_value(sig.signer_cert, si["signature_algorithm"], si["signature"].native, tbs, algo)


def _strip_padding(value: bytes) -> bytes:
    """The DER object without the zero padding that fills the reserved /Contents space."""
    parsed = asn1_core.Asn1Value.load(value, strict=False)
    return value[: len(parsed.dump())]


def _message_digest(attrs: asn1_cms.CMSAttributes) -> bytes | None:
    for attr in attrs:
        if attr["type"].native == "message_digest":
            return bytes(attr["values"][0].native)
    return None


def _timestamp_imprint_ok(content: asn1_core.Asn1Value, signed: bytes) -> tuple[bool, datetime | None]:
    """(the token's message imprint is the digest of ``signed``, its genTime)."""
    from asn1crypto import tsp

    tst = tsp.TSTInfo.load(bytes(content.contents))
    imprint = tst["message_imprint"]
    algo = imprint["hash_algorithm"]["algorithm"].native
    ok = algo in _HASHES and bytes(imprint["hashed_message"].native) == hashlib.new(algo, signed).digest()
    return ok, tst["gen_time"].native


def _signer_cert(si: asn1_cms.SignerInfo, certs: list[asn1_x509.Certificate]) -> asn1_x509.Certificate | None:
    sid = si["sid"]
    for cert in certs:
        if sid.name == "issuer_and_serial_number":
            if cert.issuer == sid.chosen["issuer"] and cert.serial_number == sid.chosen["serial_number"].native:
                return cert
        elif cert.key_identifier == sid.chosen.native:
            return cert
    return None


# --- adbe.x509.rsa_sha1 ----------------------------------------------------------------------------------------


def _check_x509_rsa_sha1(sig: RawSignature, signed: bytes, value: bytes, cert_der: bytes | None) -> None:
    """ISO 32000-1 §12.8.3.2: /Contents is a DER OCTET STRING holding a PKCS#1 v1.5 signature, /Cert the cert."""
    if cert_der is None:
        sig.problem = "adbe.x509.rsa_sha1 signature without /Cert"
        return
    cert = asn1_x509.Certificate.load(cert_der)
    sig.signer_cert, sig.certificates, sig.signer_infos = cert, [cert], 1
    octets = asn1_core.OctetString.load(_strip_padding(value)).native
    sig.digest_algorithm, sig.signature_algorithm = "sha1", "sha1_rsa"
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding, rsa

    key = _public_key(cert)
    if not isinstance(key, rsa.RSAPublicKey):
        sig.problem = "adbe.x509.rsa_sha1 with a non-RSA key"
        return
    try:
        key.verify(octets, signed, padding.PKCS1v15(), hashes.SHA1())  # noqa: S303 - legacy format, reported weak
        sig.digest_ok = sig.signature_ok = True
    except Exception:
        sig.signature_ok = False
        sig.digest_ok = _rsa_digest_matches(key, octets, signed)


def _rsa_digest_matches(key, octets: bytes, signed: bytes) -> bool | None:
    """Whether a failing RSA signature at least carries the right digest (tamper vs wrong key); None: unknown."""
    try:
        recovered = pow(int.from_bytes(octets, "big"), key.public_numbers().e, key.public_numbers().n)
        return hashlib.sha1(signed).digest() in recovered.to_bytes((key.key_size + 7) // 8, "big")  # noqa: S324
    except Exception:
        return None


# --- signature values ------------------------------------------------------------------------------------------


def _public_key(cert: asn1_x509.Certificate):
    from cryptography.hazmat.primitives.serialization import load_der_public_key

    return load_der_public_key(cert.public_key.dump())


def _verify_value(cert: asn1_x509.Certificate, algorithm, value: bytes, tbs: bytes, digest: str) -> bool:
    """Verify ``value`` over ``tbs`` with the certificate's key; False when it does not verify."""
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa

    key = _public_key(cert)
    try:
        if isinstance(key, ed25519.Ed25519PublicKey | ed448.Ed448PublicKey):
            key.verify(value, tbs)
        elif isinstance(key, rsa.RSAPublicKey):
            _verify_rsa(key, algorithm, value, tbs, digest)
        elif isinstance(key, ec.EllipticCurvePublicKey):
            _verify_ecdsa(key, algorithm, value, tbs, digest)
        else:
            raise ValueError(f"unsupported key type {type(key).__name__}")
    except InvalidSignature:
        return False
    return True


def _hash(name: str):
    from cryptography.hazmat.primitives import hashes

    table: dict[str, type[hashes.HashAlgorithm]] = {
        "sha1": hashes.SHA1, "sha224": hashes.SHA224, "sha256": hashes.SHA256, "sha384": hashes.SHA384,
        "sha512": hashes.SHA512, "sha3_256": hashes.SHA3_256, "sha3_384": hashes.SHA3_384,
        "sha3_512": hashes.SHA3_512,
    }
    return table[name]()


def _verify_rsa(key, algorithm, value: bytes, tbs: bytes, digest: str) -> None:
    from cryptography.hazmat.primitives.asymmetric import padding

    if algorithm["algorithm"].native == "rsassa_pss":
        params = algorithm["parameters"]
        pss_hash = params["hash_algorithm"]["algorithm"].native
        pad: padding.AsymmetricPadding = padding.PSS(
            mgf=padding.MGF1(_hash(params["mask_gen_algorithm"]["parameters"]["algorithm"].native)),
            salt_length=params["salt_length"].native,
        )
        key.verify(value, tbs, pad, _hash(pss_hash))
        return
    hash_name = algorithm.hash_algo if algorithm["algorithm"].native != "rsassa_pkcs1v15" else digest
    key.verify(value, tbs, padding.PKCS1v15(), _hash(hash_name))


def _verify_ecdsa(key, algorithm, value: bytes, tbs: bytes, digest: str) -> None:
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

    try:
        hash_name = algorithm.hash_algo
    except ValueError:
        hash_name = digest  # "ecdsa" without a hash: the SignerInfo's digest algorithm
    size = (key.curve.key_size + 7) // 8
    if len(value) == 2 * size and value[:1] != b"\x30":  # plain r‖s (BSI TR-03111), not a DER SEQUENCE
        value = encode_dss_signature(int.from_bytes(value[:size], "big"), int.from_bytes(value[size:], "big"))
    key.verify(value, tbs, ec.ECDSA(_hash(hash_name)))


# --- dates -----------------------------------------------------------------------------------------------------

_PDF_DATE = re.compile(
    r"D:(\d{4})(\d{2})?(\d{2})?(\d{2})?(\d{2})?(\d{2})?(?:([Zz+\-])(?:(\d{2})'?(?:(\d{2})'?)?)?)?"
)


def parse_pdf_date(text: str) -> datetime | None:
    """An ISO 32000 date string as an aware datetime; without an offset it is read as UTC (None if unreadable)."""
    m = _PDF_DATE.match(text.strip())
    if m is None:
        return None
    year, month, day, hour, minute, second = (
        int(v) if v else d for v, d in zip(m.groups()[:6], (0, 1, 1, 0, 0, 0), strict=True)
    )
    try:
        value = datetime(year, month, day, hour, minute, second, tzinfo=UTC)
    except ValueError:
        return None
    sign, hh, mm = m[7], int(m[8] or 0), int(m[9] or 0)
    if sign in ("+", "-"):
        from datetime import timedelta

        offset = timedelta(hours=hh, minutes=mm)
        value = value - offset if sign == "+" else value + offset
    return value
