"""Revocation data for verification: policy (hard-fail / soft-fail, online / offline), fetching and caching.

STANDARDS.md §7 (NĐ 23/2025): check revocation through the CRL current at signing time and/or OCSP (RFC 6960),
and **warn when neither can be checked**: a missing status is never silently treated as good.

- ``HARD_FAIL``: every certificate of the path below the anchor needs a usable OCSP response or CRL; otherwise
  the signature is INDETERMINATE / TRY_LATER with a warning.
- ``SOFT_FAIL``: a missing status gives a warning only.
- ``offline=True``: nothing is fetched; only what the document carries (DSS, the CMS
  ``adbe-revocationInfoArchival`` attribute, the CMS ``crls`` set) is used.

Fetched OCSP responses and CRLs are kept in a :class:`RevocationCache` until their nextUpdate (judged against
the verification time, so tests with a pinned clock behave like production), so repeated verifications of the
same signer do not refetch: the issue's ≤ 30 ms p50 target assumes cached revocation data. The cache belongs to
the :class:`RevocationPolicy` object the caller keeps (STYLE.md 7: no module globals); a policy created per call
caches nothing across calls.
"""

from __future__ import annotations

import contextlib
import itertools
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

from asn1crypto import cms as asn1_cms
from asn1crypto import crl as asn1_crl
from asn1crypto import ocsp as asn1_ocsp
from asn1crypto import x509 as asn1_x509

from signing.pdf.report import RevocationInfo, RevocationSource, RevocationStatus

__all__ = [
    "RevocationCache",
    "RevocationData",
    "RevocationMode",
    "RevocationPolicy",
    "SharedCertificate",
    "describe_status",
    "fetch_for_path",
    "revinfo_from_signed_data",
    "warm_certificate",
]

# OCSP responses without nextUpdate ("fetch whenever you like") are reused this long at most.
_DEFAULT_TTL = timedelta(minutes=5)


class RevocationMode(StrEnum):
    HARD_FAIL = "hard-fail"
    SOFT_FAIL = "soft-fail"


