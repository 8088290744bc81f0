"""The booking page's quoter bucket, seen by a client: when it is empty the widget says so in
words (the gateway's 429), and the API answered no quote."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.common.by import By

from tests.api.security_helpers import secured_server
from tests.gateway.conftest import gateway_binary  # noqa: F401  (the fixture)
from tests.gateway.helpers import start_gateway, stop_gateway, wait_healthy

from .conftest import Site, booking_page, serve_site
from .test_widget import open_page, wait_answer


@pytest.fixture(scope="module")
def tight_site(
    gateway_binary: Path,  # noqa: F811
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Site]:
    """A page whose quoter token may make two calls, then waits ~17 minutes for a third."""
    folder = tmp_path_factory.mktemp("tight-site")
    site = serve_site(folder)
    db = tmp_path_factory.mktemp("tight-db") / "estimator.db"
    with secured_server(
        db, quoter_rate_limit_per_second=0.001, quoter_rate_limit_burst=2
    ) as secured:
        env = {**os.environ, "MASSAGE_ESTIMATOR_GATEWAY_CORS_ORIGINS": site.origin}
        gw = start_gateway(gateway_binary, secured.app.target, env=env)
        try:
            wait_healthy(gw)
            page = booking_page(gw.base_url, secured.tokens["quoter"])
            (folder / "booking.html").write_text(page, "utf-8")
            yield site
        finally:
            stop_gateway(gw)
            site.server.shutdown()


def test_an_empty_bucket_is_shown_in_words(browser: webdriver.Chrome, tight_site: Site) -> None:
    open_page(browser, tight_site.url("booking.html"))  # call 1: the plans
    submit = browser.find_element(By.CSS_SELECTOR, ".mpc-submit")
    submit.click()  # call 2: a quote
    wait_answer(browser)
    assert browser.find_elements(By.CSS_SELECTOR, ".mpc-result")
    submit.click()  # call 3: refused
    wait_answer(browser)
    error = browser.find_element(By.CSS_SELECTOR, ".mpc-error").text
    assert "Too many price checks" in error
    assert not browser.find_elements(By.CSS_SELECTOR, ".mpc-result")
