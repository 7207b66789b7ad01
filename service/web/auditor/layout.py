"""Page chrome of the auditors' pages: skip link, header with navigation, language switch and sign-out, and the
responsive style (one column on a phone, the filter form in a grid at 1280 px, wide tables scroll inside their box).
Everything a request brings is escaped with :func:`e`."""

from __future__ import annotations

import html
from urllib.parse import urlencode

from service.web.auditor.i18n import lang_of, words

__all__ = ["SECURITY_HEADERS", "e", "href", "page"]

SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}

CSS = """
*{box-sizing:border-box}body{margin:0;font-family:"Times New Roman",Times,"Liberation Serif",serif;color:#1a1a1a;
background:#fff;font-size:17px;line-height:1.45}
.skip{position:absolute;left:-999px;top:0;background:#f0a500;color:#000;padding:.5rem 1rem;z-index:10}
.skip:focus{left:.5rem}
header{background:#0b4f9c;color:#fff;padding:.5rem 1rem}header a,header button{color:#fff}
header .bar{display:flex;flex-wrap:wrap;gap:.4rem 1.2rem;align-items:center;justify-content:space-between;
max-width:80rem;margin:0 auto}
header .site{font-weight:bold}
header nav ul{list-style:none;margin:0;padding:0;display:flex;flex-wrap:wrap;gap:.4rem 1rem}
header form{display:inline;margin:0}header button{background:none;border:1px solid #fff;border-radius:4px;
padding:.2rem .7rem;font:inherit;cursor:pointer}
main{max-width:80rem;margin:0 auto;padding:1rem}
h1{font-size:1.5rem;margin:.4rem 0 1rem}h2{font-size:1.2rem}
a{color:#0b4f9c}a[aria-current=page]{font-weight:bold;text-decoration:underline}
:focus-visible{outline:3px solid #f0a500;outline-offset:2px}
fieldset{border:1px solid #c8c8c8;border-radius:6px;padding:.8rem;margin:0 0 1rem}
.grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(15rem,1fr));gap:.6rem 1rem}
label{display:block;font-weight:bold;margin-bottom:.2rem}
input,select{font:inherit;width:100%;padding:.35rem;border:1px solid #888;border-radius:4px}
.actions{display:flex;flex-wrap:wrap;gap:.6rem;margin-top:.8rem;align-items:center}
.btn,button.btn{display:inline-block;font:inherit;padding:.45rem 1.1rem;background:#0b4f9c;color:#fff;border:0;
border-radius:4px;cursor:pointer;text-decoration:none}.btn.secondary{background:#fff;color:#0b4f9c;
border:1px solid #0b4f9c}
.hint{color:#555;font-size:.9rem}.error{color:#b3261e;border-left:4px solid #b3261e;padding-left:.6rem}
.ok{color:#1b5e20;border-left:4px solid #1b5e20;padding-left:.6rem}
.scroll{overflow-x:auto;border:1px solid #ddd;border-radius:6px}
table{border-collapse:collapse;width:100%;font-size:.95rem}th,td{padding:.35rem .5rem;border-bottom:1px solid #e5e5e5;
text-align:left;vertical-align:top}th{background:#f3f6fa}td.num,th.num{text-align:right}
.chart{width:100%;height:auto;max-width:760px;display:block;margin:.5rem 0 1rem}
.narrow{max-width:32rem}
@media (max-width:40rem){body{font-size:16px}main{padding:.6rem}h1{font-size:1.25rem}
table{font-size:.88rem}header .bar{justify-content:flex-start}
table.cards thead{position:absolute;left:-9999px}table.cards tr{display:block;border-bottom:2px solid #c8c8c8;
padding:.3rem 0}table.cards td{display:grid;grid-template-columns:7.5rem 1fr;gap:.5rem;border:0;padding:.15rem .5rem;
overflow-wrap:anywhere}table.cards td::before{content:attr(data-label);font-weight:bold}}
"""


def e(value: object) -> str:
    return "" if value is None else html.escape(str(value), quote=True)


def href(path: str, lang: str, **params: object) -> str:
    """A same-site link keeping the language (``lang=en`` only when English)."""
    query = {k: v for k, v in params.items() if v not in (None, "")}
    if lang_of(lang) == "en":
        query["lang"] = "en"
    return path + ("?" + urlencode(query) if query else "")


def _header(lang: str, current: str, user: str | None, csrf: str | None, switch: str) -> str:
    t = words(lang)
    other = "vi" if lang_of(lang) == "en" else "en"
    links = ""
    if user:
        items = (("/audit/search", t["nav_search"]), ("/audit/stats", t["nav_stats"]),
                 ("/audit/evidence", t["nav_evidence"]))
        links = "".join(
            f'<li><a href="{e(href(path, lang))}"{" aria-current=page" if current == path else ""}>{e(label)}</a></li>'
            for path, label in items
        )
    logout = ""
    if user and csrf:
        logout = (
            f'<span>{e(t["signed_in_as"])} <strong>{e(user)}</strong></span>'
            f'<form method="post" action="{e(href("/audit/logout", lang))}">'
            f'<input type="hidden" name="csrf" value="{e(csrf)}">'
            f'<button type="submit" id="logout">{e(t["logout"])}</button></form>'
        )
    return (
        f'<header><div class="bar"><span class="site">{e(t["site"])}</span>'
        f'<nav aria-label="{e(t["site"])}"><ul>{links}'
        f'<li><a id="lang-switch" href="{e(switch)}" lang="{other}" hreflang="{other}">{e(t["other_lang"])}</a></li>'
        f"</ul></nav>{logout}</div></header>"
    )


def page(lang: str, title: str, body: str, *, current: str = "", user: str | None = None, csrf: str | None = None,
         switch: str = "") -> str:
    """A whole page; ``switch`` is this page's address in the other language."""
    lang = lang_of(lang)
    t = words(lang)
    return (
        f'<!DOCTYPE html><html lang="{lang}"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<title>{e(title)} — {e(t["site"])}</title><link rel="icon" href="data:,"><style>{CSS}</style></head>'
        f'<body><a class="skip" href="#main">{e(t["skip"])}</a>{_header(lang, current, user, csrf, switch)}'
        f'<main id="main" tabindex="-1"><h1>{e(title)}</h1>{body}</main></body></html>'
    )
