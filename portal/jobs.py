"""The scheduled jobs, by name: the one list the worker runs and an operator can run.

`flask --app portal jobs list` shows them; `flask --app portal jobs run NAME...` (or
`--all`) runs them once, now. Every job is safe to run twice and from several workers
at once (tests/test_scheduled_jobs.py proves it), so running one by hand beside the
workers is always allowed.

This module sits above the capabilities (it imports them all) and below the worker.
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass

import click
from flask import Flask
from flask.cli import AppGroup

from portal import audit, keys
from portal.dispatch.alerts import escalate_unacknowledged, escalate_unreached, send_waiting_updates
from portal.dispatch.retention import delete_old_texter_data
from portal.extensions import db
from portal.plans import lifecycle
from portal.plans.drafts import delete_expired_drafts
from portal.sms.conversation import answer_waiting_texters, forward_silent_texters
from portal.sms.retention import forget_old_texts

log = logging.getLogger(__name__)

MINUTE, HOUR, DAY = 60.0, 3600.0, 86400.0


@dataclass(frozen=True)
class Job:
    name: str
    run: Callable[[], object]  # returns how much it did (a count), or None
    every: float | None  # seconds between runs in each worker; None: only by command
    does: str  # for `jobs list`


JOBS: tuple[Job, ...] = (
    # The text line's and dispatch's timers need seconds.
    Job(
        "forward-silent-texters",
        forward_silent_texters,
        1.0,
        "Forward to dispatch a texter who gave no place within 2 minutes.",
    ),
    Job(
        "answer-waiting-texters",
        answer_waiting_texters,
        5.0,
        "Answer, in one text, a texter's texts held back by the reply cap.",
    ),
    Job(
        "escalate-unreached",
        escalate_unreached,
        1.0,
        "Requests no dispatch number took in time: alert the fallback numbers, tell the texter to call 911.",
    ),
    Job(
        "escalate-unacknowledged",
        escalate_unacknowledged,
        5.0,
        "Requests nobody acknowledged in time: alert dispatch again and the supervisors.",
    ),
    Job(
        "send-waiting-updates",
        send_waiting_updates,
        5.0,
        "Send dispatch the texts held back by the one-update-a-minute rule.",
    ),
    Job(
        "plan-reminders",
        lifecycle.send_reminders,
        5 * MINUTE,
        "Text a plan's phones 30 and 7 days before the plan ends (once each).",
    ),
    Job(
        "delete-ended-plans",
        lifecycle.delete_ended_plans,
        5 * MINUTE,
        "Delete plans not confirmed again within 30 days of their end.",
    ),
    Job(
        "delete-expired-drafts",
        delete_expired_drafts,
        HOUR,
        "Delete plan drafts 7 days after their last change.",
    ),
    Job("delete-used-codes", lifecycle.delete_used_codes, HOUR, "Delete one-time codes after a day."),
    Job(
        "delete-old-requests",
        delete_old_texter_data,
        HOUR,
        "Delete closed CIT requests, their threads and texts after the retention period"
        " (PORTAL_REQUEST_RETENTION_DAYS), and other texts after 30 days.",
    ),
    Job(
        "forget-old-texts",
        forget_old_texts,
        HOUR,
        "Forget idle conversations, replies after a day, and message ids after the retention period.",
    ),
    Job(
        "delete-old-audit-events",
        audit.delete_old_events,
        DAY,
        f"Delete audit-trail rows older than {audit.RETENTION.days} days.",
    ),
    # By command only: finding what an older key holds means reading every encrypted
    # value, photos included, which would hold the worker's deliveries back for minutes
    # on a large registry. Run it once after putting a new key first (portal.keys).
    Job(
        "re-encrypt",
        keys.reencrypt_old,
        None,
        "Re-encrypt the values an older key holds with the newest key (after a key rotation).",
    ),
)
BY_NAME = {job.name: job for job in JOBS}

jobs_cli = AppGroup("jobs", help="The scheduled jobs the worker runs.")


def how_often(seconds: float | None) -> str:
    if seconds is None:
        return "by command only"
    for unit, size in (("day", DAY), ("hour", HOUR), ("minute", MINUTE)):
        if seconds >= size:
            count = seconds / size
            return f"every {count:g} {unit}{'s' if count != 1 else ''}"
    return f"every {seconds:g} second{'s' if seconds != 1 else ''}"


@jobs_cli.command("list")
def list_command() -> None:
    """Each job's name, how often each worker runs it, and what it does."""
    width = max(len(job.name) for job in JOBS)
    for job in JOBS:
        click.echo(f"{job.name:<{width}}  {how_often(job.every):<15}  {job.does}")


@jobs_cli.command("run")
@click.argument("names", nargs=-1, type=click.Choice(list(BY_NAME)))
@click.option("--all", "run_all", is_flag=True, help="Run every job, in the order of `jobs list`.")
def run_command(names: tuple[str, ...], run_all: bool) -> None:
    """Run the named jobs once, now (safe beside running workers)."""
    if run_all == bool(names):
        raise click.UsageError("Name the jobs to run, or give --all.")
    chosen = JOBS if run_all else tuple(BY_NAME[name] for name in names)
    failed = []
    for job in chosen:
        started = time.monotonic()
        try:
            done = job.run()
        except Exception as error:  # one failing job must not keep the others from running
            log.exception("jobs: %s failed", job.name)
            db.session.rollback()
            click.echo(f"{job.name}: failed ({type(error).__name__})", err=True)
            failed.append(job.name)
            continue
        seconds = time.monotonic() - started
        did = f", {done} changed" if isinstance(done, int) else ""
        click.echo(f"{job.name}: done in {seconds:.2f} s{did}")
    if failed:
        sys.exit(1)


def init_app(app: Flask) -> None:
    app.cli.add_command(jobs_cli)
