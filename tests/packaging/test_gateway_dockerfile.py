"""The gateway image builds from every Go file of gateway/: a file the Dockerfile forgets
(the request checker, the error handler) would build a gateway without it, or not at all."""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_the_gateway_image_copies_every_go_file() -> None:
    dockerfile = (REPO / "gateway" / "Dockerfile").read_text()
    copied = {
        Path(src).name
        for line in re.findall(r"^COPY (gateway/.*) gateway/$", dockerfile, re.MULTILINE)
        for src in line.split()
    }
    assert copied == {p.name for p in (REPO / "gateway").glob("*.go")}
