"""`make serve` (the quickstart) listens where the operator's settings say."""

from __future__ import annotations

from pathlib import Path

from .helpers import REPO_ROOT, SERVING, clean_environment, free_port, health_status, serving

# The bootstrap targets are already built for the test run; -o keeps make from redoing them.
MAKE_SERVE = ["make", "-s", "-o", ".venv/.installed", "-o", "gen/python/.stamp", "serve"]


def _env(tmp_path: Path, **settings: str) -> dict[str, str]:
    env = clean_environment(
        MASSAGE_ESTIMATOR_DATABASE_URL=f"sqlite:///{tmp_path / 'make-serve.db'}",
        MASSAGE_ESTIMATOR_SHUTDOWN_GRACE_SECONDS="1",
        **settings,
    )
    env.pop("PORT", None)  # a PORT in the environment is a `make serve PORT=...` too
    return env


def test_make_serve_listens_on_massage_estimator_port(tmp_path: Path) -> None:
    port = free_port()
    env = _env(tmp_path, MASSAGE_ESTIMATOR_PORT=str(port))
    with serving(
        MAKE_SERVE, cwd=REPO_ROOT, env=env, log=tmp_path / "serve.log", must_exit_0=False
    ) as (target, _process):
        assert target == f"127.0.0.1:{port}"
        assert health_status(target) == SERVING


def test_make_serve_port_argument_wins_over_the_environment(tmp_path: Path) -> None:
    port, other = free_port(), free_port()
    while other == port:
        other = free_port()
    env = _env(tmp_path, MASSAGE_ESTIMATOR_PORT=str(other))
    with serving(
        [*MAKE_SERVE, f"PORT={port}"],
        cwd=REPO_ROOT,
        env=env,
        log=tmp_path / "serve.log",
        must_exit_0=False,
    ) as (target, _process):
        assert target == f"127.0.0.1:{port}"
        assert health_status(target) == SERVING