class RevocationCache:
    """In-process cache of fetched OCSP responses and CRLs, each kept until its nextUpdate. Thread-safe.

    It also keeps *parsed* certificates, OCSP responses and CRLs met in documents, keyed by their exact DER
    (:meth:`shared_cert` and friends): the same CA, TSA and responder certificates and the same CRLs recur in
    document after document, and an asn1crypto object that has been used once carries its memoised name
    normalisation, extensions and children, which is most of the cost of comparing certificate names. Shared
    objects are fully parsed and warmed *before* they are published, because asn1crypto's lazy parsing is not
    thread-safe (it fills lists and dicts in place); after warming they are only read. The key is the complete
    DER, so a shared object is byte-for-byte the object the document carries: verdicts cannot change. Nothing
    needs invalidating (a DER's parse never changes); the table is bounded (least recently used out first), and
    objects larger than ``max_shared_der`` bytes (big CRLs) are not kept."""

    def __init__(self, max_entries: int = 10_000, max_shared: int = 1_024, max_shared_der: int = 256 * 1024) -> None:
        self._ocsp: dict[str, tuple[asn1_ocsp.OCSPResponse, datetime]] = {}
        self._crl: dict[str, tuple[tuple[asn1_crl.CertificateList, ...], datetime]] = {}
        self._shared: dict[bytes, object] = {}  # kind + DER -> warmed asn1crypto object, least recently used first
        self._name_keys: dict[bytes, str] = {}  # Name DER -> Name.hashable
        self._lock = threading.Lock()
        self._max = max_entries
        self._max_shared = max_shared
        self._max_shared_der = max_shared_der
        self.fetches = 0  # how many network fetches were made through this cache (observability, tests)
        self.shared_hits = 0  # how many parsed objects were reused instead of a fresh parse (observability, tests)

    def shared_cert(self, cert: asn1_x509.Certificate) -> asn1_x509.Certificate:
        """The shared parsed certificate with the same DER as ``cert`` (a :class:`SharedCertificate`)."""
        return self._share(cert, warm_certificate, SharedCertificate)

    def shared_ocsp(self, response: asn1_ocsp.OCSPResponse) -> asn1_ocsp.OCSPResponse:
        return self._share(response, _warm_ocsp)

    def shared_crl(self, crl: asn1_crl.CertificateList) -> asn1_crl.CertificateList:
        return self._share(crl, _warm_crl)

    def name_key(self, name: asn1_x509.Name) -> str:
        """``name.hashable`` (RFC 5280 comparison form), remembered by the name's DER (a pure function of it)."""
        der = name.dump()
        with self._lock:
            key = self._name_keys.get(der)
        if key is None:
            key = name.hashable
            with self._lock:
                self._trim(self._name_keys)
                self._name_keys[der] = key
        return key

    def _share(self, obj, warm, cls=None):
        cls = cls or type(obj)
        try:
            der = obj.dump()
        except (ValueError, TypeError, KeyError):
            return obj
        if len(der) > self._max_shared_der:
            return obj
        key = cls.__name__.encode() + b":" + der
        with self._lock:
            hit = self._shared.pop(key, None)
            if hit is not None:
                self._shared[key] = hit  # now the most recently used
                self.shared_hits += 1
                return hit
        try:
            # a private parse of the same DER (the caller's object, maybe pyHanko's, is left as it was), fully
            # warmed before any other thread can see it
            fresh = cls.load(der)
            if isinstance(fresh, SharedCertificate) and asn1_x509.Certificate.untag(fresh).dump() != der:
                return obj  # not plain DER (BER lengths): pyHanko's untag() would re-encode it, so keep its copy
            warm(fresh)
        except (ValueError, TypeError, KeyError, AttributeError):
            return obj  # malformed: not shared; pyHanko reports on it as before
        with self._lock:
            if key not in self._shared and len(self._shared) >= self._max_shared:
                self._shared.pop(next(iter(self._shared)))
            return self._shared.setdefault(key, fresh)

    @property
    def shared_entries(self) -> int:
        """How many parsed objects are kept for reuse (observability, tests)."""
        with self._lock:
            return len(self._shared)

    def ocsp(self, key: str, at: datetime) -> asn1_ocsp.OCSPResponse | None:
        with self._lock:
            hit = self._ocsp.get(key)
        return hit[0] if hit and at <= hit[1] else None

    def crls(self, key: str, at: datetime) -> tuple[asn1_crl.CertificateList, ...] | None:
        with self._lock:
            hit = self._crl.get(key)
        return hit[0] if hit and at <= hit[1] else None

    def put_ocsp(self, key: str, response: asn1_ocsp.OCSPResponse, at: datetime) -> None:
        _warm_quietly(response, _warm_ocsp)  # served to every thread from now on
        with self._lock:
            self._trim(self._ocsp)
            self._ocsp[key] = (response, _ocsp_expiry(response, at))

    def put_crls(self, key: str, crls: tuple[asn1_crl.CertificateList, ...], at: datetime) -> None:
        for item in crls:
            _warm_quietly(item, _warm_crl)
        expiry = min((_crl_expiry(c, at) for c in crls), default=at)
        with self._lock:
            self._trim(self._crl)
            self._crl[key] = (crls, expiry)

    def _trim(self, table: dict) -> None:
        if len(table) >= self._max:
            table.pop(next(iter(table)))


class SharedCertificate(asn1_x509.Certificate):
    """A certificate held by :class:`RevocationCache`: fully parsed, then only read.

    The one difference from its base class: :meth:`untag` returns the object itself. pyHanko calls ``untag()``
    on every certificate it takes from a CMS (a deep copy, which drops asn1crypto's memoised name normalisation),
    three times per signature; a certificate is an untagged value (tagging lives on the enclosing choice), so
    untagging is the identity and the copy only cost time. Nothing mutates certificates (pyhanko-certvalidator
    copies a name before extending it), which is what makes sharing one object safe."""

    def untag(self):
        if self.explicit or self.implicit:  # never for a certificate loaded from its DER; kept exact anyway
            return super().untag()
        return self  # RevocationCache only shares certificates whose untagged copy has the very same encoding


