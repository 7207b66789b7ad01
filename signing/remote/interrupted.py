"""Interrupted PAdES signing: prepare a PDF and its CMS signed attributes now, embed a remote signature value later.

The flow (pyHanko's interrupted signing: ``PdfSigner.digest_doc_for_signing`` → signed attributes →
``PdfTBSDocument.finish_signing``):

1. :func:`prepare` writes the incremental update with the signature field, the NĐ 30/2020 appearance and a
   reserved ``/Contents`` (the same :func:`signing.pdf.sign.pdf_signer_for` local signing uses), hashes the
   ``/ByteRange`` and builds the PAdES signed attributes (content-type, message-digest, signing-certificate-v2).
   It returns the **hash of the DER signed attributes** (what the provider signs) and a :class:`PendingState`.
2. The caller hands the hash to a :class:`~signing.remote.interfaces.RemoteSigner`; the signer confirms on the
   phone, minutes later; the gateway may restart meanwhile: the state is a JSON-serialisable dict plus the
   prepared PDF bytes, nothing else.
3. :func:`finish` checks the returned value against the prepared certificate's public key over the signed
   attributes (RSA PKCS#1 v1.5 or PSS, ECDSA) **before** embedding it, assembles the CMS container (adding the
   signature time-stamp for B-T and above), fills ``/Contents`` and, for B-LT/B-LTA, adds the DSS (and the
   document time-stamp) as further incremental updates, as local signing does.

A wrong, swapped or truncated value raises ``RemoteSigningError(remote_bad_signature)``; a certificate returned by
the provider that differs from the prepared one raises ``remote_certificate_changed``; in both cases nothing is
produced, and the state stays usable for a retry.
"""

from __future__ import annotations

import asyncio
import base64
import functools
import hashlib
import io
import json
import threading
import weakref
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from signing.pdf.appearance import Appearance
from signing.pdf.sign import LEVELS, Level, LongTermSettings, PdfSigningError
from signing.remote.interfaces import Credential, RemoteSigningError, SignRequest

__all__ = [
    "STATE_VERSION",
    "PendingState",
    "Prepared",
    "check_signer",
    "finish",
    "prepare",
    "sign_request",
    "signature_mechanism",
]

STATE_VERSION = 1
_STATE_KEYS = frozenset(
    {
        "level",
        "digest_algorithm",
        "signature_algorithm",
        "signed_attributes",
        "document_digest",
        "reserved_region",
        "certificate",
        "chain",
        "credential_id",
        "field_name",
    }
)
_DIGESTS: dict[str, type[hashes.SHA256 | hashes.SHA384 | hashes.SHA512]] = {
    "sha256": hashes.SHA256,
    "sha384": hashes.SHA384,
    "sha512": hashes.SHA512,
}


@dataclass(frozen=True)
class PendingState:
    """Everything :func:`finish` needs, after a process restart: ``data`` is JSON-serialisable (signed
    attributes, certificate and chain, level, digest, where ``/Contents`` is reserved), ``pdf`` the prepared
    file with its reserved ``/Contents``."""

    data: Mapping[str, Any]
    pdf: bytes

    def to_json(self) -> str:
        """``data`` as JSON text (the PDF is stored beside it, as bytes)."""
        return json.dumps(dict(self.data), sort_keys=True)

    @classmethod
    def from_json(cls, text: str | bytes, pdf: bytes) -> PendingState:
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise RemoteSigningError("pending state is not JSON", code="remote_state_invalid") from exc
        if not isinstance(data, dict) or data.get("version") != STATE_VERSION:
            raise RemoteSigningError("pending state of an unknown version", code="remote_state_invalid")
        missing = _STATE_KEYS - data.keys()
        if missing:
            raise RemoteSigningError(f"pending state lacks {sorted(missing)}", code="remote_state_invalid")
        return cls(data=data, pdf=pdf)

    def __repr__(self) -> str:
        level, name = self.data.get("level"), self.data.get("field_name")
        return f"PendingState(level={level!r}, field={name!r}, pdf={len(self.pdf)} bytes)"

    @property
    def certificate(self) -> bytes:
        """The DER certificate the document was prepared for."""
        return _b64d(self.data["certificate"])


