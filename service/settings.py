"""Typed settings, read from ``EDOC_*`` environment variables (STYLE.md 7–8). Only :mod:`service` reads them.

Production refuses to start with demo keys, the file/SQLite backends or a missing secret key, so that a laptop
configuration cannot end up serving a province by accident.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from service.bus import check_url

__all__ = ["ConfigError", "RemoteSignerSetting", "RouteSetting", "Settings", "SigningKeySetting", "UplinkSettings"]

DEMO_SECRET = "demo-not-secret-change-me"  # noqa: S105 - the marker production refuses


class ConfigError(Exception):
    """A setting is missing, malformed or unsafe for the chosen environment."""


class UplinkSettings(BaseModel):
    """One VXP uplink: another node or the national axis, reached with the same protocol (STANDARDS.md §8).

    ``systemid``/``secret`` are this node's credentials *at the remote*. Environment: ``EDOC_UPLINKS`` as JSON,
    e.g. ``{"axis": {"endpoint": "https://axis.example/vxp", "systemid": "lgsp.h53", "secret": "…"}}``.
    """

    model_config = ConfigDict(extra="forbid")

    endpoint: str = Field(description="base URL of the remote's VXP operations, e.g. http://127.0.0.1:8081/vxp")
    systemid: str
    secret: SecretStr
    poll_seconds: float = Field(5.0, gt=0, description="how often to poll the remote for packages and statuses")
    timeout_seconds: float = Field(30.0, gt=0)


class RouteSetting(BaseModel):
    """A routing rule: agency-code pattern (``*.H53``, ``000.00.00.G22``, ``*``) → ``local`` or an uplink name."""

    model_config = ConfigDict(extra="forbid")

    pattern: str
    target: str


class SigningKeySetting(BaseModel):
    """A key the API may sign with (service/signatures.py); HTTP callers name it, never give a path.

    ``spec`` is ``p12:/path`` or ``pkcs11:module=…;token=…;key=…``; ``secret_env`` names the environment variable
    holding the PKCS#12 password or token PIN; ``agencies`` limits it to callers acting for one of them.
    """

    model_config = ConfigDict(extra="forbid")

    spec: str
    secret_env: str | None = None
    agencies: tuple[str, ...] = ()
    level: Literal["B-B", "B-T", "B-LT", "B-LTA"] = "B-T"
    tsa_url: str | None = None


class RemoteSignerSetting(BaseModel):
    """A remote-signing service officials confirm signatures with (issue 23; service/remote_signing.py).

    ``url`` names the provider and its endpoint (``vnpt-smartca+https://gwsca.vnpt.vn/sca/sp769``,
    ``viettel-mysign+https://remotesigning.viettel.vn``, ``csc+https://…``); ``options`` are the adapter's
    non-secret arguments (``sp_id``, ``client_id``, ``profile_id``); ``secret_env`` maps a secret argument
    (``sp_password``, ``client_secret``) to the environment variable holding it, ``secret_files`` to a file
    holding it (Docker/Kubernetes secrets). Secrets never appear in the settings JSON itself.
    """

    model_config = ConfigDict(extra="forbid")

    url: str = Field(max_length=500)
    options: dict[str, str] = Field(default_factory=dict)
    secret_env: dict[str, str] = Field(default_factory=dict)
    secret_files: dict[str, Path] = Field(default_factory=dict)
    agencies: tuple[str, ...] = ()
    level: Literal["B-B", "B-T", "B-LT", "B-LTA"] = "B-T"
    tsa_url: str | None = None
    wait_seconds: float = Field(300.0, gt=0, le=86_400, description="how long an official may take to confirm")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="EDOC_", extra="forbid", env_file=None)

    environment: Literal["development", "production"] = "development"
    data_dir: Path = Path("var")
    database_url: str = ""
    storage_url: str = ""
    bus_url: str = "db://"
    archive_urls: Annotated[tuple[str, ...], NoDecode] = Field(
        (),
        description="object stores that keep the archive copies (TT 02/2019: at least two on independent media), "
        "a JSON array or URLs separated by commas or spaces; production requires two on different endpoints or "
        "buckets, each able to enforce a retention (s3:// with Object Lock), and refuses file://",
    )
    archive_after_days: float = Field(
        30, gt=0, description="days after which a document whose exchange is not complete is archived anyway "
        "(its AIP marked incomplete)",
    )
    archive_sweep_seconds: float = Field(
        60, ge=0, description="how often the worker looks for completed exchanges to archive (0: never)"
    )
    retention_table: Path | None = Field(
        None, description="JSON file of retention rules by document type and issuing agency (docs/configuration.md)"
    )
    retention_default: str = Field("10 năm", description="retention when no rule matches: \"Vĩnh viễn\" or N năm")
    fixity_days: float = Field(30, gt=0, description="every archive copy is re-hashed at least this often")
    amqp_prefetch: int = Field(
        100, ge=1, le=65535, description="amqp:// bus: messages each work queue hands a worker before its acks"
    )
    amqp_delivery_limit: int = Field(
        20, ge=1, description="amqp:// bus: deliveries of one message (consumer crashes) before the broker "
        "dead-letters it (x-delivery-limit of the quorum queues)"
    )
    secret_key: SecretStr = SecretStr(DEMO_SECRET)

    node_id: str = Field("000.00.00.H53", description="agency code of this node, written in TraceHeaders")
    node_key_file: Path | None = None
    node_key_password: SecretStr | None = None
    demo: bool = False

    xml_signature_policy: Literal["reject", "warn"] = "warn"
    relay_policy: Literal["tolerant", "strict"] = Field(
        "tolerant",
        description="tolerant: accept packages whose field quirks do not affect routing (a UUID DocumentId, dates "
        "written dd/MM/yyyy, impossible dates in a nested DocumentId, over-long optional fields, an unverifiable "
        "signature), record each as an oddity and relay the package as received; strict: refuse what the builder's "
        "checks refuse (package_check_failed)",
    )
    secret_markings: tuple[str, ...] = ("mật", "tối mật", "tuyệt mật")
    max_package_bytes: int = 150 * 1024 * 1024
    retry_schedule: tuple[float, ...] = (1, 5, 30, 120, 600, 1800, 3600)
    worker_poll_seconds: float = Field(
        0.25, gt=0, le=60,
        description="pause of a delivery worker after a round that did not fill its batch (a new message is "
        "delivered within about this long; under load the pause lets rounds fill up)",
    )
    worker_batch: int = Field(
        128, ge=1, le=1000,
        description="outbox messages a delivery worker claims per round; a round's statements and commits are paid "
        "per batch, so under load bigger batches cost less per message",
    )
    worker_lease_seconds: float = Field(
        30.0, gt=0, description="how long a claimed outbox message stays with a worker that may have died"
    )
    outbox_retention_days: float = Field(
        7.0, ge=0,
        description="completed outbox messages (delivered, or dead) are deleted this long after they completed; "
        "the deliveries, statuses and exchange log keep the record (0: keep them for ever)",
    )
    embedded_worker: bool = True
    inline_blob_max_bytes: int = Field(
        64 * 1024, ge=0, le=1024 * 1024,
        description="blobs up to this size (status packages, small packages and attachments, verification reports) "
        "are kept in the database, written in the transaction of the rows that reference them, instead of as "
        "objects; 0 keeps every blob in the object store",
    )
    auth_cache_seconds: float = Field(10.0, ge=0, description="how long a checked API key is trusted per process")
    directory_cache_seconds: float = Field(
        10.0, ge=0, description="how long a directory entry read by submit is reused per process (0: never)"
    )

    uplinks: dict[str, UplinkSettings] = Field(default_factory=dict, description="VXP uplinks by name")
    routes: tuple[RouteSetting, ...] = Field(
        (), description='routing table, first match wins: JSON [{"pattern": "*.G22", "target": "axis"}]'
    )
    default_route: str = Field("local", description="target of a code no rule matches: local or an uplink name")
    vxp_timestamp_window_seconds: float = Field(
        300.0, gt=0, description="VXP calls whose timestamp is further than this from the clock are refused"
    )

    trust_sets: dict[str, tuple[dict[str, str], ...]] = Field(
        default_factory=dict,
        description='verification trust anchors by set, pinned: JSON {"vn-national-root": [{"path", "sha256"}]}',
    )
    trust_bundled: bool = Field(
        True, description="also trust the Vietnamese roots shipped in signing/trust/ (NEAC, Ban Cơ yếu G2)"
    )
    revocation_mode: Literal["hard-fail", "soft-fail"] = "hard-fail"
    revocation_offline: bool = Field(False, description="use only the revocation data a document carries")
    tsa_url: str | None = Field(None, description="RFC 3161 time-stamping authority for API signatures (B-T+)")
    signing_keys: dict[str, SigningKeySetting] = Field(default_factory=dict, description="keys the API signs with")
    remote_signers: dict[str, RemoteSignerSetting] = Field(
        default_factory=dict,
        description='remote-signing services by name: JSON {"vnpt": {"url": "vnpt-smartca+https://…", '
        '"options": {"sp_id": "…"}, "secret_env": {"sp_password": "VNPT_SP_PASSWORD"}}}',
    )
    remote_poll_seconds: float = Field(
        3.0, gt=0, le=600, description="how often the gateway asks a provider about a pending signature"
    )
    remote_webhook_allowed_networks: tuple[str, ...] = Field(
        (),
        description="networks (CIDR) a signing webhook may point into although they are private, loopback or "
        "link-local (refused by default: a caller must not make the gateway call its own network)",
    )
    verify_max_bytes: int = Field(64 * 1024 * 1024, gt=0, description="largest PDF accepted for verify/sign")
    verify_max_signatures: int = Field(
        50, ge=1, description="files with more signatures are refused by verification (issue 17: 50,000 fields)"
    )
    verify_max_seconds: float = Field(
        60.0, gt=0, description="time for one file; signatures not reached in time are reported INDETERMINATE"
    )

    # --- the edge: what any caller can make the gateway hold or do before it knows who is calling (issue 17,
    # docs/security.md) ---
    max_body_bytes: int = Field(
        16 * 1024 * 1024, gt=0,
        description="largest request body of the routes that take neither a package nor a PDF (JSON, agency "
        "files); packages are bounded by max_package_bytes, PDFs by verify_max_bytes",
    )
    max_header_bytes: int = Field(
        64 * 1024, ge=4096, description="largest request line plus headers (431 beyond)"
    )
    max_header_count: int = Field(100, ge=10, description="most request headers (431 beyond)")
    header_timeout_seconds: float = Field(
        30.0, gt=0, description="edoc serve: a request whose headers take longer than this to arrive is dropped"
    )
    body_idle_timeout_seconds: float = Field(
        30.0, gt=0, description="a request body that sends nothing for this long is refused (408)"
    )
    body_timeout_seconds: float = Field(
        900.0, gt=0, description="a request body that takes longer than this in all is refused (408)"
    )
    max_json_depth: int = Field(
        32, ge=4, le=200, description="deepest nesting of a JSON body or VXP header (deeper: 400)"
    )
    verify_rate_per_minute: float = Field(
        30.0, ge=0, description="POST /verify (no login) per client address and process; 0: unlimited"
    )
    vxp_refusals_per_minute: float = Field(
        60.0, ge=0,
        description="VXP calls refused as unauthenticated per client address and process before the address is "
        "answered 429 without a look at its calls; 0: unlimited",
    )
    refusal_log_seconds: float = Field(
        60.0, gt=0,
        description="unauthenticated VXP refusals are written to the exchange log as one counted event per "
        "reason and window of this length, not one row each",
    )

    # --- observability (service/observability/, service/logs.py; docs/configuration.md) ---
    log_format: Literal["auto", "json", "text"] = Field(
        "auto",
        description="log lines as JSON objects (one per line) or readable text; auto: json in production, text "
        "elsewhere. Read from the environment by service/logs.py before the settings (listed here to be documented "
        "and validated)",
    )
    metrics_enabled: bool = Field(True, description="serve GET /metrics (Prometheus text format)")
    metrics_allow: tuple[str, ...] = Field(
        ("127.0.0.1/32", "::1/128"),
        description="addresses or networks that may read /metrics without an API key (JSON list); anyone else "
        "needs the key of a client system of role admin. Behind a proxy this is the proxy's address",
    )
    metrics_cache_seconds: float = Field(
        5.0, ge=0, le=3600,
        description="the database-derived gauges of /metrics (deliveries by state, outbox lag) are read at most "
        "once per this many seconds per process; scrapes in between get the last reading",
    )

    @field_validator("metrics_allow")
    @classmethod
    def _metrics_allow(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        import ipaddress

        for entry in value:
            try:
                ipaddress.ip_network(entry.strip(), strict=False)
            except ValueError as exc:
                raise ValueError(f"EDOC_METRICS_ALLOW: {entry!r} is not an address or network") from exc
        return value

    # --- the transparency log (issue 21, docs/evidence.md) ---
    log_key_file: Path | None = Field(
        None,
        description="PEM (PKCS#8) Ed25519 key that signs the log's checkpoints; unset: "
        "<data_dir>/keys/log-ed25519.pem, generated at the first start outside production",
    )
    log_origin: str = Field("", description="checkpoint origin and log key name (default: the node id)")
    log_checkpoint_seconds: float = Field(
        0.5, gt=0, le=1, description="pause of the log sequencer when no new event waits (a checkpoint within 1 s)"
    )
    log_batch: int = Field(4096, ge=1, le=100_000, description="events the sequencer integrates per checkpoint at most")
    log_witnesses: tuple[str, ...] = Field(
        (), description='witnesses the node pushes checkpoints to: JSON ["<url>|<vkey>", ...] (tlog-witness)'
    )
    log_witness_quorum: int = Field(0, ge=0, description="cosignatures a checkpoint needs before it is served cosigned")

    @field_validator("node_id")
    @classmethod
    def _node_id(cls, value: str) -> str:
        from schemas.agency import AgencyCode

        return str(AgencyCode.parse(value))

    @field_validator("bus_url")
    @classmethod
    def _bus_url(cls, value: str) -> str:
        return check_url(value)  # db:// (the outbox table) or amqp:// (RabbitMQ, service/bus/amqp.py)

    @model_validator(mode="after")
    def _retention(self) -> Settings:
        """A retention table or default that cannot be read refuses to start, in one line (not at the first
        archive sweep)."""
        from service.archive.errors import ArchiveError
        from service.archive.retention import RetentionTable

        try:
            RetentionTable.load(self.retention_table, self.retention_default)
        except ArchiveError as exc:
            raise ValueError(str(exc)) from None
        return self

    @field_validator("archive_urls", mode="before")
    @classmethod
    def _split_archive_urls(cls, value: Any) -> Any:
        if not isinstance(value, str):
            return value
        text = value.strip()
        if text.startswith("["):
            try:
                return json.loads(text)
            except json.JSONDecodeError as exc:
                raise ValueError(f"not a JSON array of URLs ({exc.msg})") from None
        return [item for item in text.replace(",", " ").split() if item]

    @field_validator("archive_urls")
    @classmethod
    def _archive_urls(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        from storage import objects
        from storage.errors import UnknownBackend

        places: dict[tuple[str, ...], int] = {}
        for n, url in enumerate(value, 1):
            try:
                objects.check_url(url)
                place = objects.place_of(url)
            except UnknownBackend as exc:
                raise ValueError(f"archive store {n}: {exc}") from None
            if place in places:
                raise ValueError(
                    f"archive stores {places[place]} and {n} are the same endpoint and bucket "
                    "(the copies must be independent)"
                )
            places[place] = n
        return value

    @model_validator(mode="after")
    def _route_targets(self) -> Settings:
        known = {"local", *self.uplinks}
        for target in (self.default_route, *(r.target for r in self.routes)):
            if target not in known:
                raise ValueError(f"route target {target!r} is neither 'local' nor a configured uplink")
        return self

    def _archive_problems(self) -> list[str]:
        """Production: two archive copies (TT 02/2019, TT 05/2025 Điều 27), each on a store that enforces a
        retention; distinct places are checked when the setting is read."""
        from storage import objects

        if len(self.archive_urls) < 2:
            return ["EDOC_ARCHIVE_URLS must name two object stores on different endpoints or buckets (two copies)"]
        return [
            f"archive store {n} ({objects.redact(url).split('?')[0]}) cannot enforce a retention; use s3:// with "
            "Object Lock"
            for n, url in enumerate(self.archive_urls, 1)
            if not getattr(objects.backend_class(url), "enforces_retention", False)
        ]

    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite:///{(self.data_dir / 'edoc.sqlite3').resolve()}"

    def resolved_storage_url(self) -> str:
        return self.storage_url or (self.data_dir / "objects").resolve().as_uri()

    def check_production(self) -> None:
        """Refuse settings that are fine on a laptop but unsafe in production."""
        if self.environment != "production":
            return
        problems = []
        if self.demo:
            problems.append("demo mode is on (EDOC_DEMO)")
        if self.secret_key.get_secret_value() == DEMO_SECRET or len(self.secret_key.get_secret_value()) < 32:
            problems.append("EDOC_SECRET_KEY is the demo value or shorter than 32 characters")
        if self.resolved_database_url().startswith("sqlite"):
            problems.append("the SQLite database is for the embedded tier; set EDOC_DATABASE_URL to PostgreSQL")
        if self.resolved_storage_url().startswith("file:"):
            problems.append("the file object store is for the embedded tier; set EDOC_STORAGE_URL to s3://…")
        problems.extend(self._archive_problems())
        if not self.bus_url.startswith("amqp"):
            problems.append("the database queue is for the embedded tier; set EDOC_BUS_URL to amqp://… (RabbitMQ)")
        if self.node_key_file is None:
            problems.append("EDOC_NODE_KEY_FILE is not set (the node must sign with a real certificate)")
        for name, remote in self.remote_signers.items():
            if "+https://" not in remote.url:
                problems.append(f"remote signer {name} is not reached over https:// (STANDARDS.md §7: TLS ≥ 1.2)")
        if self.log_key_file is None:
            problems.append("EDOC_LOG_KEY_FILE is not set (the transparency log signs with a key kept by the operator)")
        for name, uplink in self.uplinks.items():
            if not uplink.endpoint.startswith("https://"):
                problems.append(f"uplink {name} is not reached over https:// (STANDARDS.md §7: TLS ≥ 1.2)")
        if problems:
            raise ConfigError("refusing to start in production: " + "; ".join(problems))
