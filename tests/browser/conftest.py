"""Fixtures for the browser tests: a secured service, the real gateway with CORS for one booking
origin, two tiny booking sites (one on the allow-list, one not) and headless Debian chromium.

Chromium and chromedriver come from Debian (`apt-get install chromium chromium-driver`, as
.ci/run does); without them these tests skip, unless MASSAGE_ESTIMATOR_REQUIRE_BROWSER=1."""

from __future__ import annotations

import functools
import os
import shutil
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service as ChromeService

from service.usecases.identities import Role
from tests.api.security_helpers import Secured, secured_server
from tests.gateway.conftest import gateway_binary  # noqa: F401  (the fixture, rebuilt when stale)
from tests.gateway.helpers import Gateway, start_gateway, stop_gateway, wait_healthy

REPO_ROOT = Path(__file__).resolve().parents[2]
DEMO_PAGE = REPO_ROOT / "gateway" / "widget" / "demo.html"
REQUIRED = os.environ.get("MASSAGE_ESTIMATOR_REQUIRE_BROWSER") == "1"
# The booking page's own limit, as docs/booking-pages.md sizes it (the settings' defaults).
BOOKING_RATE_PER_SECOND = 2.0
BOOKING_BURST = 30


@dataclass
class Site:
    """A booking website on its own origin, serving pages that embed the widget."""

    origin: str
    server: ThreadingHTTPServer

    def url(self, page: str) -> str:
        return f"{self.origin}/{page}"


@dataclass
class Stack:
    secured: Secured
    gateway: Gateway
    site: Site
    other_site: Site
    quoter_token: str


def booking_page(gateway_url: str, token: str) -> str:
    """The shipped demo page, pointed at the gateway and given a token, as a clinic would."""
    html = DEMO_PAGE.read_text(encoding="utf-8")
    script = f'src="{gateway_url}/widget/v1/massage-price-check.js"'
    for old, new in [
        ('src="massage-price-check.js"', script),
        ('gateway=""', f'gateway="{gateway_url}"'),
        ('token=""', f'token="{token}"'),
    ]:
        assert old in html, old
        html = html.replace(old, new)
    return html


def serve_site(folder: Path) -> Site:
    handler = functools.partial(SimpleHTTPRequestHandler, directory=str(folder))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return Site(f"http://127.0.0.1:{server.server_address[1]}", server)


@pytest.fixture(scope="session")
def stack(gateway_binary: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:  # noqa: F811
    folder = tmp_path_factory.mktemp("booking-site")
    other = tmp_path_factory.mktemp("other-site")
    site, other_site = serve_site(folder), serve_site(other)
    db = tmp_path_factory.mktemp("browser-db") / "estimator.db"
    with secured_server(
        db,
        quoter_rate_limit_per_second=BOOKING_RATE_PER_SECOND,
        quoter_rate_limit_burst=BOOKING_BURST,
    ) as secured:
        token = secured.add_key("booking-web", Role.QUOTER, expires_in=timedelta(days=90))
        expired = secured.add_key(
            "booking-old",
            Role.QUOTER,
            expires_in=timedelta(days=1),
            now=datetime.now(UTC) - timedelta(days=3),
        )
        env = {**os.environ, "MASSAGE_ESTIMATOR_GATEWAY_CORS_ORIGINS": site.origin}
        gw = start_gateway(gateway_binary, secured.app.target, env=env)
        try:
            wait_healthy(gw)
            for place in (folder, other):
                (place / "booking.html").write_text(booking_page(gw.base_url, token), "utf-8")
            (folder / "expired.html").write_text(booking_page(gw.base_url, expired), "utf-8")
            yield Stack(secured, gw, site, other_site, token)
        finally:
            stop_gateway(gw)
            site.server.shutdown()
            other_site.server.shutdown()


@pytest.fixture(scope="session")
def browser() -> Iterator[webdriver.Chrome]:
    chromium = shutil.which("chromium")
    driver_path = shutil.which("chromedriver")
    if chromium is None or driver_path is None:
        reason = "Debian chromium and chromium-driver are not installed (apt-get install)"
        if REQUIRED:
            pytest.fail(f"browser required (MASSAGE_ESTIMATOR_REQUIRE_BROWSER=1) but {reason}")
        pytest.skip(f"browser tests skipped: {reason}")
    profile = tempfile.mkdtemp(prefix="mpc-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--disable-dev-shm-usage",
        "--window-size=900,2200",
        "--lang=en-US",
        f"--user-data-dir={profile}",
    ):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"performance": "ALL"})
    driver = webdriver.Chrome(options=options, service=ChromeService(driver_path))
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)
