"""Who may use each console page, written here route by route, not read from the code;
and signing in, which must not tell which emails have accounts.

Dispatchers work requests and look up plans; supervisors also read the audit trail and
the reports and withdraw plans; admins also manage accounts. Roles nest: a supervisor may
do what a dispatcher may, an admin both. Lowering a page's role in the code (user
administration to "dispatcher", say) fails here.
"""

from __future__ import annotations

import logging
import time
from datetime import date
from pathlib import Path
from statistics import median

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from portal.console.models import ConsoleUser
from portal.database import utcnow
from portal.dispatch import handoffs, plan_links
from portal.dispatch.follow_ups import FollowUp
from portal.dispatch.handoffs import HandOff
from portal.dispatch.models import CitRequest, RequestMessage
from portal.dispatch.plan_links import Responder
from portal.extensions import db
from portal.plans.services import file_plan
from tests.console_helpers import csrf_token, make_user, sign_in

ROLES = ("dispatcher", "supervisor", "admin")  # each may do what the ones before it may
ANYONE = None  # the pages for signing in and setting up an account

# Every console endpoint and the lowest role that may use it.
EXPECTED: dict[str, str | None] = {
    # Signing in and setting up an account: open, or nobody could sign in.
    "console.sign_in": ANYONE,
    "console.second_factor": ANYONE,
    "console.setup_link": ANYONE,
    "console.setup": ANYONE,
    "console.sign_out": "dispatcher",
    # Working CIT requests.
    "console.queue": "dispatcher",
    "console.queue_rows": "dispatcher",
    "console.request_page": "dispatcher",
    "console.request_thread": "dispatcher",
    "console.new_request": "dispatcher",
    "console.acknowledge": "dispatcher",
    "console.add_note": "dispatcher",
    "console.reply": "dispatcher",
    "console.close": "dispatcher",
    # Looking up and reading crisis plans (each view is recorded with its reason).
    "console.lookup": "dispatcher",
    "console.view_plan": "dispatcher",
    # Handing a request to a partner, and taking its outcome.
    "console.hand_off": "dispatcher",
    "console.handoff_panel": "dispatcher",
    "console.accept_handoff": "dispatcher",
    # A partner's own pages: what was handed to its organisation, nothing else.
    "console.partner_queue": "partner",
    "console.partner_rows": "partner",
    "console.partner_handoff": "partner",
    "console.partner_thread": "partner",
    "console.partner_acknowledge": "partner",
    "console.partner_note": "partner",
    "console.partner_plan": "partner",
    "console.partner_outcome": "partner",
    "console.partner_follow_up": "partner",
    "console.follow_up_plan": "partner",
    "console.record_follow_up": "partner",
    # The officer card and the EIDO file: what any dispatcher hands on during a call.
    "console.send_officer_card": "dispatcher",
    "console.withdraw_officer_card": "dispatcher",
    "console.request_eido": "dispatcher",
    # Oversight.
    "console.withdraw": "supervisor",
    "console.audit_trail": "supervisor",
    "console.audit_export": "supervisor",
    "console.reports": "supervisor",
    "console.reports_export": "supervisor",
    # Accounts.
    "console.users": "admin",
    "console.deactivate_user": "admin",
    "console.reset_second_factor": "admin",
    # The phones officer cards may be texted to.
    "console.responders": "admin",
    "console.remove_responder": "admin",
}

# What a POST sends besides its CSRF token: enough to reach the view's own logic.
POST_DATA = {
    "console.view_plan": {"reason": "Incoming 911 call"},
    "console.add_note": {"note": "Caller says he is calmer"},
    "console.responders": {"label": "Unit 3142", "number": "(314) 555-0150"},
    "console.partner_note": {"note": "Called him back"},
    "console.partner_outcome": {"outcome-disposition": "behavioral_health_line"},
    "console.record_follow_up": {"outcome": "reached"},
}
PARTNER = "partner"  # outside the staff ladder: its own pages only


@pytest.fixture
def console(migrated_app: Flask) -> Flask:
    return migrated_app


def console_rules(app: Flask) -> list[tuple[str, str, tuple[str, ...]]]:
    """(endpoint, rule, methods) for every console URL rule."""
    return [
        (rule.endpoint, rule.rule, tuple(sorted((rule.methods or set()) - {"HEAD", "OPTIONS"})))
        for rule in app.url_map.iter_rules()
        if rule.endpoint.startswith("console.")
    ]


def may(role: str, lowest: str | None) -> bool:
    if lowest is None:
        return True
    if PARTNER in (role, lowest):
        return role == lowest
    return ROLES.index(role) >= ROLES.index(lowest)


