"""The officer card: a dispatcher texts a registered responder a link to the plan's brief
(or shows it as a QR code); it opens on one device, for 60 minutes or until the request
closes, can be withdrawn, and every opening is in the family's access log."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from portal.audit import AuditEvent
from portal.extensions import db
from portal.messaging.outbox import OutboundMessage
from portal.plans.models import CrisisPlan
from tests.console_helpers import csrf_token, make_user, sign_in, signed_in_dispatcher, typed_in_request
from tests.registry_helpers import Registrant

FAMILY_PHONE = "(314) 555-0100"
UNIT_PHONE = "+13145550142"
LINK = re.compile(r"https?://\S+/officer/\S+")


@pytest.fixture
def family(migrated_app: Flask) -> Registrant:
    registrant = Registrant(migrated_app, migrated_app.test_client())
    registrant.file_plan(phone=FAMILY_PHONE)
    return registrant


@pytest.fixture
def admin(migrated_app: Flask) -> FlaskClient:
    client = migrated_app.test_client()
    secret = make_user(migrated_app, "ada@example.org", "admin")
    assert sign_in(migrated_app, client, "ada@example.org", secret).status_code == 302
    return client


@pytest.fixture
def dispatcher(migrated_app: Flask) -> FlaskClient:
    return signed_in_dispatcher(migrated_app)


def register(admin: FlaskClient, label: str, number: str) -> tuple[int, str]:
    token = csrf_token(admin, "/console/responders")
    response = admin.post("/console/responders", data={"csrf_token": token, "label": label, "number": number})
    return response.status_code, response.get_data(as_text=True)


def send_card(dispatcher: FlaskClient, reference: str, how: str = "text") -> str:
    page = dispatcher.get(f"/console/requests/{reference}").get_data(as_text=True)
    assert "Officer card" in page
    plan = re.search(r"/console/plans/([A-Z0-9-]+)/officer-card/text", page)
    assert plan, "no officer-card form on the request page"
    responder = re.search(r'<option value="(\d+)">Unit 3142</option>', page)
    assert responder, "the registered unit is not offered"
    token = csrf_token(dispatcher, f"/console/requests/{reference}")
    response = dispatcher.post(
        f"/console/plans/{plan.group(1)}/officer-card/{how}",
        data={"csrf_token": token, "responder": responder.group(1), "request_reference": reference},
    )
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    return response.get_data(as_text=True)


def texted_link(app: Flask) -> str:
    with app.app_context():
        texts = [m for m in db.session.scalars(select(OutboundMessage)) if m.to_number == UNIT_PHONE]
    assert len(texts) == 1
    assert "Jordan" not in texts[0].body  # the lock screen names no one
    found = LINK.search(texts[0].body)
    assert found, texts[0].body
    return re.sub(r"^https?://[^/]+", "", found.group(0))


def test_a_card_is_texted_opens_on_one_phone_and_dies_with_the_request(
    migrated_app: Flask, family: Registrant, admin: FlaskClient, dispatcher: FlaskClient
) -> None:
    assert register(admin, "Unit 3142", "314 555 0142")[0] == 302
    reference = typed_in_request(dispatcher, FAMILY_PHONE)
    assert "is being texted to Unit 3142" in send_card(dispatcher, reference)
    link = texted_link(migrated_app)

    officer = migrated_app.test_client()
    card = officer.get(link)
    assert card.status_code == 200
    assert card.headers["Cache-Control"] == "no-store"
    assert "noindex" in card.headers["X-Robots-Tag"]
    assert card.headers["Referrer-Policy"] == "no-referrer"
    html = card.get_data(as_text=True)
    assert '<meta name="robots" content="noindex, nofollow">' in html
    assert html.index("Jordan Rivers") < html.index("Quiet voice, music")  # who first, then what helps
    assert "Card for Unit 3142" in html
    assert reference in html and "4500 Lindell Blvd" in html
    assert officer.get(link).status_code == 200  # the same phone, again on arrival
    assert migrated_app.test_client().get(link).status_code == 410  # a forwarded copy

    token = csrf_token(dispatcher, f"/console/requests/{reference}")
    closed = dispatcher.post(
        f"/console/requests/{reference}/close",
        data={"csrf_token": token, "disposition": "cit_dispatched", "cad_number": "", "text_texter": "no"},
    )
    assert closed.status_code == 302
    refused = officer.get(link)
    assert refused.status_code == 410
    assert "The request it was sent for is closed." in refused.get_data(as_text=True)
    assert "Jordan" not in refused.get_data(as_text=True)

    log = family.client.get("/crisis-plan/access-log").get_data(as_text=True)
    assert log.count("A responding officer (Unit 3142)") == 4  # twice read, twice refused
    assert "Refused: the request was closed." in log
    assert "Refused: the link was opened on a second device." in log


def test_a_card_expires_after_60_minutes_and_can_be_withdrawn(
    migrated_app: Flask, family: Registrant, admin: FlaskClient, dispatcher: FlaskClient
) -> None:
    register(admin, "Unit 3142", UNIT_PHONE)
    reference = typed_in_request(dispatcher, FAMILY_PHONE)
    page = send_card(dispatcher, reference, how="qr")
    assert 'alt="QR code of the officer card link"' in page
    with migrated_app.app_context():
        assert not [m for m in db.session.scalars(select(OutboundMessage)) if m.to_number == UNIT_PHONE]
    withdraw = re.search(r'action="(/console/officer-cards/\d+/withdraw)"', page)
    assert withdraw

    send_card(dispatcher, reference)
    link = texted_link(migrated_app)
    officer = migrated_app.test_client()
    with time_machine.travel(datetime.now(UTC) + timedelta(minutes=59), tick=True):
        assert officer.get(link).status_code == 200
    with time_machine.travel(datetime.now(UTC) + timedelta(minutes=60, seconds=5), tick=True):
        expired = officer.get(link)
        assert expired.status_code == 410
        assert "has expired" in expired.get_data(as_text=True)

    # The QR code's card is withdrawn from the console; a scan then gets nothing.
    token = csrf_token(dispatcher, f"/console/requests/{reference}")
    assert dispatcher.post(withdraw.group(1), data={"csrf_token": token}).status_code == 302
    with migrated_app.app_context():
        actions = [row.action for row in db.session.scalars(select(AuditEvent).order_by(AuditEvent.id))]
    assert actions.count("plan_link.send") == 2
    assert "plan_link.revoke" in actions


def test_cards_go_only_to_registered_responders(
    migrated_app: Flask, family: Registrant, admin: FlaskClient, dispatcher: FlaskClient
) -> None:
    status, page = register(admin, "Unit 3142", "555-0142")
    assert status == 400
    assert "Add the area code, like (314) 555-0100." in page
    assert 'value="Unit 3142"' in page  # what was typed stays
    reference = typed_in_request(dispatcher, FAMILY_PHONE)
    page = dispatcher.get(f"/console/requests/{reference}").get_data(as_text=True)
    assert "No responder phones are registered" in page
    with migrated_app.app_context():
        plan = db.session.scalars(select(CrisisPlan.reference)).one()
    token = csrf_token(dispatcher, f"/console/requests/{reference}")
    typed = dispatcher.post(
        f"/console/plans/{plan}/officer-card/text",
        data={"csrf_token": token, "responder": "+13145550142", "request_reference": reference},
    )
    assert typed.status_code == 302  # back to the request, with a message; nothing sent
    with migrated_app.app_context():
        assert not list(
            db.session.scalars(select(OutboundMessage).where(OutboundMessage.purpose == "officer_card"))
        )
    # Dispatchers cannot register phones.
    assert dispatcher.get("/console/responders").status_code == 403
