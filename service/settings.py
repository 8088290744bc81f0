"""Service settings, read from the environment (prefix MASSAGE_ESTIMATOR_) with safe defaults.

Every value has a default that runs the service on the built-in sample data with nothing set:
`MASSAGE_ESTIMATOR_PORT=6000 massage-estimator serve` or the CLI flags override them.

Defaults never point into the installed package: the store is `./var/massage-estimator.db`
under the working directory the service starts in (site-packages is read-only for a service
user and shared by every process), and the sample rules are read from the package itself.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from service.resources import SAMPLE_RULES_DIR

DEFAULT_RULES_DIR = SAMPLE_RULES_DIR
"""The built-in sample rules (package data in a wheel, payer_rules/ in a checkout)."""

DEFAULT_DATABASE_FILE = Path("var") / "massage-estimator.db"
"""The default store, relative to the working directory the process starts in."""


def default_database_url() -> str:
    """The SQLite store under the current working directory, as an absolute path.

    Resolved when the settings are read, so the log and `db current` name the real file and
    a later change of directory cannot move the store.
    """
    return f"sqlite:///{Path.cwd() / DEFAULT_DATABASE_FILE}"


_LOG_LEVELS = ("CRITICAL", "ERROR", "WARNING", "INFO", "DEBUG")


class Settings(BaseSettings):
    """Where the service listens, where its rules live and how it behaves under load."""

    model_config = SettingsConfigDict(
        env_prefix="MASSAGE_ESTIMATOR_", env_file=None, extra="ignore", frozen=True
    )

    host: str = Field(
        default="127.0.0.1",
        description=(
            "Address to listen on. Loopback by default so a developer's laptop does not "
            "expose the service; set 0.0.0.0 (IPv4) or [::] (IPv4 and IPv6) in a container."
        ),
    )
    port: Annotated[int, Field(ge=0, le=65535)] = Field(
        default=50051, description="TCP port; 0 picks a free port (reported at start-up)."
    )
    database_url: str = Field(
        default_factory=default_database_url,
        description=(
            "SQLAlchemy URL of the rule store. The default embedded SQLite file "
            "(./var/massage-estimator.db under the working directory) is created, with its "
            "folder, on first start and seeded from rules_dir."
        ),
    )
    rules_dir: Path = Field(
        default=DEFAULT_RULES_DIR,
        description=(
            "Rule files (clinic.yaml and payer rule sets) seeded into an empty store; by "
            "default the sample rules shipped inside the package."
        ),
    )
    max_workers: Annotated[int, Field(ge=1, le=1024)] = Field(
        default=16, description="Threads answering RPCs; quotes are CPU-bound and short."
    )
    log_level: str = Field(default="INFO", description="Python logging level name.")
    log_format: Literal["text", "json"] = Field(
        default="text",
        description=(
            "text (UTC timestamps, for a terminal) or json (one JSON object per line, every "
            "line of the process, for a log pipeline)."
        ),
    )
    metrics_port: Annotated[int | None, Field(ge=0, le=65535)] = Field(
        default=None,
        description="Prometheus /metrics on this port (0 picks a free one); off when unset.",
    )
    otlp_endpoint: str | None = Field(
        default=None,
        description=(
            "OpenTelemetry traces are exported over OTLP/gRPC to this endpoint, e.g. "
            "http://otel-collector:4317; tracing is off when unset."
        ),
    )
    batch_max: Annotated[int, Field(ge=1, le=100_000)] = Field(
        default=1000, description="Most sessions one EstimateSessions call may carry."
    )
    shutdown_grace_seconds: Annotated[float, Field(ge=0, le=300)] = Field(
        default=5.0,
        description="On stop, in-flight RPCs get this long to finish before they are cancelled.",
    )

    drain_seconds: Annotated[float, Field(ge=0, le=300)] = Field(
        default=5.0,
        description=(
            "On SIGTERM, how long the server keeps answering every call (new ones included) "
            "while health already says NOT_SERVING, so load balancers move away before it "
            "stops accepting calls."
        ),
    )
    # --- authentication, TLS and limits (docs/security.md)
    insecure: bool = Field(
        default=False,
        description="Allow listening on a non-loopback address with no authentication.",
    )
    jwt_jwks_file: Path | None = Field(
        default=None, description="JWKS file whose keys sign accepted JWTs."
    )
    jwt_issuer: str = Field(default="", description="Accepted JWT issuer (iss); turns auth on.")
    jwt_audience: str = Field(default="", description="Required JWT audience (aud).")
    jwt_role_claim: str = Field(default="role", description="JWT claim holding the role.")
    jwt_payers_claim: str = Field(
        default="payer_ids", description="JWT claim holding the payer ids (list or spaced)."
    )
    tls_cert_file: Path | None = Field(default=None, description="Server certificate (PEM).")
    tls_key_file: Path | None = Field(default=None, description="Server private key (PEM).")
    tls_client_ca_file: Path | None = Field(
        default=None, description="CA whose client certificates are required (mutual TLS)."
    )
    max_message_bytes: Annotated[int, Field(ge=1024, le=256 * 1024 * 1024)] = Field(
        default=16 * 1024 * 1024, description="Largest request or answer message."
    )
    max_concurrent_rpcs: Annotated[int, Field(ge=1, le=100_000)] = Field(
        default=256, description="RPCs in progress at once; more are refused RESOURCE_EXHAUSTED."
    )
    rate_limit_per_second: Annotated[float, Field(ge=0)] = Field(
        default=50.0, description="Calls per second per identity (token bucket); 0 = no limit."
    )
    rate_limit_burst: Annotated[int, Field(ge=1)] = Field(
        default=100, description="Token-bucket size: calls an identity may make at once."
    )
    # A booking page's quoter token is public in the page: sized for one clinic's booking
    # traffic (docs/booking-pages.md), far below a billing tool's allowance.
    quoter_rate_limit_per_second: Annotated[float, Field(ge=0)] = Field(
        default=2.0, description="Calls per second per quoter token (booking pages); 0 = no limit."
    )
    quoter_rate_limit_burst: Annotated[int, Field(ge=1)] = Field(
        default=30, description="Token-bucket size of each quoter token."
    )
    max_rule_file_bytes: Annotated[int, Field(ge=1024)] = Field(
        default=1024 * 1024, description="Largest rule file PublishRuleSet accepts."
    )

    @field_validator("log_level")
    @classmethod
    def _known_level(cls, value: str) -> str:
        level = value.strip().upper()
        if level not in _LOG_LEVELS:
            raise ValueError(f"log_level must be one of {', '.join(_LOG_LEVELS)}, not {value!r}")
        return level

    @field_validator("host")
    @classmethod
    def _host_not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("host must not be empty")
        return value.strip()

    @property
    def sqlite_path(self) -> Path | None:
        """The database file when the store is SQLite on disk, else None."""
        prefix = "sqlite:///"
        if not self.database_url.startswith(prefix):
            return None
        rest = self.database_url[len(prefix) :].split("?", 1)[0]
        if not rest or rest == ":memory:":
            return None
        return Path(rest)

    def ensure_database_dir(self) -> None:
        """Create the folder of an on-disk SQLite database (SQLite creates only the file)."""
        path = self.sqlite_path
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)

    def logging_level(self) -> int:
        return int(logging.getLevelName(self.log_level))
