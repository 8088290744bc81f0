"""Tables on a clerk's terminal fit its width: ids, dates and money stay whole.

Before, `plans` printed 173-column lines and `rules list` 122 on any terminal (the terminal
then broke every row mid-cell), and on an 80-column terminal `plan` cut money to "$124.…".
These run the real console script on a pseudo-terminal of a given size against real servers.
"""

from __future__ import annotations

import os
import re

import pytest

from tests.cli.terminal import run_on_pty
from tests.cli.test_cli import EXAMPLE
from tests.cli.test_rules_cli import target  # noqa: F401  (module fixture: its own server)

ANSI = re.compile(r"\x1b\[[0-9;?]*[a-zA-Z]")


def run_on_terminal(columns: int, *args: str) -> tuple[int, list[str]]:
    """The CLI with stdout and stderr on a pseudo-terminal `columns` wide; its lines."""
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES", "NO_COLOR")}
    env.pop("MASSAGE_ESTIMATOR_TARGET", None)
    env["TERM"] = "xterm"
    code, raw = run_on_pty(*args, columns=columns, env=env, timeout=60)
    text = ANSI.sub("", raw).replace("\r", "")
    return code, text.splitlines()


def assert_fits(lines: list[str], columns: int) -> None:
    too_wide = [line for line in lines if len(line) > columns]
    assert not too_wide, "\n".join(too_wide)


@pytest.mark.parametrize("columns", [100, 80])
def test_plans_and_rule_versions_fit_with_ids_whole(target: str, columns: int) -> None:  # noqa: F811
    code, lines = run_on_terminal(columns, "plans", "--target", target)
    assert code == 0, lines
    assert_fits(lines, columns)
    text = "\n".join(lines)
    for plan_id in ("acme-ppo-gold", "cedar-hdhp-hsa", "contoso-hmo-silver", "summit-ma-plus"):
        assert re.search(rf"^\s+{plan_id}\s", text, re.M), text
    assert re.search(rf"^\(hidden at {columns} columns: name", text, re.M), text

    code, lines = run_on_terminal(columns, "rules", "list", "--target", target)
    assert code == 0, lines
    assert_fits(lines, columns)
    text = "\n".join(lines)
    assert "summit-medicare-advantage" in text and "2026-01-01" in text
    assert "…" not in text


def test_a_wide_terminal_shows_every_column(target: str) -> None:  # noqa: F811
    code, lines = run_on_terminal(200, "plans", "--target", target)
    assert code == 0, lines
    text = "\n".join(lines)
    assert "Acme PPO Gold" in text and "hidden" not in text
    assert re.search(r"acme-ppo-gold\s+Acme PPO Gold\s+acme-health\s+2026\.1\s", text), text


@pytest.mark.parametrize("columns", [100, 80])
def test_treatment_plan_money_is_never_cut(grpc_target: str, columns: int) -> None:
    code, lines = run_on_terminal(
        columns, "plan", *EXAMPLE, "--sessions", "3", "--target", grpc_target
    )
    assert code == 0, lines
    assert_fits(lines, columns)
    text = "\n".join(lines)
    assert "…" not in text
    assert re.search(
        r"^\s+1\s+2026-03-03\s+yes\s.*\$124\.00\s+\$59\.20\s+\$64\.80\s", text, re.M
    ), text
