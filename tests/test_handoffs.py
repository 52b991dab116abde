"""A dispatcher hands a request to a partner; the partner's staff, signed in with their
second factor, see only what was handed to them, open its plan (recorded), and send the
outcome; the dispatcher sees it and closes the request with it."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from portal.audit import AuditEvent
from portal.dispatch.models import CitRequest
from portal.extensions import db
from tests.console_helpers import PASSWORD, csrf_token, sign_in, signed_in_dispatcher, typed_in_request
from tests.registry_helpers import Registrant

FAMILY_PHONE = "(314) 555-0100"
# Noon and 11:30 PM in St. Louis (America/Chicago, UTC-6 in November): the co-responder
# team of portal/agency.toml works 9 to 5 and 3 to 11. Each visit signs in anew, at that
# moment.
NOON = datetime(2030, 11, 26, 18, 0, tzinfo=UTC)
LATE_NIGHT = datetime(2030, 11, 27, 5, 30, tzinfo=UTC)


@pytest.fixture
def family(migrated_app: Flask) -> Registrant:
    registrant = Registrant(migrated_app, migrated_app.test_client())
    registrant.file_plan(phone=FAMILY_PHONE)
    return registrant


@pytest.fixture
def dispatcher(migrated_app: Flask) -> FlaskClient:
    return signed_in_dispatcher(migrated_app)


def partner_account(app: Flask, email: str, partner_key: str) -> FlaskClient:
    """Created as an admin would (the command), set up through its link, signed in."""
    result = app.test_cli_runner().invoke(
        args=["users", "create", email, "--role", "partner", "--partner", partner_key]
    )
    assert result.exit_code == 0, result.output
    link = re.sub(r"^https?://[^/]+", "", result.output.strip().splitlines()[-1])
    client = app.test_client()
    assert client.get(link).status_code in (200, 302)
    setup = client.get("/console/setup")
    token = re.search(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"', setup.get_data(as_text=True))
    assert token
    from portal.console.accounts import new_secret, set_password
    from portal.console.models import ConsoleUser

    # The set-up pages are tested elsewhere: finish the account as they would.
    with app.app_context():
        user = db.session.scalars(select(ConsoleUser).where(ConsoleUser.email == email)).one()
        set_password(user, PASSWORD)
        user.totp_secret = new_secret()
        user.setup_token_hash = None
        db.session.commit()
        secret = user.totp_secret
    signed = sign_in(app, client, email, secret)
    assert signed.status_code == 302
    assert signed.headers["Location"].endswith("/console/partner")
    return client


def offered(dispatcher: FlaskClient, reference: str) -> dict[str, str]:
    page = dispatcher.get(f"/console/requests/{reference}").get_data(as_text=True)
    section = page[page.index('id="hand-off"') :]
    return {name: value for value, name in re.findall(r'<option value="(\d+)">([^<]+)</option>', section)}


def hand_to(dispatcher: FlaskClient, reference: str, partner: str) -> None:
    """Hand the request over from its page, choosing the partner by the name shown."""
    choices = offered(dispatcher, reference)
    token = csrf_token(dispatcher, f"/console/requests/{reference}")
    handed = dispatcher.post(
        f"/console/requests/{reference}/hand-off", data={"csrf_token": token, "partner": choices[partner]}
    )
    assert handed.status_code == 302


def handoff_link(partner: FlaskClient) -> str:
    """The newest hand-off in the partner's queue, as its page's path."""
    found = re.search(
        r'href="(/console/partner/handoffs/\d+)"', partner.get("/console/partner/rows").get_data(as_text=True)
    )
    assert found, "nothing in the partner's queue"
    return found.group(1)


def test_a_request_goes_to_the_partner_and_its_outcome_comes_back(
    migrated_app: Flask, family: Registrant, dispatcher: FlaskClient
) -> None:
    bhr = partner_account(migrated_app, "ana@bhr.example.org", "bhr")
    partner_account(migrated_app, "cal@team.example.org", "co-responder")
    reference = typed_in_request(dispatcher, FAMILY_PHONE)
    with time_machine.travel(NOON, tick=True):
        at_noon = signed_in_dispatcher(migrated_app, "noon@example.org")
        assert set(offered(at_noon, reference)) == {
            "Behavioral Health Response (BHR)",
            "Co-responder team (officer and clinician)",
        }
    with time_machine.travel(LATE_NIGHT, tick=True):
        at_night = signed_in_dispatcher(migrated_app, "night@example.org")
        assert set(offered(at_night, reference)) == {"Behavioral Health Response (BHR)"}  # team off shift
    choices = offered(dispatcher, reference)

    token = csrf_token(dispatcher, f"/console/requests/{reference}")
    handed = dispatcher.post(
        f"/console/requests/{reference}/hand-off",
        data={"csrf_token": token, "partner": choices["Behavioral Health Response (BHR)"]},
    )
    assert handed.status_code == 302

    queue = bhr.get("/console/partner/rows").get_data(as_text=True)
    assert reference in queue and "Not acknowledged" in queue
    link = re.search(r'href="(/console/partner/handoffs/\d+)"', queue)
    assert link
    page = bhr.get(link.group(1)).get_data(as_text=True)
    assert "4500 Lindell Blvd" in page
    partner_token = csrf_token(bhr, link.group(1))
    assert bhr.post(f"{link.group(1)}/acknowledge", data={"csrf_token": partner_token}).status_code == 302
    plan = bhr.post(f"{link.group(1)}/plan", data={"csrf_token": partner_token})
    assert plan.status_code == 200
    assert "Jordan Rivers" in plan.get_data(as_text=True)

    refused = bhr.post(
        f"{link.group(1)}/outcome", data={"csrf_token": partner_token, "outcome-note": "Talked with him"}
    )
    assert refused.status_code == 400  # no disposition chosen: asked again, the note kept
    assert "Talked with him" in refused.get_data(as_text=True)
    sent = bhr.post(
        f"{link.group(1)}/outcome",
        data={
            "csrf_token": partner_token,
            "outcome-disposition": "behavioral_health_line",
            "outcome-referral": "BHR crisis stabilization",
            "outcome-note": "Talked with him, he agreed to go",
        },
    )
    assert sent.status_code == 302

    panel = dispatcher.get(f"/console/requests/{reference}/hand-off").get_data(as_text=True)
    assert "Referred to the behavioral-health line" in panel
    assert "BHR crisis stabilization" in panel
    assert "Talked with him, he agreed to go" in panel
    accepted = dispatcher.post(
        f"/console/requests/{reference}/hand-off/accept",
        data={"csrf_token": token, "accept-cad_number": "CAD-9", "accept-text_texter": "no"},
    )
    assert accepted.status_code == 302
    with migrated_app.app_context():
        item = db.session.scalars(select(CitRequest).where(CitRequest.reference == reference)).one()
        assert (item.status, item.disposition, item.referral, item.cad_number) == (
            "closed",
            "behavioral_health_line",
            "BHR crisis stabilization",
            "CAD-9",
        )
        views = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "plan.view")).all()
    assert [view.reason for view in views] == [f"Hand-off {reference}"]
    assert views[0].actor_name.startswith("Partner ana@bhr.example.org")
    log = family.client.get("/crisis-plan/access-log").get_data(as_text=True)
    assert "A crisis partner" in log and f"Hand-off {reference}" in log
    assert reference not in bhr.get("/console/partner/rows").get_data(as_text=True)  # done

    # The next time the plan is opened, the referral is there, as officers expect.
    with migrated_app.app_context():
        plan_reference = item.plan_reference
    again = dispatcher.post(
        f"/console/plans/{plan_reference}",
        data={"csrf_token": token, "choice": "call", "reason": "second call"},
    )
    page = again.get_data(as_text=True)
    assert "Where the person was taken or referred before" in page
    assert "BHR crisis stabilization" in page


def test_a_partner_sees_only_what_was_handed_to_it(
    migrated_app: Flask, family: Registrant, dispatcher: FlaskClient
) -> None:
    bhr = partner_account(migrated_app, "ana@bhr.example.org", "bhr")
    team = partner_account(migrated_app, "cal@team.example.org", "co-responder")
    reference = typed_in_request(dispatcher, FAMILY_PHONE)
    with time_machine.travel(NOON, tick=True):
        at_noon = signed_in_dispatcher(migrated_app, "noon@example.org")
        hand_to(at_noon, reference, "Co-responder team (officer and clinician)")
    link = handoff_link(team)
    assert reference not in bhr.get("/console/partner/rows").get_data(as_text=True)
    assert bhr.get(link).status_code == 404
    assert bhr.get(f"{link}/thread").status_code == 404  # nor its messages
    assert team.get(f"{link}/thread").status_code == 200
    bhr_token = csrf_token(bhr, "/console/partner")
    assert bhr.post(f"{link}/plan", data={"csrf_token": bhr_token}).status_code == 404
    # The dispatcher's pages are not the partner's.
    for path in (
        "/console/",
        "/console/queue/rows",
        f"/console/requests/{reference}",
        f"/console/requests/{reference}/thread",
        "/console/plans",
        "/console/reports",
    ):
        assert bhr.get(path).status_code == 403, path
    # And a dispatcher has no partner pages.
    assert dispatcher.get("/console/partner").status_code == 403


@pytest.mark.parametrize(
    ("local", "on_shift"),
    [("08:59", False), ("09:00", True), ("16:30", True), ("22:59", True), ("23:00", False), ("03:00", False)],
)
def test_the_co_responder_team_is_offered_during_its_shifts_on_the_agencys_clock(
    migrated_app: Flask, local: str, on_shift: bool
) -> None:
    from zoneinfo import ZoneInfo

    from portal.dispatch import handoffs

    hour, minute = map(int, local.split(":"))
    moment = datetime(2030, 7, 1, hour, minute, tzinfo=ZoneInfo("America/Chicago"))  # summer time too
    with migrated_app.app_context():
        handoffs.register_partners()
        names = {partner.name for partner in handoffs.offered_partners(moment)}
    assert ("Co-responder team (officer and clinician)" in names) is on_shift
    assert "Behavioral Health Response (BHR)" in names  # around the clock
    assert "Peer support follow-up" not in names  # follow-ups are not hand-offs


def test_a_follow_up_reaches_the_peer_partner_when_the_plan_consents(
    migrated_app: Flask, family: Registrant, dispatcher: FlaskClient
) -> None:
    from portal.plans.models import CrisisPlan

    peers = partner_account(migrated_app, "pat@peers.example.org", "peer-follow-up")
    with migrated_app.app_context():
        plan = db.session.scalars(select(CrisisPlan)).one()
        plan.follow_up_consent = True  # chosen on the plan's consent step
        db.session.commit()
    reference = typed_in_request(dispatcher, FAMILY_PHONE)
    token = csrf_token(dispatcher, f"/console/requests/{reference}")
    closed = dispatcher.post(
        f"/console/requests/{reference}/close",
        data={"csrf_token": token, "disposition": "cit_dispatched", "cad_number": "", "text_texter": "no"},
    )
    assert closed.status_code == 302
    rows = peers.get("/console/partner/rows").get_data(as_text=True)
    assert "Follow-ups to make" in rows and reference in rows
    link = re.search(r'href="(/console/partner/follow-ups/\d+)"', rows)
    assert link
    peer_token = csrf_token(peers, link.group(1))
    assert peers.post(f"{link.group(1)}/plan", data={"csrf_token": peer_token}).status_code == 200
    asked = peers.post(link.group(1), data={"csrf_token": peer_token, "note": "Left a voicemail"})
    assert asked.status_code == 400 and "Left a voicemail" in asked.get_data(as_text=True)
    done = peers.post(
        link.group(1), data={"csrf_token": peer_token, "outcome": "no_answer", "note": "Left a voicemail"}
    )
    assert done.status_code == 302
    assert reference not in peers.get("/console/partner/rows").get_data(as_text=True)
    log = family.client.get("/crisis-plan/access-log").get_data(as_text=True)
    assert f"Follow-up {reference}" in log


def test_a_partner_reads_the_plan_only_while_the_work_lasts(
    migrated_app: Flask, family: Registrant, dispatcher: FlaskClient
) -> None:
    from datetime import timedelta

    bhr = partner_account(migrated_app, "ana@bhr.example.org", "bhr")
    reference = typed_in_request(dispatcher, FAMILY_PHONE)
    hand_to(dispatcher, reference, "Behavioral Health Response (BHR)")
    token = csrf_token(dispatcher, f"/console/requests/{reference}")
    link = handoff_link(bhr)
    partner_token = csrf_token(bhr, link)
    bhr.post(f"{link}/outcome", data={"csrf_token": partner_token, "outcome-disposition": "other"})
    dispatcher.post(
        f"/console/requests/{reference}/hand-off/accept", data={"csrf_token": token, "text_texter": "no"}
    )
    assert bhr.post(f"{link}/plan", data={"csrf_token": partner_token}).status_code == 200  # same evening
    with time_machine.travel(datetime.now(UTC) + timedelta(hours=12, minutes=5), tick=True):
        later = partner_account(migrated_app, "bo@bhr.example.org", "bhr")
        later_token = csrf_token(later, link)
        assert later.post(f"{link}/plan", data={"csrf_token": later_token}).status_code == 403


def test_a_cad_number_too_long_to_accept_is_said_and_kept(
    migrated_app: Flask, family: Registrant, dispatcher: FlaskClient
) -> None:
    """A CAD number pasted with too much in it: the request stays open, the page says what
    is wrong beside the field, and what was typed is still there to correct."""
    bhr = partner_account(migrated_app, "long.cad@bhr.example.org", "bhr")
    reference = typed_in_request(dispatcher, FAMILY_PHONE)
    hand_to(dispatcher, reference, "Behavioral Health Response (BHR)")
    link = handoff_link(bhr)
    sent = bhr.post(
        f"{link}/outcome",
        data={"csrf_token": csrf_token(bhr, link), "outcome-disposition": "behavioral_health_line"},
    )
    assert sent.status_code == 302
    pasted = "26-004417 (copied from the CAD screen with the call notes after it)"
    token = csrf_token(dispatcher, f"/console/requests/{reference}")
    refused = dispatcher.post(
        f"/console/requests/{reference}/hand-off/accept",
        data={"csrf_token": token, "accept-cad_number": pasted, "accept-text_texter": "no"},
    )
    assert refused.status_code == 400  # the same page again, not a redirect
    page = refused.get_data(as_text=True)
    assert "There is no partner" not in page
    # Kept on the page, never in the session cookie (signed, not encrypted: DESIGN.md).
    cookie = dispatcher.get_cookie(migrated_app.config["SESSION_COOKIE_NAME"])
    if cookie is not None:
        serializer = migrated_app.session_interface.get_signing_serializer(migrated_app)  # type: ignore[attr-defined]
        assert "26-004417" not in str(serializer.loads(cookie.value))
    panel = page[page.index('id="hand-off"') :]
    assert f'value="{pasted}"' in panel
    assert "40 characters" in panel  # beside the field
    with migrated_app.app_context():
        item = db.session.scalars(select(CitRequest).where(CitRequest.reference == reference)).one()
        assert item.status != "closed"


def test_a_partner_with_nobody_to_take_hand_offs_is_not_offered(
    migrated_app: Flask, dispatcher: FlaskClient
) -> None:
    """A hand-off to an organisation with no account set up would wait for nobody."""
    reference = typed_in_request(dispatcher, "+13145550340")
    with migrated_app.app_context():
        from portal.dispatch import handoffs

        handoffs.register_partners()  # as the Users page does on the way
        db.session.commit()
    assert "Behavioral Health Response (BHR)" not in offered(dispatcher, reference)
    partner_account(migrated_app, "first@bhr.example.org", "bhr")
    assert "Behavioral Health Response (BHR)" in offered(dispatcher, reference)


def queue_row(dispatcher: FlaskClient, reference: str) -> str:
    rows = dispatcher.get("/console/queue/rows").get_data(as_text=True)
    start = rows.rindex("<tr", 0, rows.index(f"open-{reference}"))
    return rows[start : rows.index("</tr>", start)]


def test_a_hand_off_nobody_acknowledges_turns_red_on_the_dispatchers_queue(
    migrated_app: Flask, family: Registrant
) -> None:
    """Handing off acknowledges the request; if the partner then does not acknowledge in
    the minutes a request is given, the dispatchers see it on their queue, counted in the
    tab's title. Acknowledged, it is quiet; its outcome in, the queue says so."""
    start = datetime.now(UTC).replace(microsecond=0)
    with time_machine.travel(start, tick=True):
        dispatcher = signed_in_dispatcher(migrated_app, "red@example.org")
        bhr = partner_account(migrated_app, "slow@bhr.example.org", "bhr")
        reference = typed_in_request(dispatcher, FAMILY_PHONE)
        hand_to(dispatcher, reference, "Behavioral Health Response (BHR)")
        row = queue_row(dispatcher, reference)
        assert "With Behavioral Health Response (BHR)" in row
        assert "overdue" not in row
    with time_machine.travel(start + timedelta(minutes=10), tick=True):
        row = queue_row(dispatcher, reference)
        assert "portal-queue__row--overdue" in row
        assert "Not acknowledged by Behavioral Health Response (BHR)" in row
        rows = dispatcher.get("/console/queue/rows").get_data(as_text=True)
        assert re.search(r'data-title="\(1 overdue', rows)
        link = handoff_link(bhr)
        assert bhr.post(f"{link}/acknowledge", data={"csrf_token": csrf_token(bhr, link)}).status_code == 302
        row = queue_row(dispatcher, reference)
        assert "portal-queue__row--overdue" not in row
        assert "With Behavioral Health Response (BHR)" in row
        sent = bhr.post(
            f"{link}/outcome",
            data={"csrf_token": csrf_token(bhr, link), "outcome-disposition": "behavioral_health_line"},
        )
        assert sent.status_code == 302
        assert "Outcome from Behavioral Health Response (BHR): accept it" in queue_row(dispatcher, reference)


