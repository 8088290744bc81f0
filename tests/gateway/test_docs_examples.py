"""Every curl example of docs/rest-gateway.md and README.md runs against the real gateway
with its status.

A documented example that no longer works is worse than none: a portal developer copies it
first. Each example block is preceded by `<!-- expect NNN -->` in the doc.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from .helpers import REPO_ROOT, Gateway, unavailable

pytestmark = pytest.mark.gateway

DOC = REPO_ROOT / "docs" / "rest-gateway.md"
README = REPO_ROOT / "README.md"
DOC_BASE_URL = "http://localhost:8080"
EXAMPLE = re.compile(r"<!-- expect (\d{3}) -->\s*```sh\n(.*?)```", re.DOTALL)


def doc_examples(*docs: Path) -> list[tuple[int, str]]:
    return [
        (int(status), command.strip())
        for doc in docs or (DOC,)
        for status, command in EXAMPLE.findall(doc.read_text())
    ]


def test_the_doc_has_examples_for_every_route_and_error() -> None:
    commands = " ".join(command for _, command in doc_examples())
    statuses = {status for status, _ in doc_examples()}
    for route in (
        "/v1/estimates:session",
        "/v1/estimates:treatmentPlan",
        "/v1/estimates:batch",
        "/v1/quotes/",
        "/v1/plans",
        "/v1/payers/acme-health/rule-sets",
        "/rule-sets/2027.1",
        "/rule-sets:diff",
        "/v1/rule-sets:validate",
        "/v1/rule-sets:publish",
    ):
        assert route in commands, route
    assert {200, 400, 404, 412} <= statuses


def test_the_readme_has_working_examples() -> None:
    statuses = {status for status, _ in doc_examples(README)}
    assert {200, 400} <= statuses


@pytest.mark.parametrize(("status", "command"), doc_examples(DOC, README))
def test_doc_example_runs(gateway: Gateway, tmp_path: Path, status: int, command: str) -> None:
    if shutil.which("curl") is None:
        unavailable("curl is not installed (apt-get install curl)")
    # The last command of the example is curl (a pipeline may build its body first); its
    # output goes to a file and its status is appended.
    assert "curl " in command.rsplit("|", 1)[-1] and DOC_BASE_URL in command
    body = tmp_path / "body.json"
    runnable = command.replace(DOC_BASE_URL, gateway.base_url)
    result = subprocess.run(
        ["bash", "-c", f"{runnable} -o {body} -w '%{{http_code}}'"],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        timeout=30,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert int(result.stdout) == status, body.read_text()
    answer = json.loads(body.read_text())
    if status == 200:
        assert "code" not in answer or "status" in answer
    else:
        assert answer["code"] > 0 and answer["message"]
