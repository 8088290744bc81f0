"""A booking page's quoter token has a bucket of its own size (quoter_rate_limit_*), apart from
the allowance of billing tools: the page's token is public in its source."""

from __future__ import annotations

from pathlib import Path

import grpc
import pytest
from massage_estimator.v1 import payer_rules_pb2 as rpb

from service.api.security.ratelimit import RateLimiter
from service.settings import Settings
from tests.api.rules_helpers import clients_for
from tests.api.security_helpers import bearer, secured_server


def test_a_kind_with_its_own_size_fills_and_refills_at_that_size() -> None:
    now = [0.0]
    limiter = RateLimiter(rate=100.0, burst=100, clock=lambda: now[0], sizes={"quoter": (1.0, 2)})
    assert limiter.take("page", "quoter") == 0.0
    assert limiter.take("page", "quoter") == 0.0
    assert limiter.take("page", "quoter") == pytest.approx(1.0)
    assert limiter.take("tool", "billing") == 0.0  # other kinds keep the default size
    now[0] = 1.0
    assert limiter.take("page", "quoter") == 0.0


def test_a_size_of_zero_means_no_limit_for_that_kind() -> None:
    limiter = RateLimiter(rate=0.001, burst=1, clock=lambda: 0.0, sizes={"quoter": (0.0, 1)})
    assert all(limiter.take("page", "quoter") == 0.0 for _ in range(50))


def test_the_default_booking_page_size_is_documented() -> None:
    settings = Settings()
    assert (settings.quoter_rate_limit_per_second, settings.quoter_rate_limit_burst) == (2.0, 30)
    doc = (Path(__file__).resolve().parents[2] / "docs" / "booking-pages.md").read_text("utf-8")
    assert "QUOTER_RATE_LIMIT_PER_SECOND" in doc and "QUOTER_RATE_LIMIT_BURST" in doc


def test_the_quoter_bucket_runs_out_while_billing_is_still_served(tmp_path: Path) -> None:
    with (
        secured_server(
            tmp_path / "s.db",
            rate_limit_per_second=0.001,
            rate_limit_burst=10,
            quoter_rate_limit_per_second=0.001,
            quoter_rate_limit_burst=2,
        ) as s,
        clients_for(s.app.target) as c,
    ):
        page, tool = bearer(s.tokens["quoter"]), bearer(s.tokens["billing"])
        for _ in range(2):
            c.rules.ListPlans(rpb.ListPlansRequest(), metadata=page)
        with pytest.raises(grpc.RpcError) as caught:
            c.rules.ListPlans(rpb.ListPlansRequest(), metadata=page)
        assert caught.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        for _ in range(5):  # billing's bucket (10) is not the quoter's (2)
            assert c.rules.ListPlans(rpb.ListPlansRequest(), metadata=tool).plans
