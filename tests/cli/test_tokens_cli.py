"""`massage-estimator tokens` and `audit` through the real console script, against the same
database a running server uses; the client commands send the token from a file or the
environment, never from the command line."""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

import pytest

from service.app import start
from tests.cli.test_cli import command, run
from tests.conftest import make_settings


def run_env(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    full = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1", **env}
    full.pop("MASSAGE_ESTIMATOR_TARGET", None)
    return subprocess.run(
        [*command(), *args], capture_output=True, text=True, timeout=60, env=full, check=False
    )


def test_create_list_revoke_and_audit(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    made = run("tokens", "create", "--name", "booking-web", "--role", "quoter",
               "--expires", "90d", "--json", "--database-url", url)  # fmt: skip
    assert made.returncode == 0, made.stderr
    created = json.loads(made.stdout)
    assert created["token"].startswith("mest_") and created["id"] in created["token"]

    listed = run("tokens", "list", "--database-url", url)
    assert listed.returncode == 0, listed.stderr
    assert created["id"] in listed.stdout and "quoter" in listed.stdout
    assert created["token"] not in listed.stdout
    assert created["token"].split("_", 2)[2] not in listed.stdout

    revoked = run("tokens", "revoke", created["id"], "--database-url", url)
    assert revoked.returncode == 0, revoked.stderr
    again = run("tokens", "list", "--json", "--database-url", url)
    (row,) = json.loads(again.stdout)
    assert row["state"] == "revoked" and row["revoked_at"]

    audit = run("audit", "list", "--json", "--database-url", url)
    assert audit.returncode == 0, audit.stderr
    records = [json.loads(line) for line in audit.stdout.splitlines()]
    assert [r["action"] for r in records] == ["tokens.revoke", "tokens.create"]
    assert all(created["token"] not in json.dumps(r) for r in records)
    only = run("audit", "list", "--action", "tokens.create", "--database-url", url)
    assert "tokens.create" in only.stdout and "tokens.revoke" not in only.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--role", "superuser"], "unknown role"),
        (["--role", "payer_admin"], "needs at least one --payer"),
        (["--role", "quoter", "--payer", "acme-health"], "payer_admin keys only"),
        (["--role", "quoter", "--expires", "soon"], "expiry"),
    ],
)
def test_bad_create_is_usage_error(tmp_path: Path, args: list[str], message: str) -> None:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    result = run("tokens", "create", "--name", "x", *args, "--database-url", url)
    assert result.returncode == 2
    assert message in result.stderr


def test_revoking_an_unknown_id_says_so(tmp_path: Path) -> None:
    result = run("tokens", "revoke", "nope", "--database-url", f"sqlite:///{tmp_path / 's.db'}")
    assert result.returncode == 1 and "no API key has id" in result.stderr


def test_client_commands_send_the_token_from_a_file_or_the_environment(tmp_path: Path) -> None:
    """A server with keys refuses the CLI without a token; --token-file and
    MASSAGE_ESTIMATOR_TOKEN make the same command work; a revoked key stops working on the
    running server without a restart."""
    db = tmp_path / "store.db"
    url = f"sqlite:///{db}"
    made = json.loads(run("tokens", "create", "--name", "analyst", "--role", "billing",
                          "--json", "--database-url", url).stdout)  # fmt: skip
    app = start(make_settings(db))
    try:
        target = app.target
        refused = run("rules", "list", "--target", target)
        assert refused.returncode == 1
        assert "UNAUTHENTICATED" in refused.stderr or "credentials" in refused.stderr
        token_file = tmp_path / "token"
        token_file.write_text(made["token"] + "\n", encoding="utf-8")
        by_file = run("--token-file", str(token_file), "rules", "list", "--target", target)
        assert by_file.returncode == 0, by_file.stderr
        assert "acme-health" in by_file.stdout
        by_env = run_env("rules", "list", "--target", target,
                         env={"MASSAGE_ESTIMATOR_TOKEN": made["token"]})  # fmt: skip
        assert by_env.returncode == 0, by_env.stderr

        assert run("tokens", "revoke", made["id"], "--database-url", url).returncode == 0
        deadline = time.monotonic() + 30  # the servers poll keys every second
        while (
            run("--token-file", str(token_file), "rules", "list", "--target", target).returncode
            == 0
        ):
            assert time.monotonic() < deadline, "a revoked key kept working"
            time.sleep(0.5)
    finally:
        app.stop(grace=1.0)
