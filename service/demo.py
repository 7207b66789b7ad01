"""Demo mode (``edoc serve --demo``): a few real-looking agencies and one client system per role.

The demo API keys are kept in plain text in ``<data_dir>/demo-keys.json`` so that they can be printed at every
start; that file is TEST ONLY, and production settings refuse demo mode altogether.
"""

from __future__ import annotations

import json
import os
from typing import Any

from service.context import Gateway
from service.exchange.directory import AgencyInput, create_client, import_agencies

__all__ = ["DEMO_AGENCIES", "ensure_demo"]

DEMO_AGENCIES = (
    AgencyInput(code="000.00.00.H53", name="Ủy ban nhân dân tỉnh Tây Ninh"),
    AgencyInput(code="000.00.11.H53", name="Sở Thông tin và Truyền thông tỉnh Tây Ninh", parent="000.00.00.H53"),
    AgencyInput(code="000.00.12.H53", name="Sở Nội vụ tỉnh Tây Ninh", parent="000.00.00.H53"),
    AgencyInput(code="000.00.01.A53", name="Văn phòng Tỉnh ủy Tây Ninh"),
    AgencyInput(code="000.00.00.G22", name="Văn phòng Chính phủ"),
)
_CLIENTS = (
    ("demo-dms-ubnd", "dms", "000.00.00.H53"),
    ("demo-dms-sotttt", "dms", "000.00.11.H53"),
    ("demo-dms-sonv", "dms", "000.00.12.H53"),
    ("demo-clerk", "clerk", "000.00.11.H53"),
    ("demo-auditor", "auditor", "000.00.00.H53"),
    ("demo-admin", "admin", "000.00.00.H53"),
)


def ensure_demo(gw: Gateway) -> dict[str, Any]:
    """Create the demo directory and clients once; return them with their keys."""
    path = gw.settings.data_dir / "demo-keys.json"
    if path.exists():
        return dict(json.loads(path.read_text(encoding="utf-8")))
    names = {a.code: a.name for a in DEMO_AGENCIES}
    clients = []
    with gw.writes() as session, session.begin():
        import_agencies(session, DEMO_AGENCIES)
        for name, role, agency in _CLIENTS:
            _client, key = create_client(session, name=name, role=role, agencies=[agency])
            clients.append({"name": name, "role": role, "agency": agency, "agency_name": names[agency], "api_key": key})
    info = {"warning": "TEST ONLY demo keys; never use in production", "clients": clients}
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    # created 0600 rather than chmod-ed after writing: no moment where the keys are readable by others (issue 17)
    with os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w", encoding="utf-8") as out:
        out.write(json.dumps(info, ensure_ascii=False, indent=2))
    return info