def test_an_outcome_is_sent_once_and_a_second_is_kept_as_a_note(
    migrated_app: Flask, family: Registrant, dispatcher: FlaskClient
) -> None:
    """Two counsellors of the line send an outcome for the same request: the first is
    what the dispatcher sees and accepts; the second's words are not lost."""
    first = partner_account(migrated_app, "first.sender@bhr.example.org", "bhr")
    second = partner_account(migrated_app, "second.sender@bhr.example.org", "bhr")
    reference = typed_in_request(dispatcher, FAMILY_PHONE)
    hand_to(dispatcher, reference, "Behavioral Health Response (BHR)")
    link = handoff_link(first)
    late_page = second.get(link)  # the second counsellor has the form open too
    assert late_page.status_code == 200
    sent = first.post(
        f"{link}/outcome",
        data={"csrf_token": csrf_token(first, link), "outcome-disposition": "behavioral_health_line"},
    )
    assert sent.status_code == 302
    late = second.post(
        f"{link}/outcome",
        data={
            "csrf_token": csrf_token(second, link),
            "outcome-disposition": "transported",
            "outcome-note": "Took him to the emergency department myself",
        },
    )
    assert late.status_code == 409
    page = late.get_data(as_text=True)
    assert "already sent" in page
    assert "Took him to the emergency department myself</textarea>" in page  # in the note form
    panel = dispatcher.get(f"/console/requests/{reference}/hand-off").get_data(as_text=True)
    assert "Referred to the behavioral-health line" in panel
    assert "Transported for care" not in panel


