"""The real `massage-estimator rules impact` command against a real server (issue 11):
a draft raising Acme's 97124 rate, priced over a batch file and over the quotes saved
today; nothing is published."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.api.rules_helpers import ACME_2026_FILE, running_server

from .test_rules_cli import AUGUST_QUOTE, listed, run

HEADER = "row_id,plan_id,session_type,minutes,referral,referral_date,diagnosis_codes,"
HEADER += "date_of_service,network,injury,deductible_met,oop_met,visits_used"
ROWS = [
    # 4 units of 97124, $450 of the $500 deductible met
    "s0,acme-ppo-gold,deep_tissue,53,prescription,2026-02-01,M54.50,2026-03-03,in,none,450,450,3",
    # 4 units of 97140 (the draft leaves it alone), deductible met
    "s2,acme-ppo-gold,myofascial,60,prescription,2026-02-01,M54.50,2026-03-03,in,none,500,500,3",
]


@pytest.fixture(scope="module")
def target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with running_server(tmp_path_factory.mktemp("impact-cli") / "rules.db") as app:
        yield app.target


@pytest.fixture
def draft(tmp_path: Path) -> Path:
    text = ACME_2026_FILE.read_text()
    old = '"97124": "31.00"\n        "97140"'
    assert text.count(old) == 1
    path = tmp_path / "acme-2026-draft.yaml"
    path.write_text(text.replace(old, '"97124": "35.00"\n        "97140"'))
    return path


def money(value: dict[str, object]) -> str:
    return f"{value['units']}.{int(str(value['nanos'])) // 10_000_000:02d}"


def test_impact_of_a_batch_file(tmp_path: Path, target: str, draft: Path) -> None:
    batch = tmp_path / "sessions.csv"
    batch.write_text("\n".join([HEADER, *ROWS]) + "\n")
    published = listed(target)
    result = run("rules", "impact", str(draft), "--batch", str(batch), "--json", "--target", target)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert (report["session_count"], report["changed_count"]) == (2, 1)
    # s0: $64.80 -> $68.00 (50.00 + 20% of 4 x 35.00 - 50.00 = 90.00); s2: $23.20 both sides.
    assert money(report["before"]["patient_pays"]) == "88.00"  # 64.80 + 23.20
    assert money(report["after"]["patient_pays"]) == "91.20"  # 68.00 + 23.20
    (line,) = report["largest_changes"]
    assert (line["batch_index"], money(line["patient_pays_change"])) == (0, "3.20")
    assert "M54" not in result.stdout  # no diagnosis code in the report
    assert listed(target) == published  # the draft was not published
    words = run("rules", "impact", str(draft), "--batch", str(batch), "--target", target)
    assert words.returncode == 0, words.stderr
    assert "patients pay: $88.00 -> $91.20" in words.stdout
    assert "row 1" in words.stdout and "$3.20" in words.stdout


def test_impact_of_the_quotes_saved_since_a_day(target: str, draft: Path) -> None:
    saved = run("quote", *AUGUST_QUOTE, "--save", "--json", "--target", target)
    assert saved.returncode == 0, saved.stderr
    quote_id = json.loads(saved.stdout)["quote_id"]
    today = datetime.now(UTC).date().isoformat()
    result = run(
        "rules", "impact", str(draft), "--quotes-since", today, "--json", "--target", target
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["changed_count"] >= 1
    ids = [line["quote_id"] for line in report["largest_changes"]]
    assert quote_id in ids
    line = report["largest_changes"][ids.index(quote_id)]
    # The August quote: 4 x 97124, $450 of the deductible met -> +$3.20 as in the batch.
    assert money(line["patient_pays_change"]) == "3.20"


def test_impact_needs_exactly_one_source_of_sessions(target: str, draft: Path) -> None:
    neither = run("rules", "impact", str(draft), "--target", target)
    assert neither.returncode == 2
    assert "--quotes-since" in neither.stderr
