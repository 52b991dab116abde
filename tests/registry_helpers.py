"""Driving the crisis-plan registry through its pages, CSRF on, as a browser would."""

from __future__ import annotations

import re
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from portal.extensions import db
from portal.messaging.outbox import OutboundMessage

CSRF = re.compile(r'name="([\w-]*csrf_token)" type="hidden" value="([^"]+)"')

PERSON = {
    "name": "Jordan Rivers",
    "birth_date": "1990-05-17",
    "communication": ["deaf"],
    "description": "Tall",
}
WHERE = {"home_address": "4500 Main St, St. Louis"}
CRISIS = {
    "what_helps": "Quiet voice, music",
    "triggers": ["sirens", "touch"],
    "what_to_avoid": "Standing close",
}
CARE = {"medications": "Lithium"}
PEOPLE = {"emergency_contacts": "Mother, (314) 555-0133"}
CONSENT = {"cit_requested": "yes", "filed_by": "self", "language": "en"}


class Registrant:
    def __init__(self, app: Flask, client: FlaskClient, prefix: str = "") -> None:
        self.app, self.client, self.prefix = app, client, prefix

    def url(self, path: str) -> str:
        return self.prefix + path

    def token(self, path: str) -> dict[str, str]:
        page = self.client.get(self.url(path))
        assert page.status_code == 200, (path, page.status_code)
        found = CSRF.findall(page.get_data(as_text=True))
        assert found, f"no CSRF token on {path}"
        return dict(found[:1])

    def post(self, path: str, data: dict[str, Any], *, token_from: str | None = None, **kwargs: Any):  # type: ignore[no-untyped-def]
        return self.client.post(self.url(path), data={**self.token(token_from or path), **data}, **kwargs)

    def last_code(self, number: str) -> str:
        with self.app.app_context():
            bodies = [m.body for m in db.session.scalars(select(OutboundMessage)) if m.to_number == number]
        assert bodies, f"no message to {number}"
        match = re.search(r"\b(\d{6})\b", bodies[-1])
        assert match
        return match.group(1)

    def step(self, slug: str, data: dict[str, Any]):  # type: ignore[no-untyped-def]
        return self.post(f"/crisis-plan/step/{slug}", {"action": "next", **data})

    def add_phone(self, number: str, role: str) -> None:
        response = self.post(
            "/crisis-plan/step/phones", {"action": "add", "add-number": number, "add-role": role}
        )
        assert response.status_code == 302, response.get_data(as_text=True)

    def verify_phone(self, position: int, code: str):  # type: ignore[no-untyped-def]
        return self.post("/crisis-plan/step/phones", {"action": f"verify:{position}", "verify-code": code})

    def file_plan(
        self, *, phone: str = "(314) 555-0100", consent: dict[str, str] | None = None, **steps: dict[str, Any]
    ) -> str:
        """File a complete plan; returns the overview page."""
        assert self.post("/crisis-plan/start", {"action": "new"}).status_code == 302
        assert self.step("person", steps.get("person", PERSON)).status_code == 302
        assert self.step("where", steps.get("where", WHERE)).status_code == 302
        self.add_phone(phone, "filer")
        assert self.verify_phone(0, self.last_code(e164(phone))).status_code == 302
        assert self.step("crisis", steps.get("crisis", CRISIS)).status_code == 302
        assert self.step("care", steps.get("care", CARE)).status_code == 302
        assert self.step("people", steps.get("people", PEOPLE)).status_code == 302
        checked = self.step("consent", consent or CONSENT)
        assert checked.headers.get("Location", "").endswith("/crisis-plan/review"), checked.get_data(
            as_text=True
        )
        filed = self.post("/crisis-plan/review", {"understood": "y"})
        assert filed.status_code == 302, filed.get_data(as_text=True)
        overview = self.client.get(self.url("/crisis-plan/"))
        assert overview.status_code == 200
        return overview.get_data(as_text=True)


def e164(number: str) -> str:
    digits = re.sub(r"\D", "", number)
    return "+1" + digits[-10:]
