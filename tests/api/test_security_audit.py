"""The audit log: every publish, allowed or refused, with who (key id and name, never the
token), what (RPC, payer, version, checksum), when and the outcome; `audit list` filters it."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import grpc
import pytest
from massage_estimator.v1 import payer_rules_pb2 as rpb

from tests.api.rules_helpers import REPO_ROOT, acme_variant, clients_for
from tests.api.security_helpers import bearer, secured_server
from tests.cli.test_cli import run


def test_publishes_are_audited_with_who_what_and_outcome(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    new_version = acme_variant("2028.1", date(2028, 1, 1), None)
    birch = (REPO_ROOT / "payer_rules" / "birch-health" / "2026.yaml").read_text(encoding="utf-8")
    with secured_server(db) as s, clients_for(s.app.target) as c:
        admin_token = s.tokens["payer_admin"]

        def publish(content: str, token: str | None) -> grpc.StatusCode:
            try:
                c.rules.PublishRuleSet(
                    rpb.PublishRuleSetRequest(
                        content=content, source="acme-2028.yaml", published_by="analyst"
                    ),
                    metadata=bearer(token),
                )
            except grpc.RpcError as err:
                return err.code()
            return grpc.StatusCode.OK

        assert publish(new_version, admin_token) == grpc.StatusCode.OK
        assert publish(birch, admin_token) == grpc.StatusCode.PERMISSION_DENIED
        assert publish(new_version, s.tokens["quoter"]) == grpc.StatusCode.PERMISSION_DENIED
        assert publish(new_version, None) == grpc.StatusCode.UNAUTHENTICATED
        records = s.security.audit(action="PublishRuleSet")
        payer_admin_id = s.key_ids["payer_admin"]
        quoter_id = s.key_ids["quoter"]
        tokens = list(s.tokens.values())

    newest_first = [(r.identity_id, r.outcome) for r in records]
    assert newest_first == [
        ("", "UNAUTHENTICATED"),
        (quoter_id, "PERMISSION_DENIED"),
        (payer_admin_id, "PERMISSION_DENIED"),
        (payer_admin_id, "OK"),
    ]
    ok = records[-1]
    assert (ok.payer_id, ok.version, ok.identity_name) == (
        "acme-health",
        "2028.1",
        "test-payer_admin",
    )
    assert (
        len(ok.checksum) >= 16 and "source=acme-2028.yaml" in ok.detail and "created" in ok.detail
    )
    assert all(t not in repr(records) for t in tokens)

    listed = run("audit", "list", "--payer", "acme-health", "--json",
                 "--database-url", f"sqlite:///{db}")  # fmt: skip
    assert listed.returncode == 0, listed.stderr
    rows = [json.loads(line) for line in listed.stdout.splitlines()]
    assert [(r["action"], r["version"], r["outcome"]) for r in rows] == [
        ("PublishRuleSet", "2028.1", "OK")
    ]


@pytest.mark.parametrize("flag", [["--since", "yesterday"]])
def test_audit_list_bad_filter_is_usage_error(tmp_path: Path, flag: list[str]) -> None:
    result = run("audit", "list", *flag, "--database-url", f"sqlite:///{tmp_path / 's.db'}")
    assert result.returncode == 2 and "ISO date" in result.stderr
