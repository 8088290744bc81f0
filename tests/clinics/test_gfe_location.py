"""A Good Faith Estimate for the second location: its name, NPI, TIN and address and its own
cash prices, read back from the PDF's text."""

from __future__ import annotations

import re
from pathlib import Path

from tests.cli.test_gfe import CLIENT, pdf_text, run


def test_a_gfe_for_harbor_eastside(grpc_target: str, tmp_path: Path) -> None:
    pdf = tmp_path / "eastside.pdf"
    result = run(
        "gfe", *CLIENT, "--session-type", "deep_tissue", "--minutes", "60",
        "--date", "2026-03-03", "--sessions", "2", "--every-days", "7",
        "--diagnosis", "M54.50", "--location", "harbor-eastside",
        "--pdf", str(pdf), "--target", grpc_target,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    # Two sessions at Eastside's 60-minute therapeutic price: 2 x $115.00 = $230.00.
    assert "total $230.00" in result.stdout
    text = pdf_text(pdf)
    assert "Harbor Integrative Massage - Eastside" in text
    assert "1987654328" in text  # Eastside's NPI
    assert "12-3456789" in text
    assert "1500 Bellevue Way NE, Suite 210" in text and "Bellevue, WA 98004" in text
    assert "200 Harbor Way" not in text and "1234567893" not in text
    assert re.search(r"2026-03-10 Deep tissue massage, 60 minutes M54\.50 97124 4 \$115\.00", text)
    assert re.search(r"Total estimated charges \$230\.00", text)