@dataclass(frozen=True)
class RevocationPolicy:
    """How revocation is checked. Keep one instance for the process to share its cache between calls."""

    mode: RevocationMode = RevocationMode.HARD_FAIL
    offline: bool = False
    timeout_seconds: float = 5.0
    cache: RevocationCache = field(default_factory=RevocationCache, compare=False, repr=False)

    def describe(self) -> dict[str, str]:
        return {"revocation": self.mode.value, "revocation_source": "embedded-only" if self.offline else "online"}


@dataclass
class RevocationData:
    """Revocation material gathered for one verification (embedded, cached and fetched)."""

    ocsps: list[asn1_ocsp.OCSPResponse] = field(default_factory=list)
    crls: list[asn1_crl.CertificateList] = field(default_factory=list)
    embedded_ocsp: set[bytes] = field(default_factory=set)  # dumps of those taken from the document
    embedded_crl: set[bytes] = field(default_factory=set)
    fetch_failures: list[str] = field(default_factory=list)
    cache: RevocationCache | None = field(default=None, repr=False)  # remembers name comparison keys across calls

    def add_embedded(self, ocsps: Iterable[asn1_ocsp.OCSPResponse], crls: Iterable[asn1_crl.CertificateList]) -> None:
        for resp in ocsps:
            self.ocsps.append(resp)
            self.embedded_ocsp.add(resp.dump())
        for item in crls:
            self.crls.append(item)
            self.embedded_crl.add(item.dump())

    def has_status_for(self, cert: asn1_x509.Certificate) -> bool:
        return _ocsp_for(cert, self.ocsps) is not None or _crl_for(cert, self.crls, self) is not None

    def __post_init__(self) -> None:
        self._names: dict[bytes, str] = {}

    def issuer_key(self, name: asn1_x509.Name) -> str:
        """A comparable key for a Name; asn1crypto's Name equality re-normalises on every call (slow)."""
        if self.cache is not None:
            return self.cache.name_key(name)
        der = name.dump()
        key = self._names.get(der)
        if key is None:
            key = self._names[der] = name.hashable
        return key


def revinfo_from_signed_data(
    signed_data: asn1_cms.SignedData,
) -> tuple[list[asn1_ocsp.OCSPResponse], list[asn1_crl.CertificateList]]:
    """OCSP responses and CRLs carried in the CMS itself (PAdES-B-LT "legacy" style and the CMS crls set)."""
    ocsps: list[asn1_ocsp.OCSPResponse] = []
    crls: list[asn1_crl.CertificateList] = []
    for choice in signed_data["crls"] or ():
        if choice.name == "crl":
            crls.append(choice.chosen)
    signer_info = signed_data["signer_infos"][0]
    for attr in signer_info["signed_attrs"] or ():
        if attr["type"].native != "adobe_revocation_info_archival":
            continue
        for value in attr["values"]:
            crls.extend(value["crl"] or ())
            ocsps.extend(value["ocsp"] or ())
    return ocsps, crls


async def fetch_for_path(
    path: list[asn1_x509.Certificate], data: RevocationData, policy: RevocationPolicy, at: datetime
) -> None:
    """Add cached or freshly fetched status for each certificate of ``path`` (leaf first, anchor excluded)."""
    if policy.offline:
        return
    for cert, issuer in itertools.pairwise(path):
        key = cert.issuer_serial
        ocsp_resp = policy.cache.ocsp(key, at)
        if ocsp_resp is None and cert.ocsp_urls:
            ocsp_resp = await _fetch_ocsp(cert, issuer, policy, data)
            if ocsp_resp is not None:
                policy.cache.put_ocsp(key, ocsp_resp, at)
        if ocsp_resp is not None:
            data.ocsps.append(ocsp_resp)
            continue
        crls = policy.cache.crls(key, at)
        if crls is None and cert.crl_distribution_points:
            crls = await _fetch_crls(cert, policy, data)
            if crls:
                policy.cache.put_crls(key, crls, at)
        data.crls.extend(crls or ())


