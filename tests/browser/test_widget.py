"""The booking-page widget in headless chromium, against the real gateway and service, loaded
from a booking site on another origin: the figures on the page are the API's figures."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import WebDriverWait

from tests.gateway.helpers import http

from .conftest import Stack

WIDGET = Path(__file__).resolve().parents[2] / "gateway" / "widget" / "massage-price-check.js"
SHOTS = os.environ.get("MASSAGE_ESTIMATOR_WIDGET_SCREENSHOTS")  # docs/images when refreshing
WAIT = 20


def usd(money: dict[str, Any] | None) -> str:
    """The API's google.type.Money as the page writes it ($1,234.50)."""
    assert money is not None
    cents = int(money.get("units", "0")) * 100 + round(int(money.get("nanos", 0)) / 10_000_000)
    return f"${cents // 100:,}.{cents % 100:02d}"


def open_page(browser: webdriver.Chrome, url: str) -> WebElement:
    browser.get_log("performance")  # type: ignore[no-untyped-call]  # drop earlier pages
    browser.get(url)
    widget = WebDriverWait(browser, WAIT).until(
        ec.presence_of_element_located((By.CSS_SELECTOR, "massage-price-check form"))
    )
    # the plan list has answered when the plan's name replaced its id
    WebDriverWait(browser, WAIT).until(
        lambda b: (
            b.find_element(By.CSS_SELECTOR, "[name=plan] option").text != "acme-ppo-gold"
            or b.find_element(By.CSS_SELECTOR, ".mpc-error").text
        )
    )
    return widget


def choose(browser: webdriver.Chrome, name: str, value: str) -> None:
    browser.execute_script(
        "const el = document.querySelector(`massage-price-check [name=${arguments[0]}]`);"
        "el.value = arguments[1]; el.dispatchEvent(new Event('change'));",
        name,
        value,
    )


def wait_answer(browser: webdriver.Chrome) -> None:
    """Until the widget has finished a quote (it fires `price-checked`, then drops aria-busy)."""
    WebDriverWait(browser, WAIT).until(
        lambda b: b.execute_script(
            "const w = document.querySelector('massage-price-check');"
            "return !w.hasAttribute('aria-busy') &&"
            " (w.querySelector('.mpc-result') !== null || w.hasAttribute('data-error'));"
        )
    )


def field(browser: webdriver.Chrome, name: str) -> str:
    return str(browser.find_element(By.CSS_SELECTOR, f'[data-field="{name}"]').text)


def gateway_calls(browser: webdriver.Chrome, gateway_url: str) -> list[str]:
    """The page's requests to the gateway's API (preflights aside), from chromium's log."""
    calls = []
    for entry in browser.get_log("performance"):  # type: ignore[no-untyped-call]
        message = json.loads(entry["message"])["message"]
        if message["method"] != "Network.requestWillBeSent":
            continue
        request = message["params"]["request"]
        if request["url"].startswith(gateway_url + "/v1/") and request["method"] != "OPTIONS":
            calls.append(f"{request['method']} {request['url'][len(gateway_url) :]}")
    return calls


def api_quote(stack: Stack, session: dict[str, Any]) -> dict[str, Any]:
    reply = http(
        "POST",
        stack.gateway.url("/v1/estimates:session"),
        {"session": session},
        {"Authorization": f"Bearer {stack.quoter_token}"},
    )
    assert reply.status == 200, reply.text
    estimate: dict[str, Any] = reply.json["estimate"]
    return estimate


def page_date(browser: webdriver.Chrome) -> dict[str, int]:
    value = browser.execute_script(
        "return document.querySelector('massage-price-check [name=date]').value"
    )
    year, month, day = (int(p) for p in str(value).split("-"))
    return {"year": year, "month": month, "day": day}


def shot(browser: webdriver.Chrome, name: str) -> None:
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        element = browser.find_element(By.CSS_SELECTOR, "massage-price-check")
        element.screenshot(str(Path(SHOTS) / f"booking-widget-{name}.png"))


