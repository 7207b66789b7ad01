"""Helpers to drive the native API in tests: submit a document, read an inbox, look at a record."""

from __future__ import annotations

import json
from typing import Any

from tests.support.gateway import Env
from tests.support.pdfs import simple_pdf


def header(frm: str, to: list[str], *, number: str = "12", notation: str = "STTTT-VP", **extra: Any) -> dict[str, Any]:
    data = {
        "from": frm,
        "to": to,
        "code": {"number": number, "notation": notation},
        "subject": "Về việc triển khai hệ thống quản lý văn bản điện tử liên thông",
        "type_name": "Công văn",
        "place": "Tây Ninh",
        "date": "2026-11-20",
        "signer": {"competence": "KT. GIÁM ĐỐC", "position": "Phó Giám đốc", "full_name": "Nguyễn Văn Ấn"},
        "staff": {"department": "Văn phòng", "staff": "Trần Thị Bích", "email": "vanthu@tayninh.gov.vn"},
    }
    data.update(extra)
    return data


def submit(
    env: Env, who: str, hdr: dict[str, Any], *, files: list[tuple[str, bytes]] | None = None, key: str | None = None
) -> Any:
    files = files if files is not None else [("cong-van-12.pdf", simple_pdf(2))]
    multipart = [("files", (name, data, "application/pdf")) for name, data in files]
    headers = env.as_(who)
    if key:
        headers["Idempotency-Key"] = key
    return env.http.post(
        "/api/v1/edocs", data={"header": json.dumps(hdr, ensure_ascii=False)}, files=multipart, headers=headers
    )


def inbox(env: Env, who: str, **params: Any) -> list[dict[str, Any]]:
    resp = env.http.get("/api/v1/inbox", params=params, headers=env.as_(who))
    assert resp.status_code == 200, resp.text
    items: list[dict[str, Any]] = resp.json()["items"]
    return items


def record(env: Env, who: str, package_id: str) -> dict[str, Any]:
    resp = env.http.get(f"/api/v1/edocs/{package_id}", headers=env.as_(who))
    assert resp.status_code == 200, resp.text
    data: dict[str, Any] = resp.json()
    return data


def status(env: Env, who: str, package_id: str, code: str, **body: Any) -> Any:
    return env.http.post(f"/api/v1/edocs/{package_id}/status", json={"code": code, **body}, headers=env.as_(who))
