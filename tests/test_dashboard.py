"""The supervisors' dashboard on five requests and four plans counted by hand: every chart's
table and the CSV give the numbers written here, on SQLite and PostgreSQL; the CSV holds
no personal data; and the demo year has every chart something to show."""

from __future__ import annotations

import csv
import html
import io
import re
from datetime import UTC, datetime, timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient

from portal.database import utcnow
from portal.dispatch.models import CitRequest, RequestMessage
from portal.extensions import db
from portal.messaging.outbox import OutboundMessage
from portal.plans.models import PLAN_LIFETIME
from portal.plans.services import file_plan
from portal.times import local_today
from tests.console_helpers import make_user, sign_in

DATES = "start=2026-11-16&end=2026-11-22"  # Monday to Sunday, St. Louis dates
TEXTER = "+13145550177"
PLAN_PHONE = "+13145550178"


def local(day: int, hour: int, minute: int, second: int = 0) -> datetime:
    """A St. Louis wall-clock time in November 2026 (CST, UTC-6), as UTC."""
    return datetime(2026, 11, day, hour, minute, second, tzinfo=UTC) + timedelta(hours=6)


def texted(
    first_text: datetime,
    received: datetime,
    *,
    language: str,
    alert: datetime | None,
    acknowledged: datetime | None,
    disposition: str | None = None,
    plan: str | None = None,
) -> CitRequest:
    request = CitRequest(
        source="sms",
        created_at=received,
        callback_number=PLAN_PHONE if plan else TEXTER,
        language=language,
        location="4500 Hidden Street",
        location_source="texted",
        plan_reference=plan,
        acknowledged_at=acknowledged,
        status="acknowledged" if acknowledged else "open",
        messages=[RequestMessage(direction="in", at=first_text, body="PIN secret words")],
    )
    if disposition:
        request.status, request.disposition, request.closed_at = (
            "closed",
            disposition,
            received + timedelta(hours=1),
        )
    db.session.add(request)
    db.session.flush()
    if alert:
        db.session.add(alert_message(request, alert, "dispatch_alert", "delivered"))
    return request


def alert_message(request: CitRequest, accepted: datetime, purpose: str, status: str) -> OutboundMessage:
    return OutboundMessage(
        sender="line",
        to_number="+13145550190",
        body="alert",
        purpose=purpose,
        status=status,
        accepted_at=accepted,
        cit_request_id=request.id,
    )


def hand_counted_week(app: Flask) -> None:
    """Five requests in the week of Monday Nov 16, four plans. The expected numbers in the
    tests below are counted from this by hand."""
    with app.app_context():
        # R1 Monday 8 PM: first text 2 min before; alert after 2 min 10 s; acknowledged
        # after 4 min; a plan on file; co-responder team (care).
        texted(
            local(16, 19, 58),
            local(16, 20, 0),
            language="en",
            alert=local(16, 20, 0, 10),
            acknowledged=local(16, 20, 2),
            disposition="co_responder",
            plan="K7QM-3XPA",
        )
        # R2 Tuesday 3 AM, in Spanish: alert after 1 min, acknowledged after 1.5 min; CIT officer.
        texted(
            local(17, 2, 59, 30),
            local(17, 3, 0),
            language="es",
            alert=local(17, 3, 0, 30),
            acknowledged=local(17, 3, 1),
            disposition="cit_dispatched",
        )
        # R3 Saturday 9 PM: the dispatch alert undelivered, the fallback accepted after
        # 2 min; supervisors alerted; acknowledged after 10 min; transported (care).
        r3 = texted(
            local(21, 21, 0),
            local(21, 21, 1),
            language="en",
            alert=None,
            acknowledged=local(21, 21, 10),
            disposition="transported",
        )
        r3.escalated_at, r3.supervisors_alerted_at = local(21, 21, 2), local(21, 21, 4)
        db.session.add(alert_message(r3, local(21, 21, 1, 5), "dispatch_alert", "undelivered"))
        db.session.add(alert_message(r3, local(21, 21, 2), "fallback_alert", "delivered"))
        # R4 Saturday 10:30 PM: a voice call typed in, acknowledged as it was typed; no contact.
        db.session.add(
            CitRequest(
                source="voice",
                created_at=local(21, 22, 30),
                language="en",
                location="Hidden Avenue",
                location_source="console",
                acknowledged_at=local(21, 22, 30),
                status="closed",
                closed_at=local(21, 23, 0),
                disposition="no_contact",
            )
        )
        # R5 Sunday 11:52 PM St. Louis (Monday 05:52 UTC), in Vietnamese: alert after
        # 2 min 5 s; nobody acknowledged it; supervisors alerted.
        r5 = texted(
            local(22, 23, 50),
            local(22, 23, 52),
            language="vi",
            alert=local(22, 23, 52, 5),
            acknowledged=None,
        )
        r5.supervisors_alerted_at = local(22, 23, 55)
        # Outside the dates: counted in no request figure.
        texted(local(23, 8, 0), local(23, 8, 1), language="en", alert=None, acknowledged=None)
        # Plans now: one active (filed on Nov 18, in the dates), one awaiting the person,
        # one ending in 10 days, one ended 3 days ago.
        now = utcnow()
        for filed_by, confirmed, created in (
            ("self", now - timedelta(days=8), local(18, 12, 0)),
            ("family", now - timedelta(days=5), local(1, 12, 0)),
            ("self", now - PLAN_LIFETIME + timedelta(days=10), local(1, 12, 0)),
            ("self", now - PLAN_LIFETIME - timedelta(days=3), local(1, 12, 0)),
        ):
            plan = file_plan(
                {"person": {"name": "Hidden Person"}},
                name="Hidden Person",
                born=datetime(1990, 1, 1).date(),
                language="en",
                cit_requested=True,
                filed_by=filed_by,
                phones=[],
            )
            plan.confirmed_at, plan.created_at = confirmed, created
        db.session.commit()


