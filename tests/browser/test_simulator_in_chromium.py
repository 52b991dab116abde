"""The SMS simulator in real Chromium: a newcomer texts the line and sees what happens."""

from playwright.sync_api import Page, expect


def test_a_simulated_text_shows_the_reply_and_the_dispatch_alert(page: Page, live_server: str) -> None:
    page.goto(live_server + "/dev/sms/")
    page.fill("#number", "(314) 555-0151")
    page.fill("#body", "PIN 4500 Main St")
    page.click("button[type=submit]")
    thread = page.locator(".portal-sim-thread")
    expect(thread).to_contain_text("PIN 4500 Main St")
    expect(thread).to_contain_text("sent to 911 dispatch")
    reference = thread.inner_text().split("Request ")[1].split(" ")[0]
    alert = page.locator("tr", has_text=f"CIT REQUEST {reference}")
    expect(alert).to_contain_text("dispatch_alert")
    expect(alert).to_contain_text("4500 Main St")
    assert "555" not in page.url  # no phone number in the URL
