"""`massage-estimator gfe`: the real console script against the real server; the PDF is read
back with pypdf and the HTML as text, and every required element and amount is checked.

Expected amounts are literals from payer_rules/clinic.yaml's cash prices (therapeutic
massage: 45 minutes $88.00, 60 minutes $110.00; relaxation 90 minutes $135.00) and the
8-minute unit thresholds (45 minutes = 3 units, 60 = 4, 90 = 6).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from datetime import date, timedelta
from html.parser import HTMLParser
from pathlib import Path

import pytest
from pypdf import PdfReader

REPO = Path(__file__).resolve().parents[2]
SCRIPT = Path(sys.executable).with_name("massage-estimator")

CLIENT = ["--client-name", "Jane Q. Doe", "--client-dob", "1985-04-12", "--issued", "2026-02-20"]

DISCLAIMER_PHRASES = (
    "estimate only, not a contract",
    "right to dispute the bill",
    "$400 or more above this estimate",
    "within 120 calendar days of the date on the original bill",
    "Keep a copy of this Good Faith Estimate",
    "www.cms.gov/nosurprises",
    "valid for the items and services listed",
    "If other items or services are recommended, they will be estimated separately",
)


def command() -> list[str]:
    return [str(SCRIPT)] if SCRIPT.exists() else [sys.executable, "-m", "service.cli"]


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    full = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1", **(env or {})}
    for name in (
        "MASSAGE_ESTIMATOR_TARGET",
        "MASSAGE_ESTIMATOR_CONFIG",
        "MASSAGE_ESTIMATOR_CLINIC",
    ):
        if env is None or name not in env:
            full.pop(name, None)
    return subprocess.run(
        [*command(), *args], capture_output=True, text=True, timeout=120, env=full, check=False
    )


def pdf_text(path: Path) -> str:
    """All pages' text with whitespace runs collapsed (line breaks fall anywhere)."""
    reader = PdfReader(path)
    return " ".join(" ".join((page.extract_text() or "").split()) for page in reader.pages)


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def html_text(path: Path) -> str:
    parser = _Text()
    parser.feed(path.read_text(encoding="utf-8"))
    return " ".join(" ".join(parser.parts).split())


def check_common_elements(text: str) -> None:
    """Client, provider, issue date and disclaimers: on every estimate."""
    assert "Good Faith Estimate" in text
    assert "Jane Q. Doe" in text and "1985-04-12" in text
    assert "Date issued: 2026-02-20" in text or "Date issued 2026-02-20" in text
    assert "Harbor Integrative Massage" in text
    assert "1234567893" in text  # NPI
    assert "12-3456789" in text  # TIN
    assert "200 Harbor Way" in text and "Seattle, WA 98101" in text
    for phrase in DISCLAIMER_PHRASES:
        assert phrase in text, phrase


