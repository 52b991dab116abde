"""The dispatcher console: sign-in rules, access by role, the request workflow, audit."""

from __future__ import annotations

import re
from datetime import date, timedelta
from pathlib import Path

import pyotp
import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from portal.audit import PLAN_VIEW, AuditEvent
from portal.console.models import ConsoleSession, ConsoleUser, SignInFailures
from portal.database import utcnow
from portal.dispatch.alerts import escalate_unacknowledged
from portal.dispatch.models import CitRequest
from portal.extensions import db
from portal.messaging.outbox import OutboundMessage
from portal.plans.services import file_plan
from tests.console_helpers import PASSWORD, csrf_token, make_user, sign_in, signed_in_dispatcher
from tests.text_line_helpers import TEXTER, send_text

SAMPLE = {
    "reference": "R-WWWWWW",
    "user_id": "1",
    "token": "nothing",
    "how": "text",
    "link_id": "1",
    "responder_id": "1",
    "handoff_id": "1",
    "follow_up_id": "1",
}


@pytest.fixture
def console(migrated_app: Flask) -> Flask:
    return migrated_app


@pytest.fixture
def dispatcher(console: Flask) -> FlaskClient:
    return signed_in_dispatcher(console)


def console_routes(app: Flask) -> list[tuple[str, str, str]]:
    routes = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith("console."):
            path = rule.rule
            for name in rule.arguments:
                path = path.replace(f"<{name}>", SAMPLE[name]).replace(f"<int:{name}>", SAMPLE[name])
            method = "GET" if "GET" in (rule.methods or ()) else "POST"
            routes.append((rule.endpoint, method, path))
    return routes


def test_every_console_response_is_not_stored(dispatcher: FlaskClient) -> None:
    for path in ("/console/", "/console/queue/rows", "/console/plans", "/console/sign-in"):
        assert dispatcher.get(path).headers["Cache-Control"] == "no-store"


def test_five_failed_sign_ins_lock_the_account(console: Flask) -> None:
    secret = make_user(console, "lou@example.org", "dispatcher")
    client = console.test_client()
    for _attempt in range(5):
        response = client.post(
            "/console/sign-in",
            data={
                "csrf_token": csrf_token(client),
                "email": "lou@example.org",
                "password": "wrong password!",
            },
        )
        assert response.status_code == 200
    right = client.post(
        "/console/sign-in",
        data={"csrf_token": csrf_token(client), "email": "lou@example.org", "password": PASSWORD},
    )
    assert right.status_code == 200, "locked: even the right password is refused"
    with console.app_context():
        db.session.execute(db.update(SignInFailures).values(locked_until=utcnow() - timedelta(seconds=1)))
        db.session.commit()
    assert sign_in(console, client, "lou@example.org", secret).status_code == 302
    with console.app_context():
        failures = db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "sign_in", AuditEvent.outcome == "failed")
        ).all()
        assert len(failures) == 6


def test_a_guesser_locks_out_only_itself_not_the_dispatcher(console: Flask) -> None:
    """Anyone can type a dispatcher's e-mail: five wrong passwords from one address lock
    that address out of the account, never the dispatcher at the dispatch center."""
    secret = make_user(console, "lou@example.org", "dispatcher")
    guesser = console.test_client()
    guesser.environ_base["REMOTE_ADDR"] = "203.0.113.66"
    for _attempt in range(6):
        guesser.post(
            "/console/sign-in",
            data={
                "csrf_token": csrf_token(guesser),
                "email": "lou@example.org",
                "password": "wrong password!",
            },
        )
    refused = guesser.post(
        "/console/sign-in",
        data={"csrf_token": csrf_token(guesser), "email": "lou@example.org", "password": PASSWORD},
    )
    assert refused.status_code == 200, "the guessing address is locked out"
    dispatcher = console.test_client()
    dispatcher.environ_base["REMOTE_ADDR"] = "198.51.100.7"
    assert sign_in(console, dispatcher, "lou@example.org", secret).status_code == 302


