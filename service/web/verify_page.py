"""The clerks' verification page (``GET /verify``): choose or drop a signed PDF, read the report.

Self-contained: inline CSS, one same-origin script (``/verify/app.js``), no external asset, so it works on an
agency network without Internet access. Without JavaScript the page is a plain form posting the file to
``POST /verify``, which answers with the rendered report; the script only adds drag-and-drop and a busy state.
Vietnamese first (STANDARDS.md §7), English with ``?lang=en``. Everything that comes from a request (file name,
error text) is escaped with :func:`html.escape`; the report itself is rendered (and escaped) by
:func:`signing.pdf.render.render_html`.

The result page offers the PDF receipt of that verification ("Tải biên nhận PDF"): a small form carrying the
sealed report, posted to ``POST /verify/receipt`` (service/web/receipt.py), so the file is never kept.

Authentication: none; see service/api/signatures.py for why a login-free page is acceptable here.
"""

from __future__ import annotations

import html

__all__ = ["SCRIPT", "SECURITY_HEADERS", "error_page", "form_page", "result_page"]

SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'unsafe-inline'; img-src 'self' data:; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}

_T = {
    "vi": {
        "title": "Kiểm tra chữ ký số trên văn bản điện tử",
        "intro": "Chọn hoặc kéo thả một tệp PDF đã ký số để xem kết quả kiểm tra chữ ký. "
        "Tệp chỉ được dùng để kiểm tra và không được lưu lại trên cổng.",
        "label": "Tệp PDF cần kiểm tra",
        "hint": "Chỉ nhận tệp PDF, tối đa {mb} MB.",
        "drop": "Kéo thả tệp PDF vào đây, hoặc bấm để chọn tệp",
        "submit": "Kiểm tra chữ ký",
        "busy": "Đang kiểm tra…",
        "again": "Kiểm tra tệp khác",
        "checked": "Tệp đã kiểm tra",
        "other_lang": "English",
        "error": "Không kiểm tra được tệp",
        "receipt": "Tải biên nhận PDF",
        "receipt_hint": "Biên nhận ghi lại kết quả kiểm tra này để lưu vào hồ sơ; tệp đã kiểm tra không được lưu.",
    },
    "en": {
        "title": "Verify the digital signatures of an electronic document",
        "intro": "Choose or drop a signed PDF file to see the result of the signature verification. "
        "The file is only used for the check and is not kept by the gateway.",
        "label": "PDF file to verify",
        "hint": "PDF files only, at most {mb} MB.",
        "drop": "Drop a PDF file here, or click to choose one",
        "submit": "Verify signatures",
        "busy": "Verifying…",
        "again": "Verify another file",
        "checked": "File checked",
        "other_lang": "Tiếng Việt",
        "error": "The file could not be verified",
        "receipt": "Download the PDF receipt",
        "receipt_hint": "The receipt records this result for your files; the verified file itself is not kept.",
    },
}

_CSS = """
.vp{font-family:"Times New Roman",Times,"Liberation Serif",serif;max-width:52rem;margin:1.5rem auto;
padding:0 1rem;color:#1a1a1a}
.vp h1{font-size:1.5rem}.vp form{margin:1rem 0;padding:1rem;border:1px solid #c8c8c8;border-radius:6px}
.vp label{display:block;font-weight:bold;margin-bottom:.4rem}
.vp input[type=file]{font-size:1rem;margin:.3rem 0}
.vp button{font-size:1rem;padding:.45rem 1.1rem;margin-top:.6rem;background:#0b4f9c;color:#fff;border:0;
border-radius:4px;cursor:pointer}.vp button:disabled{background:#777}
.vp button:focus-visible,.vp input:focus-visible,.vp .drop:focus-visible,.vp a:focus-visible{outline:3px solid #f0a500;
outline-offset:2px}
.vp .drop{margin:.6rem 0;padding:1.6rem;border:2px dashed #0b4f9c;border-radius:6px;text-align:center;cursor:pointer}
.vp .drop.over{background:#e8f0fb}.vp .hint{color:#555;font-size:.9rem}
.vp .error{color:#b3261e;border-left:4px solid #b3261e;padding-left:.6rem}
.vp nav{display:flex;justify-content:space-between}
.vp form.receipt{border:0;padding:0;margin:.4rem 0}.vp form.receipt button{margin-top:0}
"""
# no favicon request (it would be a 404), the page's style and its one same-origin script
_HEAD = f'<link rel="icon" href="data:,"><style>{_CSS}</style><script src="/verify/app.js" defer></script>'


def _t(lang: str) -> dict[str, str]:
    return _T["en" if lang == "en" else "vi"]


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def _form(lang: str, max_mb: int) -> str:
    t = _t(lang)
    return (
        f'<form id="verify-form" method="post" action="/verify?lang={lang}" enctype="multipart/form-data" '
        f'data-busy="{_e(t["busy"])}">'
        f'<label for="file">{_e(t["label"])}</label>'
        f'<input id="file" name="file" type="file" accept="application/pdf,.pdf" required aria-describedby="hint">'
        f'<p id="hint" class="hint">{_e(t["hint"].format(mb=max_mb))}</p>'
        f'<div id="dropzone" class="drop" role="button" tabindex="0" hidden>{_e(t["drop"])}</div>'
        f'<button id="submit" type="submit">{_e(t["submit"])}</button>'
        f'<p id="status" class="hint" role="status" aria-live="polite"></p>'
        "</form>"
    )


