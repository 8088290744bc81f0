"""Connection settings (flag > env > config file > default), the bearer token and TLS on a
real server, `version`, and the --help examples of the client commands.

The token and TLS tests start their own real grpc.server around the real EstimatorServicer
and the session's Quoter, with a test-only server interceptor that records the metadata of
every call: the service itself has no auth yet (a later issue) and its behaviour is not
changed. Certificates are made with Debian's openssl in a temporary folder.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from concurrent import futures
from pathlib import Path
from typing import Any

import grpc
import pytest
from massage_estimator.v1 import estimator_pb2_grpc as pb_grpc

from service.api.estimator import EstimatorServicer
from service.app import Application
from service.cli.config import DEFAULT_CLINIC_FILE, DEFAULT_TARGET, ConfigError, resolve

SCRIPT = Path(sys.executable).with_name("massage-estimator")
QUOTE = [
    "quote", "--plan", "self-pay", "--session-type", "deep_tissue", "--minutes", "60",
    "--date", "2026-03-03", "--json",
]  # fmt: skip
OUR_ENV = (
    "MASSAGE_ESTIMATOR_TARGET",
    "MASSAGE_ESTIMATOR_CONFIG",
    "MASSAGE_ESTIMATOR_TOKEN",
    "MASSAGE_ESTIMATOR_CLINIC",
    "MASSAGE_ESTIMATOR_TLS_CA_FILE",
    "MASSAGE_ESTIMATOR_TLS_CERT_FILE",
    "MASSAGE_ESTIMATOR_TLS_KEY_FILE",
)


def command() -> list[str]:
    return [str(SCRIPT)] if SCRIPT.exists() else [sys.executable, "-m", "service.cli"]


def run(
    *args: str, env: dict[str, str] | None = None, home: Path | None = None
) -> subprocess.CompletedProcess[str]:
    full = {k: v for k, v in os.environ.items() if k not in OUR_ENV}
    full.update({"COLUMNS": "200", "NO_COLOR": "1"})
    if home is not None:  # keep the real ~/.config out of the test
        full["HOME"] = str(home)
        full.pop("XDG_CONFIG_HOME", None)
    full.update(env or {})
    return subprocess.run(
        [*command(), *args], capture_output=True, text=True, timeout=120, env=full, check=False
    )


# ---------------------------------------------------------------- precedence (no server)


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_defaults_without_anything(tmp_path: Path) -> None:
    conn = resolve(env={"HOME": str(tmp_path)})
    assert conn.target == DEFAULT_TARGET == "localhost:50051"
    assert conn.token is None and not conn.tls.enabled
    assert conn.clinic_file == DEFAULT_CLINIC_FILE
    assert conn.source("target") == "default"


def test_flag_beats_env_beats_file_beats_default(tmp_path: Path) -> None:
    home_file = write(
        tmp_path / ".config" / "massage-estimator" / "config.toml",
        'target = "from-home-file:1"\ntoken = "file-token"\nclinic = "clinic.yaml"\n',
    )
    env = {"HOME": str(tmp_path)}
    conn = resolve(env=env)
    assert (conn.target, conn.token) == ("from-home-file:1", "file-token")
    assert conn.clinic_file == home_file.parent / "clinic.yaml"  # relative to the file
    assert conn.source("target") == f"file {home_file}"

    named = write(tmp_path / "other.toml", 'target = "from-named-file:2"\n')
    assert resolve(env={**env, "MASSAGE_ESTIMATOR_CONFIG": str(named)}).target == (
        "from-named-file:2"
    )
    assert resolve(config=named, env=env).target == "from-named-file:2"
    assert resolve(config=named, env=env).token is None  # the home file is not merged in

    env["MASSAGE_ESTIMATOR_TARGET"] = "from-env:3"
    env["MASSAGE_ESTIMATOR_TOKEN"] = "env-token"
    conn = resolve(env=env)
    assert (conn.target, conn.token) == ("from-env:3", "env-token")
    assert conn.source("target") == "env MASSAGE_ESTIMATOR_TARGET"

    conn = resolve(target="from-flag:4", env=env)
    assert conn.target == "from-flag:4" and conn.source("target") == "flag"
    assert conn.token == "env-token"


def test_tls_files_from_the_file_are_relative_to_it(tmp_path: Path) -> None:
    for name in ("ca.pem", "client.pem", "client.key"):
        write(tmp_path / "certs" / name, "pem")
    config = write(
        tmp_path / "config.toml",
        '[tls]\nca_file = "certs/ca.pem"\ncert_file = "certs/client.pem"\n'
        'key_file = "certs/client.key"\n',
    )
    conn = resolve(config=config, env={"HOME": str(tmp_path)})
    assert conn.tls.enabled
    assert conn.tls.ca_file == tmp_path / "certs" / "ca.pem"
    assert conn.tls.key_file == tmp_path / "certs" / "client.key"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('target = "x"\ntoekn = "y"\n', r"unknown setting toekn \(did you mean 'token'\?\)"),
        ("target = [1]\n", "target must be a non-empty string"),
        ("target = \n", "config file"),
        ('[tls]\nca_file = "missing.pem"\n', "does not exist"),
        ('[tls]\ncert = "x"\n', "unknown tls setting cert"),
        ('[tls]\nca_fle = "x"\n', r"unknown tls setting ca_fle \(did you mean 'ca_file'\?\)"),
    ],
)
def test_bad_config_files_are_named(tmp_path: Path, text: str, message: str) -> None:
    config = write(tmp_path / "config.toml", text)
    with pytest.raises(ConfigError, match=message):
        resolve(config=config, env={"HOME": str(tmp_path)})


def test_a_named_config_file_must_exist(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        resolve(config=tmp_path / "nope.toml", env={})
    with pytest.raises(ConfigError, match="does not exist"):
        resolve(env={"MASSAGE_ESTIMATOR_CONFIG": str(tmp_path / "nope.toml")})


def test_cert_without_key_is_refused(tmp_path: Path) -> None:
    write(tmp_path / "c.pem", "pem")
    with pytest.raises(ConfigError, match="together"):
        resolve(env={"MASSAGE_ESTIMATOR_TLS_CERT_FILE": str(tmp_path / "c.pem")})


def test_bad_config_is_exit_2_in_the_cli(tmp_path: Path) -> None:
    config = write(tmp_path / "config.toml", 'taget = "x"\n')
    result = run(*QUOTE, "--config", str(config), home=tmp_path)
    assert result.returncode == 2
    assert "unknown setting taget" in result.stderr and "Traceback" not in result.stderr


# ---------------------------------------------------------------- a recording real server


class MetadataRecorder(grpc.ServerInterceptor):  # type: ignore[type-arg]
    """Test-only: remembers the method and metadata of every call the server receives."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, str]]] = []

    def intercept_service(
        self, continuation: Callable[[Any], Any], handler_call_details: Any
    ) -> Any:
        metadata = {k: v for k, v in handler_call_details.invocation_metadata}
        self.calls.append((handler_call_details.method, metadata))
        return continuation(handler_call_details)


