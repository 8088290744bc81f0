"""`massage-estimator tokens` and `audit`: operator commands on the store's API keys and audit
log, with the same database settings as `serve` (--database-url,
MASSAGE_ESTIMATOR_DATABASE_URL). Running servers see a created or revoked key within a
second or two (they poll the key table), without a restart.
"""

from __future__ import annotations

import getpass
import json
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Annotated

import typer

from service.cli.db import DatabaseUrlOpt, _database_url
from service.storage import create_store
from service.storage.security import SecurityStore, UnknownKeyError
from service.usecases.identities import (
    ApiKey,
    AuditRecord,
    CredentialError,
    Role,
    parse_duration,
    parse_role,
)

tokens_app = typer.Typer(
    help="API keys: create (the token is shown once), list (never the secret), revoke.",
    no_args_is_help=True,
)
audit_app = typer.Typer(
    help="The append-only audit log of publishes, withdrawals and token changes.",
    no_args_is_help=True,
)


@contextmanager
def _security(database_url: str | None) -> Iterator[SecurityStore]:
    url = _database_url(database_url)
    try:
        store = create_store(url)
    except Exception as exc:
        typer.echo(f"error: {url}: cannot open this database URL ({exc})", err=True)
        raise typer.Exit(2) from None
    try:
        try:
            store.migrate()
        except Exception as exc:
            typer.echo(f"error: {url}: {str(exc).splitlines()[0]}", err=True)
            raise typer.Exit(1) from None
        yield SecurityStore(store.engine)
    finally:
        store.engine.dispose()


def _operator() -> str:
    """Who ran the command, for the audit log (the OS user at the host)."""
    try:
        user = getpass.getuser()
    except Exception:  # no login name in a bare container
        user = "unknown"
    return f"{user}@{socket.gethostname()}"


def _audit(
    store: SecurityStore, action: str, key: ApiKey | None, outcome: str, detail: str
) -> None:
    store.append_audit(
        AuditRecord(
            at=datetime.now(UTC),
            identity_id="cli",
            identity_name=_operator(),
            action=action,
            outcome=outcome,
            detail=(f"key={key.key_id} name={key.name} role={key.role.value}" if key else "")
            + (f"; {detail}" if detail else ""),
        )
    )


def _usage(message: str) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(2)


def _key_json(key: ApiKey) -> dict[str, object]:
    return {
        "id": key.key_id,
        "name": key.name,
        "role": key.role.value,
        "payer_ids": list(key.payer_ids),
        "created_at": key.created_at.isoformat(),
        "expires_at": key.expires_at.isoformat() if key.expires_at else None,
        "revoked_at": key.revoked_at.isoformat() if key.revoked_at else None,
        "state": key.state,
    }


@tokens_app.command("create")
def create(
    name: Annotated[str, typer.Option("--name", help="Who the key is for (shown in logs).")],
    role: Annotated[str, typer.Option("--role", help="quoter, billing, payer_admin or admin.")],
    payer: Annotated[
        list[str] | None,
        typer.Option("--payer", help="A payer id a payer_admin may act for (repeat for more)."),
    ] = None,
    expires: Annotated[
        str | None, typer.Option("--expires", help="Lifetime, e.g. 90d, 12h (default: none).")
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help='Print {"id": ..., "token": ...}.')
    ] = False,
    database_url: DatabaseUrlOpt = None,
) -> None:
    """Create an API key and print its token once (only its hash is stored).

    Examples:

      massage-estimator tokens create --name booking-web --role quoter --expires 90d

      massage-estimator tokens create --name acme-portal --role payer_admin --payer acme-health
    """
    try:
        parsed_role = parse_role(role)
        lifetime = parse_duration(expires) if expires else None
    except CredentialError as exc:
        raise _usage(str(exc)) from None
    payers = [p.strip() for p in payer or [] if p.strip()]
    if not name.strip():
        raise _usage("--name must not be empty")
    if parsed_role is Role.PAYER_ADMIN and not payers:
        raise _usage("a payer_admin key needs at least one --payer ID")
    if parsed_role is not Role.PAYER_ADMIN and payers:
        raise _usage(f"--payer applies to payer_admin keys only, not {parsed_role.value}")
    with _security(database_url) as store:
        key, token = store.create_key(name.strip(), parsed_role, payers, lifetime)
        _audit(store, "tokens.create", key, "OK", "")
    if as_json:
        typer.echo(json.dumps({"id": key.key_id, "token": token}))
        return
    typer.echo(f"created API key {key.key_id} ({key.name}, {key.role.value})")
    typer.echo(f"token (shown once, store it now): {token}")


