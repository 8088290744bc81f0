"""Where the built-in sample rules are: inside the installed package, or in a source checkout.

The sample rule files live at the top of the repository (`payer_rules/`, a layout the customer
fixed). A wheel carries them as package data under `service/sample_rules/` (setup.py copies
them there at build time), so an installed service never looks for a `payer_rules/` folder
next to site-packages. A source checkout (editable install, `make serve`) reads them in place.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

PACKAGED_SAMPLE_RULES = "sample_rules"
"""The folder inside the `service` package that a wheel ships the sample rules in."""


def sample_rules_dir() -> Path:
    """The sample rules shipped with this copy of the service.

    A real folder is needed (the loader walks it), which an installed wheel always has:
    importlib.resources hands back a plain Path for a package on disk.
    """
    packaged = resources.files("service") / PACKAGED_SAMPLE_RULES
    if isinstance(packaged, Path) and packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parent.parent / "payer_rules"


SAMPLE_RULES_DIR = sample_rules_dir()
