"""`flask --app portal seed-demo`: demo data for development, safe to run again.

One crisis plan to sign in to and look up, and a year of CIT requests and plans that reads
like the program's own: more requests in the evenings and at weekends and more each month,
several languages, most acknowledged within minutes, some escalated, every disposition,
and plans in every state, so that the dashboard and the public numbers page have something
true to show. Every phone is a fictional 555-01xx number.
"""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta

import click
from flask import Flask, current_app
from sqlalchemy import select

from portal.database import utcnow
from portal.dispatch.models import CitRequest, RequestMessage
from portal.extensions import db
from portal.messaging.outbox import OutboundMessage
from portal.phones import phone_index
from portal.plans.models import PLAN_LIFETIME
from portal.plans.services import file_plan, find_plans_by_phone
from portal.times import local_day_start, local_today

# Numbers from 555-0100 to 555-0199 are reserved for fiction: no real phone gets a text.
DEMO_FAMILY_PHONE = "+13145550100"
DEMO_PERSON_PHONE = "+13145550101"

DEMO_DETAILS = {
    "person": {
        "name": "Alex Demo",
        "preferred_name": "Alex",
        "pronouns": "they/them",
        "birth_date": "1994-03-08",
        "spoken_language": "English",
        "interpreter": "no",
        "communication": ["autistic"],
        "description": "About 5 ft 9, slim, short brown hair, often wears a green hoodie.",
    },
    "where": {
        "home_address": "4500 Demo Street, St. Louis, MO",
        "other_places": "The library on Demo Avenue.",
    },
    "crisis": {
        "early_signs": "Stops answering, paces, talks fast.",
        "triggers": ["sirens", "touch"],
        "other_triggers": "",
        "what_helps": "A calm, quiet voice. Time and space. Their sister Sam.",
        "what_to_avoid": "Touching without asking. Several officers at once.",
        "weapons": "no",
        "self_harm": "unsure",
        "safety_notes": "",
    },
    "care": {
        "diagnoses": "",
        "medications": "",
        "clinicians": "Demo Clinic case manager",
        "advance_directive": "no",
    },
    "people": {
        "emergency_contacts": "Sam Demo (sister), (314) 555-0100",
        "decision_makers": "",
        "do_not_contact": "",
    },
}


def seed_demo() -> str:
    existing = find_plans_by_phone(DEMO_FAMILY_PHONE)
    reference = existing[0].reference if existing else seed_demo_plan()
    if (
        db.session.scalar(select(CitRequest.id).where(CitRequest.closed_by == DEMO_DISPATCHER).limit(1))
        is None
    ):
        seed_demo_year()
    return reference


def seed_demo_plan() -> str:
    plan = file_plan(
        DEMO_DETAILS,
        name="Alex Demo",
        born=date(1994, 3, 8),
        language="en",
        cit_requested=True,
        filed_by="self",
        phones=[(DEMO_PERSON_PHONE, "person"), (DEMO_FAMILY_PHONE, "other")],
    )
    db.session.commit()
    return plan.reference


# The year's fictional plans: their phones text the line too (a plan on file), and the
# other texters have none.
YEAR_PLAN_PHONES = [f"+1314555{number:04d}" for number in range(102, 142)]
YEAR_TEXTERS = [f"+1314555{number:04d}" for number in range(142, 200)]
# (state, how many): each state the dashboard counts.
YEAR_PLANS = (("active", 28), ("awaiting", 5), ("expiring", 4), ("expired", 3))
FIRST_NAMES = ("Jordan", "Casey", "Riley", "Morgan", "Taylor", "Jamie", "Avery", "Quinn", "Drew", "Rowan")
# Requests a day at the start of the year; the rate rises to about 1.5 times by today.
DAILY_REQUESTS = 2.4
LANGUAGE_WEIGHTS = {"en": 74, "es": 10, "bs": 6, "vi": 5, "zh": 3, "ar": 2}
DISPOSITION_WEIGHTS = {
    "cit_dispatched": 36,
    "co_responder": 20,
    "behavioral_health_line": 14,
    "transported": 14,
    "no_contact": 11,
    "other": 5,
}
# Requests by local hour: few before dawn, most in the evening.
HOUR_WEIGHTS = (3, 2, 2, 1, 1, 1, 2, 3, 4, 5, 5, 6, 6, 6, 6, 7, 8, 9, 11, 12, 12, 11, 8, 5)
DEMO_DISPATCHER = "Demo dispatcher"  # closes every demo request: how a second run knows them
PLACES = (
    "4500 Demo Street",
    "Demo Avenue and Example Road",
    "the library on Demo Avenue",
    "1200 Sample Lane",
)


def seed_demo_year() -> None:
    """A year of requests and plans, the same shape each time; not the same draws."""
    draw = random.Random(2020)  # noqa: S311 - demo data, not a secret
    now = utcnow()
    plan_phones = seed_demo_year_plans(draw, now)
    today = local_today()
    requests = []
    for days_ago in range(364, 0, -1):
        day = today - timedelta(days=days_ago)
        rate = DAILY_REQUESTS * (1.5 - days_ago / 728) * (1.4 if day.weekday() >= 5 else 1.0)
        for _ in range(round(draw.gauss(rate, rate**0.5))):
            hour = draw.choices(range(24), HOUR_WEIGHTS)[0]
            received = local_day_start(day) + timedelta(hours=hour, seconds=draw.randrange(3600))
            requests.append(demo_request(draw, received, plan_phones))
    db.session.add_all(request for request, _alerts in requests)
    db.session.flush()  # ids for the alerts
    for request, alerts in requests:
        for alert in alerts:
            alert.cit_request_id = request.id
        db.session.add_all(alerts)
    db.session.commit()


