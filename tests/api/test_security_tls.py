"""TLS and mutual TLS with certificates made by trustme: the server's settings, the CLI's
existing TLS settings, and the REST gateway reaching the service over TLS."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import grpc
import pytest
import trustme
from massage_estimator.v1 import payer_rules_pb2 as rpb
from massage_estimator.v1 import payer_rules_pb2_grpc as rpb_grpc

from service.app import Application, start
from tests.cli.test_cli import command
from tests.conftest import make_settings
from tests.gateway.conftest import gateway_binary  # noqa: F401 - the fixture, reused here
from tests.gateway.helpers import http, start_gateway, stop_gateway, wait_healthy


@dataclass
class Pki:
    ca: Path
    server_cert: Path
    server_key: Path
    client_cert: Path
    client_key: Path


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    folder = tmp_path_factory.mktemp("pki")
    ca = trustme.CA()
    server = ca.issue_cert("127.0.0.1", "localhost")
    client = ca.issue_cert("billing-client@example.test")
    paths = Pki(*(folder / n for n in ("ca.pem", "server.pem", "server.key",
                                       "client.pem", "client.key")))  # fmt: skip
    ca.cert_pem.write_to_path(str(paths.ca))
    server.cert_chain_pems[0].write_to_path(str(paths.server_cert))
    server.private_key_pem.write_to_path(str(paths.server_key))
    client.cert_chain_pems[0].write_to_path(str(paths.client_cert))
    client.private_key_pem.write_to_path(str(paths.client_key))
    return paths


def _server(tmp: Path, pki: Pki, mutual: bool) -> Application:
    extra: dict[str, object] = {"tls_cert_file": pki.server_cert, "tls_key_file": pki.server_key}
    if mutual:
        extra["tls_client_ca_file"] = pki.ca
    return start(make_settings(tmp / "s.db", **extra))


@pytest.fixture(scope="module")
def tls_app(tmp_path_factory: pytest.TempPathFactory, pki: Pki) -> Iterator[Application]:
    app = _server(tmp_path_factory.mktemp("tls"), pki, mutual=False)
    yield app
    app.stop(grace=0)


@pytest.fixture(scope="module")
def mtls_app(tmp_path_factory: pytest.TempPathFactory, pki: Pki) -> Iterator[Application]:
    app = _server(tmp_path_factory.mktemp("mtls"), pki, mutual=True)
    yield app
    app.stop(grace=0)


def cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    full = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1", **env}
    full.pop("MASSAGE_ESTIMATOR_TARGET", None)
    return subprocess.run(
        [*command(), *args], capture_output=True, text=True, timeout=60, env=full, check=False
    )


def test_plaintext_clients_cannot_talk_to_a_tls_server(tls_app: Application) -> None:
    with grpc.insecure_channel(tls_app.target) as channel:
        stub = rpb_grpc.PayerRulesServiceStub(channel)  # type: ignore[no-untyped-call]
        with pytest.raises(grpc.RpcError) as caught:
            stub.ListPlans(rpb.ListPlansRequest(), timeout=5)
    assert caught.value.code() == grpc.StatusCode.UNAVAILABLE


def test_the_cli_over_tls(tls_app: Application, pki: Pki) -> None:
    ok = cli("plans", "--target", tls_app.target,
             env={"MASSAGE_ESTIMATOR_TLS_CA_FILE": str(pki.ca)})  # fmt: skip
    assert ok.returncode == 0, ok.stderr
    assert "acme-ppo-gold" in ok.stdout


def test_the_cli_over_mutual_tls_needs_its_certificate(mtls_app: Application, pki: Pki) -> None:
    without = cli("plans", "--target", mtls_app.target,
                  env={"MASSAGE_ESTIMATOR_TLS_CA_FILE": str(pki.ca)})  # fmt: skip
    assert without.returncode != 0
    config = pki.ca.parent / "config.toml"
    config.write_text(
        f'target = "{mtls_app.target}"\n[tls]\nca_file = "{pki.ca}"\n'
        f'cert_file = "{pki.client_cert}"\nkey_file = "{pki.client_key}"\n',
        encoding="utf-8",
    )
    with_cert = cli("plans", "--config", str(config), env={})
    assert with_cert.returncode == 0, with_cert.stderr
    assert "acme-ppo-gold" in with_cert.stdout


def test_the_gateway_reaches_the_service_over_mutual_tls(
    mtls_app: Application,
    pki: Pki,
    gateway_binary: Path,  # noqa: F811 - the fixture
) -> None:
    env = {
        **os.environ,
        "MASSAGE_ESTIMATOR_TLS_CA_FILE": str(pki.ca),
        "MASSAGE_ESTIMATOR_TLS_CERT_FILE": str(pki.client_cert),
        "MASSAGE_ESTIMATOR_TLS_KEY_FILE": str(pki.client_key),
    }
    gateway = start_gateway(gateway_binary, mtls_app.target, env=env)
    try:
        wait_healthy(gateway)
        reply = http("GET", gateway.url("/v1/plans"))
        assert reply.status == 200, reply
        assert any(p["plan_id"] == "acme-ppo-gold" for p in reply.json["plans"])
    finally:
        stop_gateway(gateway)


def test_tls_settings_must_come_in_pairs(tmp_path: Path, pki: Pki) -> None:
    from service.app_security import server_credentials

    with pytest.raises(ValueError, match="together"):
        server_credentials(make_settings(tmp_path / "s.db", tls_cert_file=pki.server_cert))
    with pytest.raises(ValueError, match="tls_client_ca_file"):
        server_credentials(make_settings(tmp_path / "s.db", tls_client_ca_file=pki.ca))
