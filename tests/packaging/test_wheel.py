"""A non-editable wheel, installed into a fresh virtualenv, served from an unrelated folder.

This is what an operator does (`pip install .`, then `massage-estimator serve` anywhere): the
wheel is built with build isolation from a copy of the sources (so grpcio-tools comes only
from [build-system] requires), installed with its declared dependencies alone, and started
with no MASSAGE_ESTIMATOR_ setting from a temporary folder.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest

from .helpers import (
    README_QUOTE,
    REPO_ROOT,
    SERVING,
    clean_environment,
    health_status,
    serving,
)

# What the wheel is built from: the same files the Dockerfile's build stage copies.
BUILD_INPUTS = (
    "pyproject.toml",
    "setup.py",
    "MANIFEST.in",
    "README.md",
    "protos",
    "scripts/gen_protos.py",
    "service",
    "payer_rules",
)


@dataclass(frozen=True)
class Installed:
    wheel: Path
    venv: Path
    site_packages: Path

    def bin(self, name: str) -> Path:
        return self.venv / "bin" / name


def _run(*args: str | Path, cwd: Path | None = None) -> str:
    result = subprocess.run(
        [str(a) for a in args],
        cwd=cwd,
        capture_output=True,
        text=True,
        env=clean_environment(),
        timeout=600,
    )
    assert result.returncode == 0, f"{args}: exit {result.returncode}\n{result.stderr}"
    return result.stdout


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Installed:
    work = tmp_path_factory.mktemp("wheel")
    src = work / "src"
    for name in BUILD_INPUTS:
        source, target = REPO_ROOT / name, src / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.is_dir():
            shutil.copytree(source, target, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(source, target)
    _run(sys.executable, "-m", "pip", "wheel", "--no-deps", "-w", work / "wheels", src)
    (wheel,) = (work / "wheels").glob("massage_estimator-*.whl")
    venv = work / "venv"
    _run(sys.executable, "-m", "venv", venv)
    _run(venv / "bin" / "python", "-m", "pip", "install", "--quiet", wheel)
    purelib = "import sysconfig; print(sysconfig.get_paths()['purelib'])"
    site_packages = Path(_run(venv / "bin" / "python", "-c", purelib).strip())
    return Installed(wheel=wheel, venv=venv, site_packages=site_packages)


def test_wheel_carries_generated_code_and_every_sample_rule_file(installed: Installed) -> None:
    with zipfile.ZipFile(installed.wheel) as wheel:
        names = set(wheel.namelist())
        metadata = next(n for n in names if n.endswith(".dist-info/METADATA"))
        requires = [
            line.split(":", 1)[1].strip()
            for line in wheel.read(metadata).decode().splitlines()
            if line.startswith("Requires-Dist:")
        ]
    shipped_rules = {
        "service/sample_rules/" + p.relative_to(REPO_ROOT / "payer_rules").as_posix()
        for p in (REPO_ROOT / "payer_rules").rglob("*.yaml")
    }
    assert "service/sample_rules/clinic.yaml" in shipped_rules
    assert shipped_rules <= names
    assert {
        "massage_estimator/v1/estimator_pb2.py",
        "massage_estimator/v1/estimator_pb2_grpc.py",
        "massage_estimator/v1/payer_rules_pb2_grpc.py",
        "service/storage/migrations/env.py",
    } <= names
    # grpcio-tools is a build and dev requirement only.
    runtime = [r for r in requires if "extra ==" not in r]
    assert not [r for r in runtime if r.startswith("grpcio-tools")], runtime
    assert any(r.startswith("grpcio==") for r in runtime)


def test_installed_service_needs_no_grpcio_tools(installed: Installed) -> None:
    result = subprocess.run(
        [installed.bin("python"), "-c", "import grpc_tools"], capture_output=True, text=True
    )
    assert result.returncode != 0 and "No module named 'grpc_tools'" in result.stderr


def test_serve_from_another_folder_writes_only_under_it(
    installed: Installed, tmp_path: Path
) -> None:
    before = sorted(p for p in installed.venv.rglob("*") if not p.is_dir())
    elsewhere = tmp_path / "clinic-server"
    elsewhere.mkdir()
    env = clean_environment(HOME=str(tmp_path / "home"))
    with serving(
        [installed.bin("massage-estimator"), "serve", "--port", "0"],
        cwd=elsewhere,
        env=env,
        log=tmp_path / "serve.log",
    ) as (target, _process):
        assert health_status(target) == SERVING
        quote = subprocess.run(
            [installed.bin("massage-estimator"), *README_QUOTE, "--target", target],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert quote.returncode == 0, quote.stderr
        estimate = json.loads(quote.stdout)["estimate"]
        assert estimate["patient_pays"] == {
            "currency_code": "USD",
            "units": "64",
            "nanos": 800000000,
        }
        assert estimate["rule_version"]["version"] == "2026.1"
    log = (tmp_path / "serve.log").read_text()
    # The sample rules were read from the installed package, the store made under the folder.
    assert f"seeded 9 versions from {installed.site_packages / 'service' / 'sample_rules'}" in log
    assert (elsewhere / "var" / "massage-estimator.db").is_file()
    after = sorted(p for p in installed.venv.rglob("*") if not p.is_dir())
    assert after == before, "serve wrote into the virtualenv"
    assert not (installed.site_packages / "var").exists()
