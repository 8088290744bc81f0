"""The `massage-estimator` console script (entry point `service.cli:main`).

One module per command group: serve.py (the server), quote.py (one session), plan.py (a
treatment plan); common.py holds the session flags, the channel and error printing shared by
the client commands, render.py the tables. Later groups (batch, gfe, rules) plug into main.app.
"""

from __future__ import annotations

from service.cli.main import app, main

__all__ = ["app", "main"]