def targets(console: Flask, tag: str) -> dict[str, str]:
    """A fresh request, plan and account for one role's visit: values for the URL rules."""
    with console.app_context():
        item = CitRequest(source="voice", language="en", location_source="none")
        item.messages.append(RequestMessage(direction="note", body="Typed in from a 911 call", author="test"))
        plan = file_plan(
            {"person": {"name": "Pat Doe"}},
            name="Pat Doe",
            born=date(1980, 1, 1),
            language="en",
            cit_requested=True,
            filed_by="self",
            phones=[("+13145550133", "person")],
        )
        db.session.flush()  # the plan's id
        item.plan_id, item.plan_reference = plan.id, plan.reference
        db.session.add(item)
        bhr = next(partner for partner in handoffs.register_partners() if partner.key == "bhr")
        handoff = HandOff(cit_request=item, partner=bhr, created_by="test")
        # The same organisation calls the person back, in this walk: its follow-up pages too.
        follow_up = FollowUp(cit_request=item, partner=bhr, due_at=utcnow())
        db.session.add_all([handoff, follow_up])
        responder = Responder(label=f"Unit {tag}", number="+13145550142", number_index=f"unit-{tag}")
        card, _token = plan_links.issue(
            plan, "officer_card", issued_to=responder.label, issued_by="test", responder=responder
        )
        db.session.commit()
        email = f"target-{tag}@example.org"
        make_user(console, email, "dispatcher")
        user_id = db.session.scalar(select(ConsoleUser.id).where(ConsoleUser.email == email))
        return {
            "request": item.reference,
            "plan": plan.reference,
            "user_id": str(user_id),
            "link_id": str(card.id),
            "handoff_id": str(handoff.id),
            "follow_up_id": str(follow_up.id),
            "responder_id": str(responder.id),
        }


def path_for(rule: str, endpoint: str, values: dict[str, str]) -> str:
    reference = values["plan"] if "plans/" in rule else values["request"]
    return (
        rule.replace("<reference>", reference)
        .replace("<int:user_id>", values["user_id"])
        .replace("<token>", "not-a-token")
        .replace("<how>", "text")
        .replace("<int:link_id>", values["link_id"])
        .replace("<int:responder_id>", values["responder_id"])
        .replace("<int:handoff_id>", values["handoff_id"])
        .replace("<int:follow_up_id>", values["follow_up_id"])
    )


def test_the_table_names_every_console_page(console: Flask) -> None:
    """A new console page needs its line in EXPECTED, with the role it is meant for."""
    endpoints = {endpoint for endpoint, _rule, _methods in console_rules(console)}
    assert endpoints - EXPECTED.keys() == set(), "console pages missing from the expected table"
    assert EXPECTED.keys() - endpoints == set(), "pages in the table that the console no longer has"


def test_signed_out_every_page_but_signing_in_sends_to_sign_in(console: Flask) -> None:
    client = console.test_client()
    token = csrf_token(client)
    values = targets(console, "anonymous")
    for endpoint, rule, methods in console_rules(console):
        if EXPECTED[endpoint] is ANYONE:
            continue
        method = "GET" if "GET" in methods else "POST"
        response = client.open(path_for(rule, endpoint, values), method=method, data={"csrf_token": token})
        assert response.status_code == 302, (endpoint, response.status_code)
        assert "/console/sign-in" in response.headers["Location"], endpoint


@pytest.mark.parametrize("role", [*ROLES, PARTNER])
def test_each_role_gets_exactly_its_pages(console: Flask, role: str) -> None:
    client: FlaskClient = console.test_client()
    email = f"{role}@example.org"
    secret = make_user(console, email, role)
    if role == PARTNER:  # staff of BHR, the partner each target request is handed to
        with console.app_context():
            user = db.session.scalars(select(ConsoleUser).where(ConsoleUser.email == email)).one()
            user.partner_id = next(p.id for p in handoffs.register_partners() if p.key == "bhr")
            db.session.commit()
    assert sign_in(console, client, email, secret).status_code == 302
    token = csrf_token(client, "/console/partner" if role == PARTNER else "/console/")
    values = targets(console, role)
    checked = []
    # Sign-out last: it ends this client's session.
    for endpoint, rule, methods in sorted(console_rules(console), key=lambda r: r[0] == "console.sign_out"):
        lowest = EXPECTED[endpoint]
        if lowest is ANYONE:
            continue
        path = path_for(rule, endpoint, values)
        for method in methods:
            data = {"csrf_token": token, **POST_DATA.get(endpoint, {})} if method == "POST" else None
            response = client.open(path, method=method, data=data)
            if not may(role, lowest):
                assert response.status_code == 403, (role, method, endpoint, response.status_code)
            elif method == "GET":
                assert response.status_code == 200, (role, method, endpoint, response.status_code)
            else:  # a form answers with its page again (200; 400 with what was wrong) or sends on (302)
                assert response.status_code in (200, 302, 400), (role, method, endpoint, response.status_code)
            checked.append((endpoint, method))
    assert len(checked) >= 20


