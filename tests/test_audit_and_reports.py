"""The audit trail a supervisor can search and export, and reports that do not hide the
requests nobody acknowledged."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from portal import audit
from portal.audit import AuditEvent
from portal.console.models import ConsoleUser
from portal.dispatch.models import CitRequest
from portal.extensions import db
from tests.console_helpers import make_user, sign_in

# 9:30 PM on Sunday, Nov 22, 2026 in St. Louis (03:30 UTC on Monday the 23rd).
MOMENT = datetime(2026, 11, 23, 3, 30, tzinfo=UTC)
DEE = "Dispatcher dee@example.org"
SAM = "Supervisor sam@example.org"


@pytest.fixture
def console(migrated_app: Flask) -> Flask:
    return migrated_app


@pytest.fixture
def supervisor(console: Flask) -> FlaskClient:
    client = console.test_client()
    assert (
        sign_in(
            console, client, "sue@example.org", make_user(console, "sue@example.org", "supervisor")
        ).status_code
        == 302
    )
    return client


def account_id(console: Flask, email: str) -> int:
    with console.app_context():
        found = db.session.scalar(select(ConsoleUser.id).where(ConsoleUser.email == email))
        assert found is not None
        return int(found)


def event(
    at: datetime, action: str, actor: str | None, actor_id: int | None = None, **fields: object
) -> None:
    audit.record(action, actor_id=actor_id, actor_name=actor or "CIT text line", **fields).at = at


def rows_of(page: str) -> str:
    """The audit table's body: what a supervisor reads, not the filter's option values."""
    return page.split("<tbody>", 1)[1].split("</tbody>", 1)[0]


def text_of(page: str) -> str:
    return page.replace("\u202f", " ").replace("\xa0", " ")


@pytest.fixture
def trail(console: Flask) -> dict[str, int]:
    """A night of events around local midnight, by two people and the text line."""
    make_user(console, "dee@example.org", "dispatcher")
    make_user(console, "sam@example.org", "supervisor")
    dee, sam = account_id(console, "dee@example.org"), account_id(console, "sam@example.org")
    with console.app_context():
        # 11:59 PM on Saturday Nov 21 local, 05:59 UTC on the 22nd.
        event(datetime(2026, 11, 22, 5, 59, tzinfo=UTC), "sign_in", DEE, dee)
        # 9:30 PM on Sunday Nov 22 local, 03:30 UTC on the 23rd.
        event(MOMENT, "request.acknowledge", DEE, dee, request_reference="R-7K3QM2")
        event(
            MOMENT + timedelta(minutes=1),
            audit.PLAN_VIEW,
            DEE,
            dee,
            plan_reference="K7QM-3XPA",
            reason="Pat Doe's mother called from (314) 555-0133",
        )
        event(
            MOMENT + timedelta(minutes=2),
            "plan.withdraw",
            SAM,
            sam,
            plan_reference="K7QM-3XPA",
            reason="family asked",
        )
        event(
            MOMENT + timedelta(minutes=3),
            audit.PLAN_VIEW,
            None,
            plan_reference="K7QM-3XPA",
            reason="home address sent",
        )
        # Midnight starting Monday Nov 23 local, 06:00 UTC.
        event(datetime(2026, 11, 23, 6, 0, tzinfo=UTC), "sign_out", DEE, dee)
        db.session.commit()
    return {"dee": dee, "sam": sam}


def test_the_trail_filters_by_local_dates(supervisor: FlaskClient, trail: dict[str, int]) -> None:
    page = rows_of(supervisor.get("/console/audit?start=2026-11-22&end=2026-11-22").get_data(as_text=True))
    assert "Request acknowledged" in page and "Crisis plan withdrawn" in page
    assert "Sign-in" not in page, "11:59 PM the evening before"
    assert "Sign-out" not in page, "midnight starting the next day"
    whole_weekend = rows_of(
        supervisor.get("/console/audit?start=2026-11-21&end=2026-11-23").get_data(as_text=True)
    )
    assert "Sign-in" in whole_weekend and "Sign-out" in whole_weekend


def test_the_trail_filters_by_person_reference_and_action(
    supervisor: FlaskClient, trail: dict[str, int]
) -> None:
    by_sam = rows_of(supervisor.get(f"/console/audit?person={trail['sam']}").get_data(as_text=True))
    assert "Crisis plan withdrawn" in by_sam and "Request acknowledged" not in by_sam
    by_line = rows_of(supervisor.get("/console/audit?person=none").get_data(as_text=True))
    assert "home address sent" in by_line and "dee@example.org" not in by_line
    # A reference however it is typed: lower case, without its dash, with spaces.
    plan = rows_of(supervisor.get("/console/audit?reference=k7qm 3xpa").get_data(as_text=True))
    assert plan.count("K7QM-3XPA") == 3 and "R-7K3QM2" not in plan
    request = rows_of(supervisor.get("/console/audit?reference=r7k3qm2").get_data(as_text=True))
    assert "R-7K3QM2" in request and "K7QM-3XPA" not in request
    opened = rows_of(supervisor.get("/console/audit?action=plan.view").get_data(as_text=True))
    assert opened.count("Crisis plan opened") == 2 and "Crisis plan withdrawn" not in opened


def test_actions_and_outcomes_are_named_in_words(supervisor: FlaskClient, trail: dict[str, int]) -> None:
    page = supervisor.get("/console/audit").get_data(as_text=True)
    rows = rows_of(page)
    for code in ("request.acknowledge", "plan.view", "plan.withdraw", "sign_in", "sign_out", ">ok<"):
        assert code not in rows, code
    assert "Request acknowledged" in rows and "Done" in rows
    # The action filter offers each action in words.
    options = dict(re.findall(r'<option[^>]*value="([^"]*)"[^>]*>([^<]*)</option>', page))
    assert options["plan.view"] == "Crisis plan opened" and options["request.close"] == "Request closed"


def test_every_action_the_code_records_has_words() -> None:
    """An action added to the code without a name in words would show its raw code."""
    from portal.console.admin_views import ACTION_NAMES

    portal = Path(__file__).resolve().parent.parent / "portal"
    recorded = set()
    for path in portal.rglob("*.py"):
        source = path.read_text()
        recorded |= set(
            re.findall(
                r'(?:audit_action|audit\.record|changed)\(\s*(?:\w+,\s*)?"([a-z_]+(?:\.[a-z_]+)?)"', source
            )
        )
    assert {"sign_in", "request.acknowledge", "plan.withdraw", "user.create"} <= recorded, recorded
    assert recorded - set(ACTION_NAMES) == set()


def test_the_export_holds_the_filtered_rows_without_personal_data(
    console: Flask, supervisor: FlaskClient, trail: dict[str, int]
) -> None:
    response = supervisor.get("/console/audit.csv?start=2026-11-22&end=2026-11-22")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    body = response.get_data(as_text=True)
    rows = list(csv.DictReader(io.StringIO(body)))
    assert [row["action"] for row in rows] == [
        "plan.view",
        "plan.withdraw",
        "plan.view",
        "request.acknowledge",
    ]
    assert rows[-1]["action_in_words"] == "Request acknowledged"
    assert rows[-1]["time_local"] == "2026-11-22T21:30:00-06:00"
    assert [row["role"] for row in rows] == ["text line", "supervisor", "dispatcher", "dispatcher"]
    assert rows[-1]["request_reference"] == "R-7K3QM2" and rows[0]["plan_reference"] == "K7QM-3XPA"
    for personal in ("dee@", "sam@", "sue@", "example.org", "Pat Doe", "555", "mother", "family asked"):
        assert personal not in body, personal
    with console.app_context():
        exported = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "audit.export")).all()
        assert len(exported) == 1, "an export is itself in the trail"


def test_the_trail_comes_in_pages(console: Flask, supervisor: FlaskClient) -> None:
    with console.app_context():
        for minute in range(250):
            event(MOMENT + timedelta(minutes=minute), "plan.search", DEE, outcome=f"{minute % 3} found")
        db.session.commit()
    first = text_of(supervisor.get("/console/audit?action=plan.search").get_data(as_text=True))
    assert "Events 1 to 50 of 250, newest first" in first and rows_of(first).count("<tr>") == 50
    assert "Page 1 of 5" in first and "Older events" in first and "Newer events" not in first
    assert "2 plans found" in rows_of(first) and "1 plan found" in rows_of(first)
    last = text_of(supervisor.get("/console/audit?action=plan.search&page=5").get_data(as_text=True))
    assert "Events 201 to 250 of 250" in last and rows_of(last).count("<tr>") == 50
    assert "Newer events" in last and "Older events" not in last
    assert "page=4" in last and "action=plan.search" in last, "the page links keep the filters"


def test_dates_the_wrong_way_round_are_refused_with_a_reason(supervisor: FlaskClient) -> None:
    for path in (
        "/console/audit?start=2026-11-22&end=2026-11-01",
        "/console/reports?start=2026-11-22&end=2026-11-01",
    ):
        page = supervisor.get(path).get_data(as_text=True)
        assert "The end date is before the start date." in page, path


# Reports ----------------------------------------------------------------------------------


def add_request(
    received: datetime,
    *,
    acknowledged_after: timedelta | None = None,
    closed_after: timedelta | None = None,
    escalated: bool = False,
) -> str:
    item = CitRequest(source="voice", language="en", location_source="none", created_at=received)
    if acknowledged_after is not None:
        item.acknowledged_at, item.status = received + acknowledged_after, "acknowledged"
    if closed_after is not None:
        item.closed_at, item.status, item.disposition = received + closed_after, "closed", "no_contact"
    if escalated:
        item.supervisors_alerted_at = received + timedelta(minutes=3)
    db.session.add(item)
    db.session.flush()
    return item.reference


def week_row(page: str, monday: str) -> list[str]:
    row = re.search(rf"<tr><th[^>]*>{re.escape(monday)}</th>(.*?)</tr>", text_of(page), re.S)
    assert row, f"no row for the week of {monday}"
    return re.findall(r"<td[^>]*>(.*?)</td>", row.group(1))


def test_a_week_nobody_answered_does_not_look_good(console: Flask, supervisor: FlaskClient) -> None:
    """The week the reviewer saw: 26 requests, one acknowledged after 18 seconds, 25 never.
    The median is over that one request, and the page says so beside the 25."""
    monday = datetime(2026, 11, 16, 15, 0, tzinfo=UTC)
    with console.app_context():
        add_request(monday, acknowledged_after=timedelta(seconds=18))
        for hour in range(20):
            add_request(monday + timedelta(hours=hour + 1), escalated=True)  # still waiting
        oldest = add_request(monday - timedelta(hours=2), escalated=True)  # the longest wait
        for hour in range(4):
            add_request(monday + timedelta(hours=hour + 30), closed_after=timedelta(minutes=40))
        db.session.commit()
    page = text_of(supervisor.get("/console/reports?start=2026-11-16&end=2026-11-22").get_data(as_text=True))
    assert "26 requests in all" in page
    assert "1 acknowledged by a dispatcher." in page
    assert (
        "25 never acknowledged</strong>: 21 still waiting now, 4 closed without being acknowledged." in page
    )
    assert "21 escalated to supervisors" in page
    assert "Counted over the 1 acknowledged request only" in page
    assert f"request {oldest} received Nov 16, 2026, 7:00 AM (still not acknowledged)" in page
    requests, never, escalated, median, p90, longest = week_row(page, "Nov 16, 2026")
    assert (requests, never, escalated, median, p90) == ("26", "25", "21", "0.3", "0.3")
    assert "days" in longest, "the oldest request has waited days, and the table says so"


def test_medians_and_90th_percentiles_count_acknowledged_requests_only(
    console: Flask, supervisor: FlaskClient
) -> None:
    monday = datetime(2026, 11, 16, 15, 0, tzinfo=UTC)
    with console.app_context():
        for minutes in range(1, 11):  # acknowledged after 1, 2, ... 10 minutes
            add_request(monday + timedelta(hours=minutes), acknowledged_after=timedelta(minutes=minutes))
        add_request(monday, closed_after=timedelta(minutes=90))  # never acknowledged: not in the times
        db.session.commit()
    page = text_of(supervisor.get("/console/reports?start=2026-11-16&end=2026-11-22").get_data(as_text=True))
    assert week_row(page, "Nov 16, 2026") == ["11", "1", "0", "5.5", "9.0", "1 h 30 min"]
    assert "Time to acknowledge: median 5.5 min, 90th percentile 9.0 min." in page
    assert "Longest wait: 1 h 30 min" in page and "(closed without being acknowledged)" in page


def test_reports_keep_to_the_dates_chosen_and_say_when_nothing_was_acknowledged(
    console: Flask, supervisor: FlaskClient
) -> None:
    with console.app_context():
        add_request(datetime(2026, 10, 5, 15, 0, tzinfo=UTC))  # before the dates
        inside = add_request(datetime(2026, 11, 2, 15, 0, tzinfo=UTC))
        add_request(datetime(2026, 11, 9, 15, 0, tzinfo=UTC))  # after them
        db.session.commit()
    page = text_of(supervisor.get("/console/reports?start=2026-11-01&end=2026-11-07").get_data(as_text=True))
    assert "CIT requests from Nov 1, 2026 to Nov 7, 2026" in page
    assert "1 request in all" in page and inside in page
    assert "No request was acknowledged in these dates" in page
