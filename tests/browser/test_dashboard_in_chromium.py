"""The supervisors' dashboard in real Chromium on the demo year: every chart drawn with
its table, axe-core finds nothing at 1280 px and at 375 px, no sideways scrolling on a
phone, and the charts read without JavaScript. Screenshots go to tests/screenshots/."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pyotp
import pytest
from flask import Flask
from flask_migrate import upgrade
from playwright.sync_api import Browser, Page
from werkzeug.serving import make_server

from portal import create_app
from tests.browser.conftest import DESKTOP, PHONE, SCREENSHOTS, axe_violations
from tests.browser.test_console_in_chromium import sign_in_page
from tests.conftest import make_environ
from tests.console_helpers import PASSWORD, make_user

CHARTS = (
    "chart-weeks",
    "chart-times",
    "chart-plans-on-file",
    "chart-languages",
    "chart-dispositions",
    "chart-hours",
    "chart-weekdays",
    "chart-plans",
)


def serve_demo_year(folder: Path) -> Iterator[tuple[Flask, str]]:
    """An app of its own with `seed-demo`'s year (the shared live app stays as it was)."""
    app = create_app(environ=make_environ(folder))
    with app.app_context():
        upgrade()
    assert app.test_cli_runner().invoke(args=["seed-demo"]).exit_code == 0
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield app, f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Flask, str]]:
    yield from serve_demo_year(tmp_path_factory.mktemp("demo-year"))


def open_dashboard(page: Page, demo: tuple[Flask, str], email: str) -> None:
    app, server = demo
    sign_in_page(page, server, email, make_user(app, email, "supervisor"))
    page.goto(server + "/console/reports")
    assert page.locator("h1").inner_text().startswith("CIT requests from")


def test_the_dashboard_at_1280_px(page: Page, demo: tuple[Flask, str]) -> None:
    open_dashboard(page, demo, "wide@example.org")
    for key in CHARTS:
        chart = page.locator(f"#{key}")
        svg = chart.locator("svg[role=img]")
        assert svg.count() == 1, key
        assert svg.locator("title").text_content() and svg.locator("desc").text_content(), key
        assert svg.locator("rect").count() > 2, f"{key}: bars drawn"
        assert chart.locator("table tbody tr").count() >= 2, f"{key}: its table"
        box, table = svg.bounding_box(), chart.locator("table").bounding_box()
        assert box and table and box["width"] > 300
        assert abs(box["y"] - table["y"]) < 80, f"{key}: the table beside the chart at 1280 px"
    assert axe_violations(page) == []
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "1280-console-dashboard.png"), full_page=True)


def test_the_dashboard_at_375_px(page: Page, demo: tuple[Flask, str]) -> None:
    page.set_viewport_size(PHONE)
    open_dashboard(page, demo, "phone@example.org")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"], "no sideways scrolling"
    for key in CHARTS:
        box = page.locator(f"#{key} svg").bounding_box()
        assert box and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"], key
    assert axe_violations(page) == []
    page.screenshot(path=str(SCREENSHOTS / "375-console-dashboard.png"), full_page=True)


def test_the_charts_read_without_javascript(browser: Browser, demo: tuple[Flask, str]) -> None:
    app, server = demo
    secret = make_user(app, "nojs@example.org", "supervisor")
    context = browser.new_context(viewport=DESKTOP, java_script_enabled=False)
    try:
        page = context.new_page()
        page.goto(server + "/console/sign-in")
        page.fill("#email", "nojs@example.org")
        page.fill("#password", PASSWORD)
        page.click("button[type=submit]")
        page.fill("#code", pyotp.TOTP(secret).now())
        page.click("main button[type=submit]")
        page.goto(server + "/console/reports")
        for key in CHARTS:
            assert page.locator(f"#{key} svg rect").count() > 2, key
            assert page.locator(f"#{key} svg text").first.is_visible(), key
    finally:
        context.close()
