"""``POST /api/v1/verify`` and ``POST /api/v1/sign`` on a real gateway (SQLite) with the test PKI's live TSA/OCSP."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from asn1crypto import pem

from signing.pdf import key_source_from_spec, sign_pdf
from tests.support.gateway import B, Env, gateway_env
from tests.support.pki import TestPki
from tests.support.pki.pdfs import make_pdf

KEY_ENV = "EDOC_TEST_SIGNING_KEY_PASSWORD"
LIMIT = 400_000


def tamper(signed: bytes) -> bytes:
    """Flip one byte inside the JPEG of page 1: inside the signed range, still a parseable PDF."""
    at = signed.index(b"stream", signed.index(b"/DCTDecode")) + 500
    return signed[:at] + bytes([signed[at] ^ 0xFF]) + signed[at + 1 :]


def trust_sets(pki: TestPki) -> dict[str, list[dict[str, str]]]:
    der = pem.unarmor(pki.root_pem_path.read_bytes())[2]
    return {"test-root": [{"path": str(pki.root_pem_path), "sha256": hashlib.sha256(der).hexdigest()}]}


def signature_settings(pki: TestPki) -> dict[str, Any]:
    """Gateway settings trusting the test root, with two signing keys (one limited to agency B)."""
    p12 = pki.signer("good-rsa")[0]
    return {
        "trust_sets": trust_sets(pki),
        "tsa_url": pki.tsa_url,
        "signing_keys": {
            "office": {"spec": f"p12:{p12}", "secret_env": KEY_ENV, "level": "B-T"},
            "b-seal": {"spec": f"p12:{p12}", "secret_env": KEY_ENV, "agencies": [B]},
        },
        "verify_max_bytes": LIMIT,
    }


def signed_pdf(pki: TestPki, signer: str = "good-rsa") -> bytes:
    """A B-T signed PDF (timestamped, so it verifies at today's date against the PKI's pinned responders)."""
    p12, password, _ = pki.signer(signer)
    key = key_source_from_spec(f"p12:{p12}", secret=password)
    out = sign_pdf(make_pdf(pages=2, size=40_000), key=key, level="B-T", tsa_url=pki.tsa_url)
    assert out is not None
    return out


@pytest.fixture
def api(test_pki: TestPki, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Env]:
    monkeypatch.setenv(KEY_ENV, test_pki.signer("good-rsa")[1].decode())
    yield from gateway_env(f"sqlite:///{tmp_path / 'edoc.sqlite3'}", tmp_path, **signature_settings(test_pki))


@pytest.fixture(scope="module")
def good(test_pki: TestPki) -> bytes:
    return signed_pdf(test_pki)


def post_pdf(api: Env, data: bytes, who: str = "B", **params: str) -> Any:
    headers = {**api.as_(who), "Content-Type": "application/pdf"}
    return api.http.post("/api/v1/verify", content=data, headers=headers, params=params)


def test_verify_raw_body_returns_the_report(api, good):
    response = post_pdf(api, good)
    assert response.status_code == 200, response.text
    assert response.headers["X-Verification-Indication"] == "TOTAL_PASSED"
    report = response.json()
    assert report["verdict_vi"] == "Chữ ký hợp lệ"
    assert report["signatures"][0]["signer"]["common_name"] == "Nguyễn Văn An"
    assert report["signatures"][0]["anchor_set"] == "test-root"


@pytest.mark.parametrize("who", ["A", "clerk", "auditor", "admin"])
def test_verify_multipart_any_role_html_and_pdf(api, good, who):
    files = {"file": ("cong-van.pdf", good, "application/pdf")}
    html = api.http.post("/api/v1/verify", files=files, headers=api.as_(who), params={"format": "html", "lang": "en"})
    assert html.status_code == 200 and html.headers["content-type"].startswith("text/html")
    assert "Signature valid" in html.text and "Nguyễn Văn An" in html.text
    receipt = api.http.post("/api/v1/verify", files=files, headers=api.as_(who), params={"format": "pdf"})
    assert receipt.headers["content-type"] == "application/pdf" and receipt.content.startswith(b"%PDF-")


def test_verify_tampered_is_failed(api, good):
    report = post_pdf(api, tamper(good)).json()
    assert (report["indication"], report["sub_indication"]) == ("TOTAL_FAILED", "HASH_FAILURE")
    assert report["verdict_vi"] == "Chữ ký không hợp lệ"


def test_verify_untrusted_signer_is_indeterminate(api, test_pki):
    report = post_pdf(api, signed_pdf(test_pki, "untrusted")).json()
    assert (report["indication"], report["sub_indication"]) == ("INDETERMINATE", "NO_CERTIFICATE_CHAIN_FOUND")


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        (b"plain text, no header", 422, "not_a_pdf"),
        (b"", 422, "not_a_pdf"),
        (b"%PDF-1.7\n garbage without objects", 422, "pdf_unreadable"),
        (b"%PDF-1.7\n" + b"0" * (LIMIT + 1), 413, "file_too_large"),
    ],
)
def test_verify_bad_files_are_problems(api, body, status, code):
    response = post_pdf(api, body)
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == code


def test_verify_needs_authentication_and_a_known_trust_set(api, good):
    assert api.http.post("/api/v1/verify", content=good).status_code == 401
    response = post_pdf(api, good, trust="no-such-set")
    assert response.status_code == 422 and response.json()["code"] == "trust_unknown_set"
    bad_type = api.http.post("/api/v1/verify", content=good, headers={**api.as_("B"), "Content-Type": "text/plain"})
    assert bad_type.json()["code"] == "unsupported_media_type"


def sign(api: Env, options: dict[str, Any] | str, who: str = "clerk", data: bytes | None = None) -> Any:
    files = {"file": ("to-trinh.pdf", data or make_pdf(pages=1, size=20_000), "application/pdf")}
    body = {"options": options if isinstance(options, str) else json.dumps(options)}
    return api.http.post("/api/v1/sign", files=files, data=body, headers=api.as_(who))


def test_sign_with_configured_key_then_verify(api):
    response = sign(api, {"key": "office", "attachment_stamp": "Số: 05/BNV-VP", "reason": "Phát hành"})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/pdf"
    assert "to-trinh-signed.pdf" in response.headers["content-disposition"]
    report = post_pdf(api, response.content).json()
    assert report["indication"] == "TOTAL_PASSED", report
    sig = report["signatures"][0]
    assert sig["signer"]["common_name"] == "Nguyễn Văn An" and sig["signing_time_source"] == "timestamp"


def test_sign_refusals(api):
    assert sign(api, {"key": "office"}, who="A").json()["code"] == "wrong_role"  # a DMS client, not a clerk
    unknown = sign(api, {"key": "p12:/etc/passwd"})
    assert (unknown.status_code, unknown.json()["code"]) == (422, "unknown_signing_key")
    forbidden = sign(api, {"key": "b-seal"})  # the clerk acts for agency A only
    assert (forbidden.status_code, forbidden.json()["code"]) == (403, "signing_key_forbidden")
    assert sign(api, {"key": "b-seal"}, who="admin").status_code == 200
    for options in ("{not json", {"key": "office", "path": "/tmp/x"}, {"key": "office", "level": "B-Z"}):
        bad = sign(api, options)
        assert (bad.status_code, bad.json()["code"]) == (422, "invalid_options"), bad.text
    not_pdf = sign(api, {"key": "office"}, data=b"hello")
    assert not_pdf.json()["code"] == "not_a_pdf"
    no_image = sign(api, {"key": "office", "anchor": "[[CHU_KY]]"})
    assert (no_image.status_code, no_image.json()["code"]) == (422, "appearance_invalid")


def test_sign_with_image_and_seal_at_the_placeholder(api):
    """Issue 16 item 11 through the API: one signature shows both images, sized by options.size (the pixel checks
    of the layout are in tests/unit/signing/test_pdf_sign_nd30_block.py)."""
    from tests.unit.signing.test_pdf_sign_appearance import SEAL_PNG, SIGNATURE_PNG

    files = {"file": ("to-trinh.pdf", make_pdf(pages=1, size=20_000), "application/pdf"),
             "image": ("chu-ky.png", SIGNATURE_PNG, "image/png"), "seal": ("con-dau.png", SEAL_PNG, "image/png")}
    options = {"key": "office", "anchor": "[[CHU_KY]]", "size": [120, 48]}
    response = api.http.post("/api/v1/sign", files=files, data={"options": json.dumps(options)},
                             headers=api.as_("clerk"))
    assert response.status_code == 200, response.text
    assert response.content.count(b"/Subtype /Image") + response.content.count(b"/Subtype/Image") >= 2
    assert post_pdf(api, response.content).json()["indication"] == "TOTAL_PASSED"
    too_big = {**options, "size": [5000, 10]}
    refused = api.http.post("/api/v1/sign", files=files, data={"options": json.dumps(too_big)},
                            headers=api.as_("clerk"))
    assert (refused.status_code, refused.json()["code"]) == (422, "appearance_invalid")