def test_one_session_pdf_and_html(grpc_target: str, tmp_path: Path) -> None:
    pdf, html = tmp_path / "gfe.pdf", tmp_path / "gfe.html"
    result = run(
        "gfe", *CLIENT, "--session-type", "deep_tissue", "--minutes", "60",
        "--date", "2026-03-03", "--diagnosis", "M54.50", "--diagnosis", "M62.830",
        "--pdf", str(pdf), "--html", str(html), "--target", grpc_target,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "total $110.00" in result.stdout
    assert pdf.read_bytes().startswith(b"%PDF-")
    for text in (pdf_text(pdf), html_text(html)):
        check_common_elements(text)
        assert "Deep tissue massage (therapeutic massage), 60 minutes, one session" in text
        # the itemized line: date, service, diagnoses, CPT code, units, charge
        assert re.search(
            r"2026-03-03 Deep tissue massage, 60 minutes M54\.50, M62\.830 97124 4 \$110\.00",
            text,
        ), text
        assert re.search(r"Total estimated charges \$110\.00", text)


def test_treatment_plan_lists_every_session(grpc_target: str, tmp_path: Path) -> None:
    pdf, html = tmp_path / "plan.pdf", tmp_path / "plan.html"
    result = run(
        "gfe", *CLIENT, "--session-type", "myofascial", "--minutes", "45",
        "--date", "2026-03-03", "--sessions", "6", "--every-days", "7",
        "--diagnosis", "M79.18", "--pdf", str(pdf), "--html", str(html),
        "--target", grpc_target,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    dates = [(date(2026, 3, 3) + timedelta(days=7 * i)).isoformat() for i in range(6)]
    assert dates[-1] == "2026-04-07"
    for text in (pdf_text(pdf), html_text(html)):
        check_common_elements(text)
        assert "6 sessions, one every 7 days" in text
        assert "6 sessions from 2026-03-03 to 2026-04-07" in text
        for day in dates:
            assert re.search(
                rf"{day} Myofascial massage, 45 minutes M79\.18 97140 3 \$88\.00", text
            ), day
        assert re.search(r"Total estimated charges \$528\.00", text)  # 6 x $88.00


def test_a_long_plan_flows_onto_more_pages(grpc_target: str, tmp_path: Path) -> None:
    pdf = tmp_path / "long.pdf"
    result = run(
        "gfe", *CLIENT, "--session-type", "swedish", "--minutes", "90",
        "--date", "2026-01-05", "--sessions", "40", "--every-days", "3",
        "--pdf", str(pdf), "--target", grpc_target,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert len(PdfReader(pdf).pages) >= 2
    text = pdf_text(pdf)
    assert text.count("$135.00") == 40
    assert "Total estimated charges $5,400.00" in text  # 40 x $135.00
    assert "none given" in text  # no diagnosis was given: said, not left blank
    check_common_elements(text)


def test_clinic_profile_from_flag_and_environment(grpc_target: str, tmp_path: Path) -> None:
    sample = (REPO / "payer_rules" / "clinic.yaml").read_text()
    other = tmp_path / "clinic.yaml"
    other.write_text(
        sample.replace("Harbor Integrative Massage", "Cedar Street Bodywork").replace(
            "200 Harbor Way", "12 Cedar Street"
        )
    )
    for args, env in (
        (["--clinic", str(other)], None),
        ([], {"MASSAGE_ESTIMATOR_CLINIC": str(other)}),
    ):
        html = tmp_path / "gfe.html"
        result = run(
            "gfe", *CLIENT, "--session-type", "sports", "--minutes", "30", "--date", "2026-03-03",
            "--html", str(html), "--target", grpc_target, *args, env=env,
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
        text = html_text(html)
        assert "Cedar Street Bodywork" in text and "12 Cedar Street" in text
        assert "Harbor Integrative Massage" not in text
        assert "$65.00" in text  # therapeutic 30 minutes


def test_html_escapes_the_client_name(grpc_target: str, tmp_path: Path) -> None:
    html = tmp_path / "gfe.html"
    result = run(
        "gfe", "--client-name", "<b>Bo</b> & Co", "--client-dob", "1990-01-01",
        "--session-type", "sports", "--minutes", "30", "--date", "2026-03-03",
        "--html", str(html), "--target", grpc_target,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    raw = html.read_text()
    assert "&lt;b&gt;Bo&lt;/b&gt; &amp; Co" in raw and "<b>Bo</b>" not in raw


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--session-type", "deep_tisue"], "did you mean 'deep_tissue'?"),
        (["--client-dob", "2030-01-01"], "after the issue date"),
        (["--client-name", " "], "name is required"),
        (["--no-output"], "give --pdf FILE, --html FILE or both"),
        (["--clinic", "/nonexistent/clinic.yaml"], "cannot read the clinic profile"),
        (["--sessions", "0"], "--sessions"),
    ],
)
def test_bad_usage_exits_2(
    grpc_target: str, tmp_path: Path, args: list[str], expected: str
) -> None:
    base = {
        "--client-name": "Jane Doe",
        "--client-dob": "1985-04-12",
        "--session-type": "deep_tissue",
        "--minutes": "60",
        "--date": "2026-03-03",
        "--issued": "2026-02-20",
        "--pdf": str(tmp_path / "x.pdf"),
    }
    flags = dict(zip(args[::2], args[1::2], strict=False))
    if args == ["--no-output"]:
        del base["--pdf"]
        flags = {}
    base.update(flags)
    result = run("gfe", *[x for kv in base.items() for x in kv], "--target", grpc_target)
    assert result.returncode == 2, result.stdout + result.stderr
    assert expected in " ".join(result.stderr.replace("│", " ").split())
    assert not (tmp_path / "x.pdf").exists()


def test_server_refusal_exits_1(grpc_target: str, tmp_path: Path) -> None:
    result = run(
        "gfe", *CLIENT, "--session-type", "deep_tissue", "--minutes", "300",
        "--date", "2026-03-03", "--pdf", str(tmp_path / "x.pdf"), "--target", grpc_target,
    )  # fmt: skip
    assert result.returncode == 1
    assert "INVALID_ARGUMENT" in result.stderr and "session.minutes" in result.stderr
    assert not (tmp_path / "x.pdf").exists()


def test_unreachable_service_exits_1(tmp_path: Path) -> None:
    result = run(
        "gfe", *CLIENT, "--session-type", "deep_tissue", "--minutes", "60",
        "--pdf", str(tmp_path / "x.pdf"), "--target", "127.0.0.1:1", "--timeout", "5",
    )  # fmt: skip
    assert result.returncode == 1 and "cannot reach" in result.stderr
