"""The pyx12 validator with the X279A1 maps, once per test session.

Without the maps the tests that validate skip with a message saying where to put them; CI
sets MASSAGE_ESTIMATOR_REQUIRE_X12_MAPS=1, so there they fail instead.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.interop import pyx12check

FIXTURES = Path(__file__).resolve().parent / "fixtures"


@pytest.fixture(scope="session")
def x12_validate(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], list[str]]:
    """validate(text) -> pyx12's errors, [] when the text validates."""
    found = pyx12check.find_maps()
    if found is None:
        message = (
            "the pyx12 005010X279A1 maps are not here: set "
            f"${pyx12check.MAPS_ENV} or put {', '.join(pyx12check.MAP_FILES)} in "
            f"{pyx12check.SHARED_SUBDIR}/ beside the repository (docs/interop.md)"
        )
        if os.environ.get(pyx12check.REQUIRE_ENV) == "1":
            pytest.fail(message)
        pytest.skip(message)
    map_dir = pyx12check.build_map_dir(found, tmp_path_factory.mktemp("pyx12-maps"))

    def validate(text: str) -> list[str]:
        return pyx12check.validate(text, map_dir)

    return validate