@tokens_app.command("list")
def list_tokens(
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per key.")] = False,
    database_url: DatabaseUrlOpt = None,
) -> None:
    """List API keys (never their secrets)."""
    with _security(database_url) as store:
        keys = store.keys()
    if as_json:
        typer.echo(json.dumps([_key_json(k) for k in keys], indent=2))
        return
    if not keys:
        typer.echo("no API keys: authentication is off unless a JWT issuer is configured")
        return
    for key in keys:
        payers = ",".join(key.payer_ids) or "-"
        expires = key.expires_at.date().isoformat() if key.expires_at else "never"
        typer.echo(
            f"{key.key_id}  {key.state:<8} {key.role.value:<12} payers={payers} "
            f"expires={expires} name={key.name}"
        )


@tokens_app.command("revoke")
def revoke(
    key_id: Annotated[str, typer.Argument(help="The key id (tokens list, tokens create --json).")],
    database_url: DatabaseUrlOpt = None,
) -> None:
    """Revoke an API key: running servers refuse it within seconds."""
    with _security(database_url) as store:
        try:
            key = store.revoke_key(key_id.strip())
        except UnknownKeyError:
            _audit(store, "tokens.revoke", None, "NOT_FOUND", f"key={key_id.strip()}")
            typer.echo(f"error: no API key has id {key_id!r} (see `tokens list`)", err=True)
            raise typer.Exit(1) from None
        _audit(store, "tokens.revoke", key, "OK", "")
    typer.echo(f"revoked API key {key.key_id} ({key.name})")


@audit_app.command("list")
def audit_list(
    identity: Annotated[
        str | None, typer.Option("--identity", help="A key id, JWT identity or name.")
    ] = None,
    action: Annotated[
        str | None, typer.Option("--action", help="e.g. PublishRuleSet, tokens.create.")
    ] = None,
    payer: Annotated[str | None, typer.Option("--payer", help="A payer id.")] = None,
    since: Annotated[
        str | None, typer.Option("--since", help="ISO date or time (UTC), e.g. 2026-12-01.")
    ] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, max=100_000)] = 100,
    as_json: Annotated[bool, typer.Option("--json", help="JSON lines.")] = False,
    database_url: DatabaseUrlOpt = None,
) -> None:
    """Show audit records, newest first."""
    since_at: datetime | None = None
    if since:
        try:
            since_at = datetime.fromisoformat(since)
        except ValueError:
            raise _usage(f"--since {since!r}: write an ISO date such as 2026-12-01") from None
        if since_at.tzinfo is None:
            since_at = since_at.replace(tzinfo=UTC)
    with _security(database_url) as store:
        records = store.audit(
            identity=identity, action=action, payer_id=payer, since=since_at, limit=limit
        )
    for r in records:
        if as_json:
            typer.echo(
                json.dumps(
                    {
                        "seq": r.seq,
                        "at": r.at.isoformat(),
                        "identity_id": r.identity_id,
                        "identity_name": r.identity_name,
                        "action": r.action,
                        "outcome": r.outcome,
                        "payer_id": r.payer_id,
                        "version": r.version,
                        "checksum": r.checksum,
                        "detail": r.detail,
                    }
                )
            )
        else:
            what = " ".join(x for x in (r.payer_id, r.version, r.checksum[:12]) if x)
            typer.echo(
                f"{r.at.isoformat(timespec='seconds')} {r.action} {r.outcome} "
                f"by {r.identity_name}[{r.identity_id or '-'}] {what} {r.detail}".rstrip()
            )
