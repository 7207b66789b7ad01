"""Issue 17 item 9: what the embedded tier writes is private (files 0600, folders 0700), and attachments are
handed out so that no browser runs them and no name leaves the download folder."""

from __future__ import annotations

import json
import stat
from pathlib import Path
from urllib.parse import unquote

from service.demo import ensure_demo
from service.settings import Settings
from service.wiring import build_gateway
from storage.migrate import upgrade
from tests.support.exchange import header, inbox
from tests.support.gateway import A, B, Env


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_embedded_data_is_private(tmp_path: Path) -> None:
    data = tmp_path / "var" / "edoc"
    settings = Settings(data_dir=data, embedded_worker=False, demo=True)
    upgrade(settings.resolved_database_url())
    gw = build_gateway(settings)
    try:
        ensure_demo(gw)
        gw.store.put_bytes(b"<edXML>a document</edXML>")
        assert gw.node_key is not None
        database = data / "edoc.sqlite3"
        assert _mode(database) == 0o600
        for extra in ("-wal", "-shm"):
            side = database.with_name(database.name + extra)
            if side.exists():
                assert _mode(side) == 0o600, side
        assert _mode(data) == 0o700
        assert _mode(data / "demo-keys.json") == 0o600
        assert _mode(data / "keys") == 0o700 and _mode(data / "keys" / "node-demo.p12") == 0o600
        objects = data / "objects"
        for path in [objects, *objects.rglob("*")]:
            assert _mode(path) == (0o700 if path.is_dir() else 0o600), path
    finally:
        gw.close()


def _submit_with(env: Env, files: list[tuple[str, bytes, str]]) -> str:
    multipart = [("files", (name, data, ctype)) for name, data, ctype in files]
    resp = env.http.post("/api/v1/edocs", data={"header": json.dumps(header(A, [B]), ensure_ascii=False)},
                         files=multipart, headers=env.as_("A"))
    assert resp.status_code == 202, resp.text
    env.deliver()
    return str(inbox(env, "B")[0]["id"])


def _filename_star(disposition: str) -> str:
    return unquote(disposition.split("filename*=UTF-8''", 1)[1])


def test_active_attachments_are_downloads_with_safe_names(sqlite_env: Env) -> None:
    env = sqlite_env
    html = b"<html><script>alert(document.cookie)</script></html>"
    doc = _submit_with(env, [
        ("../../etc/passwd", html, "text/html"),
        ("Công văn số 12 – Sở Nội vụ.pdf", b"%PDF-1.4 not really", "application/pdf"),
        ("logo.svg", b"<svg xmlns='http://www.w3.org/2000/svg' onload='alert(1)'/>", "image/svg+xml"),
    ])
    record = env.http.get(f"/api/v1/edocs/{doc}", headers=env.as_("B")).json()
    positions = [a.get("position", i) for i, a in enumerate(record["attachments"])]

    first = env.http.get(f"/api/v1/edocs/{doc}/attachments/{positions[0]}", headers=env.as_("B"))
    assert first.status_code == 200
    assert first.content == html
    assert first.headers["content-type"] == "application/octet-stream"
    assert first.headers["x-content-type-options"] == "nosniff"
    assert first.headers["x-edoc-content-type"] == "text/html"
    assert "sandbox" in first.headers["content-security-policy"]
    disposition = first.headers["content-disposition"]
    assert disposition.startswith("attachment;")
    assert _filename_star(disposition) == "passwd" and "/" not in disposition and ".." not in disposition

    second = env.http.get(f"/api/v1/edocs/{doc}/attachments/{positions[1]}", headers=env.as_("B"))
    assert second.headers["content-type"] == "application/pdf"
    assert _filename_star(second.headers["content-disposition"]) == "Công văn số 12 – Sở Nội vụ.pdf"
    assert 'filename="Cong van so 12 _ So Noi vu.pdf"' in second.headers["content-disposition"]

    third = env.http.get(f"/api/v1/edocs/{doc}/attachments/{positions[2]}", headers=env.as_("B"))
    assert third.headers["content-type"] == "application/octet-stream"
    assert third.headers["x-edoc-content-type"] == "image/svg+xml"
