"""The test PKI's layout: keys generated with ``cryptography``, certificates and services by certomancer.

Why certomancer rather than hand-written ``cryptography`` builders: certomancer already implements the OCSP
responder (RFC 6960), the CRL repository (RFC 5280) and the RFC 3161 time-stamping authority that pyHanko's
own test suite runs against, and its Animator serves them over WSGI at a *fixed* time. Writing our own
responders would be more test code that could itself be wrong. Keys are still generated fresh at test time
(no private key is committed to the repository); certomancer only reads them back as PEM files.

Time is pinned: every certificate's validity is chosen relative to :data:`PINNED_NOW`, and the responders
answer as if it were that instant.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

__all__ = ["ARCH", "PINNED_NOW", "SIGNER_NAMES", "UNTRUSTED_ARCH", "build_config", "generate_keys"]

PINNED_NOW = datetime(2026, 6, 1, 2, 30, tzinfo=UTC)  # 09:30 in Hà Nội (UTC+7)
ARCH = "edoc-test"
UNTRUSTED_ARCH = "edoc-untrusted"

#: signer name → key kind; every signer except "untrusted" is issued by the intermediate CA.
SIGNER_NAMES = (
    "good-rsa",
    "good-ec",
    "revoked",
    "expired",
    "not-yet-valid",
    "wrong-ku",
    "rsa1024",
    "sha1",
    "untrusted",
)
_KEY_KINDS = {
    "root": "rsa2048",
    "interm": "rsa2048",
    "ocsp": "ec256",
    "tsa": "rsa2048",
    "good-rsa": "rsa2048",
    "good-ec": "ec256",
    "revoked": "rsa2048",
    "expired": "rsa2048",
    "not-yet-valid": "rsa2048",
    "wrong-ku": "rsa2048",
    "rsa1024": "rsa1024",
    "sha1": "rsa2048",
    "untrusted-root": "rsa2048",
    "untrusted": "rsa2048",
}

_FOREVER = {"valid-from": "2020-01-01T00:00:00+0000", "valid-to": "2040-01-01T00:00:00+0000"}
_CA_VALIDITY = {"valid-from": "2020-01-01T00:00:00+0000", "valid-to": "2035-01-01T00:00:00+0000"}
# Covers the pinned "now" and also the real clock of the next year or so (pyHanko stamps the wall-clock time).
_LEAF_VALIDITY = {"valid-from": "2025-01-01T00:00:00+0000", "valid-to": "2028-01-01T00:00:00+0000"}


def generate_keys(directory: Path) -> dict[str, Path]:
    """Fresh key pairs as unencrypted PKCS#8 PEM files (test keys only), one per label of ``_KEY_KINDS``."""
    directory.mkdir(parents=True, exist_ok=True)
    paths = {}
    for label, kind in _KEY_KINDS.items():
        key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey
        if kind == "ec256":
            key = ec.generate_private_key(ec.SECP256R1())
        else:
            key = rsa.generate_private_key(public_exponent=65537, key_size=int(kind[3:]))
        pem = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        paths[label] = directory / f"{label}.key.pem"
        paths[label].write_bytes(pem)
    return paths


def _ku(*usages: str) -> dict[str, Any]:
    return {
        "id": "key_usage",
        "critical": True,
        "smart-value": {"schema": "key-usage", "params": list(usages)},
    }


def _ca_extensions(crl_repo: str | None) -> list[dict[str, Any]]:
    exts: list[dict[str, Any]] = [
        {"id": "basic_constraints", "critical": True, "value": {"ca": True}},
        _ku("digital_signature", "key_cert_sign", "crl_sign"),
    ]
    if crl_repo is not None:
        exts.append(
            {
                "id": "crl_distribution_points",
                "smart-value": {"schema": "crl-dist-url", "params": {"crl-repo-names": [crl_repo]}},
            }
        )
    return exts


def _leaf(usages: tuple[str, ...] = ("digital_signature", "non_repudiation"), **extra: Any) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "issuer": "interm",
        "validity": dict(_LEAF_VALIDITY),
        "extensions": [
            _ku(*usages),
            {
                "id": "crl_distribution_points",
                "smart-value": {"schema": "crl-dist-url", "params": {"crl-repo-names": ["interm"]}},
            },
            {
                "id": "authority_information_access",
                "smart-value": {
                    "schema": "aia-urls",
                    "params": {"ocsp-responder-names": ["interm"], "ca-issuer-links": [{"repo": "interm"}]},
                },
            },
        ],
    }
    spec.update(extra)
    return spec


def _entities() -> dict[str, dict[str, str]]:
    people = {
        "good-rsa": "Nguyễn Văn An",
        "good-ec": "Trần Thị Bình",
        "revoked": "Lê Văn Cường (thu hồi)",
        "expired": "Phạm Thị Dung (hết hạn)",
        "not-yet-valid": "Hoàng Văn Em (chưa hiệu lực)",
        "wrong-ku": "Vũ Thị Giang (sai key usage)",
        "rsa1024": "Đặng Văn Hải (RSA-1024)",
        "sha1": "Bùi Thị Hương (SHA-1)",
    }
    entities = {
        "root": {"common-name": "Edoc Test Root CA"},
        "interm": {"common-name": "Edoc Test Issuing CA"},
        "ocsp": {"common-name": "Edoc Test OCSP Responder"},
        "tsa": {"common-name": "Edoc Test Time-Stamping Authority"},
    }
    entities.update(
        {label: {"organizational-unit-name": "Người ký", "common-name": cn} for label, cn in people.items()}
    )
    return entities


