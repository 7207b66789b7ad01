"""The auditors' pages over HTTP (issue 21 item 8): sign-in and its refusals, CSRF, the session cookie's
attributes, search, export, timeline with each event's proof state, statistics with SVG charts, the evidence page
checking a real bundle and a tampered one (and saying when it cannot), sign-out. The browser test
(tests/e2e/test_auditor_pages.py) drives the same pages in Chromium."""

from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

from service.exchange.tlog import log_service
from tests.support.exchange import header, status, submit
from tests.support.gateway import A, B, C, Env, gateway_env


def _csrf(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, html
    return found.group(1)


def _sign_in(env: Env, who: str = "auditor") -> str:
    form = env.http.get("/audit/login")
    assert form.status_code == 200 and 'lang="vi"' in form.text
    resp = env.http.post("/audit/login", data={"api_key": env.keys[who], "csrf": _csrf(form.text)},
                         follow_redirects=False)
    assert resp.status_code == 303, resp.text
    return resp.headers["set-cookie"]


def test_sign_in_cookie_and_refusals(sqlite_env: Env) -> None:
    env = sqlite_env
    assert env.http.get("/audit/search", follow_redirects=False).headers["location"] == "/audit/login"
    cookie = _sign_in(env)
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie.replace("Strict", "strict") and "Path=/audit" in cookie
    assert env.keys["auditor"] not in cookie  # sealed, not the key itself
    page = env.http.get("/audit/search")
    assert page.status_code == 200 and "test-auditor" in page.text
    assert "default-src 'none'" in page.headers["content-security-policy"]
    # a forged logout (no CSRF token) is refused; the real one ends the session
    assert env.http.post("/audit/logout", data={"csrf": "forged"}).status_code == 403
    out = env.http.post("/audit/logout", data={"csrf": _csrf(page.text)}, follow_redirects=False)
    assert out.status_code == 303
    assert env.http.get("/audit/search", follow_redirects=False).status_code == 303
    # login without the form's token, with a DMS key, with a wrong key
    form = env.http.get("/audit/login")
    assert env.http.post("/audit/login", data={"api_key": env.keys["auditor"], "csrf": "x"}).status_code == 403
    dms = env.http.post("/audit/login", data={"api_key": env.keys["A"], "csrf": _csrf(form.text)})
    assert dms.status_code == 403 and "auditor" in dms.text
    form = env.http.get("/audit/login")
    bad = env.http.post("/audit/login", data={"api_key": "edk_nope", "csrf": _csrf(form.text)})
    assert bad.status_code == 401


def test_search_export_timeline_stats_evidence(sqlite_env: Env) -> None:
    env = sqlite_env
    doc = submit(env, "A", header(A, [B], subject='<script>alert(1)</script> Về việc "kiểm tra"')).json()
    env.deliver()
    env.http.post(f"/api/v1/edocs/{doc['id']}/ack", headers=env.as_("B"))
    env.deliver()
    _sign_in(env)
    found = env.http.get("/audit/search", params={"q": "kiểm tra", "sort": "at"})
    assert found.status_code == 200
    assert "<script>alert(1)" not in found.text and "&lt;script&gt;" in found.text
    assert 'id="events"' in found.text and "Gửi văn bản" in found.text
    bad = env.http.get("/audit/search", params={"status": "99"})
    assert bad.status_code == 422 and 'role="alert"' in bad.text
    csv = env.http.get("/audit/export", params={"format": "csv", "q": "kiểm tra"})
    assert csv.status_code == 200 and csv.content.startswith(b"\xef\xbb\xbf")
    assert "attachment" in csv.headers["content-disposition"]
    timeline = env.http.get("/audit/timeline", params={"document_id": doc["document_id"]})
    assert timeline.status_code == 200 and "lá #0, chờ checkpoint" in timeline.text and "Đã đến" in timeline.text
    stats = env.http.get("/audit/stats", params={"group": "day"})
    assert stats.status_code == 200 and stats.text.count("<svg") == 2 and 'role="img"' in stats.text
    assert env.http.get("/audit/stats.csv").content.startswith(b"\xef\xbb\xbf")
    english = env.http.get("/audit/stats", params={"lang": "en"})
    assert 'lang="en"' in english.text and "Exchange statistics" in english.text
    evidence = env.http.get("/audit/evidence")
    assert 'id="unavailable"' not in evidence.text and 'id="evidence-form"' in evidence.text
    posted = env.http.post("/audit/evidence", data={"csrf": _csrf(evidence.text)},
                           files={"bundle": ("b.zip", b"PK\x03\x04", "application/zip")})
    assert posted.status_code == 200 and 'id="verdict" class="error"' in posted.text
    assert "unreadable bundle" in posted.text


def test_only_auditors_sign_in_and_https_cookies_are_secure(sqlite_env: Env) -> None:
    from fastapi.testclient import TestClient

    env = sqlite_env
    for who in ("admin", "clerk", "B"):
        form = env.http.get("/audit/login")
        refused = env.http.post("/audit/login", data={"api_key": env.keys[who], "csrf": _csrf(form.text)})
        assert refused.status_code == 403, who
    https = TestClient(env.http.app, base_url="https://testserver")
    form = https.get("/audit/login")
    assert "Secure" in form.headers["set-cookie"]
    signed = https.post("/audit/login", data={"api_key": env.keys["auditor"], "csrf": _csrf(form.text)},
                        follow_redirects=False)
    assert signed.status_code == 303 and "Secure" in signed.headers["set-cookie"]


def _verdict(html: str) -> str:
    found = re.search(r'<div role="alert" id="verdict".*?</div>', html)
    assert found, html
    return found.group(0)


def _rewrite(bundle: bytes, name: str, edit: bytes) -> bytes:
    """The bundle with one of its files replaced (what someone altering evidence after download does)."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(bundle)) as src, zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            dst.writestr(info.filename, edit if info.filename == name else src.read(info.filename))
    return out.getvalue()


def test_timeline_proofs_and_evidence_check_follow_the_log(env: Env) -> None:
    doc = submit(env, "A", header(A, [B, C], number="91")).json()
    env.deliver()
    assert env.http.post(f"/api/v1/edocs/{doc['id']}/ack", headers=env.as_("B")).status_code == 200
    assert status(env, "B", doc["id"], "03").status_code == 202
    env.deliver()
    _sign_in(env)
    # Before the sequencer's round: a leaf index without a checkpoint (SQLite's trigger) or none yet (PostgreSQL).
    before = env.http.get("/audit/timeline", params={"document_id": doc["document_id"]}).text
    pending = before.count("chờ checkpoint") + before.count("chờ đưa vào nhật ký")
    assert pending >= 4 and "đã có trong checkpoint" not in before, before
    log = log_service(env.gw)
    while log.integrate_once():
        pass
    size = log.state().size
    after = env.http.get("/audit/timeline", params={"document_id": doc["document_id"]}).text
    covered = re.findall(r"lá #(\d+), đã có trong checkpoint (\d+)", after)
    assert len(covered) == pending and all(int(i) < size and int(s) == size for i, s in covered), after
    assert "chờ" not in after
    english = env.http.get("/audit/timeline", params={"document_id": doc["document_id"], "lang": "en"}).text
    assert f"in checkpoint {size}" in english

    bundle = env.http.get(f"/api/v1/edocs/{doc['id']}/evidence", headers=env.as_("A"))
    assert bundle.status_code == 200, bundle.text
    csrf = _csrf(env.http.get("/audit/evidence").text)
    ok = env.http.post("/audit/evidence", data={"csrf": csrf},
                       files={"bundle": ("evidence.zip", bundle.content, "application/zip")})
    assert ok.status_code == 200 and 'id="verdict" class="ok"' in ok.text and "Hồ sơ chứng cứ hợp lệ" in ok.text
    assert doc["document_id"] in ok.text and f"<dd>{size}</dd>" in ok.text and "<ul>" not in _verdict(ok.text)

    with zipfile.ZipFile(io.BytesIO(bundle.content)) as zf:
        package = next(n for n in zf.namelist() if n.startswith("package/"))
        original = zf.read(package)
    tampered = _rewrite(bundle.content, package, original.replace(b"91", b"92", 1))
    bad = env.http.post("/audit/evidence", data={"csrf": csrf},
                        files={"bundle": ("evidence.zip", tampered, "application/zip")})
    assert bad.status_code == 200 and 'id="verdict" class="error"' in bad.text
    assert "Hồ sơ chứng cứ không hợp lệ" in bad.text and f"{package}: its SHA-256" in bad.text
    assert _verdict(bad.text).count("<li>") >= 2  # the manifest's hash, and the leaves naming the package's hash


def test_evidence_page_without_a_usable_log_key_says_so(tmp_path: Path) -> None:
    """A node whose log key file is not an Ed25519 key cannot check bundles: the page says so, and a POST is 503."""
    key = tmp_path / "log-key.pem"
    key.write_bytes(ec.generate_private_key(ec.SECP256R1()).private_bytes(
        Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()))  # TEST ONLY key, made here
    for env in gateway_env(f"sqlite:///{tmp_path / 'edoc.sqlite3'}", tmp_path, log_key_file=key):
        _sign_in(env)
        page = env.http.get("/audit/evidence")
        assert page.status_code == 200 and 'id="unavailable"' in page.text and "edoc evidence verify" in page.text
        posted = env.http.post("/audit/evidence", data={"csrf": _csrf(page.text)},
                               files={"bundle": ("b.zip", b"PK\x03\x04", "application/zip")})
        assert posted.status_code == 503 and 'id="unavailable"' in posted.text
