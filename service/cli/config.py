"""Connection settings for the client commands: flag > environment > config file > default.

The config file is TOML, found at --config FILE, else $MASSAGE_ESTIMATOR_CONFIG, else
~/.config/massage-estimator/config.toml (when it exists):

    target = "estimator.example.org:443"
    token = "s3cret"                 # sent as `authorization: Bearer s3cret` on every call
    token_file = "/etc/massage-estimator/token"      # or: read the token from a file
    clinic = "/etc/massage-estimator/clinic.yaml"

    [tls]                            # any of these set: the channel uses TLS
    ca_file = "/etc/massage-estimator/ca.pem"
    cert_file = "/etc/massage-estimator/client.pem"   # client certificate (mutual TLS)
    key_file = "/etc/massage-estimator/client.key"

Relative paths in the file are read relative to the file. Environment variables:
MASSAGE_ESTIMATOR_TARGET, MASSAGE_ESTIMATOR_TOKEN (or MASSAGE_ESTIMATOR_TOKEN_FILE, or
`massage-estimator --token-file FILE ...`: never a token on the command line, where process
lists show it), MASSAGE_ESTIMATOR_TLS_CA_FILE,
MASSAGE_ESTIMATOR_TLS_CERT_FILE, MASSAGE_ESTIMATOR_TLS_KEY_FILE, MASSAGE_ESTIMATOR_CLINIC.
A bad file or setting is a usage error (exit 2), never a traceback.
"""

from __future__ import annotations

import json
import os
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, NamedTuple

import grpc
import typer

from service.domain.suggest import did_you_mean
from service.settings import DEFAULT_RULES_DIR
from service.wire import service_config

DEFAULT_TARGET = "localhost:50051"
DEFAULT_CLINIC_FILE = DEFAULT_RULES_DIR / "clinic.yaml"
ENV_PREFIX = "MASSAGE_ESTIMATOR_"
CONFIG_ENV = ENV_PREFIX + "CONFIG"

ConfigOpt = Annotated[
    Path | None,
    typer.Option(
        "--config",
        help="TOML file with target, token, clinic and a tls table (default: "
        "$MASSAGE_ESTIMATOR_CONFIG or ~/.config/massage-estimator/config.toml).",
        show_default=False,
    ),
]
TargetOpt = Annotated[
    str | None,
    typer.Option(
        "--target",
        help="host:port of the service (else $MASSAGE_ESTIMATOR_TARGET, the config file, "
        f"{DEFAULT_TARGET}).",
        show_default=False,
    ),
]


class ConfigError(ValueError):
    """The config file or an environment setting cannot be used."""


@dataclass(frozen=True)
class TlsFiles:
    """PEM files for a TLS channel; any one set turns TLS on."""

    ca_file: Path | None = None
    cert_file: Path | None = None
    key_file: Path | None = None

    @property
    def enabled(self) -> bool:
        return any((self.ca_file, self.cert_file, self.key_file))


@dataclass(frozen=True)
class Connection:
    """Where and how the client commands reach the service, and where each value came from."""

    target: str = DEFAULT_TARGET
    token: str | None = None
    tls: TlsFiles = field(default_factory=TlsFiles)
    clinic_file: Path = DEFAULT_CLINIC_FILE
    sources: Mapping[str, str] = field(default_factory=dict)  # setting -> flag|env|file|default

    def source(self, name: str) -> str:
        return self.sources.get(name, "default")


def default_config_path(env: Mapping[str, str]) -> Path:
    base = env.get("XDG_CONFIG_HOME") or str(Path(env.get("HOME", "~")).expanduser() / ".config")
    return Path(base) / "massage-estimator" / "config.toml"


def _read_file(path: Path, explicit: bool) -> dict[str, Any]:
    if not path.exists():
        if explicit:
            raise ConfigError(f"config file {path} does not exist")
        return {}
    try:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"config file {path}: {exc}") from None
    allowed = {"target", "token", "token_file", "clinic", "tls"}
    unknown = sorted(set(data) - allowed)
    if unknown:
        named = ", ".join(f"{u}{did_you_mean(u, sorted(allowed))}" for u in unknown)
        raise ConfigError(
            f"config file {path}: unknown setting {named} (expected {', '.join(sorted(allowed))})"
        )
    tls = data.get("tls", {})
    if not isinstance(tls, dict):
        raise ConfigError(f"config file {path}: [tls] must be a table")
    unknown_tls = sorted(set(tls) - {"ca_file", "cert_file", "key_file"})
    if unknown_tls:
        tls_keys = {"ca_file", "cert_file", "key_file"}
        named = ", ".join(f"{u}{did_you_mean(u, sorted(tls_keys))}" for u in unknown_tls)
        raise ConfigError(
            f"config file {path}: unknown tls setting {named} "
            f"(expected {', '.join(sorted(tls_keys))})"
        )
    flat: dict[str, Any] = {k: v for k, v in data.items() if k != "tls"}
    flat.update({f"tls_{k}": v for k, v in tls.items()})
    for key, value in flat.items():
        if not isinstance(value, str) or not value:
            raise ConfigError(f"config file {path}: {key} must be a non-empty string")
        if key in ("clinic", "token_file") or key.startswith("tls_"):
            flat[key] = str((path.parent / Path(value).expanduser()).resolve())
    return flat