def seed_demo_year_plans(draw: random.Random, now: datetime) -> dict[str, tuple[int, str]]:
    """The year's plans in every state; returns the phones of those on file, with each
    plan's id and reference."""
    phones = iter(YEAR_PLAN_PHONES)
    on_file: dict[str, tuple[int, str]] = {}
    for state, count in YEAR_PLANS:
        for _ in range(count):
            phone = next(phones)
            name = f"{draw.choice(FIRST_NAMES)} Demo"
            plan = file_plan(
                {"person": {"name": name}, "crisis": {"what_helps": "A calm voice and time."}},
                name=name,
                born=date(draw.randrange(1950, 2008), draw.randrange(1, 13), draw.randrange(1, 29)),
                language=draw.choices(list(LANGUAGE_WEIGHTS), list(LANGUAGE_WEIGHTS.values()))[0],
                cit_requested=True,
                filed_by="family" if state == "awaiting" else "self",
                phones=[(phone, "person")],
            )
            age = {
                "active": timedelta(days=draw.randrange(1, 330)),
                "awaiting": timedelta(days=draw.randrange(1, 60)),
                "expiring": PLAN_LIFETIME - timedelta(days=draw.randrange(2, 29)),
                "expired": PLAN_LIFETIME + timedelta(days=draw.randrange(1, 25)),
            }[state]
            plan.created_at = plan.confirmed_at = now - age
            if state != "awaiting":
                plan.person_confirmed_at = plan.confirmed_at
            db.session.flush()
            if state != "expired":
                on_file[phone] = (plan.id, plan.reference)
    return on_file


def demo_request(
    draw: random.Random, received: datetime, plan_phones: dict[str, tuple[int, str]]
) -> tuple[CitRequest, list[OutboundMessage]]:
    """One closed request: texted (most) or typed in from a voice call, and its alerts."""
    language = draw.choices(list(LANGUAGE_WEIGHTS), list(LANGUAGE_WEIGHTS.values()))[0]
    if draw.random() < 0.1:
        number = draw.choice(YEAR_TEXTERS)
        request = CitRequest(
            source="voice",
            created_at=received,
            callback_number=number,
            callback_index=phone_index(number),
            language=language,
            location=draw.choice(PLACES),
            location_source="console",
            acknowledged_at=received,
            acknowledged_by=DEMO_DISPATCHER,
        )
        return close_demo(draw, request, received), []
    number = draw.choice(list(plan_phones)) if draw.random() < 0.15 else draw.choice(YEAR_TEXTERS)
    first_text = received - timedelta(seconds=draw.randrange(20, 150))  # asked for a place, then sent
    request = CitRequest(
        source="sms",
        created_at=received,
        callback_number=number,
        callback_index=phone_index(number),
        language=language,
        location=draw.choice(PLACES),
        location_source="texted",
        plan_id=plan_phones[number][0] if number in plan_phones else None,
        plan_reference=plan_phones[number][1] if number in plan_phones else None,
        plan_asks_for_cit=number in plan_phones,
        messages=[RequestMessage(direction="in", at=first_text, body="PIN")],
    )
    alerts = [demo_alert("dispatch_alert", received + timedelta(seconds=draw.randrange(2, 12)))]
    if draw.random() < 0.02:  # no dispatch phone took it: fallback numbers, texter told to call 911
        alerts[0].status, alerts[0].error_code = "undelivered", 30003
        request.escalated_at = received + timedelta(seconds=60)
        alerts.append(demo_alert("fallback_alert", received + timedelta(seconds=draw.randrange(62, 90))))
    chance = draw.random()
    if chance < 0.03:  # nobody acknowledged it: closed later
        return close_demo(draw, request, received + timedelta(minutes=draw.randrange(30, 120))), alerts
    minutes = draw.lognormvariate(0.3, 0.6) if chance > 0.1 else draw.uniform(3, 15)
    request.acknowledged_at = received + timedelta(minutes=minutes)
    request.acknowledged_by = DEMO_DISPATCHER
    if minutes > 3:  # PORTAL_ACKNOWLEDGE_WITHIN: supervisors alerted
        request.supervisors_alerted_at = received + timedelta(minutes=3)
    return close_demo(draw, request, request.acknowledged_at), alerts


def demo_alert(purpose: str, accepted: datetime) -> OutboundMessage:
    return OutboundMessage(
        created_at=accepted,
        sender="line",
        to_number="+13145550199",
        body="CIT request (demo)",
        purpose=purpose,
        status="delivered",
        attempts=1,
        next_attempt_at=accepted,
        accepted_at=accepted,
    )


def close_demo(draw: random.Random, request: CitRequest, after: datetime) -> CitRequest:
    request.status = "closed"
    request.closed_at = after + timedelta(minutes=draw.randrange(15, 150))
    request.closed_by = DEMO_DISPATCHER
    request.disposition = draw.choices(list(DISPOSITION_WEIGHTS), list(DISPOSITION_WEIGHTS.values()))[0]
    return request


def init_app(app: Flask) -> None:
    @app.cli.command("seed-demo")
    def seed_demo_command() -> None:
        """Add a demo crisis plan and a year of demo requests and plans (development only)."""
        if current_app.config["PORTAL_SETTINGS"].production:
            raise click.ClickException("seed-demo is for development only")
        reference = seed_demo()
        click.echo(
            f"Demo crisis plan {reference}: sign in with {DEMO_PERSON_PHONE}; look-up phone {DEMO_FAMILY_PHONE}."
        )
