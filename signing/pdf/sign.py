"""PAdES signing of PDFs: levels B-B, B-T, B-LT, B-LTA (ETSI EN 319 142-1), one incremental update each.

The PDF work (signature field, incremental update, /ByteRange, DSS, document timestamps) is pyHanko's. What we
change is where the time went (see ``bench/signing.py`` and the module docs of ``keysources`` and ``cms``):

* the key is loaded once per process (:mod:`signing.pdf.keysources`), not per signature;
* the CMS container is assembled from parts encoded once per key (:mod:`signing.pdf.cms`);
* the space for the container is computed from those parts instead of pyHanko's dry-run signature;
* inputs given as paths are copied by the OS and signed *in place* with streaming hashes, so a 100 MB PDF is never
  held in memory; bytes inputs are signed in one in-memory buffer.

Several signatures in sequence (the signer's, then the organisation's, NĐ 30/2020) are successive incremental
updates and each stays valid; ``certify=True`` makes the first one a certification (DocMDP) signature.
"""

from __future__ import annotations

import io
import shutil
import threading
import weakref
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, BinaryIO, Literal

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from signing.pdf.appearance import Appearance, build_stamp
from signing.pdf.cms import CachedCmsSigner
from signing.pdf.keysources import KeySource
from signing.pdf.sign_errors import PdfSigningError

__all__ = ["LEVELS", "Level", "LongTermSettings", "PdfSigningError", "sign_pdf"]

Level = Literal["B-B", "B-T", "B-LT", "B-LTA"]
LEVELS: tuple[Level, ...] = ("B-B", "B-T", "B-LT", "B-LTA")
_DIGESTS = ("sha256", "sha384", "sha512")


@dataclass(frozen=True)
class LongTermSettings:
    """What B-LT/B-LTA need to collect revocation data: trust anchors, extra certificates, the validation time
    (``None`` = now) and whether OCSP/CRL may be fetched over the network (AIA / CRL-DP URLs)."""

    trust_roots: tuple[x509.Certificate, ...]
    other_certs: tuple[x509.Certificate, ...] = ()
    moment: datetime | None = None
    allow_fetching: bool = True
    fetch_timeout: float = 10.0


_SIGNERS: weakref.WeakKeyDictionary[KeySource, dict[bool, CachedCmsSigner]] = weakref.WeakKeyDictionary()
_SIGNERS_LOCK = threading.Lock()


def _signer_for(key: KeySource, pss: bool) -> CachedCmsSigner:
    with _SIGNERS_LOCK:
        per_key = _SIGNERS.setdefault(key, {})
        if pss not in per_key:
            per_key[pss] = CachedCmsSigner(key, pss=pss)
        return per_key[pss]


def _asn1(cert: x509.Certificate):
    from asn1crypto import x509 as asn1_x509

    return asn1_x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER))


def _validation_context(settings: LongTermSettings):
    from pyhanko_certvalidator import ValidationContext
    from pyhanko_certvalidator.fetchers.requests_fetchers import RequestsFetcherBackend

    # hard-fail: revocation data that is declared (AIA/CRL-DP) but cannot be fetched makes B-LT fail loudly
    # instead of producing a "B-LT" file without it.
    return ValidationContext(
        trust_roots=[_asn1(c) for c in settings.trust_roots],
        other_certs=[_asn1(c) for c in settings.other_certs],
        moment=settings.moment,
        allow_fetching=settings.allow_fetching,
        revocation_mode="hard-fail",
        fetcher_backend=RequestsFetcherBackend(per_request_timeout=settings.fetch_timeout),
    )


def _bytes_reserved(signer: CachedCmsSigner, timestamped: bool) -> int:
    static = len(signer._cert_set) + 2048 + 1024  # certs + attributes/identifiers + signature (≤ RSA-8192)
    if timestamped:
        static += 12_000  # a TSA token with its certificate chain; retried larger if it does not fit
    return 2 * static  # hex-encoded in /Contents


def _open_io(data: bytes | Path, output: BinaryIO | Path | None) -> tuple[BinaryIO, bool]:
    """The stream pyHanko signs in place, and whether we own (must close) it."""
    if isinstance(data, Path):
        if isinstance(output, Path):
            shutil.copyfile(data, output)  # OS-level copy (sendfile), no Python buffer
            return open(output, "r+b"), True
        if output is not None:
            with open(data, "rb") as src:
                shutil.copyfileobj(src, output, 1 << 20)
            return output, False
        return io.BytesIO(data.read_bytes()), True
    if isinstance(output, Path):
        output.write_bytes(data)
        return open(output, "r+b"), True
    if output is not None:
        output.write(data)
        return output, False
    return io.BytesIO(data), True


def sign_pdf(
    data: bytes | Path,
    *,
    key: KeySource,
    level: Level = "B-B",
    field_name: str | None = None,
    tsa_url: str | None = None,
    appearance: Appearance | None = None,
    certify: bool = False,
    reason: str | None = None,
    location: str | None = None,
    contact: str | None = None,
    pss: bool = False,
    digest: str = "sha256",
    long_term: LongTermSettings | None = None,
    output: BinaryIO | Path | None = None,
) -> bytes | None:
    """Sign a PDF at a PAdES baseline level; returns the signed bytes, or ``None`` when written to ``output``.

    ``output`` may be a path (the input is copied there and signed in place: lowest memory) or a writable and
    readable binary stream positioned at its start. ``tsa_url`` is required from B-T; ``long_term`` from B-LT.
    """
    if level not in LEVELS:
        raise PdfSigningError(f"unknown level {level!r}; known: {', '.join(LEVELS)}", code="level_unsupported")
    if digest not in _DIGESTS:
        raise PdfSigningError(f"digest {digest!r} not allowed (SHA-256 or stronger)", code="algorithm_unsupported")
    if level != "B-B" and not tsa_url:
        raise PdfSigningError(f"{level} needs a time-stamping authority URL", code="tsa_url_missing")
    if level in ("B-LT", "B-LTA") and long_term is None:
        raise PdfSigningError(f"{level} needs trust roots to collect revocation data", code="revocation_unavailable")
    stream, owned = _open_io(data, output)
    try:
        _sign_in_place(
            stream,
            key=key,
            level=level,
            field_name=field_name,
            tsa_url=tsa_url,
            appearance=appearance,
            certify=certify,
            reason=reason,
            location=location,
            contact=contact,
            pss=pss,
            digest=digest,
            long_term=long_term,
        )
        if output is None:
            assert isinstance(stream, io.BytesIO)
            return stream.getvalue()
        return None
    finally:
        if owned and output is not None:
            stream.close()


