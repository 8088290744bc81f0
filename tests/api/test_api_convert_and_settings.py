"""Pure pieces of the transport: money/date/timestamp conversion and the settings."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from google.protobuf import timestamp_pb2
from google.type import date_pb2, money_pb2
from pydantic import ValidationError

from service import wire
from service.api import convert
from service.domain.errors import FieldViolation
from service.settings import DEFAULT_DATABASE_FILE, DEFAULT_RULES_DIR, Settings

REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("cents", "units", "nanos"),
    [
        (0, 0, 0),
        (1, 0, 10_000_000),
        (6480, 64, 800_000_000),
        (-6480, -64, -800_000_000),
        (300000, 3000, 0),
    ],
)
def test_money_to_proto_is_usd_units_and_nanos(cents: int, units: int, nanos: int) -> None:
    money = wire.money_to_proto(cents)
    assert (money.currency_code, money.units, money.nanos) == ("USD", units, nanos)
    assert wire.cents_from_money(money) == cents


@pytest.mark.parametrize(
    ("money", "expected", "field"),
    [
        (money_pb2.Money(), 0, None),
        (money_pb2.Money(currency_code="USD", units=450), 45000, None),
        (money_pb2.Money(units=1, nanos=990_000_000), 199, None),
        (money_pb2.Money(currency_code="usd", units=1), None, "m.currency_code"),
        (money_pb2.Money(currency_code="USD", nanos=1), None, "m.nanos"),
        (money_pb2.Money(currency_code="USD", units=1, nanos=-10_000_000), None, "m"),
        (money_pb2.Money(currency_code="USD", units=-1), None, "m"),
        (money_pb2.Money(currency_code="USD", nanos=1_000_000_000), None, "m.nanos"),
    ],
)
def test_money_from_proto(money: money_pb2.Money, expected: int | None, field: str | None) -> None:
    out: list[FieldViolation] = []
    assert convert.money_from_proto(money, "m", out) == expected
    assert [v.field for v in out] == ([field] if field else [])


@pytest.mark.parametrize(
    ("value", "required", "expected", "bad"),
    [
        (date_pb2.Date(year=2026, month=3, day=3), True, date(2026, 3, 3), False),
        (date_pb2.Date(), False, None, False),
        (date_pb2.Date(), True, None, True),
        (date_pb2.Date(year=2026, month=13, day=1), False, None, True),
        (date_pb2.Date(year=2027, month=2, day=29), False, None, True),
        (date_pb2.Date(year=2026, month=0, day=0), False, None, True),
        (date_pb2.Date(year=0, month=3, day=3), False, None, True),
    ],
)
def test_date_from_proto(
    value: date_pb2.Date, required: bool, expected: date | None, bad: bool
) -> None:
    out: list[FieldViolation] = []
    assert convert.date_from_proto(value, "x", out, required=required) == expected
    assert bool(out) == bad


def test_timestamp_is_utc() -> None:
    out: list[FieldViolation] = []
    moment = convert.timestamp_to_datetime(
        timestamp_pb2.Timestamp(seconds=1767225600, nanos=5000), "t", out
    )
    assert moment == datetime(2026, 1, 1, 0, 0, 0, 5, tzinfo=UTC)
    assert not out
    assert convert.timestamp_to_datetime(timestamp_pb2.Timestamp(seconds=10**15), "t", out) is None
    assert [v.field for v in out] == ["t"]


def test_settings_defaults_resolve_against_the_working_directory(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    for name in ("HOST", "PORT", "DATABASE_URL", "RULES_DIR", "LOG_LEVEL"):
        monkeypatch.delenv(f"MASSAGE_ESTIMATOR_{name}", raising=False)
    monkeypatch.chdir(tmp_path)
    settings = Settings()
    assert settings.port == 50051
    assert settings.host == "127.0.0.1"
    store = tmp_path / "var" / "massage-estimator.db"
    assert settings.database_url == f"sqlite:///{store}"
    assert settings.sqlite_path == store == Path.cwd() / DEFAULT_DATABASE_FILE
    # From a checkout the sample rules are read in place; a wheel ships them as package data
    # (tests/packaging/test_wheel.py).
    assert settings.rules_dir == DEFAULT_RULES_DIR == REPO_ROOT / "payer_rules"
    assert settings.batch_max == 1000


def test_settings_from_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("MASSAGE_ESTIMATOR_PORT", "6001")
    monkeypatch.setenv("MASSAGE_ESTIMATOR_HOST", "::")
    monkeypatch.setenv("MASSAGE_ESTIMATOR_LOG_LEVEL", "debug")
    monkeypatch.setenv("MASSAGE_ESTIMATOR_DATABASE_URL", f"sqlite:///{tmp_path}/a/b/x.db")
    settings = Settings()
    assert settings.port == 6001
    assert wire.host_port(settings.host, settings.port) == "[::]:6001"
    assert settings.log_level == "DEBUG"
    settings.ensure_database_dir()
    assert (tmp_path / "a" / "b").is_dir()


@pytest.mark.parametrize(
    "bad", [{"port": 70000}, {"port": -1}, {"log_level": "LOUD"}, {"host": " "}, {"batch_max": 0}]
)
def test_settings_reject_bad_values(bad: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        Settings(**bad)  # type: ignore[arg-type]


def test_postgres_url_has_no_sqlite_path() -> None:
    assert Settings(database_url="postgresql+psycopg://postgres@127.0.0.1/test").sqlite_path is None