def test_a_request_closed_without_the_partner_leaves_its_queue(
    migrated_app: Flask, family: Registrant, dispatcher: FlaskClient
) -> None:
    """The dispatcher closes a handed request with the close form (the person called back,
    all is well): the partner's queue no longer counts it, and no outcome can be sent."""
    bhr = partner_account(migrated_app, "closed.elsewhere@bhr.example.org", "bhr")
    reference = typed_in_request(dispatcher, FAMILY_PHONE)
    hand_to(dispatcher, reference, "Behavioral Health Response (BHR)")
    link = handoff_link(bhr)
    closed = dispatcher.post(
        f"/console/requests/{reference}/close",
        data={"csrf_token": csrf_token(dispatcher, f"/console/requests/{reference}"), "disposition": "other"},
    )
    assert closed.status_code == 302
    rows = bhr.get("/console/partner/rows").get_data(as_text=True)
    assert reference not in rows
    assert 'data-waiting="0"' in rows
    page = bhr.get(link).get_data(as_text=True)
    assert f"{reference}</bdi> is closed" in page
    assert 'id="outcome"' not in page
    refused = bhr.post(
        f"{link}/outcome", data={"csrf_token": csrf_token(bhr, link), "outcome-disposition": "other"}
    )
    assert refused.status_code == 409