@dataclass(frozen=True)
class Prepared:
    """The result of :func:`prepare`: ``digest`` (hash of the DER signed attributes, for the provider) under
    ``digest_algorithm``, the ``signature_algorithm`` the provider must use (``"sha256_rsa"``,
    ``"rsassa_pss"``, ``"sha256_ecdsa"``, ...) and the ``state`` to finish with."""

    digest: bytes
    digest_algorithm: str
    signature_algorithm: str
    state: PendingState


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _b64d(text: str) -> bytes:
    return base64.b64decode(text.encode("ascii"), validate=True)


def _asn1_cert(der: bytes) -> Any:
    from asn1crypto import x509 as asn1_x509

    return asn1_x509.Certificate.load(der)


def _key_algorithm(certificate: bytes) -> str:
    key = x509.load_der_x509_certificate(certificate).public_key()
    if isinstance(key, rsa.RSAPublicKey):
        return "rsa"
    if isinstance(key, ec.EllipticCurvePublicKey):
        return "ecdsa"
    raise RemoteSigningError(f"unsupported key type {type(key).__name__}", code="remote_bad_request")


def signature_mechanism(key_algorithm: str, digest: str, pss: bool) -> Any:
    """The asn1crypto SignedDigestAlgorithm of the signature (shared with local signing's key sources)."""
    from signing.pdf.keysources import signature_algorithm

    return signature_algorithm(key_algorithm, digest, pss and key_algorithm == "rsa")


@functools.lru_cache(maxsize=64)
def _certificate_parts(certificate: bytes, chain: tuple[bytes, ...]) -> tuple[Any, Any]:
    """(asn1crypto certificate, pyHanko certificate store), parsed once per credential: parsing and registering
    the chain cost more than the rest of a prepare."""
    from pyhanko_certvalidator.registry import SimpleCertificateStore

    cert = _asn1_cert(certificate)
    return cert, SimpleCertificateStore.from_certs([cert, *(_asn1_cert(c) for c in chain)])


@functools.lru_cache(maxsize=64)
def _signing_certificate_attribute(certificate: bytes, digest: str) -> bytes:
    from pyhanko.sign.general import as_signing_certificate_v2

    ess = as_signing_certificate_v2(_certificate_parts(certificate, ())[0], digest)
    return _attribute("1.2.840.113549.1.9.16.2.47", ess.dump())


def _attribute(oid: str, value_der: bytes) -> bytes:
    from asn1crypto import core

    from signing.pdf.cms import der

    return der(0x30, core.ObjectIdentifier(oid).dump() + der(0x31, value_der))


def _signed_attributes(certificate: bytes, document_digest: bytes, digest: str) -> bytes:
    """The DER SET of PAdES signed attributes (content-type, message-digest, signing-certificate-v2; no
    signing-time: PAdES puts it in /M), as :class:`signing.pdf.cms.CachedCmsSigner` builds them."""
    from signing.pdf.cms import der

    attrs = sorted(  # DER SET OF: ordered by encoding
        [
            _attribute("1.2.840.113549.1.9.3", der(0x06, bytes.fromhex("2a864886f70d010701"))),
            _attribute("1.2.840.113549.1.9.4", der(0x04, document_digest)),
            _signing_certificate_attribute(certificate, digest),
        ]
    )
    return der(0x31, b"".join(attrs))


def _external_signer(certificate: bytes, chain: Sequence[bytes], mechanism: Any, value: bytes | int) -> Any:
    from pyhanko.sign.signers.pdf_cms import ExternalSigner

    cert, registry = _certificate_parts(certificate, tuple(chain))
    return ExternalSigner(
        signing_cert=cert,
        cert_registry=registry,
        signature_value=value,
        signature_mechanism=mechanism,
        embed_roots=True,
    )


