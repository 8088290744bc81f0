"""Build hooks for the wheel; everything else about the package is in pyproject.toml.

A wheel (`pip install .`, `pip wheel .`, the container build) gets two things no source file
holds:
- the generated gRPC package `massage_estimator`, generated here from protos/ with the
  grpcio-tools pinned in [build-system] requires (scripts/gen_protos.py does the work), so
  the installed service needs grpcio-tools neither to install nor to run;
- the sample rules of payer_rules/ (kept at the top of the repository) as package data under
  `service/sample_rules/`, where service.resources finds them.
An editable install (`make gen`) skips both: it maps gen/python and reads payer_rules/ in place.
"""

from __future__ import annotations

import importlib.util
import shutil
import tempfile
from pathlib import Path
from typing import Any

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent
SAMPLE_RULES = ROOT / "payer_rules"
GENERATOR = ROOT / "scripts" / "gen_protos.py"
GENERATED_PACKAGE = "massage_estimator"
PACKAGED_SAMPLE_RULES = Path("service") / "sample_rules"  # service.resources reads it


def _generator() -> Any:
    spec = importlib.util.spec_from_file_location("gen_protos", GENERATOR)
    if spec is None or spec.loader is None:
        raise RuntimeError(f"cannot load {GENERATOR}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class BuildPyWithGeneratedCode(build_py):
    """build_py, plus the generated gRPC code and the sample rules in the build tree."""

    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            return
        build_lib = Path(self.build_lib)
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "python"
            if _generator().generate(out, ROOT / "protos") != 0:
                raise RuntimeError("generating the gRPC code from protos/ failed (see above)")
            shutil.rmtree(build_lib / GENERATED_PACKAGE, ignore_errors=True)
            shutil.copytree(out / GENERATED_PACKAGE, build_lib / GENERATED_PACKAGE)
        if not (SAMPLE_RULES / "clinic.yaml").is_file():
            raise RuntimeError(f"{SAMPLE_RULES}/clinic.yaml is missing: the wheel needs it")
        target = build_lib / PACKAGED_SAMPLE_RULES
        shutil.rmtree(target, ignore_errors=True)
        shutil.copytree(SAMPLE_RULES, target, ignore=_not_rule_files)


def _not_rule_files(folder: str, names: list[str]) -> list[str]:
    """Only the rule files (*.yaml, *.yml) and their folders go into the wheel."""
    return [
        name
        for name in names
        if name.startswith(".")
        or ((Path(folder) / name).is_file() and not name.endswith((".yaml", ".yml")))
    ]


setup(cmdclass={"build_py": BuildPyWithGeneratedCode})
