"""A VXP client written for the tests from STANDARDS.md §8 alone (it does not use service.vxp), and edXML
packages written from §2/§3 alone (string templates, not schemas.edxml).

§8 as read here: every call is ``POST {endpoint}/{operation}`` (counts: GET); parameters are ``XroadVnpt-<name>``
headers; ``sign-header-key`` lists the signed names joined by ``;``; ``sign-header`` is the JSON object of those
headers; ``hash-header`` is the lowercase hex HMAC-SHA256 of that exact JSON under the secret's UTF-8 bytes;
``timestamp`` is ``ddMMyyyy'T'HHmmss+SSSS`` (Hà Nội time, milliseconds after ``+``); ``hash-file`` is the SHA-256
of the body with each byte's leading zero dropped. Answers are JSON envelopes.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import httpx

HANOI = timezone(timedelta(hours=7))
NS = "http://www.mic.gov.vn/TBT/QCVN_102_2016"


def sdk_hash_file(body: bytes) -> str:
    return "".join(f"{b:x}" for b in hashlib.sha256(body).digest())


class SdkClient:
    """One client system (systemid + secret) of a VXP endpoint, over any httpx client (TestClient included)."""

    def __init__(self, http: httpx.Client, systemid: str, secret: str, *, endpoint: str = "/vxp") -> None:
        self.http, self.systemid, self.secret, self.endpoint = http, systemid, secret, endpoint.rstrip("/")
        self._last = datetime(2000, 1, 1, tzinfo=UTC)
        self.skew = timedelta(0)

    def timestamp(self) -> str:
        now = datetime.now(UTC) + self.skew
        now = max(now, self._last + timedelta(milliseconds=1))  # two calls never share a signature
        self._last = now
        local = now.astimezone(HANOI)
        return local.strftime("%d%m%YT%H%M%S") + f"+{local.microsecond // 1000:04d}"

    def headers(self, params: dict[str, str], content_type: str) -> dict[str, str]:
        values = {"systemid": self.systemid, "timestamp": self.timestamp(), "Content-Type": content_type, **params}
        sign_header = json.dumps({f"XroadVnpt-{k}": v for k, v in values.items()}, ensure_ascii=False,
                                 separators=(",", ":"))
        digest = hmac.new(self.secret.encode("utf-8"), sign_header.encode("utf-8"), hashlib.sha256).hexdigest()
        headers = {f"XroadVnpt-{k}": v for k, v in values.items()}
        headers |= {"Content-Type": content_type, "XroadVnpt-sign-header-key": ";".join(values),
                    "XroadVnpt-sign-header": sign_header, "XroadVnpt-hash-header": digest,
                    "XroadVnpt-version": "3.0.201608", "User-Agent": "JAVASDKAgent/1.0.0 XRoad/VPCP"}
        return headers

    def send_raw(self, operation: str, headers: dict[str, str], body: bytes = b"", method: str = "POST") -> dict:
        wire = {k: v.encode("utf-8") for k, v in headers.items()}
        resp = self.http.request(method, f"{self.endpoint}/{operation}", headers=wire, content=body or None)
        data: dict[str, Any] = resp.json()
        data["_http"] = resp.status_code
        return data

    def call(self, operation: str, params: dict[str, str] | None = None, body: bytes = b"", *,
             method: str = "POST", content_type: str = "application/json") -> dict:
        return self.send_raw(operation, self.headers(params or {}, content_type), body, method)

    @staticmethod
    def ok(answer: dict) -> dict:
        assert answer["status"] == "OK" and answer["ErrorCode"] == "0", answer
        return answer

    # --- the operations ---

    def send_edoc(self, edxml: bytes, frm: str, to: list[str] | None = None, messagetype: str = "edoc") -> dict:
        params = {"from": frm, "to": json.dumps(to or [], separators=(",", ":")), "servicetype": "eDoc",
                  "messagetype": messagetype, "hash-file": sdk_hash_file(edxml)}
        return self.call("sendEdoc", params, edxml, content_type="application/octet-stream")

    def received(self, messagetype: str = "edoc") -> list[dict]:
        return self.ok(self.call("getReceivedEdocList", {"servicetype": "eDoc", "messagetype": messagetype}))["data"]

    def get_edoc(self, doc_id: str) -> bytes:
        return base64.b64decode(self.ok(self.call("getEdoc", {"docId": doc_id, "filePath": "D:/edoc"}))["data"])

    def update_status(self, doc_id: str, status: str) -> dict:
        return self.call("updateStatus", {"docId": doc_id, "status": status})

    def sent(self, doc_id: str | None = None, messagetype: str = "edoc") -> list[dict]:
        params = {"servicetype": "eDoc", "messagetype": messagetype, **({"docId": doc_id} if doc_id else {})}
        return self.ok(self.call("getSentEdocList", params))["data"]

    def agencies(self) -> list[dict]:
        return self.ok(self.call("getAgenciesList"))["data"]

    def count(self, kind: str) -> int:
        op = "countReceiveEdoc" if kind == "edoc" else "countReceiveStatus"
        return int(self.ok(self.call(op, method="GET"))["count"])


def _organ(tag: str, code: str, name: str) -> str:
    return (f"<edXML:{tag}><edXML:OrganId>{code}</edXML:OrganId><edXML:OrganizationInCharge>{name}"
            f"</edXML:OrganizationInCharge><edXML:OrganName>{name}</edXML:OrganName></edXML:{tag}>")


def edoc_xml(frm: str, to: list[str], number: str, *, notation: str = "SDK-VP", date: str = "2026/11/20") -> bytes:
    """A document package (§2) with one small attachment, unsigned."""
    document_id = f"{frm},{date},{number}/{notation}"
    attachment = base64.b64encode(f"Nội dung văn bản số {number}".encode()).decode()
    xml = f"""<?xml version="1.0" encoding="UTF-8"?>