async def _fetch_ocsp(
    cert: asn1_x509.Certificate, issuer: asn1_x509.Certificate, policy: RevocationPolicy, data: RevocationData
) -> asn1_ocsp.OCSPResponse | None:
    from pyhanko_certvalidator.authority import AuthorityWithCert
    from pyhanko_certvalidator.errors import OCSPFetchError
    from pyhanko_certvalidator.fetchers.requests_fetchers import RequestsFetcherBackend

    fetcher = RequestsFetcherBackend(per_request_timeout=policy.timeout_seconds).get_fetchers().ocsp_fetcher
    policy.cache.fetches += 1
    try:
        response: asn1_ocsp.OCSPResponse = await fetcher.fetch(cert, AuthorityWithCert(issuer))
    except (OCSPFetchError, ValueError, OSError) as exc:
        data.fetch_failures.append(f"OCSP for {cert.subject.human_friendly}: {exc}")
        return None
    if response["response_status"].native != "successful":
        data.fetch_failures.append(f"OCSP for {cert.subject.human_friendly}: {response['response_status'].native}")
        return None
    return response


async def _fetch_crls(
    cert: asn1_x509.Certificate, policy: RevocationPolicy, data: RevocationData
) -> tuple[asn1_crl.CertificateList, ...]:
    from pyhanko_certvalidator.errors import CRLFetchError
    from pyhanko_certvalidator.fetchers.requests_fetchers import RequestsFetcherBackend

    fetcher = RequestsFetcherBackend(per_request_timeout=policy.timeout_seconds).get_fetchers().crl_fetcher
    policy.cache.fetches += 1
    try:
        return tuple(await fetcher.fetch(cert))
    except (CRLFetchError, ValueError, OSError) as exc:
        data.fetch_failures.append(f"CRL for {cert.subject.human_friendly}: {exc}")
        return ()


def describe_status(cert: asn1_x509.Certificate, data: RevocationData) -> RevocationInfo:
    """What the gathered data says about ``cert``, for the report (OCSP preferred over CRL).

    This reads the data without re-checking its signatures: the trust decision is made by pyhanko-certvalidator
    on the same data. It is used to describe, and to detect a revocation *after* the claimed signing time, which
    can only make the verdict stricter."""
    resp = _ocsp_for(cert, data.ocsps)
    if resp is not None:
        single, basic, whole = resp
        status = single["cert_status"]
        revoked = status.name == "revoked"
        return RevocationInfo(
            status=RevocationStatus.REVOKED
            if revoked
            else (RevocationStatus.GOOD if status.name == "good" else RevocationStatus.UNKNOWN),
            source=RevocationSource.OCSP,
            embedded=whole.dump() in data.embedded_ocsp,
            produced_at=basic["tbs_response_data"]["produced_at"].native,
            revoked_at=status.chosen["revocation_time"].native if revoked else None,
            reason=(status.chosen["revocation_reason"].native if revoked else None),
        )
    found = _crl_for(cert, data.crls, data)
    if found is not None:
        crl_obj, entry = found
        return RevocationInfo(
            status=RevocationStatus.REVOKED if entry is not None else RevocationStatus.GOOD,
            source=RevocationSource.CRL,
            embedded=crl_obj.dump() in data.embedded_crl,
            produced_at=crl_obj["tbs_cert_list"]["this_update"].native,
            revoked_at=None if entry is None else entry["revocation_date"].native,
            reason=None if entry is None else _crl_reason(entry),
        )
    return RevocationInfo()


def _basic(resp: asn1_ocsp.OCSPResponse) -> asn1_ocsp.BasicOCSPResponse:
    return resp["response_bytes"]["response"].parsed


def _ocsp_for(cert: asn1_x509.Certificate, responses: Iterable[asn1_ocsp.OCSPResponse]):
    """The newest single response about ``cert`` (matched by serial and issuer name hash)."""
    best = None
    for resp in responses:
        if resp["response_status"].native != "successful":
            continue
        basic = _basic(resp)
        for single in basic["tbs_response_data"]["responses"]:
            cert_id = single["cert_id"]
            if cert_id["serial_number"].native != cert.serial_number:
                continue
            algo = cert_id["hash_algorithm"]["algorithm"].native
            if getattr(cert.issuer, algo) != cert_id["issuer_name_hash"].native:
                continue
            produced = basic["tbs_response_data"]["produced_at"].native
            if best is None or produced > best[3]:
                best = (single, basic, resp, produced)
    return None if best is None else best[:3]


