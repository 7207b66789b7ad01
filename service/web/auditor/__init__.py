"""The auditors' pages (issue 21 item 8): sign-in with an auditor API key, search of the exchange log with exports,
a document's timeline, statistics with charts, and evidence-bundle verification.

Server-rendered HTML, Vietnamese first (English with the language switch), no script and no external asset: the
style is inline and the charts are SVG drawn here (charts.py), so the pages work on an agency network without
Internet access. Modules: ``session.py`` (the sealed session cookie, CSRF), ``i18n.py`` (the words), ``layout.py``
(page chrome, CSS, escaping), ``charts.py`` (SVG bar and line charts), ``views.py`` (the page bodies), ``evidence.py``
(what the transparency log provides to the pages: each event's proof status, and the evidence-bundle check).
Routes: service/api/audit_pages.py.
"""