def test_a_totp_code_is_refused_the_second_time(console: Flask) -> None:
    secret = make_user(console, "tia@example.org", "dispatcher")
    code = pyotp.TOTP(secret).now()
    assert sign_in(console, console.test_client(), "tia@example.org", secret, code=code).status_code == 302
    again = sign_in(console, console.test_client(), "tia@example.org", secret, code=code)
    assert again.status_code == 200 and "was used already" in again.get_data(as_text=True)


def test_the_session_id_changes_at_sign_in_and_half_signed_in_is_not_signed_in(console: Flask) -> None:
    secret = make_user(console, "sam@example.org", "dispatcher")
    client = console.test_client()
    client.post(
        "/console/sign-in",
        data={"csrf_token": csrf_token(client), "email": "sam@example.org", "password": PASSWORD},
    )
    before = client.get_cookie("console_session", path="/console")
    assert before is not None
    assert client.get("/console/").status_code == 302, "password alone does not sign in"
    response = client.post(
        "/console/sign-in/code",
        data={"csrf_token": csrf_token(client, "/console/sign-in/code"), "code": pyotp.TOTP(secret).now()},
    )
    assert response.status_code == 302
    after = client.get_cookie("console_session", path="/console")
    assert after is not None and after.value != before.value
    assert client.get("/console/").status_code == 200


def test_one_session_per_account(console: Flask) -> None:
    secret = make_user(console, "ana@example.org", "dispatcher")
    first, second = console.test_client(), console.test_client()
    sign_in(console, first, "ana@example.org", secret)
    sign_in(console, second, "ana@example.org", secret)
    assert first.get("/console/").status_code == 302
    assert second.get("/console/").status_code == 200


def test_idle_timeout_ignores_polling_and_locks_the_screen(dispatcher: FlaskClient, console: Flask) -> None:
    with console.app_context():
        db.session.execute(db.update(ConsoleSession).values(last_active_at=utcnow() - timedelta(minutes=29)))
        db.session.commit()
    for _poll in range(3):
        assert dispatcher.get("/console/queue/rows", headers={"HX-Request": "true"}).status_code == 200
    with console.app_context():
        idle_since = db.session.scalar(select(ConsoleSession.last_active_at))
        assert utcnow() - idle_since > timedelta(minutes=28), "polling must not count as activity"
        db.session.execute(db.update(ConsoleSession).values(last_active_at=utcnow() - timedelta(minutes=31)))
        db.session.commit()
    send_text(console.test_client(), "PIN 4500 Main St")
    locked = dispatcher.get("/console/queue/rows", headers={"HX-Request": "true"})
    page = locked.get_data(as_text=True)
    assert "Console locked" in page and "1 open request is waiting" in page and "4500 Main St" not in page
    response = dispatcher.get("/console/")
    assert response.status_code == 302 and "timed_out=idle" in response.headers["Location"]


def test_absolute_timeout(dispatcher: FlaskClient, console: Flask) -> None:
    with console.app_context():
        db.session.execute(
            db.update(ConsoleSession).values(created_at=utcnow() - timedelta(hours=12, minutes=1))
        )
        db.session.commit()
    response = dispatcher.get("/console/")
    assert response.status_code == 302 and "timed_out=expired" in response.headers["Location"]


def test_account_set_up_refuses_common_and_short_passwords_then_enrols_totp(console: Flask) -> None:
    result = console.test_cli_runner().invoke(
        args=["users", "create", "new@example.org", "--role", "supervisor"]
    )
    assert result.exit_code == 0, result.output
    link = result.output.strip().splitlines()[-1]
    client = console.test_client()
    opened = client.get(link.replace("http://127.0.0.1:5000", ""))
    # Exchanged at once: the link itself (in access and proxy logs) is dead from its first use.
    path = opened.headers["Location"]
    assert opened.status_code == 302 and path == "/console/setup"
    assert console.test_client().get(link.replace("http://127.0.0.1:5000", "")).status_code == 404
    for password, message in (
        ("qwerty123456", "too common"),
        ("short1!", "at least 12"),
        ("LeaveMeAlone", "too common"),
    ):
        response = client.post(
            path, data={"csrf_token": csrf_token(client, path), "password": password, "confirm": password}
        )
        assert message in response.get_data(as_text=True), password
    client.post(
        path, data={"csrf_token": csrf_token(client, path), "password": PASSWORD, "confirm": PASSWORD}
    )
    with console.app_context():
        user = db.session.scalars(select(ConsoleUser).where(ConsoleUser.email == "new@example.org")).one()
        secret = user.totp_secret
        assert user.password_hash and user.password_hash.startswith("$argon2id$")
    page = client.get(path).get_data(as_text=True)
    assert secret in page and "<svg" in page
    done = client.post(path, data={"csrf_token": csrf_token(client, path), "code": pyotp.TOTP(secret).now()})
    assert done.status_code == 302
    assert client.get(path).status_code == 404, "set-up is done once"