# Signing in: timing and what is kept -----------------------------------------------------


def failed_sign_in_seconds(client: FlaskClient, token: str, email: str, attempt: int) -> float:
    # Each try from its own address, so that no lockout changes the path measured.
    client.environ_base["REMOTE_ADDR"] = f"198.51.100.{attempt}"
    started = time.perf_counter()
    response = client.post(
        "/console/sign-in", data={"csrf_token": token, "email": email, "password": "not the password!"}
    )
    took = time.perf_counter() - started
    assert response.status_code == 200 and "The email or password is wrong" in response.get_data(as_text=True)
    return took


def test_an_unknown_email_takes_as_long_as_a_wrong_password(console: Flask) -> None:
    """Timing must not tell which emails have accounts (median of 7 tries each, within 20%)."""
    make_user(console, "known@example.org", "dispatcher")
    client = console.test_client()
    token = csrf_token(client)
    failed_sign_in_seconds(client, token, "nobody@example.org", 1)  # warm-up: the first of each
    failed_sign_in_seconds(client, token, "known@example.org", 2)
    unknown, known = [], []
    for attempt in range(7):  # interleaved, so that a busy moment slows both alike
        unknown.append(failed_sign_in_seconds(client, token, f"nobody{attempt}@example.org", 10 + attempt))
        known.append(failed_sign_in_seconds(client, token, "known@example.org", 30 + attempt))
    slow, fast = max(median(unknown), median(known)), min(median(unknown), median(known))
    print(f"failed sign-in, median of 7: unknown email {median(unknown):.3f} s, known {median(known):.3f} s")
    assert (slow - fast) / slow < 0.2, (unknown, known)


def test_checking_a_password_takes_as_long_without_an_account(console: Flask) -> None:
    """The password check itself: argon2id against a dummy hash when there is no account.

    Measured in processor time, the work itself: wall time also counts whatever else the
    machine runs (other test processes), which is noise here."""
    from portal.console.accounts import password_matches

    make_user(console, "known@example.org", "dispatcher")
    with console.app_context():
        user = db.session.scalars(select(ConsoleUser)).one()
        password_matches(None, "warm-up")
        without, with_account = [], []
        for _attempt in range(7):
            started = time.process_time()
            assert not password_matches(None, "not the password!")
            without.append(time.process_time() - started)
            started = time.process_time()
            assert not password_matches(user, "not the password!")
            with_account.append(time.process_time() - started)
    slow, fast = max(median(without), median(with_account)), min(median(without), median(with_account))
    assert (slow - fast) / slow < 0.2, (without, with_account)


def test_failed_sign_ins_keep_nothing_that_was_typed(
    console: Flask, caplog: pytest.LogCaptureFixture
) -> None:
    """What was typed may be a password put in the wrong box: no table, no file and no log
    line keeps it, for an unknown email or a known one with a wrong password."""
    caplog.set_level(logging.DEBUG)
    make_user(console, "known@example.org", "dispatcher")
    client = console.test_client()
    typed = ("Typed.Secret@Example.org", "typed.secret@example.org", "Hunter2-hunter2!", "Wr0ng-Passw0rd!")
    for email, password in (
        ("Typed.Secret@Example.org", "Hunter2-hunter2!"),
        ("known@example.org", "Wr0ng-Passw0rd!"),
    ):
        response = client.post(
            "/console/sign-in", data={"csrf_token": csrf_token(client), "email": email, "password": password}
        )
        assert response.status_code == 200
    with console.app_context():
        for table in db.metadata.sorted_tables:
            for row in db.session.execute(table.select()):
                kept = [value for value in row if any(word in str(value) for word in typed)]
                assert not kept, (table.name, kept)
        database = Path(db.engine.url.database or "")
    for path in database.parent.glob(database.name + "*"):  # the file, its -wal and -shm
        content = path.read_bytes()
        assert not [word for word in typed if word.encode() in content], path
    assert not [record for record in caplog.records if any(word in record.getMessage() for word in typed)]
