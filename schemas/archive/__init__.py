"""Archival information packages (AIP) as pure functions: E-ARK CSIP ``METS.xml``, PREMIS 3, BagIt manifests and
the TT 02/2019 descriptive metadata, each built from frozen values into bytes (no I/O, no clock, no settings).

Started for issue 20 (not yet wired: the archive handler that lays a package out and stores it comes later). See
``schemas/archive/README.md``.
"""

from __future__ import annotations

from schemas.archive.bagit import BAGIT_TXT, bag_info, manifest_sha256
from schemas.archive.descriptive import (
    DocumentMetadata,
    TransferDocument,
    TransferMetadata,
    descriptive_xml,
    transfer_xml,
)
from schemas.archive.mets import SIP_PROFILE, CsipPackage, MetadataRef, MetsAgent, MetsFile, SubPackage, mets_xml
from schemas.archive.premis import PremisAgent, PremisEvent, PremisFile, premis_xml

__all__ = [
    "BAGIT_TXT",
    "SIP_PROFILE",
    "CsipPackage",
    "DocumentMetadata",
    "MetadataRef",
    "MetsAgent",
    "MetsFile",
    "PremisAgent",
    "PremisEvent",
    "PremisFile",
    "SubPackage",
    "TransferDocument",
    "TransferMetadata",
    "bag_info",
    "descriptive_xml",
    "manifest_sha256",
    "mets_xml",
    "premis_xml",
    "transfer_xml",
]
