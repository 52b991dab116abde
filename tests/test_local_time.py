"""Every time a person reads is St. Louis time, with the date: across a date boundary.

03:30 UTC on Monday, November 23, 2026 is 9:30 PM on Sunday, November 22 in St. Louis
(Central Standard Time, six hours behind UTC). Each page that shows a time is rendered
with that moment; the local date and time must be there and the UTC date must not.
"""

from __future__ import annotations

import html
import re
from datetime import UTC, date, datetime, timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from portal import audit
from portal.dispatch.models import CitRequest
from portal.extensions import db
from portal.messaging.outbox import OutboundMessage
from portal.plans.models import CrisisPlan
from tests.console_helpers import make_user, sign_in
from tests.registry_helpers import Registrant
from tests.text_line_helpers import send_text

MOMENT = datetime(2026, 11, 23, 3, 30, tzinfo=UTC)
# The moment as St. Louis reads it, in the long and the short form the pages use.
LOCAL = ("Nov 22, 2026, 9:30 PM", "11/22/26, 9:30 PM")
# Anything that would give the UTC date or clock away.
UTC_SIGNS = ("Nov 23, 2026", "11/23/26", "3:30 AM", "2026-11-23")
# A plan confirmed at MOMENT ends a year later: 03:30 UTC on Nov 23, 2027, which is the
# evening of Monday, Nov 22, 2027 in St. Louis.
PLAN_ENDS_LOCAL = "Nov 22, 2027"
PLAN_ENDS_UTC = ("Nov 23, 2027", "11/23/27", "2027-11-23")


def text_of(page: str) -> str:
    """What a person reads: the page without its tags (a <time datetime="…"> attribute is
    for machines), with Babel's narrow and ordinary no-break spaces as plain spaces."""
    return html.unescape(re.sub(r"<[^>]*>", " ", page)).replace("\u202f", " ").replace("\xa0", " ")


def assert_local(page: str, *, where: str) -> None:
    text = text_of(page)
    assert any(local in text for local in LOCAL), f"{where}: no St. Louis time ({LOCAL})"
    assert_no_utc(page, where=where)


def assert_no_utc(page: str, *, where: str) -> None:
    text = text_of(page)
    shown = [sign for sign in UTC_SIGNS if sign in text]
    assert not shown, f"{where}: shows UTC {shown}"


@pytest.fixture
def console(migrated_app: Flask) -> Flask:
    return migrated_app


def signed_in(console: Flask, role: str) -> FlaskClient:
    client = console.test_client()
    email = f"{role}@example.org"
    assert sign_in(console, client, email, make_user(console, email, role)).status_code == 302
    return client


def request_at_moment(console: Flask) -> str:
    """A texted request received, first texted and acknowledged at MOMENT."""
    send_text(console.test_client(), "PIN 4500 Main St")
    with console.app_context():
        item = db.session.scalars(select(CitRequest)).one()
        item.created_at = MOMENT
        item.acknowledged_at = MOMENT + timedelta(seconds=30)
        item.acknowledged_by = "Dispatcher dee@example.org"
        item.status = "acknowledged"
        for message in item.messages:
            message.at = MOMENT
        audit.record(
            "request.acknowledge",
            actor_id=None,
            actor_name="Dispatcher dee@example.org",
            request_reference=item.reference,
        ).at = MOMENT
        db.session.commit()
        return item.reference


def test_the_queue_shows_st_louis_time(console: Flask) -> None:
    send_text(console.test_client(), "PIN 4500 Main St")
    with console.app_context():
        item = db.session.scalars(select(CitRequest)).one()
        item.created_at = MOMENT
        for message in item.messages:
            message.at = MOMENT
        db.session.commit()
        reference = item.reference
    dispatcher = signed_in(console, "dispatcher")
    for path, headers in (("/console/", {}), ("/console/queue/rows", {"HX-Request": "true"})):
        page = dispatcher.get(path, headers=headers).get_data(as_text=True)
        assert reference in page, path
        assert_local(page, where=path)


def test_a_request_page_shows_st_louis_time(console: Flask) -> None:
    reference = request_at_moment(console)
    page = signed_in(console, "dispatcher").get(f"/console/requests/{reference}").get_data(as_text=True)
    assert_local(page, where="request page")
    shown = sum(text_of(page).count(local) for local in LOCAL)
    assert shown >= 2, "received, the thread and acknowledged: each in St. Louis time"


def test_the_audit_trail_shows_st_louis_time(console: Flask) -> None:
    reference = request_at_moment(console)
    page = (
        signed_in(console, "supervisor").get(f"/console/audit?reference={reference}").get_data(as_text=True)
    )
    assert "Request acknowledged" in page
    assert_local(page, where="audit trail")


def test_the_audit_export_gives_st_louis_time_with_its_offset(console: Flask) -> None:
    reference = request_at_moment(console)
    export = signed_in(console, "supervisor").get(f"/console/audit.csv?reference={reference}")
    assert export.status_code == 200 and export.mimetype == "text/csv"
    body = export.get_data(as_text=True)
    assert "2026-11-22T21:30:00-06:00" in body and "2026-11-23" not in body


