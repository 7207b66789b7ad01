"""Wire formats of the gateway, framework-free.

Owns the edXML package and status package (QCVN 102:2016, as carried by the national-axis kit), agency
identifiers (mã định danh), DocumentId, the project's own XSDs and hardened XML parsing. Nothing here knows HTTP,
settings or databases; lxml objects never appear in a public signature (STYLE.md 13).
"""
