"""Limits: a per-identity token bucket (RESOURCE_EXHAUSTED with google.rpc.RetryInfo, other
identities still served), the largest message and the largest rule file."""

from __future__ import annotations

from pathlib import Path

import grpc
import pytest
from google.rpc import error_details_pb2
from massage_estimator.v1 import payer_rules_pb2 as rpb

from service.api.security.ratelimit import RateLimiter
from tests.api.helpers import field_violations, rpc_error_status
from tests.api.rules_helpers import ACME_2026_FILE, clients_for
from tests.api.security_helpers import bearer, secured_server


def test_token_bucket_refills_at_its_rate() -> None:
    now = [0.0]
    bucket = RateLimiter(rate=2.0, burst=2, clock=lambda: now[0])
    assert bucket.take("a") == 0.0 and bucket.take("a") == 0.0
    assert bucket.take("a") == pytest.approx(0.5)
    assert bucket.take("b") == 0.0  # another identity has its own bucket
    now[0] = 0.5
    assert bucket.take("a") == 0.0


def test_a_flood_from_one_identity_is_limited_while_another_is_served(tmp_path: Path) -> None:
    # A bucket of 3 that refills once in ~17 minutes: the 4th call of a flood is refused.
    with (
        secured_server(
            tmp_path / "s.db",
            rate_limit_per_second=0.001,
            rate_limit_burst=3,
            quoter_rate_limit_per_second=0.001,  # the quoter's own size (booking pages)
            quoter_rate_limit_burst=3,
        ) as s,
        clients_for(s.app.target) as c,
    ):
        flooder, other = bearer(s.tokens["quoter"]), bearer(s.tokens["billing"])
        for _ in range(3):
            c.rules.ListPlans(rpb.ListPlansRequest(), metadata=flooder)
        with pytest.raises(grpc.RpcError) as caught:
            c.rules.ListPlans(rpb.ListPlansRequest(), metadata=flooder)
        assert caught.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        status = rpc_error_status(caught.value)
        retry = [d for d in status.details if d.Is(error_details_pb2.RetryInfo.DESCRIPTOR)]
        assert retry, status
        info = error_details_pb2.RetryInfo()
        retry[0].Unpack(info)
        assert info.retry_delay.seconds > 0
        assert len(c.rules.ListPlans(rpb.ListPlansRequest(), metadata=other).plans) > 0


def test_a_rule_file_over_the_limit_is_invalid_argument(tmp_path: Path) -> None:
    content = ACME_2026_FILE.read_text(encoding="utf-8")
    with (
        secured_server(tmp_path / "s.db", max_rule_file_bytes=1024) as s,
        clients_for(s.app.target) as c,
    ):
        assert len(content.encode()) > 1024
        with pytest.raises(grpc.RpcError) as caught:
            c.rules.PublishRuleSet(
                rpb.PublishRuleSetRequest(content=content, source="2026.yaml", published_by="t"),
                metadata=bearer(s.tokens["admin"]),
            )
        assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert "at most 1024 bytes" in field_violations(rpc_error_status(caught.value))["content"]


def test_a_message_over_the_limit_is_refused(tmp_path: Path) -> None:
    with (
        secured_server(tmp_path / "s.db", max_message_bytes=4096) as s,
        clients_for(s.app.target) as c,
    ):
        with pytest.raises(grpc.RpcError) as caught:
            c.rules.ValidateRuleSet(
                rpb.ValidateRuleSetRequest(content="x" * 10_000, source="big.yaml"),
                metadata=bearer(s.tokens["admin"]),
            )
        assert caught.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
