"""edXML packages (QCVN 102:2016 as carried by the national-axis kit, STANDARDS §2-§3).

Values (frozen dataclasses), the canonical builder (:func:`build_edoc`, :func:`build_status`, streaming
:func:`write_edoc`), the tolerant parser (:func:`parse_package`, streaming :func:`parse_edoc_file`), the
project's XSD (:func:`validate`) and pre-build checks (:func:`check_limits`). lxml and xmlschema stay inside.
"""

from schemas.agency import AgencyCode, InvalidAgencyCode, is_agency_code
from schemas.edxml.codes import EDXML_NS, XMLDSIG_NS, BusinessDocType, StatusCode
from schemas.edxml.document_id import DocumentId
from schemas.edxml.fields import Oddity
from schemas.edxml.limits import ValidationIssue, check_limits
from schemas.edxml.model import (
    Business,
    BusinessDocumentInfo,
    Code,
    DocumentType,
    MessageHeader,
    Organization,
    OtherInfo,
    PromulgationInfo,
    Receiver,
    ReplacementInfo,
    ResponseFor,
    SignerInfo,
    StaffInfo,
    TraceHeader,
)
from schemas.edxml.package import Attachment, EdocPackage, StatusPackage
from schemas.edxml.parser import ODDITY_CODES, ParsedPackage, parse_edoc_file, parse_package
from schemas.edxml.reader import AttachmentSink
from schemas.edxml.sinks import AttachmentFiles
from schemas.edxml.validation import ValidationReport, check_package, validate
from schemas.edxml.writer import build_edoc, build_status, write_edoc
from schemas.errors import (
    ForbiddenXml,
    InvalidDocumentId,
    InvalidPackage,
    MalformedXml,
    PackageCheckFailed,
    SchemaError,
    UnrepresentableValue,
    XmlTooDeep,
    XmlTooLarge,
)
from schemas.xmlsafe import ParseLimits

__all__ = [
    "EDXML_NS",
    "ODDITY_CODES",
    "XMLDSIG_NS",
    "AgencyCode",
    "Attachment",
    "AttachmentFiles",
    "AttachmentSink",
    "Business",
    "BusinessDocType",
    "BusinessDocumentInfo",
    "Code",
    "DocumentId",
    "DocumentType",
    "EdocPackage",
    "ForbiddenXml",
    "InvalidAgencyCode",
    "InvalidDocumentId",
    "InvalidPackage",
    "MalformedXml",
    "MessageHeader",
    "Oddity",
    "Organization",
    "OtherInfo",
    "PackageCheckFailed",
    "ParseLimits",
    "ParsedPackage",
    "PromulgationInfo",
    "Receiver",
    "ReplacementInfo",
    "ResponseFor",
    "SchemaError",
    "SignerInfo",
    "StaffInfo",
    "StatusCode",
    "StatusPackage",
    "TraceHeader",
    "UnrepresentableValue",
    "ValidationIssue",
    "ValidationReport",
    "XmlTooDeep",
    "XmlTooLarge",
    "build_edoc",
    "build_status",
    "check_limits",
    "check_package",
    "is_agency_code",
    "parse_edoc_file",
    "parse_package",
    "validate",
    "write_edoc",
]
