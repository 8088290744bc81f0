"""CI's 30-second version of the soak (scripts/soak.sh): a real server at a fixed rate,
zero errors by h2load, by the answers' bytes and by the server's own metrics, and flat RSS.
The 10-minute soak and its figures are in docs/operations.md."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT


@pytest.mark.soak
def test_thirty_second_soak_has_no_errors_and_flat_rss(tmp_path: Path) -> None:
    if shutil.which("h2load") is None:
        pytest.skip("h2load (Debian nghttp2-client) is missing; .ci/run installs it")
    report_file = tmp_path / "soak.json"
    result = subprocess.run(
        ["bash", str(REPO_ROOT / "scripts" / "soak.sh"), "--rate", "100", "--seconds", "30",
         "--json", str(report_file)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads(report_file.read_text())
    assert report["requests"] == 3000
    assert report["errors"] == 0 and report["byte_check"] == "ok"
    assert report["server_ok"] == 3000 and report["server_errors"] == {}
    assert report["rss_flat"] is True
    assert "PASS" in result.stdout
