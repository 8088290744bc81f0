"""The Good Faith Estimate as a PDF (fpdf2 with the built-in Helvetica core font).

Core fonts need no font files, so the PDF renders the same on a fresh machine; the document
is plain ASCII (service.gfe.document.plain) because core fonts lack most of Unicode.
Long treatment plans flow onto further pages with the table headings repeated.
"""

from __future__ import annotations

from datetime import UTC, datetime, time

from fpdf import FPDF
from fpdf.enums import Align, XPos, YPos
from fpdf.fonts import FontFace

from service.gfe.document import GoodFaithEstimate, usd

_FONT = "Helvetica"
_INTRO = (
    "Under the No Surprises Act, health care providers need to give patients who do not have "
    "insurance or who are not using insurance an estimate of the bill for health care items "
    "and services before those items or services are provided."
)


class _Document(FPDF):
    """Letter pages with a page number in the footer."""

    def footer(self) -> None:
        self.set_y(-12)
        self.set_font(_FONT, size=8)
        self.cell(0, 6, f"Good Faith Estimate - page {self.page_no()}/{{nb}}", align=Align.C)


def _heading(pdf: FPDF, text: str) -> None:
    pdf.ln(3)
    pdf.set_font(_FONT, style="B", size=12)
    pdf.cell(0, 7, text, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font(_FONT, size=10)


def _field(pdf: FPDF, label: str, value: str) -> None:
    pdf.set_font(_FONT, style="B", size=10)
    pdf.cell(38, 5.5, label)
    pdf.set_font(_FONT, size=10)
    pdf.multi_cell(0, 5.5, value, new_x=XPos.LMARGIN, new_y=YPos.NEXT)


def render_pdf(gfe: GoodFaithEstimate) -> bytes:
    """The estimate as PDF bytes (deterministic for the same estimate)."""
    pdf = _Document(format="Letter")
    pdf.set_title(f"Good Faith Estimate - {gfe.client.name}")
    pdf.set_author(gfe.provider.name)
    pdf.set_creation_date(datetime.combine(gfe.issued_on, time(12), tzinfo=UTC))
    pdf.set_auto_page_break(auto=True, margin=18)
    pdf.add_page()
    pdf.set_font(_FONT, style="B", size=18)
    pdf.cell(0, 10, "Good Faith Estimate", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font(_FONT, size=9)
    pdf.multi_cell(0, 4.5, _INTRO, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(2)
    pdf.set_font(_FONT, size=10)
    _field(pdf, "Date issued:", gfe.issued_on.isoformat())

    _heading(pdf, "Patient")
    _field(pdf, "Name:", gfe.client.name)
    _field(pdf, "Date of birth:", gfe.client.date_of_birth.isoformat())

    _heading(pdf, "Provider")
    _field(pdf, "Name:", gfe.provider.name)
    _field(pdf, "NPI:", gfe.provider.npi)
    _field(pdf, "TIN:", gfe.provider.tin)
    _field(pdf, "Address:", "\n".join(gfe.provider.address_lines))

    _heading(pdf, "Service")
    _field(pdf, "Description:", gfe.service_description)
    _field(pdf, "Date(s):", gfe.dates_text())

    _items(pdf, gfe)

    _heading(pdf, "Disclaimers")
    pdf.set_font(_FONT, size=9)
    for text in gfe.disclaimers:
        pdf.multi_cell(0, 4.5, f"- {text}", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.ln(1)
    return bytes(pdf.output())


def _items(pdf: FPDF, gfe: GoodFaithEstimate) -> None:
    """The table of sessions, one row each, and the total."""
    _heading(pdf, "Estimated items and services")
    pdf.set_font(_FONT, size=9)
    with pdf.table(
        col_widths=(24, 62, 30, 24, 14, 26),
        text_align=("LEFT", "LEFT", "LEFT", "LEFT", "RIGHT", "RIGHT"),
        headings_style=FontFace(emphasis="BOLD"),
        line_height=5,
        padding=1,
    ) as table:
        heading = table.row()
        for title in (
            "Date of service",
            "Service",
            "Diagnosis codes",
            "Service code (CPT)",
            "Units",
            "Expected charge",
        ):
            heading.cell(title)
        for line in gfe.lines:
            row = table.row()
            row.cell(line.date_of_service.isoformat())
            row.cell(line.description)
            row.cell(", ".join(line.diagnosis_codes) or "none given")
            row.cell(line.cpt_code)
            row.cell(str(line.units))
            row.cell(usd(line.charge))
        total = table.row()
        total.cell("Total estimated charges", colspan=5, style=FontFace(emphasis="BOLD"))
        total.cell(usd(gfe.total), style=FontFace(emphasis="BOLD"))