@pytest.fixture
def supervisor(any_database_app: Flask) -> FlaskClient:
    client = any_database_app.test_client()
    secret = make_user(any_database_app, "sue@example.org", "supervisor")
    assert sign_in(any_database_app, client, "sue@example.org", secret).status_code == 302
    hand_counted_week(any_database_app)
    return client


def text_of(page: str) -> str:
    return page.replace("\u202f", " ").replace("\xa0", " ")


def chart_table(page: str, key: str) -> list[list[str]]:
    """The rows of the table beside a chart, each as its cells' text."""
    section = re.search(rf'<section class="portal-chart" id="{key}".*?</section>', page, re.S)
    assert section, f"no chart {key}"
    assert "<svg" in section.group(0) and "<title" in section.group(0) and "<desc" in section.group(0)
    body = section.group(0).split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    return [
        [
            html.unescape(re.sub(r"<[^>]+>", "", cell)).strip()
            for cell in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.S)
        ]
        for row in re.findall(r"<tr>(.*?)</tr>", body, re.S)
    ]


def test_every_chart_gives_the_hand_counted_numbers(supervisor: FlaskClient) -> None:
    page = text_of(supervisor.get(f"/console/reports?{DATES}").get_data(as_text=True))
    assert "5 requests in all: 4 by text, 1 by voice call." in page
    assert "4 acknowledged by a dispatcher." in page
    # Acknowledged after 4, 1.5, 10 and 0 minutes from the first text: median 2.75.
    assert "Time to acknowledge: median 2.8 min, 90th percentile 10.0 min." in page
    # Alerts reached dispatch after 2.17, 1, 2 and 2.08 minutes: median 2.04.
    assert "median 2.0 min, 90th percentile 2.2 min." in page
    assert "Counted over the 4 requests whose alerts reached dispatch." in page
    assert "1 request with a crisis plan on file (20%)." in page
    assert "1 crisis plan registered in these dates." in page and "3 plans on file now." in page

    assert chart_table(page, "chart-weeks") == [["11/16/26", "4", "1", "5"]]
    assert chart_table(page, "chart-times") == [
        ["Median", "2.0 min", "2.8 min"],
        ["90th percentile", "2.2 min", "10.0 min"],
        ["Counted", "4", "4"],
        ["Not counted", "1 reached no dispatch phone", "1 never acknowledged; 2 escalated to supervisors"],
    ]
    assert chart_table(page, "chart-plans-on-file") == [["Plan on file", "1"], ["No plan on file", "4"]]
    assert chart_table(page, "chart-languages") == [["English", "3"], ["Spanish", "1"], ["Vietnamese", "1"]]
    assert sorted(chart_table(page, "chart-dispositions")) == [
        ["CIT officer dispatched", "1"],
        ["Co-responder team", "1"],
        ["No contact made", "1"],
        ["Transported for care", "1"],
    ]
    assert "Handed to care: 2 of 4 closed requests" in page
    hours = dict(chart_table(page, "chart-hours"))
    assert len(hours) == 24
    assert {hour: count for hour, count in hours.items() if count != "0"} == {
        "03:00": "1",
        "20:00": "1",
        "21:00": "1",
        "22:00": "1",
        "23:00": "1",
    }
    assert chart_table(page, "chart-weekdays") == [
        ["Monday", "1"],
        ["Tuesday", "1"],
        ["Wednesday", "0"],
        ["Thursday", "0"],
        ["Friday", "0"],
        ["Saturday", "2"],
        ["Sunday", "1"],
    ]
    assert chart_table(page, "chart-plans") == [
        ["Active", "1"],
        ["Awaiting the person's confirmation", "1"],
        ["Expiring within 30 days", "1"],
        ["Expired, to be deleted", "1"],
    ]