def _bytes_reserved(certificate: bytes, chain: Sequence[bytes], timestamped: bool) -> int:
    static = len(certificate) + sum(len(c) for c in chain) + 2048 + 1024
    if timestamped:
        static += 12_000  # a TSA token with its chain (as signing.pdf.sign reserves)
    return 2 * static


def prepare(
    pdf: bytes,
    credential: Credential,
    *,
    level: Level = "B-B",
    field_name: str | None = None,
    appearance: Appearance | None = None,
    certify: bool = False,
    reason: str | None = None,
    location: str | None = None,
    contact: str | None = None,
    pss: bool = False,
    digest: str = "sha256",
) -> Prepared:
    """Prepare ``pdf`` for a signature by ``credential`` at ``level``; see the module docstring."""
    from signing.pdf.sign import open_writer, pdf_signer_for

    if level not in LEVELS:
        raise PdfSigningError(f"unknown level {level!r}; known: {', '.join(LEVELS)}", code="level_unsupported")
    if digest not in _DIGESTS:
        raise PdfSigningError(f"digest {digest!r} not allowed (SHA-256 or stronger)", code="algorithm_unsupported")
    key_algorithm = _key_algorithm(credential.certificate)
    pss = pss and key_algorithm == "rsa"
    mechanism = signature_mechanism(key_algorithm, digest, pss)
    signer = _external_signer(credential.certificate, credential.chain, mechanism, 512)
    buffer = io.BytesIO(pdf)
    writer = open_writer(buffer)
    pdf_signer = pdf_signer_for(
        writer,
        signer,
        level="B-B",  # the CMS is finished here; -T/-LT/-LTA are added by finish()
        field_name=field_name,
        timestamper=None,
        appearance=appearance,
        certify=certify,
        reason=reason,
        location=location,
        contact=contact,
        digest=digest,
        long_term=None,
    )
    reserved = _bytes_reserved(credential.certificate, credential.chain, level != "B-B")

    prepared, _tbs, output = _run(
        pdf_signer.async_digest_doc_for_signing(writer, bytes_reserved=reserved, in_place=True)
    )
    attrs_der = _signed_attributes(credential.certificate, prepared.document_digest, digest)
    data = {
        "version": STATE_VERSION,
        "level": level,
        "digest_algorithm": digest,
        "signature_algorithm": mechanism.dump().hex(),
        "signed_attributes": _b64(attrs_der),
        "document_digest": _b64(prepared.document_digest),
        "reserved_region": [prepared.reserved_region_start, prepared.reserved_region_end],
        "certificate": _b64(credential.certificate),
        "chain": [_b64(c) for c in credential.chain],
        "credential_id": credential.id,
        "field_name": pdf_signer.signature_meta.field_name,
    }
    return Prepared(
        digest=hashlib.new(digest, attrs_der).digest(),
        digest_algorithm=digest,
        signature_algorithm=mechanism["algorithm"].native,
        state=PendingState(data=data, pdf=output.getvalue()),
    )


def sign_request(
    prepared: Sequence[Prepared],
    credential: Credential,
    *,
    description: str = "",
    callback_url: str | None = None,
    authorization: Mapping[str, str] | None = None,
) -> SignRequest:
    """One :class:`SignRequest` for several prepared documents (one authorisation, several hashes), where the
    credential allows as many signatures per authorisation."""
    if not prepared:
        raise RemoteSigningError("nothing to sign", code="remote_bad_request")
    algorithms = {p.digest_algorithm for p in prepared}
    if len(algorithms) != 1 or len({p.signature_algorithm for p in prepared}) != 1:
        raise RemoteSigningError("documents prepared with different digests", code="remote_bad_request")
    if len(prepared) > max(credential.max_signatures, 1):
        raise RemoteSigningError(
            f"credential allows {credential.max_signatures} signature(s) per authorisation, {len(prepared)} asked",
            code="remote_bad_request",
        )
    if any(p.state.certificate != credential.certificate for p in prepared):
        raise RemoteSigningError("a document was prepared for another certificate", code="remote_bad_request")
    return SignRequest(
        credential_id=credential.id,
        hashes=tuple(p.digest for p in prepared),
        digest_algorithm=algorithms.pop(),
        description=description,
        callback_url=callback_url,
        authorization=dict(authorization or {}),
        signature_algorithm=prepared[0].signature_algorithm,
    )