def test_every_console_form_refuses_a_missing_csrf_token(dispatcher: FlaskClient, console: Flask) -> None:
    for endpoint, method, path in console_routes(console):
        if method == "POST":
            response = dispatcher.post(path, data={})
            assert response.status_code == 400, endpoint
    assert dispatcher.post("/console/sign-in", data={"email": "x", "password": "y"}).status_code == 400
    assert dispatcher.get("/console/").status_code == 200, "still signed in"


def plan_on(console: Flask, phone: str) -> str:
    with console.app_context():
        plan = file_plan(
            {
                "person": {"name": "Pat Doe", "preferred_name": "Pat"},
                "crisis": {"what_helps": "Quiet voice", "triggers": ["sirens"]},
                "where": {"home_address": "77 Hidden Lane"},
            },
            name="Pat Doe",
            born=date(1980, 1, 1),
            language="en",
            cit_requested=True,
            filed_by="self",
            phones=[(phone, "person")],
        )
        db.session.commit()
        return plan.reference


def test_the_request_workflow_closes_the_loop(dispatcher: FlaskClient, console: Flask) -> None:
    plan_reference = plan_on(console, TEXTER)
    send_text(console.test_client(), "PIN 4500 Main St")
    with console.app_context():
        reference = db.session.scalar(select(CitRequest.reference))
    rows = dispatcher.get("/console/queue/rows", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert reference in rows and "4500 Main St" in rows and "CIT requested" in rows

    token = csrf_token(dispatcher, f"/console/requests/{reference}")
    dispatcher.post(f"/console/requests/{reference}/acknowledge", data={"csrf_token": token})
    plan_page = dispatcher.post(
        f"/console/plans/{plan_reference}", data={"csrf_token": token, "reason": f"CIT request {reference}"}
    )
    assert plan_page.status_code == 200 and "Quiet voice" in plan_page.get_data(as_text=True)
    refused = dispatcher.post(f"/console/plans/{plan_reference}", data={"csrf_token": token, "reason": ""})
    assert refused.status_code == 400 and "Quiet voice" not in refused.get_data(as_text=True)
    dispatcher.post(
        f"/console/requests/{reference}/reply", data={"csrf_token": token, "template": "on_the_way"}
    )
    dispatcher.post(
        f"/console/requests/{reference}/close",
        data={
            "csrf_token": token,
            "disposition": "cit_dispatched",
            "cad_number": "24-118877",
            "text_texter": "yes",
        },
    )

    with console.app_context():
        item = db.session.scalars(select(CitRequest)).one()
        assert (item.status, item.disposition, item.cad_number) == ("closed", "cit_dispatched", "24-118877")
        assert item.acknowledged_by == "Dispatcher dee@example.org"
        texts = [
            m.body
            for m in db.session.scalars(
                select(OutboundMessage).where(OutboundMessage.purpose == "texter_reply")
            )
        ]
        assert any("on the way" in body for body in texts) and any(
            "still on its way" in body for body in texts
        )
        assert sum("dispatcher has your request" in body for body in texts) == 1
        views = db.session.scalars(select(AuditEvent).where(AuditEvent.action == PLAN_VIEW)).all()
        assert [(v.plan_reference, v.reason) for v in views] == [(plan_reference, f"CIT request {reference}")]
        actions = [e.action for e in db.session.scalars(select(AuditEvent).order_by(AuditEvent.id))]
        assert {"sign_in", "request.acknowledge", "request.reply", "request.close", PLAN_VIEW} <= set(actions)


def test_plans_are_looked_up_by_phone_code_or_name_and_birth_date(
    dispatcher: FlaskClient, console: Flask
) -> None:
    reference = plan_on(console, "+13145550133")
    token = csrf_token(dispatcher, "/console/plans")
    for data in (
        {"phone": "314.555.0133"},
        {"reference": reference.lower()},
        {"name": "pat doe", "birth_date": "1980-01-01"},
    ):
        page = dispatcher.post("/console/plans", data={"csrf_token": token, **data}).get_data(as_text=True)
        assert reference in page and "1 plan found" in page, data
        assert "Quiet voice" not in page, "no contents before a reason is given"


def test_an_unacknowledged_request_is_escalated_to_supervisors(tmp_path: Path) -> None:
    from tests.fake_twilio import FakeTwilio
    from tests.text_line_helpers import make_text_line_app

    fake = FakeTwilio().start()
    try:
        app = make_text_line_app(tmp_path, fake, PORTAL_SUPERVISOR_NUMBERS="+13145550190")
        send_text(app.test_client(), "PIN 4500 Main St")
        with app.app_context():
            escalate_unacknowledged()
            assert not db.session.scalars(
                select(OutboundMessage).where(OutboundMessage.purpose == "supervisor_alert")
            ).all()
            db.session.execute(
                db.update(CitRequest).values(created_at=utcnow() - timedelta(minutes=3, seconds=1))
            )
            db.session.commit()
            escalate_unacknowledged()
            escalate_unacknowledged()
            supervisor = db.session.scalars(
                select(OutboundMessage).where(OutboundMessage.purpose == "supervisor_alert")
            ).all()
            assert [m.to_number for m in supervisor] == ["+13145550190"]
            again = db.session.scalars(select(OutboundMessage).where(OutboundMessage.body.is_not(None))).all()
            assert (
                sum("NOT ACKNOWLEDGED" in m.body for m in again) == 3
            )  # two dispatch numbers, one supervisor
    finally:
        fake.stop()


def test_admins_deactivate_and_reset_and_it_is_audited(console: Flask) -> None:
    admin = console.test_client()
    sign_in(console, admin, "root@example.org", make_user(console, "root@example.org", "admin"))
    secret = make_user(console, "gone@example.org", "dispatcher")
    other = console.test_client()
    sign_in(console, other, "gone@example.org", secret)
    with console.app_context():
        user_id = db.session.scalar(select(ConsoleUser.id).where(ConsoleUser.email == "gone@example.org"))
    token = csrf_token(admin, "/console/users")
    reset = admin.post(
        f"/console/users/{user_id}/reset-second-factor", data={"csrf_token": token}, follow_redirects=True
    )
    assert "/console/setup/" in reset.get_data(as_text=True)
    assert other.get("/console/").status_code == 302, "reset ends the user's sessions"
    admin.post(f"/console/users/{user_id}/deactivate", data={"csrf_token": token})
    with console.app_context():
        assert db.session.get(ConsoleUser, user_id).active is False
        actions = {e.action for e in db.session.scalars(select(AuditEvent))}
        assert {"user.reset_second_factor", "user.deactivate"} <= actions


def test_reports_count_without_personal_data(console: Flask) -> None:
    supervisor = console.test_client()
    sign_in(console, supervisor, "sue@example.org", make_user(console, "sue@example.org", "supervisor"))
    send_text(console.test_client(), "PIN 4500 Main St")
    send_text(console.test_client(), "AYUDA 12 Oak Ave", sender="+13145550162")
    with console.app_context():
        first = db.session.scalars(select(CitRequest).order_by(CitRequest.id)).first()
        first.acknowledged_at = first.created_at + timedelta(minutes=2)
        first.status, first.disposition = "closed", "co_responder"
        db.session.commit()
    page = supervisor.get("/console/reports").get_data(as_text=True)
    assert "2 requests in all: 2 by text, 0 by voice call." in page
    # Each table row is headed by what it counts (<th scope="row">), then the count.
    assert re.search(r"Spanish</t[hd]>\s*<td>1</td>", page), "one request in Spanish"
    assert re.search(r"Co-responder team</t[hd]>\s*<td>1</td>", page), "one closed with the co-responders"
    assert ">2.0</td>" in page  # the median minutes to acknowledge, over the one acknowledged request
    assert "4500 Main St" not in page and "555" not in page


def test_a_supervisor_withdraws_a_plan_for_a_family_that_lost_its_phones(console: Flask) -> None:
    from portal.plans.models import CrisisPlan

    reference = plan_on(console, "+13145550134")
    supervisor = console.test_client()
    sign_in(console, supervisor, "sid@example.org", make_user(console, "sid@example.org", "supervisor"))
    token = csrf_token(supervisor, "/console/plans")
    page = supervisor.post(
        f"/console/plans/{reference}", data={"csrf_token": token, "reason": "family called"}
    ).get_data(as_text=True)
    assert "Withdraw and delete plan" in page
    assert (
        supervisor.post(
            f"/console/plans/{reference}/withdraw", data={"csrf_token": token, "reason": ""}
        ).status_code
        == 302
    )
    with console.app_context():
        assert db.session.scalar(select(CrisisPlan.id)) is not None, "no reason, no withdrawal"
    supervisor.post(
        f"/console/plans/{reference}/withdraw",
        data={"csrf_token": token, "reason": "lost phones, new plan K7QM"},
    )
    with console.app_context():
        assert db.session.scalar(select(CrisisPlan.id)) is None
        event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "plan.withdraw")).one()
        assert (event.plan_reference, event.reason) == (reference, "lost phones, new plan K7QM")