def _crl_for(cert: asn1_x509.Certificate, crls: Iterable[asn1_crl.CertificateList], data: RevocationData):
    """The newest CRL from ``cert``'s issuer and the entry for ``cert`` in it (``None`` when not listed)."""
    best = None
    issuer = data.issuer_key(cert.issuer)
    for item in crls:
        tbs = item["tbs_cert_list"]
        if data.issuer_key(tbs["issuer"]) != issuer:
            continue
        if best is None or tbs["this_update"].native > best["tbs_cert_list"]["this_update"].native:
            best = item
    if best is None:
        return None
    for entry in best["tbs_cert_list"]["revoked_certificates"] or ():
        if entry["user_certificate"].native == cert.serial_number:
            return best, entry
    return best, None


def _crl_reason(entry: asn1_crl.RevokedCertificate) -> str | None:
    for ext in entry["crl_entry_extensions"] or ():
        if ext["extn_id"].native == "crl_reason":
            return str(ext["extn_value"].native)
    return None


def _warm_quietly(obj, warm) -> None:
    # malformed: pyhanko-certvalidator reports on it when it reads it
    with contextlib.suppress(ValueError, TypeError, KeyError, AttributeError):
        warm(obj)


def warm_certificate(cert: asn1_x509.Certificate) -> None:
    """Force every lazily built part that pyhanko-certvalidator and this package read. asn1crypto builds them on
    first access, which is not thread-safe: a certificate object that several threads read (the revocation
    cache's, a trust store's anchors) must be warmed before the first of them sees it."""
    cert.native  # noqa: B018 - parses every child recursively
    for name in (cert.subject, cert.issuer):
        name.hashable  # noqa: B018 - memoises the RFC 5280 prepared value of each attribute
    cert.critical_extensions  # noqa: B018 - sets every extension attribute at once
    for attr in (
        "sha1",
        "sha256",
        "issuer_serial",
        "self_signed",
        "ocsp_urls",
        "crl_distribution_points",
        "delta_crl_distribution_points",
        "valid_domains",
        "valid_ips",
        "key_identifier",
        "authority_key_identifier",
        "authority_issuer_serial",
    ):
        getattr(cert, attr)
    cert.public_key.native  # noqa: B018


def _warm_ocsp(response: asn1_ocsp.OCSPResponse) -> None:
    response.native  # noqa: B018
    if response["response_status"].native != "successful":
        return
    basic = _basic(response)
    basic.native  # noqa: B018
    tbs = basic["tbs_response_data"]
    responder = tbs["responder_id"]
    if responder.name == "by_name":
        responder.chosen.hashable  # noqa: B018
    for single in tbs["responses"]:
        single.critical_extensions  # noqa: B018
    for cert in basic["certs"] or ():
        warm_certificate(cert)


def _warm_crl(crl: asn1_crl.CertificateList) -> None:
    crl.native  # noqa: B018
    crl.issuer.hashable  # noqa: B018
    crl.critical_extensions  # noqa: B018
    for attr in (
        "sha1",
        "sha256",
        "issuing_distribution_point_value",
        "delta_crl_distribution_points",
        "authority_key_identifier",
        "authority_information_access_value",
    ):
        getattr(crl, attr)
    for entry in crl["tbs_cert_list"]["revoked_certificates"] or ():
        entry.critical_extensions  # noqa: B018
        entry.issuer_name  # noqa: B018


def _ocsp_expiry(response: asn1_ocsp.OCSPResponse, at: datetime) -> datetime:
    try:
        singles = _basic(response)["tbs_response_data"]["responses"]
        nexts = [s["next_update"].native for s in singles if s["next_update"].native is not None]
    except (KeyError, ValueError, TypeError):
        nexts = []
    return min(nexts) if nexts else at + _DEFAULT_TTL


def _crl_expiry(item: asn1_crl.CertificateList, at: datetime) -> datetime:
    nxt = item["tbs_cert_list"]["next_update"].native
    return nxt if nxt is not None else at + _DEFAULT_TTL
