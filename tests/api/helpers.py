"""Request builders and status readers for the API tests."""

from __future__ import annotations

from datetime import date
from typing import Any

import grpc
from google.rpc import error_details_pb2, status_pb2
from google.type import date_pb2, money_pb2
from grpc_status import rpc_status
from massage_estimator.v1 import estimator_pb2 as pb


def d(iso: str) -> date_pb2.Date:
    day = date.fromisoformat(iso)
    return date_pb2.Date(year=day.year, month=day.month, day=day.day)


def usd(dollars: str) -> money_pb2.Money:
    units, _, cents = dollars.partition(".")
    return money_pb2.Money(
        currency_code="USD", units=int(units), nanos=int((cents or "0").ljust(2, "0")) * 10_000_000
    )


def cents(money: money_pb2.Money) -> int:
    assert money.currency_code == "USD"
    assert money.nanos % 10_000_000 == 0
    return int(money.units) * 100 + int(money.nanos) // 10_000_000


def issue_example(**changes: Any) -> pb.SessionDetails:
    """The README's quickstart quote: acme-ppo-gold, deep tissue, 53 minutes."""
    session = pb.SessionDetails(
        plan_id="acme-ppo-gold",
        session_type="deep_tissue",
        minutes=53,
        referral=pb.Referral(kind=pb.REFERRAL_KIND_PRESCRIPTION, issue_date=d("2026-02-01")),
        diagnosis_codes=["M54.50"],
        date_of_service=d("2026-03-03"),
        network=pb.NETWORK_IN,
        injury=pb.INJURY_NONE,
        accumulators=pb.Accumulators(
            deductible_met=usd("450.00"), out_of_pocket_met=usd("450.00"), visits_used=3
        ),
    )
    for name, value in changes.items():
        if isinstance(value, list):
            del getattr(session, name)[:]
            getattr(session, name).extend(value)
        elif hasattr(value, "DESCRIPTOR"):
            getattr(session, name).CopyFrom(value)
        else:
            setattr(session, name, value)
    return session


def rpc_error_status(err: grpc.RpcError) -> status_pb2.Status:
    """The google.rpc.Status of a failed call (from grpc-status-details-bin)."""
    status = rpc_status.from_call(err)  # type: ignore[arg-type]
    assert status is not None, "the error carries no google.rpc.Status details"
    return status


def field_violations(status: status_pb2.Status) -> dict[str, str]:
    """field path -> description, from the BadRequest detail."""
    for detail in status.details:
        if detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
            bad = error_details_pb2.BadRequest()
            detail.Unpack(bad)
            return {v.field: v.description for v in bad.field_violations}
    raise AssertionError(f"no BadRequest detail in {status}")


def error_info(status: status_pb2.Status) -> error_details_pb2.ErrorInfo:
    for detail in status.details:
        if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
            info = error_details_pb2.ErrorInfo()
            detail.Unpack(info)
            return info
    raise AssertionError(f"no ErrorInfo detail in {status}")
