"""service.gfe without gRPC: building the estimate checks every element, and both renderers
print every element and amount (the PDF is read back with pypdf)."""

from __future__ import annotations

import io
from datetime import date

import pytest
from pypdf import PdfReader

from service.domain.model import Clinic
from service.gfe import (
    DISCLAIMERS,
    Client,
    GfeError,
    ServiceLine,
    build_estimate,
    render_html,
    render_pdf,
)
from service.gfe.document import plain
from service.rulefiles import load_clinic_file
from service.settings import DEFAULT_RULES_DIR


@pytest.fixture(scope="module")
def clinic() -> Clinic:
    return load_clinic_file(DEFAULT_RULES_DIR / "clinic.yaml")


def line(day: date, charge: int = 11000, units: int = 4) -> ServiceLine:
    return ServiceLine(day, "Deep tissue massage, 60 minutes", ("M54.50",), "97124", units, charge)


def text_of(pdf: bytes) -> str:
    reader = PdfReader(io.BytesIO(pdf))
    return " ".join(" ".join((p.extract_text() or "").split()) for p in reader.pages)


def test_every_element_is_rendered(clinic: Clinic) -> None:
    days = [date(2026, 3, 3), date(2026, 3, 10), date(2026, 3, 17)]
    gfe = build_estimate(
        clinic=clinic,
        client=Client("Jos\u00e9 N\u00fa\u00f1ez \u2013 Jr.", date(1970, 1, 31)),
        issued_on=date(2026, 2, 1),
        session_type="deep_tissue",
        minutes=60,
        lines=[line(d, 11000 + i) for i, d in enumerate(days)],
        every_days=7,
    )
    assert gfe.total == 11000 + 11001 + 11002
    assert gfe.client.name == "Jose Nunez - Jr."  # core fonts: plain ASCII
    for text in (text_of(render_pdf(gfe)), " ".join(render_html(gfe).split())):
        assert "Jose Nunez - Jr." in text and "1970-01-31" in text
        assert "2026-02-01" in text  # issued
        assert "Harbor Integrative Massage" in text and "1234567893" in text
        assert "12-3456789" in text and "200 Harbor Way" in text
        assert "Deep tissue massage (therapeutic massage), 60 minutes per session" in text
        for amount in ("$110.00", "$110.01", "$110.02", "$330.03"):
            assert amount in text, amount
        for day in days:
            assert day.isoformat() in text
        assert "M54.50" in text and "97124" in text
        for disclaimer in DISCLAIMERS:
            first_words = " ".join(disclaimer.split()[:8])
            assert first_words in text, first_words


def test_pdf_is_the_same_for_the_same_estimate(clinic: Clinic) -> None:
    def make() -> bytes:
        return render_pdf(
            build_estimate(
                clinic=clinic,
                client=Client("A B", date(1980, 5, 5)),
                issued_on=date(2026, 2, 1),
                session_type="sports",
                minutes=30,
                lines=[line(date(2026, 3, 3), 6500, 2)],
            )
        )

    assert make() == make()


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"client": Client("", date(1980, 1, 1))}, "the client's name is required"),
        ({"client": Client("A", date(2027, 1, 1))}, "date of birth is after the issue date"),
        ({"lines": []}, "there is no session to estimate"),
        ({"client": Client("\u6f22\u5b57", date(1980, 1, 1))}, "cannot print"),
        ({"lines": [line(date(2026, 3, 3), 0)]}, "session 1 has no expected charge"),
        ({"lines": [line(date(2026, 3, 3), units=0)]}, "session 1 has no units"),
        (
            {"lines": [line(date(2026, 3, 10)), line(date(2026, 3, 3))]},
            "the sessions are not in date order",
        ),
        ({"session_type": "reiki"}, "the clinic has no session type 'reiki'"),
    ],
)
def test_a_missing_element_is_an_error_not_a_blank(
    clinic: Clinic, change: dict[str, object], problem: str
) -> None:
    args: dict[str, object] = {
        "clinic": clinic,
        "client": Client("A B", date(1980, 5, 5)),
        "issued_on": date(2026, 2, 1),
        "session_type": "deep_tissue",
        "minutes": 60,
        "lines": [line(date(2026, 3, 3))],
    }
    args.update(change)
    with pytest.raises(GfeError, match=problem):
        build_estimate(**args)  # type: ignore[arg-type]


def test_plain_keeps_ascii_and_drops_the_rest() -> None:
    assert (
        plain("Caf\u00e9 \u201cquoted\u201d \u2014 \u2019s \u00b7 x") == 'Cafe "quoted" - \'s - x'
    )
    assert plain("\u6f22\u5b57abc") == "abc"