def test_a_covered_quote_shows_the_apis_figures(browser: webdriver.Chrome, stack: Stack) -> None:
    open_page(browser, stack.site.url("booking.html"))
    choose(browser, "plan", "acme-ppo-gold")
    choose(browser, "session_type", "deep_tissue")
    choose(browser, "minutes", "60")
    choose(browser, "referral", "REFERRAL_KIND_PRESCRIPTION")
    choose(browser, "referral_date", "2026-11-20")
    choose(browser, "date", "2026-12-15")
    browser.find_element(By.NAME, "diagnosis").send_keys("M54.50")
    browser.find_element(By.NAME, "visits_used").clear()
    browser.find_element(By.NAME, "visits_used").send_keys("3")
    browser.find_element(By.CSS_SELECTOR, ".mpc-submit").click()
    wait_answer(browser)
    expected = api_quote(
        stack,
        {
            "plan_id": "acme-ppo-gold",
            "session_type": "deep_tissue",
            "minutes": 60,
            "date_of_service": {"year": 2026, "month": 12, "day": 15},
            "referral": {
                "kind": "REFERRAL_KIND_PRESCRIPTION",
                "issue_date": {"year": 2026, "month": 11, "day": 20},
            },
            "diagnosis_codes": ["M54.50"],
            "accumulators": {"visits_used": 3},
        },
    )
    assert expected["covered"] is True
    assert field(browser, "headline") == "Covered by Acme PPO Gold"
    assert field(browser, "patient-pays") == usd(expected["patient_pays"])
    assert field(browser, "plan-pays") == usd(expected["plan_pays"])
    assert field(browser, "sessions-left").startswith(str(expected["sessions_remaining"]))
    reasons = field(browser, "reasons")
    for reason in expected["reasons"]:
        assert reason["message"] in reasons
    assert gateway_calls(browser, stack.gateway.base_url) == [
        "GET /v1/plans",
        "POST /v1/estimates:session",
    ]
    # the diagnosis code never left the form: no storage, no URL
    assert "M54" not in browser.current_url
    stored = browser.execute_script(
        "return JSON.stringify(localStorage) + JSON.stringify(sessionStorage) + document.cookie"
    )
    assert "M54" not in stored
    shot(browser, "covered")


def test_a_not_covered_quote_says_why_in_words(browser: webdriver.Chrome, stack: Stack) -> None:
    open_page(browser, stack.site.url("booking.html"))
    choose(browser, "plan", "acme-ppo-gold")
    choose(browser, "session_type", "swedish")
    choose(browser, "minutes", "60")
    choose(browser, "date", "2026-12-15")
    browser.find_element(By.CSS_SELECTOR, ".mpc-submit").click()
    wait_answer(browser)
    expected = api_quote(
        stack,
        {
            "plan_id": "acme-ppo-gold",
            "session_type": "swedish",
            "minutes": 60,
            "date_of_service": {"year": 2026, "month": 12, "day": 15},
        },
    )
    assert expected["covered"] is False
    assert field(browser, "headline") == "Not covered by Acme PPO Gold"
    assert field(browser, "patient-pays") == usd(expected["patient_pays"])
    assert field(browser, "plan-pays") == usd(expected["plan_pays"])
    reasons = field(browser, "reasons")
    assert expected["reasons"] and all(r["message"] in reasons for r in expected["reasons"])
    for missing in expected.get("missing", []):
        assert missing["message"] in field(browser, "missing")
    assert "[object Object]" not in browser.find_element(By.TAG_NAME, "body").text
    shot(browser, "not-covered")


def test_a_self_pay_quote_shows_the_cash_price_and_the_gfe_notice(
    browser: webdriver.Chrome, stack: Stack
) -> None:
    open_page(browser, stack.site.url("booking.html"))
    choose(browser, "plan", "self-pay")
    assert not browser.find_element(By.NAME, "diagnosis").is_displayed()
    choose(browser, "session_type", "deep_tissue")
    choose(browser, "minutes", "90")
    choose(browser, "date", "2026-12-15")
    browser.find_element(By.CSS_SELECTOR, ".mpc-submit").click()
    wait_answer(browser)
    expected = api_quote(
        stack,
        {
            "plan_id": "self-pay",
            "session_type": "deep_tissue",
            "minutes": 90,
            "date_of_service": {"year": 2026, "month": 12, "day": 15},
        },
    )
    assert expected["coverage_basis"] == "COVERAGE_BASIS_SELF_PAY"
    assert field(browser, "cash-price") == usd(expected["patient_pays"])
    notice = browser.find_element(By.CSS_SELECTOR, '[data-field="gfe-notice"]')
    notice.find_element(By.TAG_NAME, "summary").click()
    text = notice.text
    assert "right to receive a \u201cGood Faith Estimate\u201d" in text
    assert "$400 more than your Good Faith Estimate" in text
    assert "www.cms.gov/nosurprises" in text
    shot(browser, "self-pay")