<edXML:edXML xmlns:edXML="{NS}"><edXML:edXMLEnvelope><edXML:edXMLHeader><edXML:MessageHeader>
{_organ("From", frm, "Cơ quan gửi " + frm)}
{"".join(_organ("To", code, "Cơ quan nhận " + code) for code in to)}
<edXML:DocumentId>{document_id}</edXML:DocumentId>
<edXML:Code><edXML:CodeNumber>{number}</edXML:CodeNumber><edXML:CodeNotation>{notation}</edXML:CodeNotation></edXML:Code>
<edXML:PromulgationInfo><edXML:Place>Tây Ninh</edXML:Place><edXML:PromulgationDate>{date}</edXML:PromulgationDate>
</edXML:PromulgationInfo>
<edXML:DocumentType><edXML:Type>1</edXML:Type><edXML:TypeName>Công văn</edXML:TypeName></edXML:DocumentType>
<edXML:Subject>V/v thử nghiệm liên thông qua giao thức trục (số {number})</edXML:Subject>
<edXML:SignerInfo><edXML:Competence>KT. GIÁM ĐỐC</edXML:Competence><edXML:Position>Phó Giám đốc</edXML:Position>
<edXML:FullName>Lê Văn Bình</edXML:FullName></edXML:SignerInfo>
</edXML:MessageHeader>
<edXML:TraceHeaderList><edXML:Bussiness><edXML:BussinessDocType>0</edXML:BussinessDocType>
<edXML:BussinessDocReason>Văn bản mới</edXML:BussinessDocReason><edXML:Paper>0</edXML:Paper></edXML:Bussiness>
</edXML:TraceHeaderList></edXML:edXMLHeader>
<edXML:edXMLBody><edXML:edXMLManifest version="1.0"><edXML:Reference><edXML:ContentId>cid:1</edXML:ContentId>
<edXML:ContentType>text/plain</edXML:ContentType><edXML:AttachmentName>vb-{number}.txt</edXML:AttachmentName>
</edXML:Reference></edXML:edXMLManifest></edXML:edXMLBody></edXML:edXMLEnvelope>
<edXML:AttachmentEncoded><edXML:Attachment><edXML:ContentId>cid:1</edXML:ContentId>
<edXML:AttachmentName>vb-{number}.txt</edXML:AttachmentName><edXML:ContentType>text/plain</edXML:ContentType>
<edXML:ContentTransferEncoded>{attachment}</edXML:ContentTransferEncoded></edXML:Attachment>
</edXML:AttachmentEncoded></edXML:edXML>"""
    return xml.encode("utf-8")


def status_xml(frm: str, document_id: str, code: str, *, description: str = "") -> bytes:
    """A status package (§3) about ``document_id`` (``{OrganId},{yyyy/MM/dd},{số}/{ký hiệu}``)."""
    organ, date, number = document_id.split(",", 2)
    stamp = datetime.now(HANOI).strftime("%Y/%m/%d %H:%M:%S")
    xml = f"""<?xml version="1.0" encoding="UTF-8"?>
<edXML:edXML xmlns:edXML="{NS}"><edXML:edXMLEnvelope><edXML:edXMLHeader><edXML:MessageHeader>
{_organ("From", frm, "Cơ quan nhận " + frm)}
<edXML:ResponseFor><edXML:OrganId>{organ}</edXML:OrganId><edXML:Code>{number}</edXML:Code>
<edXML:PromulgationDate>{date}</edXML:PromulgationDate><edXML:DocumentId>{document_id}</edXML:DocumentId>
</edXML:ResponseFor>
<edXML:StaffInfo><edXML:Department>Văn thư</edXML:Department><edXML:Staff>Phạm Thu Hà</edXML:Staff></edXML:StaffInfo>
<edXML:StatusCode>{code}</edXML:StatusCode><edXML:Description>{description or "Trạng thái " + code}</edXML:Description>
<edXML:Timestamp>{stamp}</edXML:Timestamp>
</edXML:MessageHeader></edXML:edXMLHeader></edXML:edXMLEnvelope></edXML:edXML>"""
    return xml.encode("utf-8")
