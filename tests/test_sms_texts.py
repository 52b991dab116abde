"""Every text the line sends fits its SMS budget, in every language, on the exact body."""

from __future__ import annotations

from datetime import date

import pytest
from flask import Flask

from portal.database import utcnow
from portal.dispatch.alerts import alert_text
from portal.dispatch.models import CitRequest
from portal.i18n import LANGUAGES
from portal.messaging.segments import is_gsm7, segment_count
from portal.plans.models import CrisisPlan
from portal.sms import texts


@pytest.mark.parametrize("language", LANGUAGES, ids=lambda language: language.code)
def test_every_reply_fits_three_segments_and_names_911(app: Flask, language) -> None:  # type: ignore[no-untyped-def]
    with app.test_request_context():
        replies = texts.all_replies(language.code)
    for reply in replies:
        assert segment_count(reply) <= 3, (language.code, segment_count(reply), reply)
        assert "911" in reply, reply
    first_replies = replies[:3]
    assert all("988" in reply for reply in first_replies)
    if language.code != "en":
        with app.test_request_context():
            assert replies != texts.all_replies("en"), "not translated"


def request(location: str | None, source: str = "texted") -> CitRequest:
    return CitRequest(
        reference="R-WWWWWW",
        source="sms",
        callback_number="+13145550150",
        language="vi",
        location=location,
        location_source=source if location else "none",
    )


def plan() -> CrisisPlan:
    return CrisisPlan(
        confirmed_at=utcnow(),
        reference="WWWW-WWWW",
        cit_requested=True,
        person_confirmed_at=None,
        details={},
        filed_by="family",
        language="vi",
        name_birth_index="x",
    )


@pytest.mark.parametrize(
    "location",
    [
        None,
        "4500 Main St",
        "Grand Blvd & Olive St, apartment 12B, back door by the alley",
        "12345 Northwest Plaza Drive, St. Ann",
    ],
)
def test_every_dispatch_alert_is_gsm7_in_two_segments(app: Flask, location: str | None) -> None:
    with app.test_request_context():
        for with_plan in (None, plan()):
            body = alert_text(request(location), with_plan)
            assert is_gsm7(body), body
            assert segment_count(body) <= 2, (segment_count(body), body)
        home = alert_text(request("4500 Main St", "plan_home"), plan())
        assert is_gsm7(home) and segment_count(home) <= 2


def test_a_location_in_another_script_is_kept_whole(app: Flask) -> None:
    for location in ("主街4500号", "شارع الرئيسي 4500", "4500 Đường Chính"):
        with app.test_request_context():
            body = alert_text(request(location), None)
        assert location in body


def test_no_plan_contents_in_an_alert(app: Flask) -> None:
    with_details = plan()
    with_details.details = {"care": {"diagnoses": "Canary-Dx"}, "crisis": {"triggers": ["sirens"]}}
    with app.test_request_context():
        body = alert_text(request("4500 Main St"), with_details)
    assert "Canary" not in body and "sirens" not in body
    assert "WWWW-WWWW" in body and "asks for CIT" in body and "not confirmed by person" in body
    assert date.today().isoformat() not in body


def test_an_expired_plan_is_flagged(app: Flask) -> None:
    from datetime import timedelta

    expired = plan()
    expired.confirmed_at = utcnow() - timedelta(days=380)
    with app.test_request_context():
        assert ", expired" in alert_text(request("4500 Main St"), expired)
        assert ", expired" not in alert_text(request("4500 Main St"), plan())
