"""A CIT request a dispatcher can trust: a voice call typed in finds the caller's crisis
plan, closing needs a disposition and loses nothing typed, the page speaks in words,
plan views are audited in words, and console pages are the console's own.

What is expected is written here, not taken from the code under test.
"""

from __future__ import annotations

import re
from datetime import date
from html.parser import HTMLParser

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from portal.audit import PLAN_VIEW, AuditEvent
from portal.dispatch import requests
from portal.dispatch.models import CitRequest
from portal.extensions import db
from portal.messaging.outbox import OutboundMessage, queue_message
from portal.plans.services import file_plan
from tests.console_helpers import csrf_token, signed_in_dispatcher
from tests.text_line_helpers import send_text

PERSON = "+13145550177"  # the son's own, verified phone
MOTHER = "+13145550176"  # the mother's, who filed
UNCONFIRMED = "+13145550178"  # a number the mother gave and nobody confirmed yet: pending
STRANGER = "+13145550199"


@pytest.fixture
def console(migrated_app: Flask) -> Flask:
    return migrated_app


@pytest.fixture
def dispatcher(console: Flask) -> FlaskClient:
    return signed_in_dispatcher(console)


def plan_with_phones(console: Flask) -> str:
    with console.app_context():
        plan = file_plan(
            {"person": {"name": "Daniel Okafor"}, "crisis": {"what_helps": "Quiet voice"}},
            name="Daniel Okafor",
            born=date(1999, 3, 14),
            language="en",
            cit_requested=True,
            filed_by="family",
            phones=[(MOTHER, "filer"), (PERSON, "person"), (UNCONFIRMED, "pending")],
        )
        db.session.commit()
        return plan.reference


class VisibleText(HTMLParser):
    """The words a person reads on a page: no tags, attributes, scripts or styles."""

    def __init__(self) -> None:
        super().__init__()
        self.words: list[str] = []
        self.hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style", "title"):
            self.hidden += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style", "title"):
            self.hidden -= 1

    def handle_data(self, data: str) -> None:
        if not self.hidden:
            self.words.append(data)


def visible(html: str) -> str:
    parser = VisibleText()
    parser.feed(html)
    return " ".join(" ".join(parser.words).split())


def type_in(dispatcher: FlaskClient, callback: str, location: str = "4500 Lindell Blvd") -> str:
    """A voice call typed in through the console's form; returns the request's page."""
    token = csrf_token(dispatcher, "/console/requests/new")
    created = dispatcher.post(
        "/console/requests/new",
        data={"csrf_token": token, "location": location, "callback": callback, "language": "en", "note": ""},
    )
    assert created.status_code == 302, created.get_data(as_text=True)[:500]
    return visible(dispatcher.get(created.headers["Location"]).get_data(as_text=True))


def test_a_voice_call_typed_in_finds_the_plan_by_its_callback_number(
    dispatcher: FlaskClient, console: Flask
) -> None:
    plan = plan_with_phones(console)

    page = type_in(dispatcher, "(314) 555-0177")  # the son's phone, as a dispatcher types it
    assert f"Crisis plan {plan} · CIT requested" in page
    assert "none on file" not in page
    assert "Open the crisis plan (recorded)" in page

    page = type_in(dispatcher, "314.555.0176")  # the mother's, written another way
    assert f"Crisis plan {plan}" in page

    # A phone nobody has shown they hold finds no plan, nor does a stranger's.
    for number in ("(314) 555-0178", "(314) 555-0199"):
        page = type_in(dispatcher, number)
        assert "Crisis plan none on file for this number" in page, number
        assert plan not in page

    page = type_in(dispatcher, "")
    assert "Crisis plan none found: no callback number to look up" in page

    with console.app_context():
        linked = [
            row.plan_reference for row in db.session.scalars(select(CitRequest).order_by(CitRequest.id))
        ]
    assert linked == [plan, plan, None, None, None]


