"""Generate the Python gRPC code from protos/ (the one place that knows how).

Two callers, one generator:
- `python scripts/gen_protos.py` writes gen/python for a source checkout (`make gen`; the
  editable install maps it in as the package `massage_estimator`);
- setup.py calls `generate()` while a wheel is built, so an installed service carries the
  generated code and never needs grpcio-tools at run time (grpcio-tools is a build-system and
  dev requirement only).
The output is never edited by hand and never committed. The googleapis protos under
protos/google are vendored for buf and the gateway only: their Python modules come from the
googleapis-common-protos wheel, so they are not generated here.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PROTO_ROOT = ROOT / "protos"
OUT = ROOT / "gen" / "python"
OWN_PACKAGE = "massage_estimator"


def generate(out: Path, proto_root: Path = PROTO_ROOT) -> int:
    """Write the package `massage_estimator` (messages, stubs, .pyi, py.typed) into `out`.

    `out` is emptied first so a removed proto leaves no stale module behind. Returns
    protoc's exit code (0 on success) after printing why it failed.
    """
    from grpc_tools import protoc  # a build/dev dependency, never needed at run time

    protos = sorted(
        str(p.relative_to(proto_root)) for p in (proto_root / OWN_PACKAGE).rglob("*.proto")
    )
    if not protos:
        print(f"no .proto files under {proto_root / OWN_PACKAGE}", file=sys.stderr)
        return 1
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    well_known = Path(protoc.__file__).parent / "_proto"
    args = [
        "grpc_tools.protoc",
        f"-I{proto_root}",
        f"-I{well_known}",
        f"--python_out={out}",
        f"--pyi_out={out}",
        f"--grpc_python_out={out}",
        *protos,
    ]
    code = protoc.main(args)
    if code != 0:
        print(f"protoc failed with exit code {code}", file=sys.stderr)
        return int(code)
    # protoc does not write __init__.py; the generated tree must be a regular package so
    # setuptools can map it (see pyproject.toml).
    for directory in [
        out / OWN_PACKAGE,
        *(p for p in (out / OWN_PACKAGE).rglob("*") if p.is_dir()),
    ]:
        (directory / "__init__.py").touch()
    (out / OWN_PACKAGE / "py.typed").touch()
    print(f"generated {len(protos)} proto file(s) into {out}")
    return 0


def main() -> int:
    return generate(OUT)


if __name__ == "__main__":
    sys.exit(main())