def resolve(
    *,
    target: str | None = None,
    config: Path | None = None,
    clinic: Path | None = None,
    env: Mapping[str, str] | None = None,
) -> Connection:
    """Merge flag > environment > config file > default for every connection setting."""
    env = os.environ if env is None else env
    explicit = config is not None or bool(env.get(CONFIG_ENV))
    path = config or (Path(env[CONFIG_ENV]) if env.get(CONFIG_ENV) else default_config_path(env))
    from_file = _read_file(path, explicit)
    flags: dict[str, str | None] = {
        "target": target,
        "clinic": str(clinic) if clinic is not None else None,
        "token_file": str(token_file_flag) if token_file_flag is not None else None,
    }
    env_names = {
        "target": "TARGET",
        "token": "TOKEN",
        "token_file": "TOKEN_FILE",
        "clinic": "CLINIC",
        "tls_ca_file": "TLS_CA_FILE",
        "tls_cert_file": "TLS_CERT_FILE",
        "tls_key_file": "TLS_KEY_FILE",
    }
    values: dict[str, str] = {}
    sources: dict[str, str] = {}
    for key, suffix in env_names.items():
        flag_value = flags.get(key)
        env_value = env.get(ENV_PREFIX + suffix)
        if flag_value:
            values[key], sources[key] = flag_value, "flag"
        elif env_value:
            values[key], sources[key] = env_value, f"env {ENV_PREFIX + suffix}"
        elif key in from_file:
            values[key], sources[key] = from_file[key], f"file {path}"
    tls = TlsFiles(
        ca_file=_pem(values.get("tls_ca_file")),
        cert_file=_pem(values.get("tls_cert_file")),
        key_file=_pem(values.get("tls_key_file")),
    )
    if (tls.cert_file is None) != (tls.key_file is None):
        raise ConfigError("tls cert_file and key_file must be given together (mutual TLS)")
    token = values.get("token")
    if "token_file" in values and (token is None or _wins(sources, "token_file", "token")):
        token, sources["token"] = _read_token(Path(values["token_file"])), sources["token_file"]
    return Connection(
        target=values.get("target", DEFAULT_TARGET),
        token=token,
        tls=tls,
        clinic_file=Path(values["clinic"]) if "clinic" in values else DEFAULT_CLINIC_FILE,
        sources=sources,
    )


token_file_flag: Path | None = None
"""Set by `massage-estimator --token-file FILE` (service.cli.main) before a command runs."""

_RANK = ("flag", "env", "file")


def _wins(sources: Mapping[str, str], a: str, b: str) -> bool:
    """Whether setting `a` came from a stronger place than `b` (flag > env > file)."""

    def rank(name: str) -> int:
        where = sources.get(name, "default").split(" ", 1)[0]
        return _RANK.index(where) if where in _RANK else len(_RANK)

    return rank(a) < rank(b)


def _read_token(path: Path) -> str:
    try:
        token = path.expanduser().read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise ConfigError(f"token file {path}: {exc.strerror or exc}") from None
    if not token or any(c.isspace() for c in token):
        raise ConfigError(f"token file {path} must hold one token on one line")
    return token


def _pem(value: str | None) -> Path | None:
    if value is None:
        return None
    path = Path(value).expanduser()
    if not path.is_file():
        raise ConfigError(f"TLS file {path} does not exist")
    return path


def resolve_or_exit(
    *, target: str | None = None, config: Path | None = None, clinic: Path | None = None
) -> Connection:
    """resolve(), with a bad setting reported as bad usage (exit 2)."""
    try:
        return resolve(target=target, config=config, clinic=clinic)
    except ConfigError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None


class _Details(NamedTuple):
    method: str
    timeout: float | None
    metadata: Any
    credentials: grpc.CallCredentials | None
    wait_for_ready: bool | None
    compression: Any


class _BearerToken(
    grpc.UnaryUnaryClientInterceptor,  # type: ignore[type-arg]
    grpc.UnaryStreamClientInterceptor,  # type: ignore[type-arg]
):
    """Adds `authorization: Bearer <token>` to every call made through the channel."""

    def __init__(self, token: str) -> None:
        self._header = ("authorization", f"Bearer {token}")

    def _with_token(self, details: Any) -> _Details:
        metadata = [*(details.metadata or ()), self._header]
        return _Details(
            details.method,
            details.timeout,
            metadata,
            details.credentials,
            getattr(details, "wait_for_ready", None),
            getattr(details, "compression", None),
        )

    def intercept_unary_unary(
        self, continuation: Callable[[Any, Any], Any], client_call_details: Any, request: Any
    ) -> Any:
        return continuation(self._with_token(client_call_details), request)

    def intercept_unary_stream(
        self, continuation: Callable[[Any, Any], Any], client_call_details: Any, request: Any
    ) -> Any:
        return continuation(self._with_token(client_call_details), request)


def open_channel(conn: Connection) -> grpc.Channel:
    """A channel to conn.target: TLS when any TLS file is set, the token on every call."""
    options: list[tuple[str, str | int]] = [
        ("grpc.max_receive_message_length", 64 * 1024 * 1024),
        ("grpc.enable_retries", 1),  # UNAVAILABLE is retried with backoff (service.wire)
        ("grpc.service_config", json.dumps(service_config())),
    ]
    channel: grpc.Channel
    if conn.tls.enabled:
        creds = grpc.ssl_channel_credentials(
            root_certificates=conn.tls.ca_file.read_bytes() if conn.tls.ca_file else None,
            private_key=conn.tls.key_file.read_bytes() if conn.tls.key_file else None,
            certificate_chain=conn.tls.cert_file.read_bytes() if conn.tls.cert_file else None,
        )
        channel = grpc.secure_channel(conn.target, creds, options=options)
    else:
        channel = grpc.insecure_channel(conn.target, options=options)
    if conn.token:
        channel = grpc.intercept_channel(channel, _BearerToken(conn.token))
    return channel
