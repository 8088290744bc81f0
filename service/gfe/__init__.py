"""No Surprises Act Good Faith Estimates for self-pay clients.

document.py builds the estimate from domain data (the clinic profile, the client, the priced
sessions as plain cents); html.py and pdf.py render it. Nothing here talks to gRPC: the CLI
(service/cli/gfe.py) gets the prices from the service and hands them over as ServiceLines.
"""

from __future__ import annotations

from service.gfe.document import (
    DISCLAIMERS,
    Client,
    GfeError,
    GoodFaithEstimate,
    Provider,
    ServiceLine,
    build_estimate,
)
from service.gfe.html import render_html
from service.gfe.pdf import render_pdf

__all__ = [
    "DISCLAIMERS",
    "Client",
    "GfeError",
    "GoodFaithEstimate",
    "Provider",
    "ServiceLine",
    "build_estimate",
    "render_html",
    "render_pdf",
]