def test_a_texted_request_finds_the_plan_too_but_not_from_a_pending_phone(
    dispatcher: FlaskClient, console: Flask
) -> None:
    plan = plan_with_phones(console)
    send_text(console.test_client(), "PIN 4500 Lindell Blvd", sender=PERSON)
    send_text(console.test_client(), "PIN 4600 Lindell Blvd", sender=UNCONFIRMED)
    with console.app_context():
        found = {
            row.location: (row.reference, row.plan_reference)
            for row in db.session.scalars(select(CitRequest))
        }
    texted, from_pending = found["4500 Lindell Blvd"], found["4600 Lindell Blvd"]
    assert texted[1] == plan and from_pending[1] is None
    assert f"Crisis plan {plan}" in visible(
        dispatcher.get(f"/console/requests/{texted[0]}").get_data(as_text=True)
    )
    page = visible(dispatcher.get(f"/console/requests/{from_pending[0]}").get_data(as_text=True))
    assert "Crisis plan none on file for this number" in page


def test_closing_needs_a_disposition_none_is_chosen_beforehand_and_nothing_typed_is_lost(
    dispatcher: FlaskClient, console: Flask
) -> None:
    send_text(console.test_client(), "PIN 4500 Main St")
    with console.app_context():
        reference = db.session.scalar(select(CitRequest.reference))
    base = f"/console/requests/{reference}"
    page = dispatcher.get(base).get_data(as_text=True)
    chosen = re.findall(r"<option selected value=\"([^\"]*)\"", page)
    assert chosen in ([], [""]), f"a disposition is chosen beforehand: {chosen}"
    assert "CIT officer dispatched" in page  # offered, not chosen

    refused = dispatcher.post(
        f"{base}/close",
        data={
            "csrf_token": csrf_token(dispatcher, base),
            "disposition": "",
            "cad_number": "24-000777",
            "text_texter": "no",
        },
    )
    assert refused.status_code == 400  # the page again, as it was sent
    again = refused.get_data(as_text=True)
    assert "Choose a disposition: how the request ended." in visible(again)
    assert 'value="24-000777"' in again, "the CAD number typed is still there"
    assert re.search(r'value="no"\s+checked', again), "and so is the answer about texting the texter"
    with console.app_context():
        item = db.session.scalars(select(CitRequest)).one()
        assert (item.status, item.disposition, item.closed_at) == ("open", None, None)
        assert "request.close" not in set(db.session.scalars(select(AuditEvent.action)))
    # What was kept is shown once: the next visit starts clean.
    assert 'value="24-000777"' not in dispatcher.get(base).get_data(as_text=True)

    dispatcher.post(
        f"{base}/close",
        data={
            "csrf_token": csrf_token(dispatcher, base),
            "disposition": "no_contact",
            "cad_number": "24-000777",
            "text_texter": "no",
        },
    )
    with console.app_context():
        item = db.session.scalars(select(CitRequest)).one()
        assert (item.status, item.disposition, item.cad_number) == ("closed", "no_contact", "24-000777")
    page = visible(dispatcher.get(base).get_data(as_text=True))
    assert "No contact made" in page and "no_contact" not in page


def test_a_note_too_long_comes_back_whole(dispatcher: FlaskClient, console: Flask) -> None:
    send_text(console.test_client(), "PIN 4500 Main St")
    with console.app_context():
        reference = db.session.scalar(select(CitRequest.reference))
    base = f"/console/requests/{reference}"
    long_note = "He is calmer now; mother on scene. " * 60  # over 2,000 characters
    refused = dispatcher.post(
        f"{base}/note", data={"csrf_token": csrf_token(dispatcher, base), "note": long_note}
    )
    assert refused.status_code == 400
    assert long_note.strip() in refused.get_data(as_text=True)


RAW = (
    "dispatch_alert",
    "fallback_alert",
    "dispatch_update",
    "texter_reply",
    "supervisor_alert",
    "cit_dispatched",
    "accepted",
    "undelivered",
    "queued",
    "plan_home",
    "request:",
)