def test_times_are_shown_in_the_agencys_time_zone(dispatcher: FlaskClient, console: Flask) -> None:
    """St. Louis is six hours behind UTC in November: 02:12 UTC on the 26th is 8:12 PM on the 25th."""
    from datetime import UTC, datetime

    send_text(console.test_client(), "PIN 4500 Main St")
    with console.app_context():
        item = db.session.scalars(select(CitRequest)).one()
        item.created_at = datetime(2026, 11, 26, 2, 12, tzinfo=UTC)
        reference = item.reference
        db.session.commit()
    page = dispatcher.get(f"/console/requests/{reference}").get_data(as_text=True)
    assert "11/25/26, 8:12" in page and "11/26/26, 2:12" not in page


def test_the_audit_trail_records_only_what_was_done(dispatcher: FlaskClient, console: Flask) -> None:
    send_text(console.test_client(), "PIN 4500 Main St")
    with console.app_context():
        reference = db.session.scalar(select(CitRequest.reference))
    token = csrf_token(dispatcher, f"/console/requests/{reference}")
    base = f"/console/requests/{reference}"
    closing = dispatcher.post(f"{base}/close", data={"csrf_token": token, "disposition": "made-up"})
    assert closing.status_code == 400 and "Not a valid choice" in closing.get_data(as_text=True)
    dispatcher.post(f"{base}/reply", data={"csrf_token": token, "template": "made-up"})
    dispatcher.post(f"{base}/note", data={"csrf_token": token, "note": ""})
    page = dispatcher.get(base).get_data(as_text=True)
    assert "Write a note first." in page  # the dispatcher is told
    with console.app_context():
        item = db.session.scalars(select(CitRequest)).one()
        assert item.status == "open"
        actions = set(db.session.scalars(select(AuditEvent.action)))
    assert not actions & {"request.close", "request.reply", "request.note"}, actions


def test_what_is_typed_for_an_unknown_account_is_not_kept(console: Flask) -> None:
    client = console.test_client()
    client.post(
        "/console/sign-in",
        data={"csrf_token": csrf_token(client), "email": "MySecretPassw0rd!", "password": "x" * 12},
    )
    with console.app_context():
        names = list(db.session.scalars(select(AuditEvent.actor_name)))
    assert names == ["unknown account"]