def test_the_csv_holds_the_same_aggregates_and_nothing_personal(supervisor: FlaskClient) -> None:
    export = supervisor.get(f"/console/reports.csv?{DATES}")
    assert export.status_code == 200 and export.mimetype == "text/csv"
    assert "attachment" in export.headers["Content-Disposition"]
    body = export.get_data(as_text=True)
    figures = {
        (row["section"], row["item"], row["measure"]): row["value"]
        for row in csv.DictReader(io.StringIO(body))
    }
    expected = {
        ("all", "requests", "requests"): "5",
        ("all", "by text", "requests"): "4",
        ("all", "acknowledged", "requests"): "4",
        ("all", "never acknowledged", "requests"): "1",
        ("all", "escalated to supervisors", "requests"): "2",
        ("all", "alerts reached no dispatch phone", "requests"): "1",
        ("all", "with a crisis plan on file", "requests"): "1",
        ("all", "closed with care", "requests"): "2",
        ("all", "first text to acknowledgement, median", "minutes"): "2.8",  # 2.75
        ("all", "first text to acknowledgement, 90th percentile", "minutes"): "10.0",
        ("all", "first text to alert reaching dispatch, median", "minutes"): "2.0",
        ("all", "first text to alert reaching dispatch, 90th percentile", "minutes"): "2.2",
        ("week", "2026-11-16", "requests"): "5",
        ("language", "es", "requests"): "1",
        ("disposition", "transported", "requests"): "1",
        ("hour of day", "23", "requests"): "1",
        ("hour of day", "12", "requests"): "0",
        ("day of week", "Saturday", "requests"): "2",
        ("plans", "registered in these dates", "plans"): "1",
        ("plans", "awaiting the person", "plans"): "1",
        ("plans", "expired, to be deleted", "plans"): "1",
    }
    assert {key: figures.get(key) for key in expected} == expected
    for personal in ("R-", "K7QM", "555", "314", "Hidden", "secret words", "example.org", "Demo"):
        assert personal not in body, personal


def test_bad_dates_get_a_reason_not_a_file(supervisor: FlaskClient) -> None:
    page = supervisor.get("/console/reports.csv?start=2026-11-22&end=2026-11-01")
    assert page.status_code == 200 and page.mimetype == "text/html"
    assert "The end date is before the start date." in page.get_data(as_text=True)
    assert supervisor.get("/console/reports.csv?start=9999-99-99").status_code == 200


def test_the_demo_year_gives_every_chart_something_and_runs_twice(migrated_app: Flask) -> None:
    runner = migrated_app.test_cli_runner()
    started = datetime.now(UTC)
    assert runner.invoke(args=["seed-demo"]).exit_code == 0
    assert runner.invoke(args=["seed-demo"]).exit_code == 0
    with migrated_app.app_context():
        count = db.session.query(CitRequest).count()
    assert 700 < count < 2000, f"a year of a county's texted requests, not {count}"
    assert (datetime.now(UTC) - started).total_seconds() < 60
    client = migrated_app.test_client()
    secret = make_user(migrated_app, "sue@example.org", "supervisor")
    sign_in(migrated_app, client, "sue@example.org", secret)
    with migrated_app.app_context():
        today = local_today()
    year = f"start={today - timedelta(days=364)}&end={today}"
    page = text_of(client.get(f"/console/reports?{year}").get_data(as_text=True))
    for key in (
        "chart-weeks",
        "chart-times",
        "chart-languages",
        "chart-dispositions",
        "chart-hours",
        "chart-weekdays",
        "chart-plans",
    ):
        rows = chart_table(page, key)
        assert rows and all(row[-1] not in ("", "—") for row in rows), key
    weekdays = {day: int(count.replace(",", "")) for day, count in chart_table(page, "chart-weekdays")}
    assert weekdays["Saturday"] > weekdays["Tuesday"], "more requests at weekends"
    hours = {hour: int(count.replace(",", "")) for hour, count in chart_table(page, "chart-hours")}
    assert hours["20:00"] > 3 * hours["04:00"], "more requests in the evening"
    languages = chart_table(page, "chart-languages")
    assert len(languages) == 6
    plans = dict(chart_table(page, "chart-plans"))
    assert all(int(count) > 0 for count in plans.values()), plans