def test_the_request_page_says_everything_in_words(dispatcher: FlaskClient, console: Flask) -> None:
    send_text(console.test_client(), "PIN 4500 Main St")
    with console.app_context():
        item = db.session.scalars(select(CitRequest)).one()
        queue_message(
            to="+13145550111", body="x", sender="line", purpose="dispatch_alert", cit_request_id=item.id
        )
        queue_message(
            to="+13145550112", body="x", sender="line", purpose="dispatch_alert", cit_request_id=item.id
        )
        queue_message(
            to="+13145550119", body="x", sender="line", purpose="fallback_alert", cit_request_id=item.id
        )
        sent = list(
            db.session.scalars(select(OutboundMessage).where(OutboundMessage.cit_request_id == item.id))
        )
        statuses = [("accepted", None), ("failed", 30003), ("undelivered", 30005)]
        for message, (status, error) in zip(sent[-3:], statuses, strict=True):
            message.status, message.error_code = status, error
        db.session.commit()
        reference = item.reference
    base = f"/console/requests/{reference}"
    dispatcher.post(
        f"{base}/reply", data={"csrf_token": csrf_token(dispatcher, base), "template": "on_the_way"}
    )

    page = visible(dispatcher.get(base).get_data(as_text=True))
    for raw in RAW:
        assert raw not in page, raw
    for words in (
        "Not acknowledged",
        "Alert to a dispatch phone (314) 555-0111 Handed to the phone network",
        "Alert to a dispatch phone (314) 555-0112 Failed: the phone is switched off or out of reach (error 30003)",
        "Alert to a fallback number (dispatch phones not reached) (314) 555-0119 Not delivered: unknown or inactive number (error 30005)",
        "Text to the texter",
        "Waiting to be sent",
        "CIT officer dispatched",
    ):
        assert words in page, words


def test_plan_views_offer_the_common_reasons_and_are_audited_in_words(
    dispatcher: FlaskClient, console: Flask
) -> None:
    plan = plan_with_phones(console)
    send_text(console.test_client(), "PIN 4500 Lindell Blvd", sender=PERSON)
    with console.app_context():
        reference = db.session.scalar(select(CitRequest.reference))
    token = csrf_token(dispatcher, "/console/plans")
    url = f"/console/plans/{plan}"

    asked = dispatcher.post(url, data={"csrf_token": token})  # a button that only opens
    assert asked.status_code == 200
    html = asked.get_data(as_text=True)
    page = visible(html)
    assert "Please fix this" not in page, "asked, not refused"
    for choice in (
        "Incoming 911 call",
        f"The linked request {reference}",
        "CIT officer en route",
        "Other reason",
    ):
        assert choice in page, choice
    assert "checked" not in html, "no reason is chosen for the dispatcher"
    assert "Quiet voice" not in page

    def open_with(**data: str) -> int:
        return dispatcher.post(url, data={"csrf_token": token, **data}).status_code

    assert open_with(choice="call") == 200
    assert open_with(choice=f"request:{reference}") == 200
    assert open_with(choice="en_route", reason="unit 4B") == 200
    assert open_with(choice="other", reason="Family asked us to check the plan") == 200
    assert open_with(reason="CAD 24-118877") == 200  # words alone, as the look-up page sends them
    refused = dispatcher.post(url, data={"csrf_token": token, "choice": "other", "reason": " "})
    assert refused.status_code == 400
    assert "Give a reason: it is recorded and the family can see it." in visible(
        refused.get_data(as_text=True)
    )
    refused = dispatcher.post(url, data={"csrf_token": token, "reason": ""})
    assert refused.status_code == 400
    assert "Choose a reason or write one: it is recorded and the family can see it." in visible(
        refused.get_data(as_text=True)
    )
    assert open_with(choice="request:R-ZZZZZZ") == 400, "a request not linked to the plan is no reason"
    assert open_with(choice="just_because") == 400

    with console.app_context():
        views = db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == PLAN_VIEW).order_by(AuditEvent.id)
        ).all()
    assert [(view.reason, view.request_reference) for view in views] == [
        ("Incoming 911 call", None),
        (f"CIT request {reference}", reference),
        ("CIT officer en route: unit 4B", None),
        ("Family asked us to check the plan", None),
        ("CAD 24-118877", None),
    ]