def _nav(lang: str) -> str:
    t = _t(lang)
    other = "vi" if lang == "en" else "en"
    return (
        f'<nav><a href="/verify?lang={lang}">{_e(t["again"])}</a>'
        f'<a href="/verify?lang={other}" lang="{other}">{_e(t["other_lang"])}</a></nav>'
    )


def _page(lang: str, title: str, body: str) -> str:
    lang = "en" if lang == "en" else "vi"
    return (
        f'<!DOCTYPE html><html lang="{lang}"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{_e(title)}</title>{_HEAD}</head>"
        f'<body><main class="vp">{body}</main></body></html>'
    )


def form_page(lang: str, *, max_mb: int) -> str:
    t = _t(lang)
    body = f"{_nav(lang)}<h1>{_e(t['title'])}</h1><p>{_e(t['intro'])}</p>{_form(lang, max_mb)}"
    return _page(lang, t["title"], body)


def error_page(lang: str, message: str, *, max_mb: int) -> str:
    t = _t(lang)
    body = (
        f"{_nav(lang)}<h1>{_e(t['title'])}</h1>"
        f'<p class="error" role="alert"><strong>{_e(t["error"])}:</strong> {_e(message)}</p>{_form(lang, max_mb)}'
    )
    return _page(lang, t["title"], body)


def _receipt_form(lang: str, receipt: tuple[str, str, str]) -> str:
    """A button posting the sealed report back for its PDF receipt (service/web/receipt.py)."""
    t = _t(lang)
    report_json, name, tag = receipt
    return (
        f'<form id="receipt-form" class="receipt" method="post" action="/verify/receipt?lang={lang}">'
        f'<input type="hidden" name="report" value="{_e(report_json)}">'
        f'<input type="hidden" name="name" value="{_e(name)}">'
        f'<input type="hidden" name="tag" value="{_e(tag)}">'
        f'<button id="receipt" type="submit" aria-describedby="receipt-hint">{_e(t["receipt"])}</button> '
        f'<span id="receipt-hint" class="hint">{_e(t["receipt_hint"])}</span></form>'
    )


def result_page(
    lang: str, report_html: str, filename: str, *, max_mb: int, receipt: tuple[str, str, str] | None = None
) -> str:
    """The rendered report (a full document from render_html) with the page's navigation and form added, and the
    receipt button when ``receipt`` = (report JSON, file name, seal) is given."""
    t = _t(lang)
    top = (
        f'<div class="vp">{_nav(lang)}<p>{_e(t["checked"])}: <strong>{_e(filename)}</strong></p>'
        f"{_receipt_form(lang, receipt) if receipt else ''}</div>"
    )
    bottom = f'<div class="vp">{_form(lang, max_mb)}</div>'
    head = f"{_HEAD}</head>"
    if "<body>" not in report_html or "</body>" not in report_html or "</head>" not in report_html:
        return _page(lang, t["title"], top + report_html + bottom)  # defensive: renderer changed its shape
    out = report_html.replace("</head>", head, 1).replace("<body>", "<body>" + top, 1)
    end = out.rindex("</body>")
    return out[:end] + bottom + out[end:]


SCRIPT = """\
// Progressive enhancement of /verify: drag-and-drop onto the drop zone, and a busy state while verifying.
// The form works without this script (it is a plain multipart POST to the same origin).
(function () {
  "use strict";
  var form = document.getElementById("verify-form");
  var input = document.getElementById("file");
  var zone = document.getElementById("dropzone");
  var button = document.getElementById("submit");
  var status = document.getElementById("status");
  if (!form || !input) { return; }
  form.addEventListener("submit", function () {
    if (button) { button.disabled = true; }
    if (status) { status.textContent = form.getAttribute("data-busy") || ""; }
  });
  if (!zone || typeof window.DataTransfer === "undefined") { return; }
  zone.hidden = false;
  function stop(event) { event.preventDefault(); event.stopPropagation(); }
  ["dragenter", "dragover"].forEach(function (type) {
    zone.addEventListener(type, function (event) { stop(event); zone.classList.add("over"); });
  });
  ["dragleave", "drop"].forEach(function (type) {
    zone.addEventListener(type, function (event) { stop(event); zone.classList.remove("over"); });
  });
  zone.addEventListener("drop", function (event) {
    var files = event.dataTransfer && event.dataTransfer.files;
    if (!files || !files.length) { return; }
    input.files = files;
    if (form.requestSubmit) { form.requestSubmit(); } else { form.submit(); }
  });
  zone.addEventListener("click", function () { input.click(); });
  zone.addEventListener("keydown", function (event) {
    if (event.key === "Enter" || event.key === " ") { stop(event); input.click(); }
  });
})();
"""
