"""The shipped Vietnamese trust anchors (signing/trust/): files match their pins, the pins match STANDARDS.md §7,
they load as the two conventional sets, and verification with them still refuses a chain that does not reach them."""

from __future__ import annotations

import hashlib
import tomllib
from pathlib import Path

from asn1crypto import pem
from asn1crypto import x509 as asn1_x509

from service.settings import Settings
from service.signatures import SignatureServices
from signing.pdf.report import Indication, SubIndication
from signing.pdf.trust import GOV_SPECIALISED_SET, NATIONAL_ROOT_SET, TrustStore
from signing.trust import BUNDLE_DIR, BUNDLED, bundled_sets, with_bundled
from tests.unit.signing.test_pdf_verify_kit import _anchor, base_pdf, sign, verify

ROOT = Path(__file__).resolve().parents[3]

# The third, independent reference: the fingerprints printed in STANDARDS.md §7 (upper-case there).
STANDARDS_PINS = {
    "vn-national-root-ca.pem": "BAC8BF609AB420A8EE1780D74F4DE5C7F7184959D2A7375B0A75E4C29F0908E7",
    "vn-gov-rootca-g2.pem": "F04BA4B459A7C9A1B971AD9B1CB833E695A80C79AEA63B174B66A70EDFE2FDB8",
    "vn-gov-ca-nha-nuoc-g2.pem": "D8CAB7A4AEF92E6BB2509D7C61CEE7B44F3731B2D21074963530277B366FAE4B",
}
MIC_2008_SHA1_ROOT = "ca918d635bb130bec97639e6aabf7edbc4eb1310f8058b9419f467ae0230ad8c"


def _der(name: str) -> bytes:
    return pem.unarmor((BUNDLE_DIR / name).read_bytes())[2]


def test_every_shipped_file_matches_its_pin_and_the_standards_table():
    pins = {file: sha for entries in BUNDLED.values() for file, sha in entries}
    assert pins == {k: v.lower() for k, v in STANDARDS_PINS.items()}
    for file, sha in pins.items():
        assert hashlib.sha256(_der(file)).hexdigest() == sha, file
    shipped = {p.name for p in BUNDLE_DIR.iterdir() if p.suffix in (".pem", ".crt", ".cer")}
    assert shipped == set(pins), "every certificate file in signing/trust/ is pinned, and only those"


def test_certificates_are_the_named_roots_with_sha256_signatures():
    names = {}
    for file in STANDARDS_PINS:
        cert = asn1_x509.Certificate.load(_der(file))
        assert cert.hash_algo == "sha256" and cert.ca
        names[file] = cert.subject.native["common_name"]
    assert names == {
        "vn-national-root-ca.pem": "Vietnam National Root CA",
        "vn-gov-rootca-g2.pem": "RootCA chuyên dùng Chính phủ G2",
        "vn-gov-ca-nha-nuoc-g2.pem": "CA phục vụ các cơ quan Nhà nước G2",
    }
    g2 = asn1_x509.Certificate.load(_der("vn-gov-rootca-g2.pem"))
    assert asn1_x509.Certificate.load(_der("vn-gov-ca-nha-nuoc-g2.pem")).issuer == g2.subject


def test_bundled_sets_load_as_the_two_conventional_sets_without_the_sha1_root():
    store = TrustStore.from_config(bundled_sets())
    assert store.set_names == (NATIONAL_ROOT_SET, GOV_SPECIALISED_SET)
    assert len(store.anchors([NATIONAL_ROOT_SET])) == 1 and len(store.anchors([GOV_SPECIALISED_SET])) == 2
    assert MIC_2008_SHA1_ROOT not in {a.sha256 for a in store.anchors()}


def test_gateway_trusts_them_by_default_and_not_when_switched_off(test_pki):
    extra = {"lab": [{"path": str(test_pki.root_pem_path), "sha256": _anchor(test_pki.root_pem_path).sha256}]}
    on = SignatureServices.from_settings(Settings(trust_sets=extra)).trust
    assert on.set_names == (NATIONAL_ROOT_SET, GOV_SPECIALISED_SET, "lab")
    off = SignatureServices.from_settings(Settings(trust_sets=extra, trust_bundled=False)).trust
    assert off.set_names == ("lab",)


def test_configured_anchors_extend_a_shipped_set_of_the_same_name(test_pki):
    mine = _anchor(test_pki.root_pem_path)
    store = TrustStore.from_config(with_bundled({NATIONAL_ROOT_SET: [mine]}))
    assert {a.sha256 for a in store.anchors([NATIONAL_ROOT_SET])} == {mine.sha256, STANDARDS_PINS[
        "vn-national-root-ca.pem"].lower()}


def test_verification_with_the_shipped_sets(test_pki):
    signed = sign(base_pdf(), test_pki, "good-rsa")
    shipped = TrustStore.from_config(bundled_sets())
    report = verify(signed, test_pki, trust=shipped, anchor_sets=None)
    assert report.indication is Indication.INDETERMINATE
    assert report.signatures[0].sub_indication is SubIndication.NO_CERTIFICATE_CHAIN_FOUND
    # the test root added to the national set: the same file passes and names the set it chained to
    extended = TrustStore.from_config(with_bundled({NATIONAL_ROOT_SET: [_anchor(test_pki.root_pem_path)]}))
    passed = verify(signed, test_pki, trust=extended, anchor_sets=None)
    assert passed.indication is Indication.TOTAL_PASSED
    assert passed.signatures[0].anchor_set == NATIONAL_ROOT_SET


def test_package_data_ships_certificate_files():
    data = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]["*"]
    assert {"*.pem", "*.crt", "*.cer", "*.md"} <= set(data)
    assert (ROOT / "signing" / "trust" / "__init__.py").is_file()  # a package, so package-data applies to it
