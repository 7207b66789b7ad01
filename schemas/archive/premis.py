"""PREMIS 3 (``http://www.loc.gov/premis/v3``) preservation metadata: file objects with fixity, size and format,
events linked to their agents and objects, and the agents (software with its version, the organisation, a person
or client system). ``premis_xml`` writes them in the order the PREMIS 3.0 schema requires.

Event types are the Library of Congress preservation vocabulary's labels (``ingestion``, ``message digest
calculation``, ``format identification``, ``validation``, ``replication``, ``fixity check``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from lxml import etree

from schemas.errors import SchemaError

__all__ = ["PREMIS_NS", "PremisAgent", "PremisEvent", "PremisFile", "premis_xml"]

PREMIS_NS = "http://www.loc.gov/premis/v3"
XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"
_P = f"{{{PREMIS_NS}}}"
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True, slots=True)
class PremisAgent:
    identifier: str  # e.g. "edoc-gateway-0.1.0", an agency code, a client system id
    name: str
    type: str  # "software", "organization", "person"
    version: str | None = None
    identifier_type: str = "local"


@dataclass(frozen=True, slots=True)
class PremisFile:
    identifier: str  # the file's path in the package, e.g. "representations/rep1/data/cv.pdf"
    sha256: str
    size: int
    format_name: str  # a MIME type or a format name
    pronom_id: str | None = None  # e.g. "fmt/276" when a format identifier found one
    original_name: str | None = None
    identifier_type: str = "local"


@dataclass(frozen=True, slots=True)
class PremisEvent:
    identifier: str  # a UUID
    type: str
    at: datetime  # timezone-aware
    outcome: str  # "success", "failure", "warning"
    agents: tuple[tuple[str, str], ...]  # (agent identifier, role), e.g. ("edoc-gateway-0.1.0", "executing program")
    objects: tuple[str, ...] = ()  # file identifiers
    detail: str | None = None
    outcome_note: str | None = None


def _sub(parent: etree._Element, name: str, text: str | None = None) -> etree._Element:
    element = etree.SubElement(parent, _P + name)
    if text is not None:
        element.text = text
    return element


def _identifier(parent: etree._Element, kind: str, type_: str, value: str) -> None:
    holder = _sub(parent, f"{kind}Identifier")
    _sub(holder, f"{kind}IdentifierType", type_)
    _sub(holder, f"{kind}IdentifierValue", value)


def _file(root: etree._Element, item: PremisFile, events: Sequence[PremisEvent]) -> None:
    if not _SHA256.match(item.sha256) or item.size < 0:
        raise SchemaError(f"PREMIS object {item.identifier!r}: bad SHA-256 or size", code="invalid_archive_value")
    obj = _sub(root, "object")
    obj.set(f"{{{XSI_NS}}}type", "premis:file")
    _identifier(obj, "object", item.identifier_type, item.identifier)
    chars = _sub(obj, "objectCharacteristics")
    _sub(chars, "compositionLevel", "0")
    fixity = _sub(chars, "fixity")
    _sub(fixity, "messageDigestAlgorithm", "SHA-256")
    _sub(fixity, "messageDigest", item.sha256)
    _sub(chars, "size", str(item.size))
    fmt = _sub(chars, "format")
    _sub(_sub(fmt, "formatDesignation"), "formatName", item.format_name)
    if item.pronom_id:
        registry = _sub(fmt, "formatRegistry")
        _sub(registry, "formatRegistryName", "PRONOM")
        _sub(registry, "formatRegistryKey", item.pronom_id)
    if item.original_name:
        _sub(obj, "originalName", item.original_name)
    for event in events:
        if item.identifier in event.objects:
            _identifier(obj, "linkingEvent", "UUID", event.identifier)


def _event(root: etree._Element, event: PremisEvent) -> None:
    if event.at.tzinfo is None:
        raise SchemaError(f"PREMIS event {event.identifier}: time without a zone", code="invalid_archive_value")
    element = _sub(root, "event")
    _identifier(element, "event", "UUID", event.identifier)
    _sub(element, "eventType", event.type)
    _sub(element, "eventDateTime", event.at.isoformat())
    if event.detail:
        _sub(_sub(element, "eventDetailInformation"), "eventDetail", event.detail)
    outcome = _sub(element, "eventOutcomeInformation")
    _sub(outcome, "eventOutcome", event.outcome)
    if event.outcome_note:
        _sub(_sub(outcome, "eventOutcomeDetail"), "eventOutcomeDetailNote", event.outcome_note)
    for agent, role in event.agents:
        link = _sub(element, "linkingAgentIdentifier")
        _sub(link, "linkingAgentIdentifierType", "local")
        _sub(link, "linkingAgentIdentifierValue", agent)
        _sub(link, "linkingAgentRole", role)
    for obj in event.objects:
        link = _sub(element, "linkingObjectIdentifier")
        _sub(link, "linkingObjectIdentifierType", "local")
        _sub(link, "linkingObjectIdentifierValue", obj)


def _agent(root: etree._Element, agent: PremisAgent) -> None:
    element = _sub(root, "agent")
    _identifier(element, "agent", agent.identifier_type, agent.identifier)
    _sub(element, "agentName", agent.name)
    _sub(element, "agentType", agent.type)
    if agent.version:
        _sub(element, "agentVersion", agent.version)


def premis_xml(files: Sequence[PremisFile], events: Sequence[PremisEvent], agents: Sequence[PremisAgent]) -> bytes:
    """``PREMIS.xml``; every event's agents and objects must be among ``agents`` and ``files``."""
    if not files:
        raise SchemaError("a PREMIS document needs at least one object", code="invalid_archive_value")
    known_agents = {a.identifier for a in agents}
    known_files = {f.identifier for f in files}
    for event in events:
        missing = [a for a, _role in event.agents if a not in known_agents]
        missing += [o for o in event.objects if o not in known_files]
        if missing:
            raise SchemaError(f"PREMIS event {event.identifier} links to unknown {missing[0]!r}",
                              code="invalid_archive_value")
    root = etree.Element(_P + "premis", nsmap={"premis": PREMIS_NS, "xsi": XSI_NS})
    root.set("version", "3.0")
    for item in files:
        _file(root, item, events)
    for event in events:
        _event(root, event)
    for agent in agents:
        _agent(root, agent)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)