def start_recording_server(
    app: Application, credentials: grpc.ServerCredentials | None = None
) -> tuple[grpc.Server, int, MetadataRecorder]:
    recorder = MetadataRecorder()
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4), interceptors=[recorder])
    pb_grpc.add_EstimatorServiceServicer_to_server(  # type: ignore[no-untyped-call]
        EstimatorServicer(app.quoter), server
    )
    if credentials is None:
        port = server.add_insecure_port("127.0.0.1:0")
    else:
        port = server.add_secure_port("127.0.0.1:0", credentials)
    server.start()
    return server, port, recorder


@pytest.fixture
def recording_server(estimator_app: Application) -> Iterator[tuple[str, MetadataRecorder]]:
    server, port, recorder = start_recording_server(estimator_app)
    try:
        yield f"127.0.0.1:{port}", recorder
    finally:
        server.stop(grace=None)


def test_token_from_the_config_file_reaches_the_server(
    recording_server: tuple[str, MetadataRecorder], tmp_path: Path
) -> None:
    target, recorder = recording_server
    config = write(tmp_path / "config.toml", f'target = "{target}"\ntoken = "file-s3cret"\n')
    result = run(*QUOTE, env={"MASSAGE_ESTIMATOR_CONFIG": str(config)}, home=tmp_path)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["estimate"]["patient_pays"]["units"] == "110"
    method, metadata = recorder.calls[-1]
    assert method == "/massage_estimator.v1.EstimatorService/EstimateSession"
    assert metadata["authorization"] == "Bearer file-s3cret"

    # the environment overrides the file's token, and batch calls carry it too
    source = write(
        tmp_path / "in.csv",
        "plan_id,session_type,minutes,date_of_service\nself-pay,sports,30,2026-03-03\n",
    )
    result = run(
        "batch", str(source), "-o", str(tmp_path / "out.csv"),
        env={"MASSAGE_ESTIMATOR_CONFIG": str(config), "MASSAGE_ESTIMATOR_TOKEN": "env-s3cret"},
        home=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    batch_calls = [m for name, m in recorder.calls if name.endswith("/EstimateSessions")]
    assert batch_calls and all(m["authorization"] == "Bearer env-s3cret" for m in batch_calls)
    assert "65.00" in (tmp_path / "out.csv").read_text()


def test_no_token_sends_no_authorization(
    recording_server: tuple[str, MetadataRecorder], tmp_path: Path
) -> None:
    target, recorder = recording_server
    result = run(*QUOTE, "--target", target, home=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "authorization" not in recorder.calls[-1][1]


def test_target_flag_beats_env_in_the_cli(
    recording_server: tuple[str, MetadataRecorder], tmp_path: Path
) -> None:
    target, recorder = recording_server
    before = len(recorder.calls)
    result = run(
        *QUOTE, "--target", target, env={"MASSAGE_ESTIMATOR_TARGET": "127.0.0.1:1"}, home=tmp_path
    )
    assert result.returncode == 0, result.stderr
    assert len(recorder.calls) == before + 1
    env_only = run(*QUOTE, "--timeout", "5", env={"MASSAGE_ESTIMATOR_TARGET": "127.0.0.1:1"})
    assert env_only.returncode == 1 and "127.0.0.1:1" in env_only.stderr


# ---------------------------------------------------------------- TLS


def openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


@pytest.fixture(scope="module")
def certificates(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A throwaway CA, a server certificate for localhost and a client certificate."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl (Debian package openssl) is needed to make test certificates")
    d = tmp_path_factory.mktemp("certs")
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out",
            "ca.pem", "-days", "2", "-subj", "/CN=test-ca", cwd=d)  # fmt: skip
    (d / "san.ext").write_text("subjectAltName=DNS:localhost,IP:127.0.0.1\n")
    for name in ("server", "client"):
        openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{name}.key", "-out",
                f"{name}.csr", "-subj", f"/CN={name}", cwd=d)  # fmt: skip
        openssl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
                "-CAcreateserial", "-out", f"{name}.pem", "-days", "2", "-extfile", "san.ext",
                cwd=d)  # fmt: skip
    return d


