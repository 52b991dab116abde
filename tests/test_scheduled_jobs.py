"""The scheduled jobs, run as an operator runs them (`flask --app portal jobs run NAME`),
with the clock moved by writing the data's times into the past: reminders go once,
ended and withdrawn plans leave no row, idle conversations and old requests are
forgotten, audit rows go after their retention and not before, a key rotation is
finished; and a second run, or two workers at once, change nothing more."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result
from cryptography.fernet import Fernet
from flask import Flask
from flask_migrate import upgrade
from sqlalchemy import event, func, select, text

from portal import create_app
from portal.audit import AuditEvent, record
from portal.crypto import vault
from portal.database import utcnow
from portal.dispatch.models import CitRequest, RequestMessage
from portal.extensions import db
from portal.jobs import JOBS
from portal.keys import reencrypt_old
from portal.messaging.outbox import OutboundMessage, queue_message
from portal.plans import lifecycle
from portal.plans.models import (
    CrisisPlan,
    PhoneCode,
    PlanDraft,
    PlanNameIndex,
    PlanPhone,
    PlanPhoto,
    RegistrantSession,
)
from portal.plans.services import withdraw_plan
from portal.sms.models import Conversation, InboundMessage
from portal.worker import SCHEDULED_JOBS
from tests.conftest import make_environ

PERSON_PHONE = "+13145550101"
FILER_PHONE = "+13145550102"
LOOKUP_PHONE = "+13145550103"  # a phone a call may come from: never texted
ALL_JOBS = {
    "forward-silent-texters",
    "answer-waiting-texters",
    "escalate-unreached",
    "escalate-unacknowledged",
    "send-waiting-updates",
    "plan-reminders",
    "delete-ended-plans",
    "delete-expired-drafts",
    "delete-used-codes",
    "delete-old-requests",
    "forget-old-texts",
    "delete-old-audit-events",
    "re-encrypt",
}


def ago(**how_long: float) -> Any:
    return utcnow() - timedelta(**how_long)


def run_jobs(app: Flask, *args: str) -> Result:
    result = app.test_cli_runner().invoke(args=["jobs", "run", *args])
    assert result.exit_code == 0, result.output
    return result


def changed(result: Result, job: str) -> int:
    """How many rows `job` said it changed."""
    match = re.search(rf"^{job}: done in [\d.]+ s, (\d+) changed$", result.output, re.M)
    assert match, result.output
    return int(match.group(1))


def add_plan(confirmed_days_ago: float, reference: str, *, with_extras: bool = False) -> int:
    """A plan confirmed that many days ago, with a person's, a filer's and a look-up phone;
    with_extras: a photo, a name index, an edit draft and a registrant signed in."""
    plan = CrisisPlan(
        reference=reference,
        language="en",
        cit_requested=True,
        filed_by="family",
        details={"person": {"name": f"Person {reference}"}, "care": {"medications": "Lithium"}},
        name_birth_index=f"index-{reference}",
        confirmed_at=ago(days=confirmed_days_ago),
        created_at=ago(days=confirmed_days_ago),
    )
    for number, role in ((PERSON_PHONE, "person"), (FILER_PHONE, "filer"), (LOOKUP_PHONE, "other")):
        plan.phones.append(PlanPhone(number=number, number_index=vault().blind_index(number), role=role))
    db.session.add(plan)
    db.session.flush()
    if with_extras:
        plan.photo = PlanPhoto(jpeg=b"\xff\xd8 a photo")
        db.session.add(PlanNameIndex(plan_id=plan.id, name_index=f"name-{reference}"))
        db.session.add(PlanDraft(plan_id=plan.id, answers={"care": {"medications": "Changed"}}))
        db.session.add(RegistrantSession(key_hash=f"session-{reference}".ljust(64, "0"), plan_id=plan.id))
    db.session.commit()
    return plan.id


def reminders() -> list[tuple[str, str]]:
    """(to, body) of every plan reminder in the outbox."""
    rows = db.session.execute(
        select(OutboundMessage.to_number, OutboundMessage.body).where(
            OutboundMessage.purpose == "plan_reminder"
        )
    )
    return sorted((to, body) for to, body in rows)


def count(model: type) -> int:
    return int(db.session.scalar(select(func.count()).select_from(model)) or 0)


def snapshot() -> dict[str, list[str]]:
    """Every row of every table as stored (encrypted values as their tokens)."""
    rows = {}
    for table in db.metadata.sorted_tables:
        stored = db.session.execute(text(f"SELECT * FROM {table.name}")).all()  # noqa: S608 (our table names)
        rows[table.name] = sorted(repr(tuple(row)) for row in stored)
    db.session.rollback()
    return rows


# The list ---------------------------------------------------------------------------


def test_jobs_list_names_every_job_the_worker_runs_and_how_often(migrated_app: Flask) -> None:
    output = migrated_app.test_cli_runner().invoke(args=["jobs", "list"]).output
    lines = output.strip().splitlines()
    assert {line.split()[0] for line in lines} == ALL_JOBS
    assert re.search(r"^plan-reminders +every 5 minutes +Text a plan's phones", output, re.M)
    assert re.search(
        r"^delete-old-audit-events +every 1 day +Delete audit-trail rows older than 400 days", output, re.M
    )
    assert re.search(r"^forward-silent-texters +every 1 second ", output, re.M)
    assert re.search(r"^re-encrypt +by command only ", output, re.M)
    # The worker runs the same list but re-encrypt (and its own status look-up beside it).
    assert len(SCHEDULED_JOBS) == len(ALL_JOBS) - 1


def test_a_job_is_named_or_all_are_run(migrated_app: Flask) -> None:
    runner = migrated_app.test_cli_runner()
    unknown = runner.invoke(args=["jobs", "run", "send-everything"])
    assert unknown.exit_code == 2 and "'send-everything' is not one of" in unknown.output
    nothing = runner.invoke(args=["jobs", "run"])
    assert nothing.exit_code == 2 and "Name the jobs to run, or give --all." in nothing.output
    every = run_jobs(migrated_app, "--all")
    assert {line.split(":")[0] for line in every.output.strip().splitlines()} == ALL_JOBS


# Reminders ---------------------------------------------------------------------------


def test_a_plan_is_reminded_once_30_days_and_once_7_days_before_it_ends(any_database_app: Flask) -> None:
    app = any_database_app
    with app.app_context():
        plan_id = add_plan(300, "RMND-AAAA")
        assert changed(run_jobs(app, "plan-reminders"), "plan-reminders") == 0  # 65 days left
        db.session.execute(db.update(CrisisPlan).values(confirmed_at=ago(days=340)))  # 25 days left
        db.session.commit()
        assert changed(run_jobs(app, "plan-reminders"), "plan-reminders") == 1
        before = snapshot()
        assert changed(run_jobs(app, "plan-reminders"), "plan-reminders") == 0
        assert snapshot() == before
        sent = reminders()
        # The person and the filer, who can sign in; never the look-up phone.
        assert [to for to, _body in sent] == [PERSON_PHONE, FILER_PHONE]
        assert all("Crisis plan RMND-AAAA ends on" in body for _to, body in sent)

        db.session.execute(db.update(CrisisPlan).values(confirmed_at=ago(days=360)))  # 5 days left
        db.session.commit()
        run_jobs(app, "plan-reminders")
        run_jobs(app, "plan-reminders")
        assert len(reminders()) == 4  # two phones, twice in all
        assert db.session.get(CrisisPlan, plan_id, populate_existing=True).reminder_sent == 7


def test_a_plan_found_a_few_days_before_its_end_gets_one_reminder_not_two(any_database_app: Flask) -> None:
    with any_database_app.app_context():
        add_plan(362, "RMND-BBBB")
        run_jobs(any_database_app, "plan-reminders", "plan-reminders")
        assert len(reminders()) == 2  # one text to each of the two phones


def concurrently(app: Flask, job: Callable[[], object], workers: int = 2) -> list[BaseException]:
    """`job` in `workers` threads at once, each with its own session (as workers have);
    the errors they raised."""
    start = threading.Barrier(workers)
    errors: list[BaseException] = []

    def work() -> None:
        with app.app_context():
            try:
                start.wait()
                job()
            except BaseException as error:
                errors.append(error)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=work) for _ in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return errors


def test_two_workers_at_once_send_each_reminder_once(any_database_app: Flask) -> None:
    app = any_database_app
    with app.app_context():
        for number in range(20):
            add_plan(340, f"TWIN-{number:04d}")
    assert concurrently(app, lifecycle.send_reminders) == []
    with app.app_context():
        sent = reminders()
        assert len(sent) == 40  # two phones of each of the 20 plans, once
        assert len(set(sent)) == 40


# Ended and withdrawn plans ---------------------------------------------------------------


def test_ended_and_withdrawn_plans_leave_no_row(any_database_app: Flask) -> None:
    app = any_database_app
    with app.app_context():
        ended = add_plan(365 + 31, "ENDD-AAAA", with_extras=True)  # past its 30 days of grace
        in_grace = add_plan(365 + 29, "GRCE-AAAA", with_extras=True)
        withdrawn = add_plan(100, "WDRN-AAAA", with_extras=True)
        # Its reminder and codes, texted before the family withdrew it 31 days ago.
        queue_message(
            to=PERSON_PHONE, body="Crisis plan WDRN-AAAA ends", sender="notices", purpose="plan_reminder"
        )
        db.session.add(
            PhoneCode(number_index=vault().blind_index(PERSON_PHONE), purpose="sign_in", code_hash="x")
        )
        record("plan.view", actor_id=None, actor_name="Dispatcher", plan_reference="WDRN-AAAA")
        plan = db.session.get_one(CrisisPlan, withdrawn)
        withdraw_plan(plan)
        db.session.commit()
        db.session.execute(db.update(OutboundMessage).values(created_at=ago(days=31)))
        db.session.execute(db.update(PhoneCode).values(created_at=ago(days=2)))
        db.session.commit()

        out = run_jobs(app, "delete-ended-plans", "delete-used-codes", "delete-old-requests")
        assert changed(out, "delete-ended-plans") == 1
        assert changed(out, "delete-used-codes") == 1
        assert changed(out, "delete-old-requests") == 1

        assert list(db.session.scalars(select(CrisisPlan.reference))) == ["GRCE-AAAA"]
        for model, column in (
            (PlanPhone, PlanPhone.plan_id),
            (PlanPhoto, PlanPhoto.plan_id),
            (PlanNameIndex, PlanNameIndex.plan_id),
            (PlanDraft, PlanDraft.plan_id),
            (RegistrantSession, RegistrantSession.plan_id),
        ):
            assert set(db.session.scalars(select(column))) == {in_grace}, model.__name__
        assert ended not in set(db.session.scalars(select(PlanPhone.plan_id)))
        assert count(PhoneCode) == 0 and count(OutboundMessage) == 0
        # The audit trail keeps the view, by the plan's code only (until its retention).
        assert list(db.session.scalars(select(AuditEvent.plan_reference))) == ["WDRN-AAAA"]

        before = snapshot()
        again = run_jobs(app, "delete-ended-plans", "delete-used-codes", "delete-old-requests")
        assert changed(again, "delete-ended-plans") == 0
        assert snapshot() == before


# "DELETE ... 0 were matched": a second worker deleting a plan the first had deleted.
@pytest.mark.filterwarnings("error::sqlalchemy.exc.SAWarning")
def test_two_workers_at_once_delete_ended_plans_without_an_error(any_database_app: Flask) -> None:
    app = any_database_app
    with app.app_context():
        for number in range(10):
            add_plan(365 + 40, f"GONE-{number:04d}", with_extras=True)
        add_plan(10, "KEEP-AAAA")
    assert concurrently(app, lifecycle.delete_ended_plans) == []
    with app.app_context():
        assert list(db.session.scalars(select(CrisisPlan.reference))) == ["KEEP-AAAA"]
        assert count(PlanPhoto) == 0 and count(PlanPhone) == 3


# The text line and dispatch --------------------------------------------------------------


def add_request(reference: str, *, status: str, closed_days_ago: float | None = None) -> None:
    request = CitRequest(
        reference=reference,
        source="sms",
        callback_number=PERSON_PHONE,
        callback_index=vault().blind_index(PERSON_PHONE),
        language="en",
        location="4500 Main St",
        location_source="texted",
        status=status,
        created_at=ago(days=(closed_days_ago or 0) + 0.1),
        closed_at=ago(days=closed_days_ago) if closed_days_ago is not None else None,
        acknowledged_at=ago(days=(closed_days_ago or 0) + 0.1) if status != "open" else None,
        supervisors_alerted_at=ago(days=1) if status == "open" else None,
        escalated_at=ago(days=1) if status == "open" else None,
    )
    request.messages.append(RequestMessage(direction="in", body="my brother needs help"))
    db.session.add(request)
    db.session.flush()
    message = queue_message(
        to="+13145550911",
        body=f"CIT REQUEST {reference}",
        sender="line",
        purpose="dispatch_alert",
        cit_request_id=request.id,
    )
    message.status = "delivered"
    db.session.commit()


def test_closed_requests_go_after_the_retention_period_with_their_threads(any_database_app: Flask) -> None:
    app = any_database_app
    with app.app_context():
        add_request("R-OLDOLD", status="closed", closed_days_ago=366)  # the default: 365 days
        add_request("R-KEPTKP", status="closed", closed_days_ago=300)
        add_request("R-OPENOP", status="open")
        out = run_jobs(app, "delete-old-requests")
        assert changed(out, "delete-old-requests") == 2  # the request and its alert
        assert sorted(db.session.scalars(select(CitRequest.reference))) == ["R-KEPTKP", "R-OPENOP"]
        assert count(RequestMessage) == 2 and count(OutboundMessage) == 2
        before = snapshot()
        assert changed(run_jobs(app, "delete-old-requests"), "delete-old-requests") == 0
        assert snapshot() == before


def test_idle_conversations_and_old_replies_are_forgotten(any_database_app: Flask) -> None:
    app = any_database_app
    with app.app_context():
        for index, silent in (("idle", timedelta(hours=2)), ("talking", timedelta(minutes=20))):
            db.session.add(
                Conversation(
                    number_index=index,
                    number=PERSON_PHONE,
                    language="en",
                    stage="awaiting_location",
                    started_at=utcnow() - silent,
                    last_message_at=utcnow() - silent,
                    first_message="help my son",
                )
            )
        db.session.add(InboundMessage(message_sid="SM-two-days", received_at=ago(days=2), reply="Call 911"))
        db.session.add(InboundMessage(message_sid="SM-a-year", received_at=ago(days=366), reply=None))
        db.session.add(InboundMessage(message_sid="SM-now", reply="Call 911"))
        db.session.commit()

        assert changed(run_jobs(app, "forget-old-texts"), "forget-old-texts") == 3
        assert list(db.session.scalars(select(Conversation.number_index))) == ["talking"]
        replies = dict(db.session.execute(select(InboundMessage.message_sid, InboundMessage.reply)).all())
        # The MessageSid stays (a replayed webhook creates nothing); the reply goes after a day.
        assert replies == {"SM-two-days": None, "SM-now": "Call 911"}
        before = snapshot()
        assert changed(run_jobs(app, "forget-old-texts"), "forget-old-texts") == 0
        assert snapshot() == before


# The audit trail ---------------------------------------------------------------------------


def test_audit_rows_are_kept_over_a_year_then_deleted(any_database_app: Flask) -> None:
    app = any_database_app
    with app.app_context():
        for days in (0, 200, 366, 399, 401, 800):
            event = record(
                "plan.view", actor_id=None, actor_name="Dispatcher", plan_reference=f"AUDT-{days:04d}"
            )
            event.at = ago(days=days)
        db.session.commit()
        assert changed(run_jobs(app, "delete-old-audit-events"), "delete-old-audit-events") == 2
        kept = sorted(db.session.scalars(select(AuditEvent.plan_reference)))
        assert kept == ["AUDT-0000", "AUDT-0200", "AUDT-0366", "AUDT-0399"]  # a year and more kept
        before = snapshot()
        assert changed(run_jobs(app, "delete-old-audit-events"), "delete-old-audit-events") == 0
        assert snapshot() == before


# Key rotation --------------------------------------------------------------------------


def test_after_a_key_rotation_the_job_re_encrypts_once_and_the_old_key_can_go(tmp_path: Path) -> None:
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    before = create_app({"TESTING": True}, environ=make_environ(tmp_path, PORTAL_ENCRYPTION_KEYS=old))
    with before.app_context():
        upgrade()
        add_plan(10, "ROTA-AAAA", with_extras=True)
        add_request("R-ROTATE", status="open")
        record(
            "plan.view",
            actor_id=None,
            actor_name="Dispatcher",
            plan_reference="ROTA-AAAA",
            reason="call from mother",
        )
        db.session.commit()
        db.engine.dispose()

    both = create_app(
        {"TESTING": True}, environ=make_environ(tmp_path, PORTAL_ENCRYPTION_KEYS=f"{new},{old}")
    )
    with both.app_context():
        # Written after the new key came first: already under it, so not counted below.
        record(
            "plan.view", actor_id=None, actor_name="Dispatcher", plan_reference="ROTA-AAAA", reason="later"
        )
        db.session.commit()
        # details, 3 phones, photo, draft answers, request: number, location, thread;
        # the alert: number, body; the first audit reason.
        assert changed(run_jobs(both, "re-encrypt"), "re-encrypt") == 12
        stored = snapshot()
        assert changed(run_jobs(both, "re-encrypt"), "re-encrypt") == 0
        assert snapshot() == stored
        db.engine.dispose()

    after = create_app({"TESTING": True}, environ=make_environ(tmp_path, PORTAL_ENCRYPTION_KEYS=new))
    with after.app_context():
        plan = db.session.scalars(select(CrisisPlan)).one()
        assert plan.details["care"]["medications"] == "Lithium"
        assert sorted(phone.number for phone in plan.phones) == sorted(
            [PERSON_PHONE, FILER_PHONE, LOOKUP_PHONE]
        )
        assert plan.photo is not None and plan.photo.jpeg == b"\xff\xd8 a photo"
        assert db.session.scalars(select(PlanDraft.answers)).one() == {"care": {"medications": "Changed"}}
        request = db.session.scalars(select(CitRequest)).one()
        assert (request.callback_number, request.location) == (PERSON_PHONE, "4500 Main St")
        assert [message.body for message in request.messages] == ["my brother needs help"]
        assert db.session.scalars(select(OutboundMessage.body)).one() == "CIT REQUEST R-ROTATE"
        assert sorted(db.session.scalars(select(AuditEvent.reason))) == ["call from mother", "later"]


def test_two_workers_re_encrypting_at_once_agree(tmp_path: Path, any_database_app: Flask) -> None:
    """Two workers at once: every value ends under the new key, none is lost or garbled."""
    url = any_database_app.config["SQLALCHEMY_DATABASE_URI"]
    old = any_database_app.config["PORTAL_SETTINGS"].encryption_keys[0]
    with any_database_app.app_context():
        for number in range(5):
            add_plan(10, f"PAIR-{number:04d}", with_extras=True)
        db.engine.dispose()
    new = Fernet.generate_key().decode()
    both = create_app(
        {"TESTING": True},
        environ=make_environ(tmp_path, PORTAL_DATABASE_URL=url, PORTAL_ENCRYPTION_KEYS=f"{new},{old}"),
    )
    assert concurrently(both, reencrypt_old) == []
    with both.app_context():
        assert changed(run_jobs(both, "re-encrypt"), "re-encrypt") == 0
        db.engine.dispose()
    after = create_app(
        {"TESTING": True}, environ=make_environ(tmp_path, PORTAL_DATABASE_URL=url, PORTAL_ENCRYPTION_KEYS=new)
    )
    with after.app_context():
        medications = [plan.details["care"]["medications"] for plan in db.session.scalars(select(CrisisPlan))]
        assert medications == ["Lithium"] * 5
        assert count(PlanPhone) == 15
        db.engine.dispose()


# Every job ---------------------------------------------------------------------------------


@pytest.mark.parametrize("workers", [1, 2])
@pytest.mark.filterwarnings("error::sqlalchemy.exc.SAWarning")
def test_every_job_run_again_changes_nothing(any_database_app: Flask, workers: int) -> None:
    """A database with something for every job: the first run (by one worker or two at
    once) does it all; the next run changes no row."""
    app = any_database_app
    with app.app_context():
        add_plan(340, "EVRY-AAAA", with_extras=True)  # a reminder due
        add_plan(365 + 31, "EVRY-BBBB", with_extras=True)  # ended
        add_plan(10, "EVRY-CCCC", with_extras=True)
        add_request("R-EVRYAA", status="closed", closed_days_ago=400)
        add_request("R-EVRYBB", status="open")
        db.session.execute(db.update(PlanDraft).values(updated_at=ago(days=8)))
        db.session.add(
            Conversation(
                number_index="idle",
                number=PERSON_PHONE,
                language="en",
                stage="awaiting_location",
                started_at=ago(hours=3),
                last_message_at=ago(hours=3),
            )
        )
        event = record("plan.view", actor_id=None, actor_name="Dispatcher", plan_reference="EVRY-AAAA")
        event.at = ago(days=500)
        db.session.commit()
        first = snapshot()
    if workers == 1:
        run_jobs(app, "--all")
    else:  # the functions themselves: click's runner is not for two threads at once
        assert concurrently(app, lambda: [job.run() for job in JOBS]) == []
    with app.app_context():
        done = snapshot()
        assert done != first
        assert sorted(db.session.scalars(select(CrisisPlan.reference))) == ["EVRY-AAAA", "EVRY-CCCC"]
        assert len(reminders()) == 2
        assert count(PlanDraft) == 0  # each 8 days old
        # The texter who never gave a place reached dispatch, once, and was then forgotten.
        assert sorted(db.session.scalars(select(CitRequest.location_source))) == ["none", "texted"]
        assert count(Conversation) == 0
        assert list(db.session.scalars(select(AuditEvent))) == []
        run_jobs(app, "--all")
        assert snapshot() == done


def test_a_failing_job_is_reported_and_the_others_still_run(tmp_path: Path) -> None:
    """An operator removed the old key before re-encrypting: re-encrypt fails loudly (exit
    code 1), and the jobs named after it still do their work."""
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    before = create_app({"TESTING": True}, environ=make_environ(tmp_path, PORTAL_ENCRYPTION_KEYS=old))
    with before.app_context():
        upgrade()
        event = record(
            "plan.view", actor_id=None, actor_name="Dispatcher", plan_reference="LOST-KEYS", reason="x"
        )
        event.at = ago(days=10)
        old_event = record("plan.view", actor_id=None, actor_name="Dispatcher", plan_reference="OLD-EVENT")
        old_event.at = ago(days=500)
        db.session.commit()
        db.engine.dispose()
    after = create_app({"TESTING": True}, environ=make_environ(tmp_path, PORTAL_ENCRYPTION_KEYS=new))
    result = after.test_cli_runner().invoke(args=["jobs", "run", "re-encrypt", "delete-old-audit-events"])
    assert result.exit_code == 1
    assert "re-encrypt: failed (InvalidToken)" in result.output
    assert re.search(r"^delete-old-audit-events: done in [\d.]+ s, 1 changed$", result.output, re.M)
    with after.app_context():
        assert list(db.session.scalars(select(AuditEvent.plan_reference))) == ["LOST-KEYS"]


@pytest.mark.postgres
def test_re_encrypt_never_writes_back_a_value_the_application_changed_meanwhile(
    tmp_path: Path, postgres_url: str
) -> None:
    """On PostgreSQL the job reads without a lock, so the family may save the plan between
    its read and its write: their change stays. (SQLite's writers take turns.)"""
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    environ = make_environ(tmp_path, PORTAL_DATABASE_URL=postgres_url, PORTAL_ENCRYPTION_KEYS=old)
    before = create_app({"TESTING": True}, environ=environ)
    with before.app_context():
        upgrade()
        plan_id = add_plan(10, "RACE-AAAA")
        db.engine.dispose()
    both = create_app({"TESTING": True}, environ={**environ, "PORTAL_ENCRYPTION_KEYS": f"{new},{old}"})
    with both.app_context():
        saved = (
            vault().encrypt(json.dumps({"care": {"medications": "Changed by the family"}}).encode()).decode()
        )

        def family_saves_first(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
            if statement.startswith("UPDATE crisis_plans SET details") and not done:
                done.append(True)
                with db.engine.begin() as other:  # another connection, committed at once
                    other.execute(
                        text("UPDATE crisis_plans SET details = :d WHERE id = :i"), {"d": saved, "i": plan_id}
                    )

        done: list[bool] = []
        event.listen(db.engine, "before_cursor_execute", family_saves_first)
        try:
            reencrypted = reencrypt_old()
        finally:
            event.remove(db.engine, "before_cursor_execute", family_saves_first)
        assert done and reencrypted == 3  # the three phones; the details were the family's
        db.engine.dispose()
    after = create_app({"TESTING": True}, environ={**environ, "PORTAL_ENCRYPTION_KEYS": new})
    with after.app_context():
        plan = db.session.get_one(CrisisPlan, plan_id)
        assert plan.details == {"care": {"medications": "Changed by the family"}}
        db.engine.dispose()