def test_a_timed_out_partner_queue_still_counts_its_hand_offs(
    migrated_app: Flask, family: Registrant, dispatcher: FlaskClient
) -> None:
    """Left open in a background tab past the idle limit, the partner's queue locks but
    keeps counting what was handed to it (and sounds), like the dispatchers'."""
    from portal.console.models import ConsoleSession, ConsoleUser
    from portal.database import utcnow

    bhr = partner_account(migrated_app, "idle@bhr.example.org", "bhr")
    with migrated_app.app_context():
        user = db.session.scalars(
            select(ConsoleUser).where(ConsoleUser.email == "idle@bhr.example.org")
        ).one()
        db.session.execute(
            db.update(ConsoleSession)
            .where(ConsoleSession.user_id == user.id)
            .values(last_active_at=utcnow() - timedelta(hours=2))
        )
        db.session.commit()
    reference = typed_in_request(dispatcher, FAMILY_PHONE)
    hand_to(dispatcher, reference, "Behavioral Health Response (BHR)")
    locked = bhr.get("/console/partner/rows", headers={"HX-Request": "true"})
    page = locked.get_data(as_text=True)
    assert locked.status_code == 200
    assert "Console locked" in page and "1 open request is waiting" in page
    assert reference not in page and "4500 Lindell" not in page
