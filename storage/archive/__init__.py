"""The archive's rows (migration 0010_archive): AIPs, their copies, fixity checks. SQL only; what goes into an AIP is
built in service/archive/ from the pure builders of schemas/archive/."""

from storage.archive.repository import (
    AipRow,
    Candidate,
    CopyRow,
    DocumentRecord,
    add_files,
    aip_ids,
    aip_of_package,
    aips_of_agency_year,
    complete_aip,
    copies_due,
    copies_of,
    document_record,
    find_candidates,
    fixity_checks,
    get_aip,
    queue_aip,
    record_fixity,
)

__all__ = [
    "AipRow",
    "Candidate",
    "CopyRow",
    "DocumentRecord",
    "add_files",
    "aip_ids",
    "aip_of_package",
    "aips_of_agency_year",
    "complete_aip",
    "copies_due",
    "copies_of",
    "document_record",
    "find_candidates",
    "fixity_checks",
    "get_aip",
    "queue_aip",
    "record_fixity",
]
