"""`flask --app portal seed-demo`: demo data for development, safe to run again."""

from __future__ import annotations

from datetime import date

import click
from flask import Flask, current_app

from portal.extensions import db
from portal.plans.services import file_plan, find_plans_by_phone

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
    if existing:
        return existing[0].reference
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


def init_app(app: Flask) -> None:
    @app.cli.command("seed-demo")
    def seed_demo_command() -> None:
        """Add a demo crisis plan (development only)."""
        if current_app.config["PORTAL_SETTINGS"].production:
            raise click.ClickException("seed-demo is for development only")
        reference = seed_demo()
        click.echo(
            f"Demo crisis plan {reference}: sign in with {DEMO_PERSON_PHONE}; look-up phone {DEMO_FAMILY_PHONE}."
        )
