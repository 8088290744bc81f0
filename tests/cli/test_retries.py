"""The CLI's channel retries UNAVAILABLE with backoff for reads and publishes, never for a
quote save (service.wire.service_config through the grpc.service_config option)."""

from __future__ import annotations

import grpc
import pytest
from massage_estimator.v1 import estimator_pb2 as pb
from massage_estimator.v1 import estimator_pb2_grpc as pb_grpc
from massage_estimator.v1 import payer_rules_pb2 as rpb
from massage_estimator.v1 import payer_rules_pb2_grpc as rpb_grpc

from service.cli.config import Connection, open_channel
from tests.flaky_server import flaky_server


def test_a_read_is_retried_through_two_unavailable_answers() -> None:
    with flaky_server({"ListRuleSets": 2}) as flaky:
        channel = open_channel(Connection(target=flaky.target))
        with channel:
            stub = rpb_grpc.PayerRulesServiceStub(channel)  # type: ignore[no-untyped-call]
            answer = stub.ListRuleSets(rpb.ListRuleSetsRequest(), timeout=30)
        assert [r.payer_id for r in answer.rule_sets] == ["acme-health"]
        assert flaky.attempts["ListRuleSets"] == 3


def test_a_quote_save_is_never_retried() -> None:
    with flaky_server({"EstimateSession": 1}) as flaky:
        channel = open_channel(Connection(target=flaky.target))
        with channel, pytest.raises(grpc.RpcError) as caught:
            stub = pb_grpc.EstimatorServiceStub(channel)  # type: ignore[no-untyped-call]
            stub.EstimateSession(pb.EstimateSessionRequest(save_quote=True), timeout=30)
        assert caught.value.code() == grpc.StatusCode.UNAVAILABLE
        assert flaky.attempts["EstimateSession"] == 1