def test_an_origin_off_the_list_is_refused_in_words(
    browser: webdriver.Chrome, stack: Stack
) -> None:
    open_page(browser, stack.other_site.url("booking.html"))
    error = browser.find_element(By.CSS_SELECTOR, ".mpc-error").text
    assert "could not be reached from this page" in error
    # the same token works from the listed origin: the origin made the difference
    open_page(browser, stack.site.url("booking.html"))
    assert browser.find_element(By.CSS_SELECTOR, ".mpc-error").text == ""


def test_an_expired_token_is_shown_in_words(browser: webdriver.Chrome, stack: Stack) -> None:
    open_page(browser, stack.site.url("expired.html"))
    error = browser.find_element(By.CSS_SELECTOR, ".mpc-error")
    assert "access key is missing, expired or revoked" in error.text
    assert error.get_attribute("role") == "alert"
    assert "[object Object]" not in browser.find_element(By.TAG_NAME, "body").text


def test_keyboard_only_quote(browser: webdriver.Chrome, stack: Stack) -> None:
    """Tab to each control, choose with arrow keys, submit with Enter; the answer is announced
    in the live region."""
    open_page(browser, stack.site.url("booking.html"))
    body = browser.find_element(By.TAG_NAME, "body")
    body.send_keys(Keys.TAB)  # the first control is the plan
    active = browser.switch_to.active_element
    assert active.get_attribute("name") == "plan"
    order: list[str | None] = []
    for _ in range(12):  # a date input takes one Tab per part (month, day, year)
        name = browser.switch_to.active_element.get_attribute("name")
        if not order or order[-1] != name:
            order.append(name)
        browser.switch_to.active_element.send_keys(Keys.TAB)
    assert order[:6] == ["plan", "date", "session_type", "minutes", "referral", "diagnosis"]
    # back to the session type and pick the next one with the arrow key
    for _ in range(12):
        browser.switch_to.active_element.send_keys(Keys.SHIFT, Keys.TAB)
        if browser.switch_to.active_element.get_attribute("name") == "session_type":
            break
    browser.switch_to.active_element.send_keys(Keys.ARROW_DOWN)
    chosen = browser.execute_script(
        "return document.querySelector('massage-price-check [name=session_type]').value"
    )
    assert chosen == "medical"
    # Enter in a text field submits the form
    while browser.switch_to.active_element.get_attribute("name") != "diagnosis":
        browser.switch_to.active_element.send_keys(Keys.TAB)
    browser.switch_to.active_element.send_keys("M54.50", Keys.ENTER)
    wait_answer(browser)
    live = browser.find_element(By.CSS_SELECTOR, "massage-price-check [aria-live=polite]")
    assert live.get_attribute("role") == "status"
    expected = api_quote(
        stack,
        {
            "plan_id": "acme-ppo-gold",
            "session_type": "medical",
            "minutes": 60,
            "date_of_service": page_date(browser),
            "diagnosis_codes": ["M54.50"],
        },
    )
    assert live.find_element(By.CSS_SELECTOR, '[data-field="patient-pays"]').text == usd(
        expected["patient_pays"]
    )
    for label in browser.find_elements(By.CSS_SELECTOR, "massage-price-check label"):
        target = label.get_attribute("for")
        assert browser.find_elements(By.ID, str(target)), f"label {label.text} names no control"


def test_the_widget_stays_small_and_keeps_no_storage() -> None:
    source = WIDGET.read_text(encoding="utf-8")
    assert len(source.encode()) < 30 * 1024
    code = "\n".join(ln for ln in source.splitlines() if not ln.lstrip().startswith("//"))
    for banned in ("localStorage", "sessionStorage", "document.cookie", "history.", "location."):
        assert banned not in code, banned


@pytest.mark.parametrize("path", ["massage-price-check.js", "demo.html"])
def test_the_gateway_serves_the_widget_at_its_stable_path(stack: Stack, path: str) -> None:
    reply = http("GET", stack.gateway.url(f"/widget/v1/{path}"))
    assert reply.status == 200
    expected = "javascript" if path.endswith(".js") else "text/html"
    assert expected in reply.headers["Content-Type"]