def test_the_request_page_opens_its_plan_with_the_request_as_reason(
    dispatcher: FlaskClient, console: Flask
) -> None:
    plan = plan_with_phones(console)
    send_text(console.test_client(), "PIN 4500 Lindell Blvd", sender=PERSON)
    with console.app_context():
        reference = db.session.scalar(select(CitRequest.reference))
    page = dispatcher.get(f"/console/requests/{reference}").get_data(as_text=True)
    form = re.search(rf'<form method="post" action="/console/plans/{plan}">(.*?)</form>', page, re.S)
    assert form, "the request page has a button to open its plan"
    fields = dict(re.findall(r'name="([^"]+)"[^>]*value="([^"]*)"', form.group(1)))
    opened = dispatcher.post(f"/console/plans/{plan}", data=fields)
    assert opened.status_code == 200 and "Quiet voice" in opened.get_data(as_text=True)
    with console.app_context():
        view = db.session.scalars(select(AuditEvent).where(AuditEvent.action == PLAN_VIEW)).one()
    assert (view.reason, view.request_reference) == (f"CIT request {reference}", reference)


def test_console_pages_are_the_consoles_own(dispatcher: FlaskClient, console: Flask) -> None:
    send_text(console.test_client(), "PIN 4500 Main St")
    with console.app_context():
        reference = db.session.scalar(select(CitRequest.reference))
    for path in ("/console/", f"/console/requests/{reference}", "/console/requests/new", "/console/plans"):
        html = dispatcher.get(path).get_data(as_text=True)
        page = visible(html)
        assert "Is anyone in danger now?" not in page, path
        assert "This website cannot send help" not in page, path
        assert "<footer" not in html, path
        assert "Signed in: dee@example.org, Dispatcher" in page, path
        assert re.search(r'<form method="post" action="/console/sign-out"', html), path
    sign_in_page = visible(console.test_client().get("/console/sign-in").get_data(as_text=True))
    assert "Is anyone in danger now?" not in sign_in_page
    # The public pages keep both.
    public = visible(console.test_client().get("/").get_data(as_text=True))
    assert "Is anyone in danger now? Call 911." in public and "This website cannot send help." in public
    assert dispatcher.get("/console/sign-out").status_code == 405, "signing out is a POST"


def test_the_lifecycle_is_a_service_any_caller_can_use(console: Flask) -> None:
    """What the console's views call, and an API or a partner hand-off will."""
    plan = plan_with_phones(console)
    with console.test_request_context():
        item = requests.open_by_hand(
            location="4500 Lindell Blvd",
            callback="(314) 555-0177",
            language="es",
            note="He is pacing",
            by="Dispatcher a@b.org",
        )
        assert (item.source, item.status, item.plan_reference, item.plan_asks_for_cit) == (
            "voice",
            "acknowledged",
            plan,
            True,
        )
        assert [m.body for m in item.messages] == ["He is pacing"]
        assert requests.acknowledge(item, "Dispatcher a@b.org") is False, "it is acknowledged already"
        assert requests.add_note(item, "   ", "Dispatcher a@b.org") is False
        assert requests.add_note(item, "Unit 4B on scene", "Dispatcher a@b.org") is True
        assert requests.reply(item, "on_the_way", "Dispatcher a@b.org") is False, "no texter on a voice call"
        with pytest.raises(ValueError):
            requests.reply(item, "say anything", "Dispatcher a@b.org")
        with pytest.raises(ValueError):
            requests.close(item, disposition="", cad_number=None, tell_texter=False, by="Dispatcher a@b.org")
        assert item.status == "acknowledged"
        requests.close(
            item, disposition="cit_dispatched", cad_number=" 24-1 ", tell_texter=True, by="Dispatcher a@b.org"
        )
        assert (item.status, item.cad_number, item.closed_by) == ("closed", "24-1", "Dispatcher a@b.org")
        with pytest.raises(requests.RequestClosed):
            requests.close(
                item, disposition="other", cad_number=None, tell_texter=False, by="Dispatcher a@b.org"
            )
        assert item.disposition == "cit_dispatched"
        db.session.commit()