def test_reports_group_and_name_days_by_st_louis_dates(console: Flask) -> None:
    """The request came in on Sunday night, local time: it belongs to the week of Monday
    Nov 16, and to Nov 22 when a supervisor picks dates, not to Monday the 23rd."""
    reference = request_at_moment(console)
    supervisor = signed_in(console, "supervisor")
    page = supervisor.get("/console/reports?start=2026-11-16&end=2026-11-22").get_data(as_text=True)
    assert "1 request in all" in page
    assert "Nov 16, 2026" in page, "the week of the local Monday"
    assert reference in page, "the longest wait names its request"
    assert_local(page, where="reports")
    for dates in ("start=2026-11-23&end=2026-11-29", "start=2026-11-16&end=2026-11-21"):
        other = supervisor.get(f"/console/reports?{dates}").get_data(as_text=True)
        assert "0 requests in all" in other, f"{dates}: the request came in on Sunday the 22nd"


def plan_confirmed_at_moment(console: Flask, registrant: Registrant) -> str:
    """A plan filed through the pages and confirmed at MOMENT; returns its reference."""
    registrant.file_plan()
    with console.app_context():
        plan = db.session.scalars(select(CrisisPlan)).one()
        plan.confirmed_at = MOMENT
        db.session.commit()
        return plan.reference


def test_the_familys_access_log_shows_st_louis_time(console: Flask) -> None:
    registrant = Registrant(console, console.test_client())
    reference = plan_confirmed_at_moment(console, registrant)
    with console.app_context():
        audit.record(
            audit.PLAN_VIEW,
            actor_id=None,
            actor_name="Dispatcher dee@example.org",
            plan_reference=reference,
            reason="Incoming 911 call",
        ).at = MOMENT
        db.session.commit()
    page = registrant.client.get("/crisis-plan/access-log").get_data(as_text=True)
    assert "Incoming 911 call" in page
    assert_local(page, where="access log")


def test_the_printed_plan_and_the_overview_end_on_the_st_louis_date(console: Flask) -> None:
    registrant = Registrant(console, console.test_client())
    plan_confirmed_at_moment(console, registrant)
    for path in ("/crisis-plan/print", "/crisis-plan/"):
        page = text_of(registrant.client.get(path).get_data(as_text=True))
        assert f"Confirmed until {PLAN_ENDS_LOCAL}." in page, path
        assert not [sign for sign in PLAN_ENDS_UTC if sign in page], path


@pytest.mark.parametrize(
    ("language", "local_date"), [("en", PLAN_ENDS_LOCAL), ("es", "22 nov 2027"), ("bs", "22. nov 2027.")]
)
def test_the_reminder_text_names_the_st_louis_date(console: Flask, language: str, local_date: str) -> None:
    from portal.plans.lifecycle import remind
    from portal.plans.services import file_plan

    with console.app_context():
        plan = file_plan(
            {"person": {"name": "Pat Doe"}},
            name="Pat Doe",
            born=date(1980, 1, 1),
            language=language,
            cit_requested=True,
            filed_by="self",
            phones=[("+13145550133", "person")],
        )
        plan.confirmed_at = MOMENT
        db.session.flush()
        remind(plan)  # as the worker does: an app context, no request
        db.session.commit()
        body = text_of(
            db.session.scalars(
                select(OutboundMessage.body).where(OutboundMessage.purpose == "plan_reminder")
            ).one()
        )
    assert local_date in body, body
    assert not [sign for sign in (*PLAN_ENDS_UTC, "23 nov", "23. nov") if sign in body], body


def test_the_helper_knows_daylight_saving_time_and_the_readers_language(console: Flask) -> None:
    from flask_babel import force_locale

    from portal.times import local_date, local_datetime, local_days, local_iso

    summer = datetime(2026, 7, 4, 2, 15, tzinfo=UTC)  # 9:15 PM on July 3, Central Daylight Time
    with console.test_request_context("/"):
        assert text_of(local_datetime(summer)) == "Jul 3, 2026, 9:15 PM"
        assert text_of(local_datetime(MOMENT)) == LOCAL[0]
        assert text_of(local_datetime(MOMENT, "short")) == LOCAL[1]
        assert local_date(MOMENT) == "Nov 22, 2026"
        assert local_date(date(1980, 1, 1)) == "Jan 1, 1980", "a calendar date is not moved"
        assert local_iso(summer) == "2026-07-03T21:15:00-05:00"
        with force_locale("es"):
            assert text_of(local_datetime(MOMENT)) == "22 nov 2026, 21:30"
        start, end = local_days(date(2026, 11, 22), date(2026, 11, 22))
        assert (start, end) == (datetime(2026, 11, 22, 6, tzinfo=UTC), datetime(2026, 11, 23, 6, tzinfo=UTC))
        # The day summer time ends has 25 hours.
        start, end = local_days(date(2026, 11, 1), date(2026, 11, 1))
        assert start is not None and end is not None and end - start == timedelta(hours=25)


def test_no_template_formats_a_time_around_the_helper() -> None:
    """Times reach pages only through the localtime and localdate filters (or Flask-Babel's
    datetimeformat and dateformat, which are the same helpers): never strftime or isoformat,
    but in a <time datetime="…"> attribute, which is for machines."""
    from pathlib import Path

    templates = Path(__file__).resolve().parent.parent / "templates"
    found = [
        f"{path.relative_to(templates)}: {match.group(0)}"
        for path in templates.rglob("*.html")
        for match in re.finditer(
            r'datetime="\{\{ [\w.]+\.isoformat\(\) \}\}"|strftime|isoformat\(', path.read_text()
        )
        if not match.group(0).startswith("datetime=")
    ]
    assert not found, found


def test_flask_babels_date_filters_are_the_local_time_helpers(console: Flask) -> None:
    from portal.times import local_date, local_datetime

    filters = console.jinja_env.filters
    assert filters["localtime"] is filters["datetimeformat"] is local_datetime
    assert filters["localdate"] is filters["dateformat"] is local_date
