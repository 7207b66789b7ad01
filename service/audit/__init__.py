"""What auditors do (issue 21 items 6-8): search the exchange log, export it, read statistics.

``search.py`` (filters → a checked storage search in the caller's scope, cursors, exports), ``stats.py`` (the
statistics per agency and period), ``exports.py`` (streamed CSV and JSON Lines). The HTTP API
(service/api/events.py) and the auditors' pages (service/web/auditor/) both call these; SQL stays in storage/.
"""
