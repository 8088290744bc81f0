"""Secure by default: open with one warning on loopback with no credentials; refuses any
other address without authentication unless --insecure."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from service.app import InsecureStartError, start
from service.app_security import is_loopback
from service.storage import create_store
from service.storage.security import SecurityStore
from service.usecases.identities import Role
from tests.cli.test_cli import run
from tests.conftest import make_settings


@pytest.mark.parametrize(
    ("host", "loopback"),
    [("127.0.0.1", True), ("localhost", True), ("::1", True), ("[::1]", True),
     ("0.0.0.0", False), ("[::]", False), ("10.0.0.5", False), ("example.org", False)],
)  # fmt: skip
def test_is_loopback(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


def test_loopback_without_credentials_runs_open_with_one_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="service.app"):
        app = start(make_settings(tmp_path / "s.db"))
    try:
        warnings = [r for r in caplog.records if "authentication is off" in r.getMessage()]
        assert len(warnings) == 1
        assert app.security is not None and not app.security.authenticator.enabled
    finally:
        app.stop(grace=0)


def test_any_other_address_refuses_to_start_without_authentication(tmp_path: Path) -> None:
    with pytest.raises(InsecureStartError, match="--insecure"):
        start(make_settings(tmp_path / "s.db", host="0.0.0.0"))


def test_insecure_flag_allows_an_open_non_loopback_server(tmp_path: Path) -> None:
    app = start(make_settings(tmp_path / "s.db", host="0.0.0.0", insecure=True))
    app.stop(grace=0)


def test_a_key_in_the_store_allows_a_non_loopback_server(tmp_path: Path) -> None:
    settings = make_settings(tmp_path / "s.db", host="0.0.0.0")
    store = create_store(settings.database_url)
    store.migrate()
    SecurityStore(store.engine).create_key("ops", Role.ADMIN)
    store.engine.dispose()
    app = start(settings)
    try:
        assert app.security is not None and app.security.authenticator.enabled
    finally:
        app.stop(grace=0)


def test_serve_refuses_a_wildcard_address_with_a_clear_line(tmp_path: Path) -> None:
    result = run("serve", "--host", "0.0.0.0", "--port", "0",
                 "--database-url", f"sqlite:///{tmp_path / 's.db'}")  # fmt: skip
    assert result.returncode == 1
    assert "refusing to listen on 0.0.0.0 without authentication" in result.stderr
    assert "Traceback" not in result.stderr