def _sign_in_place(
    stream: BinaryIO,
    *,
    key: KeySource,
    level: Level,
    field_name: str | None,
    tsa_url: str | None,
    appearance: Appearance | None,
    certify: bool,
    reason: str | None,
    location: str | None,
    contact: str | None,
    pss: bool,
    digest: str,
    long_term: LongTermSettings | None,
) -> None:
    from pyhanko.sign.timestamps import HTTPTimeStamper

    signer = _signer_for(key, pss)
    writer = open_writer(stream)
    timestamper = HTTPTimeStamper(tsa_url, timeout=10) if tsa_url and level != "B-B" else None
    pdf_signer = pdf_signer_for(
        writer,
        signer,
        level=level,
        field_name=field_name,
        timestamper=timestamper,
        appearance=appearance,
        certify=certify,
        reason=reason,
        location=location,
        contact=contact,
        digest=digest,
        long_term=long_term,
    )
    reserved = _bytes_reserved(signer, timestamper is not None)
    _run(pdf_signer, writer, reserved)


def open_writer(stream: BinaryIO) -> Any:
    """pyHanko's incremental writer over ``stream``; PdfSigningError(``pdf_unreadable``) if it is no PDF."""
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.pdf_utils.misc import PdfError

    try:
        return IncrementalPdfFileWriter(stream, strict=False)
    except (PdfError, ValueError, OSError) as exc:
        raise PdfSigningError(f"cannot read the PDF: {exc}", code="pdf_unreadable") from exc


def pdf_signer_for(
    writer: Any,
    signer: Any,
    *,
    level: Level,
    field_name: str | None,
    timestamper: Any,
    appearance: Appearance | None,
    certify: bool,
    reason: str | None,
    location: str | None,
    contact: str | None,
    digest: str,
    long_term: LongTermSettings | None,
) -> Any:
    """The pyHanko PdfSigner for one signature: field, PAdES metadata, NĐ 30/2020 stamp. Shared by
    :func:`sign_pdf` and the interrupted (remote) signing of :mod:`signing.remote.interrupted`."""
    from pyhanko.sign import fields, signers

    name = field_name or _free_field_name(writer)
    meta = signers.PdfSignatureMetadata(
        field_name=name,
        md_algorithm=digest,
        subfilter=fields.SigSeedSubFilter.PADES,
        reason=reason,
        location=location,
        contact_info=contact,
        certify=certify,
        docmdp_permissions=fields.MDPPerm.FILL_FORMS,
        embed_validation_info=level in ("B-LT", "B-LTA"),
        use_pades_lta=level == "B-LTA",
        validation_context=_validation_context(long_term) if long_term and level in ("B-LT", "B-LTA") else None,
    )
    field_spec, stamp_style = (None, None)
    if appearance is not None:
        field_spec, stamp_style = build_stamp(writer, appearance, name)
    return signers.PdfSigner(
        meta, signer, timestamper=timestamper, stamp_style=stamp_style, new_field_spec=field_spec
    )


def _run(pdf_signer, writer, reserved: int) -> None:
    from pyhanko.sign.general import SigningError as PyHankoSigningError

    try:
        pdf_signer.sign_pdf(writer, bytes_reserved=reserved, in_place=True)
    except PdfSigningError:
        raise
    except PyHankoSigningError as exc:
        raise _translate(exc) from exc
    except TimeoutError as exc:
        raise PdfSigningError("time-stamping authority timed out", code="tsa_unreachable") from exc
    except Exception as exc:
        raise _translate(exc) from exc


def _translate(exc: BaseException) -> PdfSigningError:
    text = f"{type(exc).__name__}: {exc}"
    chain = [exc, exc.__cause__, exc.__context__]
    names = " ".join(type(e).__name__ for e in chain if e is not None)
    if "TimestampRequestError" in names or "Timestamp" in text:
        return PdfSigningError(f"time-stamping failed: {text}", code="tsa_unreachable")
    if "ValidationError" in names or "PathBuilding" in names or "revocation" in text.lower():
        return PdfSigningError(f"cannot collect validation data: {text}", code="revocation_unavailable")
    if "could not be validated" in text:  # B-LT pre-sign validation: revoked, expired, untrusted chain…
        return PdfSigningError(f"the signer's certificate is not valid now: {text}", code="certificate_rejected")
    if "already" in text.lower() and "field" in text.lower():
        return PdfSigningError(text, code="field_exists")
    return PdfSigningError(f"signing failed: {text}", code="signing_failed")


def _free_field_name(writer) -> str:
    from pyhanko.sign.fields import enumerate_sig_fields

    taken = {name for name, _, _ in enumerate_sig_fields(writer, filled_status=None)}
    return next(f"Signature{i}" for i in range(1, 10_000) if f"Signature{i}" not in taken)