def test_mutual_tls_and_token_from_the_config_file(
    estimator_app: Application, certificates: Path, tmp_path: Path
) -> None:
    d = certificates
    credentials = grpc.ssl_server_credentials(
        [((d / "server.key").read_bytes(), (d / "server.pem").read_bytes())],
        root_certificates=(d / "ca.pem").read_bytes(),
        require_client_auth=True,
    )
    server, port, recorder = start_recording_server(estimator_app, credentials)
    try:
        config = write(
            tmp_path / "config.toml",
            f'target = "localhost:{port}"\ntoken = "tls-s3cret"\n[tls]\n'
            f'ca_file = "{d / "ca.pem"}"\ncert_file = "{d / "client.pem"}"\n'
            f'key_file = "{d / "client.key"}"\n',
        )
        result = run(*QUOTE, "--config", str(config), home=tmp_path)
        assert result.returncode == 0, result.stderr
        assert json.loads(result.stdout)["estimate"]["patient_pays"]["units"] == "110"
        assert recorder.calls[-1][1]["authorization"] == "Bearer tls-s3cret"

        plaintext = run(*QUOTE, "--target", f"localhost:{port}", "--timeout", "5", home=tmp_path)
        assert plaintext.returncode == 1 and "cannot reach" in plaintext.stderr

        no_client_cert = write(
            tmp_path / "server-only.toml",
            f'target = "localhost:{port}"\n[tls]\nca_file = "{d / "ca.pem"}"\n',
        )
        refused = run(*QUOTE, "--config", str(no_client_cert), "--timeout", "5", home=tmp_path)
        assert refused.returncode == 1 and "Traceback" not in refused.stderr
    finally:
        server.stop(grace=None)


# ---------------------------------------------------------------- version and help


def test_version_reports_the_server(grpc_target: str, tmp_path: Path) -> None:
    result = run("version", "--target", grpc_target, "--json", home=tmp_path)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["client"]["massage-estimator"] == "0.1.0"
    assert report["client"]["grpcio"] == grpc.__version__
    assert report["server"]["health"] == "SERVING"
    assert "massage_estimator.v1.EstimatorService" in report["server"]["services"]
    table = run("version", "--target", grpc_target, home=tmp_path)
    assert table.returncode == 0 and "SERVING" in table.stdout and "protobuf" in table.stdout


def test_version_without_a_target_does_not_call_and_exits_0(tmp_path: Path) -> None:
    result = run("version", home=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "not asked" in result.stdout


def test_version_with_an_unreachable_target_exits_1(tmp_path: Path) -> None:
    result = run("version", "--target", "127.0.0.1:1", "--timeout", "3", home=tmp_path)
    assert result.returncode == 1 and "cannot reach" in result.stderr


@pytest.mark.parametrize(
    "name",
    [
        "quote", "plan", "batch", "gfe", "version", "serve", "plans",
        "rules validate", "rules publish", "rules list", "rules show", "rules diff",
        "quotes show", "db upgrade", "db current",
    ],
)  # fmt: skip
def test_help_shows_examples(name: str) -> None:
    """The README and docs/cli.md promise examples in every command's --help; the rules,
    plans and quotes commands had none."""
    result = run(*name.split(), "--help")
    assert result.returncode == 0
    assert "Example" in result.stdout and f"massage-estimator {name}" in result.stdout


def test_session_type_typo_is_caught_before_calling(tmp_path: Path) -> None:
    # 127.0.0.1:1 answers nothing: exit 2 with the suggestion proves no call was needed
    args = [a if a != "deep_tissue" else "deep_tisue" for a in QUOTE]
    result = run(*args, "--target", "127.0.0.1:1", home=tmp_path)
    assert result.returncode == 2
    assert "did you mean 'deep_tissue'?" in " ".join(result.stderr.replace("│", " ").split())