def _trusted_arch() -> dict[str, Any]:
    certs: dict[str, Any] = {
        "root": {
            "subject": "root",
            "issuer": "root",
            "validity": dict(_FOREVER),
            "extensions": _ca_extensions(None),
        },
        "interm": {"issuer": "root", "validity": dict(_CA_VALIDITY), "extensions": _ca_extensions("root")},
        "ocsp": {
            "issuer": "interm",
            "validity": dict(_LEAF_VALIDITY),
            "extensions": [
                _ku("digital_signature"),
                {"id": "extended_key_usage", "critical": True, "value": ["ocsp_signing"]},
                {"id": "ocsp_no_check"},
            ],
        },
        "tsa": {
            "issuer": "root",
            "validity": dict(_CA_VALIDITY),
            "extensions": [
                _ku("digital_signature"),
                {"id": "extended_key_usage", "critical": True, "value": ["time_stamping"]},
                {
                    "id": "crl_distribution_points",
                    "smart-value": {"schema": "crl-dist-url", "params": {"crl-repo-names": ["root"]}},
                },
            ],
        },
        "good-rsa": _leaf(),
        "good-ec": _leaf(),
        "revoked": _leaf(
            revocation={"revoked-since": "2026-03-01T00:00:00+0000", "reason": "key_compromise"}
        ),
        "expired": _leaf(
            validity={"valid-from": "2024-01-01T00:00:00+0000", "valid-to": "2025-01-01T00:00:00+0000"}
        ),
        "not-yet-valid": _leaf(
            validity={"valid-from": "2027-06-01T00:00:00+0000", "valid-to": "2029-01-01T00:00:00+0000"}
        ),
        "wrong-ku": _leaf(usages=("key_encipherment",)),
        "rsa1024": _leaf(),
        "sha1": _leaf(**{"digest-algo": "sha1"}),
    }
    return {
        "keyset": ARCH,
        "entity-defaults": {"country-name": "VN", "organization-name": "Edoc Gateway Test PKI"},
        "entities": _entities(),
        "certs": certs,
        "services": {
            "ocsp": {"interm": {"for-issuer": "interm", "responder-cert": "ocsp", "signing-key": "ocsp"}},
            "crl-repo": {
                "root": {"for-issuer": "root", "signing-key": "root", "simulated-update-schedule": "P90D"},
                "interm": {
                    "for-issuer": "interm",
                    "signing-key": "interm",
                    "simulated-update-schedule": "P7D",
                },
            },
            "cert-repo": {
                "root": {"for-issuer": "root", "publish-issued-certs": True},
                "interm": {"for-issuer": "interm", "publish-issued-certs": True},
            },
            "time-stamping": {"tsa": {"signing-key": "tsa", "signing-cert": "tsa"}},
        },
    }


def _untrusted_arch() -> dict[str, Any]:
    return {
        "keyset": UNTRUSTED_ARCH,
        "entity-defaults": {"country-name": "VN", "organization-name": "Không tin cậy (test)"},
        "entities": {
            "untrusted-root": {"common-name": "Untrusted Test Root CA"},
            "untrusted": {"common-name": "Ngô Văn Khách (untrusted)"},
        },
        "certs": {
            "untrusted-root": {
                "subject": "untrusted-root",
                "issuer": "untrusted-root",
                "validity": dict(_FOREVER),
                "extensions": _ca_extensions(None),
            },
            "untrusted": {
                "issuer": "untrusted-root",
                "validity": dict(_LEAF_VALIDITY),
                "extensions": [
                    _ku("digital_signature", "non_repudiation"),
                    {
                        "id": "crl_distribution_points",
                        "smart-value": {
                            "schema": "crl-dist-url",
                            "params": {"crl-repo-names": ["untrusted-root"]},
                        },
                    },
                ],
            },
        },
        "services": {
            "crl-repo": {
                "untrusted-root": {
                    "for-issuer": "untrusted-root",
                    "signing-key": "untrusted-root",
                    "simulated-update-schedule": "P30D",
                }
            }
        },
    }


def build_config(key_paths: dict[str, Path], url_prefix: str) -> dict[str, Any]:
    """The certomancer configuration (the dict form of its YAML) with every URL under ``url_prefix``."""
    untrusted = {"untrusted-root", "untrusted"}

    def keyset(labels: set[str]) -> dict[str, Any]:
        return {"keys": {label: {"path": str(key_paths[label])} for label in sorted(labels)}}

    return {
        "external-url-prefix": url_prefix,
        "keysets": {ARCH: keyset(set(key_paths) - untrusted), UNTRUSTED_ARCH: keyset(untrusted)},
        "pki-architectures": {ARCH: _trusted_arch(), UNTRUSTED_ARCH: _untrusted_arch()},
    }
