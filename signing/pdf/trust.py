"""Trust anchors for verification: PEM files pinned by SHA-256 fingerprint, grouped in named, independent sets.

STANDARDS.md §7: Vietnam has two independent hierarchies that agency documents chain to, the Vietnam National
Root CA of NEAC (public CAs such as VNPT-CA, Viettel-CA) and the Ban Cơ yếu Chính phủ "RootCA chuyên dùng Chính
phủ G2" (specialised signatures of state agencies). A verifier needs both as configurable anchors, each pinned by
fingerprint, and a report must say which set a signature chained to. The conventional set names are
:data:`NATIONAL_ROOT_SET` and :data:`GOV_SPECIALISED_SET`; the public roots of both are shipped in
``signing/trust/`` (pinned, two public sources each, see its README.md) and trusted by default by the gateway;
an operator adds or replaces anchors with ``EDOC_TRUST_SETS``. Tests use the generated PKI (tests/support/pki/).

A fingerprint mismatch is a configuration error raised at load time (:class:`TrustConfigError`), never a
verification outcome: a gateway must refuse to start with an anchor it did not mean to trust.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from asn1crypto import pem as asn1_pem
from asn1crypto import x509 as asn1_x509

from signing.errors import SigningError
from signing.pdf.revocation import warm_certificate

__all__ = [
    "GOV_SPECIALISED_SET",
    "NATIONAL_ROOT_SET",
    "AnchorConfig",
    "TrustAnchor",
    "TrustConfigError",
    "TrustStore",
]

NATIONAL_ROOT_SET = "vn-national-root"  # NEAC Vietnam National Root CA and the public CAs under it
GOV_SPECIALISED_SET = "vn-gov-specialised"  # Ban Cơ yếu Chính phủ: RootCA chuyên dùng Chính phủ G2


class TrustConfigError(SigningError):
    """The trust configuration is wrong: unreadable PEM, fingerprint mismatch, unknown or empty set."""

    code = "trust_config"


@dataclass(frozen=True)
class AnchorConfig:
    """One configured anchor: a PEM file holding exactly one certificate and its expected SHA-256 (hex)."""

    path: Path
    sha256: str


@dataclass(frozen=True)
class TrustAnchor:
    set_name: str
    subject: str
    sha256: str
    der: bytes


class TrustStore:
    """Named sets of pinned anchors. Immutable after construction; safe to share between threads."""

    def __init__(self, sets: Mapping[str, Sequence[TrustAnchor]]) -> None:
        self._sets = {name: tuple(anchors) for name, anchors in sets.items()}
        self._parsed: dict[str, asn1_x509.Certificate] = {}
        for anchors in self._sets.values():
            for anchor in anchors:
                if anchor.sha256 not in self._parsed:
                    # read by every verifying thread: parsed in full now, as asn1crypto's lazy parsing of a shared
                    # object races (a name attribute half-parsed by one thread raised KeyError in another)
                    cert = asn1_x509.Certificate.load(anchor.der)
                    with contextlib.suppress(ValueError, TypeError, KeyError, AttributeError):
                        warm_certificate(cert)  # an odd extension is reported when the path is validated
                    self._parsed[anchor.sha256] = cert

    @classmethod
    def from_config(
        cls, sets: Mapping[str, Iterable[AnchorConfig | Mapping[str, str]]], *, base_dir: Path | None = None
    ) -> TrustStore:
        """Load and pin every anchor. ``sets`` maps a set name to anchors given as :class:`AnchorConfig` or
        ``{"path": ..., "sha256": ...}`` (relative paths resolve against ``base_dir``)."""
        loaded: dict[str, list[TrustAnchor]] = {}
        for set_name, entries in sets.items():
            anchors = [_load_anchor(set_name, _as_config(entry), base_dir) for entry in entries]
            if not anchors:
                raise TrustConfigError(f"trust set {set_name!r} has no anchors", code="trust_empty_set")
            loaded[set_name] = anchors
        return cls(loaded)

    @property
    def set_names(self) -> tuple[str, ...]:
        return tuple(self._sets)

    def anchors(self, set_names: Sequence[str] | None = None) -> tuple[TrustAnchor, ...]:
        """The anchors of the named sets (all sets when ``None``), without duplicates."""
        names = self.set_names if set_names is None else tuple(set_names)
        unknown = [n for n in names if n not in self._sets]
        if unknown:
            raise TrustConfigError(
                f"unknown trust set(s) {unknown}; configured: {list(self._sets)}", code="trust_unknown_set"
            )
        seen: dict[str, TrustAnchor] = {}
        for name in names:
            for anchor in self._sets[name]:
                seen.setdefault(anchor.sha256, anchor)
        return tuple(seen.values())

    def set_names_of(self, sha256: str, among: Sequence[str] | None = None) -> tuple[str, ...]:
        """Which sets (limited to ``among``) contain the anchor with this fingerprint."""
        names = self.set_names if among is None else tuple(among)
        return tuple(n for n in names if any(a.sha256 == sha256 for a in self._sets.get(n, ())))

    def parsed(self, anchors: Iterable[TrustAnchor]) -> list[asn1_x509.Certificate]:
        """Anchors as parsed certificates, parsed once per store (verification speed, not correctness)."""
        return [self._parsed[a.sha256] for a in anchors]


def _as_config(entry: AnchorConfig | Mapping[str, str]) -> AnchorConfig:
    if isinstance(entry, AnchorConfig):
        return entry
    try:
        return AnchorConfig(path=Path(entry["path"]), sha256=entry["sha256"])
    except (KeyError, TypeError) as exc:
        raise TrustConfigError(f"anchor entry needs 'path' and 'sha256': {entry!r}") from exc


def normalise_fingerprint(value: str) -> str:
    return value.replace(":", "").replace(" ", "").lower()


def _load_anchor(set_name: str, cfg: AnchorConfig, base_dir: Path | None) -> TrustAnchor:
    path = cfg.path if cfg.path.is_absolute() or base_dir is None else base_dir / cfg.path
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise TrustConfigError(f"cannot read trust anchor {path}: {exc}", code="trust_unreadable") from exc
    der = _single_cert_der(data, path)
    actual = hashlib.sha256(der).hexdigest()
    expected = normalise_fingerprint(cfg.sha256)
    if actual != expected:
        raise TrustConfigError(
            f"trust anchor {path} has SHA-256 {actual}, configuration pins {expected}",
            code="trust_fingerprint_mismatch",
        )
    subject = asn1_x509.Certificate.load(der).subject.human_friendly
    return TrustAnchor(set_name=set_name, subject=subject, sha256=actual, der=der)


def _single_cert_der(data: bytes, path: Path) -> bytes:
    try:
        if asn1_pem.detect(data):
            blocks = [der for kind, _, der in asn1_pem.unarmor(data, multiple=True) if kind == "CERTIFICATE"]
        else:
            blocks = [data]
        if len(blocks) != 1:
            raise TrustConfigError(
                f"{path} must hold exactly one certificate, found {len(blocks)}", code="trust_unreadable"
            )
        asn1_x509.Certificate.load(blocks[0]).native  # noqa: B018 - force a full parse now
    except TrustConfigError:
        raise
    except (ValueError, TypeError) as exc:
        raise TrustConfigError(f"{path} is not a PEM/DER certificate: {exc}", code="trust_unreadable") from exc
    return blocks[0]