_loops = threading.local()


def _runner() -> asyncio.Runner:
    """One event loop per thread, kept: ``asyncio.run`` per call cost more than the signature itself."""
    runner: asyncio.Runner | None = getattr(_loops, "runner", None)
    if runner is None:
        runner = _loops.runner = asyncio.Runner()
        weakref.finalize(threading.current_thread(), runner.close)
    return runner


def _run(coroutine: Any) -> Any:
    try:
        return _runner().run(coroutine)
    except (PdfSigningError, RemoteSigningError):
        raise
    except Exception as exc:
        from signing.pdf.sign import _translate

        raise _translate(exc) from exc


def _der_signature(key: Any, value: bytes) -> bytes:
    """ECDSA values come as DER ECDSA-Sig-Value or as raw r||s (CSC, PKCS#11); CMS wants DER."""
    if not isinstance(key, ec.EllipticCurvePublicKey):
        return value
    size = (key.curve.key_size + 7) // 8
    if len(value) == 2 * size and value[0] != 0x30:
        return encode_dss_signature(int.from_bytes(value[:size], "big"), int.from_bytes(value[size:], "big"))
    return value


def _check_value(certificate: bytes, mechanism: Any, digest: str, signed_attrs: bytes, value: bytes) -> bytes:
    """The value (DER for ECDSA) if it is a valid signature of ``signed_attrs`` by ``certificate``'s key."""
    key = x509.load_der_x509_certificate(certificate).public_key()
    algorithm = _DIGESTS[digest]()
    value = _der_signature(key, value)
    try:
        if isinstance(key, ec.EllipticCurvePublicKey):
            key.verify(value, signed_attrs, ec.ECDSA(algorithm))
        elif isinstance(key, rsa.RSAPublicKey):
            if mechanism.signature_algo == "rsassa_pss":
                pad: padding.AsymmetricPadding = padding.PSS(mgf=padding.MGF1(algorithm), salt_length=padding.PSS.AUTO)
            else:
                pad = padding.PKCS1v15()
            key.verify(value, signed_attrs, pad, algorithm)
        else:  # pragma: no cover - prepare() refuses other key types
            raise InvalidSignature
    except (InvalidSignature, ValueError) as exc:
        raise RemoteSigningError(
            "the signature value returned by the provider does not verify against the certificate",
            code="remote_bad_signature",
        ) from exc
    return value


def finish(
    state: PendingState,
    signature_value: bytes,
    *,
    certificate: bytes | None = None,
    tsa_url: str | None = None,
    long_term: LongTermSettings | None = None,
) -> bytes:
    """The signed PDF: ``signature_value`` (from the provider, over :attr:`Prepared.digest`) embedded into the
    prepared file. ``certificate`` is the one the provider answered with, if it answered with one: it must be
    the prepared one. ``tsa_url`` is required from B-T, ``long_term`` from B-LT (as for local signing)."""
    data = state.data
    level, digest = data["level"], data["digest_algorithm"]
    if level != "B-B" and not tsa_url:
        raise PdfSigningError(f"{level} needs a time-stamping authority URL", code="tsa_url_missing")
    if level in ("B-LT", "B-LTA") and long_term is None:
        raise PdfSigningError(f"{level} needs trust roots to collect revocation data", code="revocation_unavailable")
    prepared_cert = state.certificate
    if certificate is not None and certificate != prepared_cert:
        raise RemoteSigningError(
            "the provider signed with a certificate other than the one the document was prepared for",
            code="remote_certificate_changed",
        )
    from asn1crypto import algos, cms

    mechanism = algos.SignedDigestAlgorithm.load(bytes.fromhex(data["signature_algorithm"]))
    attrs_der = _b64d(data["signed_attributes"])
    value = _check_value(prepared_cert, mechanism, digest, attrs_der, signature_value)
    chain = [_b64d(c) for c in data["chain"]]
    signer = _external_signer(prepared_cert, chain, mechanism, value)
    timestamper = _timestamper(tsa_url) if level != "B-B" else None
    output = io.BytesIO(state.pdf)

    async def embed() -> None:
        attrs = cms.CMSAttributes.load(attrs_der)
        content = await signer.async_sign_prescribed_attributes(digest, attrs, timestamper=timestamper)
        await _embed(output, data, content)
        if level in ("B-LT", "B-LTA"):
            assert long_term is not None
            await _long_term(output, data, timestamper, long_term)

    _run(embed())
    return output.getvalue()


