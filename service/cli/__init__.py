"""The `massage-estimator` console script (entry point `service.cli:main`).

One module per command or command group, registered on main.app. The client commands (quote,
plan, batch, gfe, plans, quotes, rules, version) talk to a running service over gRPC through
service.wire and never import the server's adapter or the store; common.py holds the channel,
flag parsers and error printing they share, session_flags.py the session flags of quote, plan
and gfe, render.py the tables. The operator commands (serve, db) start the server or act on
the store through the composition root (service.app) and the storage adapter.
"""

from __future__ import annotations

from service.cli.main import app, main

__all__ = ["app", "main"]
