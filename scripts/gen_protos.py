"""Generate the Python gRPC code from protos/ into gen/python (the one place it lives).

Run `python scripts/gen_protos.py`; the output is never edited by hand and never committed.
The googleapis protos under protos/google are vendored for buf and the gateway only: their
Python modules come from the googleapis-common-protos wheel, so they are not generated here.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from grpc_tools import protoc

ROOT = Path(__file__).resolve().parent.parent
PROTO_ROOT = ROOT / "protos"
OUT = ROOT / "gen" / "python"
OWN_PACKAGE = "massage_estimator"


def main() -> int:
    protos = sorted(
        str(p.relative_to(PROTO_ROOT)) for p in (PROTO_ROOT / OWN_PACKAGE).rglob("*.proto")
    )
    if not protos:
        print(f"no .proto files under {PROTO_ROOT / OWN_PACKAGE}", file=sys.stderr)
        return 1
    if OUT.exists():
        shutil.rmtree(OUT)
    OUT.mkdir(parents=True)
    well_known = Path(protoc.__file__).parent / "_proto"
    args = [
        "grpc_tools.protoc",
        f"-I{PROTO_ROOT}",
        f"-I{well_known}",
        f"--python_out={OUT}",
        f"--pyi_out={OUT}",
        f"--grpc_python_out={OUT}",
        *protos,
    ]
    code = protoc.main(args)
    if code != 0:
        print(f"protoc failed with exit code {code}", file=sys.stderr)
        return int(code)
    # protoc does not write __init__.py; the generated tree must be a regular package so
    # setuptools can map it (see pyproject.toml).
    for directory in [
        OUT / OWN_PACKAGE,
        *(p for p in (OUT / OWN_PACKAGE).rglob("*") if p.is_dir()),
    ]:
        (directory / "__init__.py").touch()
    (OUT / OWN_PACKAGE / "py.typed").touch()
    print(f"generated {len(protos)} proto file(s) into {OUT.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
