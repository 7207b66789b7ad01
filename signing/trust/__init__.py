"""Trust anchors shipped with the gateway: the public Vietnamese roots, pinned by SHA-256 (issue 16 item 12).

STANDARDS.md §7: agency documents chain to two independent hierarchies, the Vietnam National Root CA of NEAC
(public CAs such as VNPT-CA and Viettel-CA sit under it) and the Ban Cơ yếu Chính phủ "RootCA chuyên dùng Chính
phủ G2" with its intermediate "CA phục vụ các cơ quan Nhà nước G2". Without them every real signature is "no
chain found", so the gateway ships them as the two conventional sets of :mod:`signing.pdf.trust`.

Each certificate here was taken from two independent public repositories holding byte-identical copies and its
SHA-256 checked against the table of STANDARDS.md §7; README.md in this folder names the sources. The pins below
are the ones :class:`~signing.pdf.trust.TrustStore` enforces at load time, so a file edited on disk stops the
gateway instead of silently changing what it trusts.

Not shipped (one public copy only, or unfit as a default anchor): Vietnam National Root CA G3, the Ban Cơ yếu G1
root (expires 2030) and the SHA-1 MIC National Root CA 2008. README.md says how an operator adds them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path

from signing.pdf.trust import GOV_SPECIALISED_SET, NATIONAL_ROOT_SET, AnchorConfig

__all__ = ["BUNDLED", "BUNDLE_DIR", "bundled_sets", "with_bundled"]

BUNDLE_DIR = Path(__file__).resolve().parent

# set name -> ((file in this folder, SHA-256 of the certificate's DER), ...)
BUNDLED: Mapping[str, tuple[tuple[str, str], ...]] = {
    NATIONAL_ROOT_SET: (
        ("vn-national-root-ca.pem", "bac8bf609ab420a8ee1780d74f4de5c7f7184959d2a7375b0a75e4c29f0908e7"),
    ),
    GOV_SPECIALISED_SET: (
        ("vn-gov-rootca-g2.pem", "f04ba4b459a7c9a1b971ad9b1cb833e695a80c79aea63b174b66a70edfe2fdb8"),
        ("vn-gov-ca-nha-nuoc-g2.pem", "d8cab7a4aef92e6bb2509d7c61cee7b44f3731b2d21074963530277b366fae4b"),
    ),
}


def bundled_sets() -> dict[str, list[AnchorConfig]]:
    """The shipped sets as anchor configurations for :meth:`~signing.pdf.trust.TrustStore.from_config`."""
    return {
        name: [AnchorConfig(path=BUNDLE_DIR / file, sha256=sha) for file, sha in entries]
        for name, entries in BUNDLED.items()
    }


def with_bundled(
    configured: Mapping[str, Iterable[AnchorConfig | Mapping[str, str]]],
) -> dict[str, list[AnchorConfig | Mapping[str, str]]]:
    """The shipped sets plus the operator's: a configured set adds its anchors to a shipped set of the same name
    (an operator extends ``vn-gov-specialised`` with the G1 root by naming that set), other names are new sets."""
    merged: dict[str, list[AnchorConfig | Mapping[str, str]]] = {
        name: list(anchors) for name, anchors in bundled_sets().items()
    }
    for name, anchors in configured.items():
        merged.setdefault(name, []).extend(anchors)
    return merged