def _timestamper(tsa_url: str | None) -> Any:
    from pyhanko.sign.timestamps import HTTPTimeStamper

    return HTTPTimeStamper(tsa_url, timeout=10)


async def _embed(output: io.BytesIO, data: Mapping[str, Any], content: Any) -> None:
    from pyhanko.sign.signers.pdf_byterange import PreparedByteRangeDigest
    from pyhanko.sign.signers.pdf_signer import PdfTBSDocument

    start, end = data["reserved_region"]
    prepared = PreparedByteRangeDigest(
        document_digest=_b64d(data["document_digest"]), reserved_region_start=start, reserved_region_end=end
    )
    if 2 * len(content.dump()) > end - start - 2:
        raise PdfSigningError("the signature container does not fit the reserved space", code="signing_failed")
    await PdfTBSDocument.async_finish_signing(output, prepared, content)


async def _check_signer(certificate: bytes, chain: Sequence[bytes], context: Any) -> None:
    """What local B-LT signing checks before it signs (pyHanko's pre-sign validation): the signer's certificate
    chains to a trust root, is valid now, not revoked, and allows signing; PdfSigningError(certificate_rejected)."""
    from pyhanko.sign.signers.constants import DEFAULT_SIGNER_KEY_USAGE
    from pyhanko_certvalidator import CertificateValidator
    from pyhanko_certvalidator.errors import PathError, ValidationError

    cert, registry = _certificate_parts(certificate, tuple(chain))
    validator = CertificateValidator(cert, intermediate_certs=registry, validation_context=context)
    try:
        await validator.async_validate_usage(DEFAULT_SIGNER_KEY_USAGE)
    except (PathError, ValidationError) as exc:  # no path, revoked, expired, key usage not for signing
        raise PdfSigningError(f"the signer's certificate is not valid now: {exc}", code="certificate_rejected") from exc


def check_signer(credential: Credential, long_term: LongTermSettings) -> None:
    """Refuse, before the signer is asked to confirm on the phone, a credential that B-LT/B-LTA would refuse."""
    from signing.pdf.sign import _validation_context

    _run(_check_signer(credential.certificate, credential.chain, _validation_context(long_term)))


async def _long_term(output: io.BytesIO, data: Mapping[str, Any], timestamper: Any, settings: LongTermSettings) -> None:
    """B-LT: the DSS with the signer's revocation data; B-LTA: then a document time-stamp (one incremental
    update each, as :func:`signing.pdf.sign.sign_pdf` produces)."""
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.signers.pdf_signer import PdfTimeStamper
    from pyhanko.sign.validation.dss import async_add_validation_info

    from signing.pdf.sign import _validation_context

    context = _validation_context(settings)
    await _check_signer(_b64d(data["certificate"]), [_b64d(c) for c in data["chain"]], context)
    reader = PdfFileReader(output, strict=False)
    level, digest = data["level"], data["digest_algorithm"]
    embedded = next(s for s in reader.embedded_regular_signatures if s.field_name == data["field_name"])
    await async_add_validation_info(embedded, context, in_place=True, output=output)
    if level == "B-LTA":
        writer = IncrementalPdfFileWriter(output, strict=False)
        stamper = PdfTimeStamper(timestamper)
        await stamper.async_timestamp_pdf(writer, digest, validation_context=context, in_place=True)

