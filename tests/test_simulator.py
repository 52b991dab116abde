"""The development SMS simulator: the same signed webhook path, loopback only."""

from pathlib import Path

from flask import Flask

from portal import create_app
from tests.conftest import make_environ
from tests.test_settings import PRODUCTION


def test_a_simulated_text_gets_the_line_reply_and_dispatch_sees_the_alert(migrated_app: Flask) -> None:
    client = migrated_app.test_client()
    page = client.get("/dev/sms/").get_data(as_text=True)
    token = page.split('name="csrf_token" value="')[1].split('"')[0]
    response = client.post(
        "/dev/sms/", data={"csrf_token": token, "number": "(314) 555-0150", "body": "PIN 4500 Main St"}
    )
    assert response.status_code == 302
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Request R-" in page and "911" in page
    assert "CIT REQUEST R-" in page and "+13145550199" in page  # the demo dispatch number's alert


def test_the_simulator_answers_only_loopback_clients(migrated_app: Flask) -> None:
    client = migrated_app.test_client()
    assert client.get("/dev/sms/", environ_base={"REMOTE_ADDR": "10.0.0.8"}).status_code == 404


def test_the_simulator_does_not_exist_in_production(tmp_path: Path) -> None:
    environ = {**PRODUCTION, "PORTAL_DATABASE_URL": make_environ(tmp_path)["PORTAL_DATABASE_URL"]}
    client = create_app({"TESTING": True}, environ=environ).test_client()
    assert client.get("/dev/sms/").status_code == 404
