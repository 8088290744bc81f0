"""The real `massage-estimator rules|plans|quotes` commands, run as subprocesses against a real
server with its own SQLite database (publishes change it, so it is not the shared server)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import uuid
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from tests.api.rules_helpers import ACME_2026_FILE, acme_variant, mid_year_2026, running_server

SCRIPT = Path(sys.executable).with_name("massage-estimator")

AUGUST_QUOTE = [
    "--plan", "acme-ppo-gold",
    "--session-type", "deep_tissue",
    "--minutes", "53",
    "--referral", "prescription",
    "--referral-date", "2026-07-15",
    "--diagnosis", "M54.50",
    "--date", "2026-08-03",
    "--deductible-met", "450",
    "--oop-met", "450",
    "--visits-used", "3",
]  # fmt: skip


def run(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    command = [str(SCRIPT)] if SCRIPT.exists() else [sys.executable, "-m", "service.cli"]
    env = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1"}
    for name in ("MASSAGE_ESTIMATOR_TARGET", "MASSAGE_ESTIMATOR_CONFIG"):
        env.pop(name, None)
    return subprocess.run(
        [*command, *args], capture_output=True, text=True, timeout=timeout, env=env, check=False
    )


@pytest.fixture(scope="module")
def target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with running_server(tmp_path_factory.mktemp("rules-cli") / "rules.db") as app:
        yield app.target


@pytest.fixture(scope="module")
def mid_year_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("files") / "acme-2026-07.yaml"
    path.write_text(mid_year_2026(), encoding="utf-8")
    return path


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def listed(target: str, *filters: str) -> list[tuple[str, str]]:
    result = run("rules", "list", *filters, "--json", "--target", target)
    assert result.returncode == 0, result.stderr
    return [(r["payer_id"], r["version"]) for r in json.loads(result.stdout)["rule_sets"]]


def test_validate_good_bad_and_missing_files(tmp_path: Path, target: str) -> None:
    good = write(tmp_path, "good.yaml", acme_variant("2030.1", date(2030, 1, 1), None))
    ok = run("rules", "validate", str(good), str(ACME_2026_FILE), "--target", target)
    assert ok.returncode == 0, ok.stderr
    assert f"ok: {good}: acme-health 2030.1, checksum sha256:" in ok.stdout
    assert "acme-health 2026.1" in ok.stdout and "already published" in ok.stdout

    bad = write(
        tmp_path, "bad.yaml", acme_variant("2030.2", date(2030, 1, 1), None, coinsurance="150")
    )
    refused = run("rules", "validate", str(bad), "--target", target)
    assert refused.returncode == 1
    assert f"invalid: {bad}: " in refused.stdout
    assert re.search(
        rf"error: {re.escape(bad.name)}: plans\[acme-ppo-gold\]\.in_network\.coinsurance_percent: ",
        refused.stdout,
    ), refused.stdout

    as_json = run("rules", "validate", str(bad), "--json", "--target", target)
    assert as_json.returncode == 1
    (entry,) = json.loads(as_json.stdout)
    assert entry["file"] == str(bad) and entry["response"]["valid"] is False
    assert {"severity", "source", "field", "message"} <= set(entry["response"]["problems"][0])

    missing = run("rules", "validate", str(tmp_path / "nope.yaml"), "--target", target)
    assert missing.returncode == 2
    assert "does not exist" in missing.stderr
    assert ("acme-health", "2030.1") not in listed(target)


def test_publish_show_diff_plans(tmp_path: Path, target: str, mid_year_file: Path) -> None:
    published = run(
        "rules", "publish", str(mid_year_file), "--by", "ana", "--note", "July increase",
        "--target", target,
    )  # fmt: skip
    assert published.returncode == 0, published.stderr
    assert re.search(
        r"acme-health\s+2026\.2\s+2026-07-01 to 2026-12-31\s+published", published.stdout
    )

    body = json.loads(
        run("rules", "list", "--payer", "acme-health", "--json", "--target", target).stdout
    )
    (row,) = [r for r in body["rule_sets"] if r["version"] == "2026.2"]
    assert (row["published_by"], row["note"], row["plan_ids"]) == (
        "ana",
        "July increase",
        ["acme-ppo-gold"],
    )
    assert row["effective_to"] == {"year": 2026, "month": 12, "day": 31}

    table = run("rules", "list", "--plan", "acme-ppo-gold", "--target", target)
    assert table.returncode == 0
    assert re.search(
        r"acme-health\s+2026\.2\s+2026-07-01 to 2026-12-31\s+acme-ppo-gold"
        r"\s+\S+ \S+\s+ana\s+July increase",
        table.stdout,
    ), table.stdout
    assert "cedar-mutual" not in table.stdout

    shown = run("rules", "show", "acme-health", "2026.2", "--target", target)
    assert shown.returncode == 0
    assert "# Acme Health (acme-health) version 2026.2" in shown.stdout
    assert "'97124': '34.00'" in shown.stdout
    again = run(
        "rules",
        "publish",
        str(write(tmp_path, "shown.yaml", shown.stdout)),
        "--by",
        "bo",
        "--target",
        target,
    )
    assert again.returncode == 0, again.stderr
    assert "already published" in again.stdout  # the shown content is the same version

    as_json = run("rules", "show", "acme-health", "2026.2", "--format", "json", "--target", target)
    assert (
        json.loads(as_json.stdout)["plans"][0]["in_network"]["allowed_per_unit"]["97124"] == "34.00"
    )

    diff = run("rules", "diff", "acme-health", "2026.1", "2026.2", "--target", target)
    assert diff.returncode == 0, diff.stderr
    assert re.search(
        r"changed\s+plans\[acme-ppo-gold\]\.in_network\.allowed_per_unit\.97124\s+\$31\.00\s+\$34\.00",
        diff.stdout,
    ), diff.stdout
    assert re.search(r"changed\s+effective_from\s+2026-01-01\s+2026-07-01", diff.stdout)
    assert "4 change(s)" in diff.stdout  # version, effective_from, note, the 97124 rate

    plans = run("plans", "--payer", "acme-health", "--target", target)
    assert plans.returncode == 0, plans.stderr
    assert re.search(
        r"2026\.1\s+2026-01-01 to 2026-12-31\s+until 2026-06-30; 2026\.2 from 2026-07-01",
        plans.stdout,
    ), plans.stdout
    assert re.search(r"2027\.1\s+2027-01-01 onward\s+whole range", plans.stdout)
    plans_json = json.loads(run("plans", "--json", "--target", target).stdout)
    assert [p["plan_id"] for p in plans_json["plans"]] == [
        "acme-ppo-gold", "birch-hdhp-copay", "cedar-hdhp-hsa", "contoso-hmo-silver",
        "lakeside-choice-ppo", "pacific-ma-chronic-pain", "rainier-ump-classic", "summit-ma-plus",
    ]  # fmt: skip


def test_refused_publishes_exit_1_with_words_and_write_nothing(tmp_path: Path, target: str) -> None:
    before = listed(target)
    overlap = write(
        tmp_path, "overlap.yaml", acme_variant("2026.5", date(2026, 3, 1), date(2026, 9, 30))
    )
    result = run("rules", "publish", str(overlap), "--by", "ana", "--target", target)
    assert result.returncode == 1
    assert "error: INVALID_ARGUMENT: the request has 1 invalid field:" in result.stderr
    assert (
        "  - acme-health 2026.5: plans[acme-ppo-gold].effective_from: "
        "effective 2026-03-01 to 2026-09-30 overlaps acme-health 2026.1" in result.stderr
    )
    assert "Traceback" not in result.stderr

    relabel = write(
        tmp_path,
        "relabel.yaml",
        acme_variant("2026.1", date(2026, 1, 1), date(2026, 12, 31), allowed_97124="99.00"),
    )
    conflict = run("rules", "publish", str(relabel), "--by", "ana", "--target", target)
    assert conflict.returncode == 1
    assert "error: ALREADY_EXISTS: acme-health 2026.1 not published: version '2026.1'" in (
        conflict.stderr
    )
    assert "reason: RULE_SET_VERSION_EXISTS" in conflict.stderr

    # Several files: all are validated first, so one bad file stops the good one too.
    good = write(tmp_path, "good.yaml", acme_variant("2031.1", date(2031, 1, 1), None))
    bad = write(
        tmp_path, "bad.yaml", acme_variant("2032.1", date(2032, 1, 1), None, coinsurance="150")
    )
    both = run("rules", "publish", str(good), str(bad), "--by", "ana", "--target", target)
    assert both.returncode == 1
    assert "error: nothing was published:" in both.stderr
    assert f"invalid: {bad}" in both.stderr
    assert listed(target) == before


def test_quote_save_and_quotes_show(target: str) -> None:
    saved = run("quote", *AUGUST_QUOTE, "--save", "--target", target)
    assert saved.returncode == 0, saved.stderr
    match = re.search(r"quote id: ([0-9a-f-]{36})", saved.stdout)
    assert match, saved.stdout
    quote_id = match.group(1)
    uuid.UUID(quote_id)

    shown = run("quotes", "show", quote_id, "--target", target)
    assert shown.returncode == 0, shown.stderr
    assert f"quote {quote_id}, saved " in shown.stdout
    assert re.search(r"result\s+same numbers as saved", shown.stdout)

    body = json.loads(run("quotes", "show", quote_id, "--json", "--target", target).stdout)
    assert body["quote_id"] == quote_id and body["replay_matches"] is True
    assert body["estimate"] == body["replay"]
    assert body["request"]["save_quote"] is True

    preview = run("quote", *AUGUST_QUOTE, "--target", target)
    assert preview.returncode == 0 and "quote id" not in preview.stdout

    unknown = run("quotes", "show", str(uuid.uuid4()), "--target", target)
    assert unknown.returncode == 1
    assert "error: NOT_FOUND: no saved quote has id" in unknown.stderr


def test_usage_errors_exit_2_and_unreachable_exits_1(target: str) -> None:
    bad_format = run(
        "rules", "show", "acme-health", "2026.1", "--format", "xml", "--target", target
    )
    assert bad_format.returncode == 2
    missing_arg = run("rules", "diff", "acme-health", "2026.1", "--target", target)
    assert missing_arg.returncode == 2
    unknown = run("rules", "show", "acme-health", "1999", "--target", target)
    assert unknown.returncode == 1
    assert "has no published version '1999'" in unknown.stderr
    down = run("rules", "list", "--target", "127.0.0.1:1", "--timeout", "3")
    assert down.returncode == 1
    assert "cannot reach the estimator service at 127.0.0.1:1" in down.stderr


def test_an_invalid_file_is_not_called_unreadable(tmp_path: Path, target: str) -> None:
    """A readable file that fails its checks has no payer/version yet; the summary line used
    to call it "(unreadable)", which sent analysts looking for a permissions problem."""
    text = acme_variant("2030.3", date(2030, 1, 1), None).replace("'31.00'", "31.5")
    assert "31.5" in text
    bad = write(tmp_path, "float.yaml", text)
    result = run("rules", "validate", str(bad), "--target", target)
    assert result.returncode == 1
    assert f"invalid: {bad}: 1 error(s)" in result.stdout, result.stdout
    assert "unreadable" not in result.stdout
    assert "allowed_per_unit.97124" in result.stdout


def test_list_without_matches_prints_no_empty_table_and_suggests(target: str) -> None:
    result = run("rules", "list", "--payer", "acme-helth", "--target", target)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == (
        "no published versions match: --payer 'acme-helth' names nothing published "
        "(did you mean 'acme-health'?)"
    )
    both = run(
        "rules", "list", "--payer", "cedar-mutual", "--plan", "acme-ppo-gold", "--target", target
    )
    assert both.returncode == 0, both.stderr
    assert both.stdout.strip() == "no published versions match"


def test_plans_without_matches_prints_no_empty_table_and_suggests(target: str) -> None:
    result = run("plans", "--payer", "acme-helth", "--target", target)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == (
        "no plans match --payer 'acme-helth' (did you mean 'acme-health'?)"
    )
