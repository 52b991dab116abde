from datetime import timedelta
from pathlib import Path

from flask import Flask

from portal import create_app
from portal.database import utcnow
from portal.extensions import db
from portal.messaging.outbox import OutboundMessage, queue_message
from portal.worker import WorkerHeartbeat, beat, note_error
from tests.conftest import make_environ
from tests.process_helpers import log_tail, wait_for, worker


def test_healthy_with_a_live_worker_and_no_backlog(migrated_app: Flask) -> None:
    with migrated_app.app_context():
        beat("test-worker")
    response = migrated_app.test_client().get("/healthz")
    assert response.status_code == 200
    body = response.get_json()
    assert body["database"] is True and body["outbox_backlog"] == 0
    assert 0 <= body["worker_heartbeat_age_seconds"] < 5


def test_unhealthy_without_a_worker(migrated_app: Flask) -> None:
    response = migrated_app.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.get_json()["worker_heartbeat_age_seconds"] is None


def test_unhealthy_when_messages_wait_too_long(migrated_app: Flask) -> None:
    with migrated_app.app_context():
        beat("test-worker")
        queue_message(to="+13145550100", body="x", sender="line", purpose="texter_reply")
        db.session.commit()
        db.session.execute(db.update(OutboundMessage).values(created_at=utcnow() - timedelta(minutes=5)))
        db.session.commit()
    response = migrated_app.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.get_json()["outbox_backlog"] == 1


def test_unhealthy_when_the_database_cannot_be_reached(tmp_path: Path) -> None:
    unreachable = f"sqlite:///{tmp_path / 'missing-folder' / 'portal.db'}"
    app = create_app({"TESTING": True}, environ=make_environ(tmp_path, PORTAL_DATABASE_URL=unreachable))
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.get_json()["database"] is False


def queue_aged(purpose: str, seconds: float) -> None:
    """A message still waiting for Twilio, queued `seconds` ago."""
    message = queue_message(to="+13145550111", body="CIT REQUEST R-AAAAAA", sender="line", purpose=purpose)
    db.session.flush()
    message.created_at = utcnow() - timedelta(seconds=seconds)
    db.session.commit()


def test_unhealthy_when_a_dispatch_alert_waits_past_the_dispatch_timeout(migrated_app: Flask) -> None:
    # The dispatch timeout is 60 seconds: an alert 90 seconds old has missed it, though
    # the outbox as a whole is not yet stuck (2 minutes).
    client = migrated_app.test_client()
    with migrated_app.app_context():
        beat("test-worker")
        queue_aged("texter_reply", 90)
    assert client.get("/healthz").status_code == 200
    with migrated_app.app_context():
        queue_aged("dispatch_alert", 30)
    body = client.get("/healthz").get_json()
    assert 29 <= body["oldest_undelivered_alert_age_seconds"] < 40 and body["problems"] == []
    with migrated_app.app_context():
        queue_aged("fallback_alert", 90)
    response = client.get("/healthz")
    assert response.status_code == 503
    body = response.get_json()
    assert 89 <= body["oldest_undelivered_alert_age_seconds"] < 100
    assert body["problems"] == ["dispatch alert not sent within the dispatch timeout"]
    assert body["outbox_backlog"] == 3


def test_an_alert_twilio_took_is_not_waiting(migrated_app: Flask) -> None:
    with migrated_app.app_context():
        beat("test-worker")
        queue_aged("dispatch_alert", 90)
        db.session.execute(db.update(OutboundMessage).values(status="delivered"))
        db.session.commit()
    response = migrated_app.test_client().get("/healthz")
    assert response.status_code == 200
    assert response.get_json()["oldest_undelivered_alert_age_seconds"] is None


def test_the_alert_limit_follows_the_dispatch_timeout_setting(tmp_path: Path) -> None:
    from flask_migrate import upgrade

    app = create_app({"TESTING": True}, environ=make_environ(tmp_path, PORTAL_DISPATCH_TIMEOUT="120"))
    with app.app_context():
        upgrade()
        beat("test-worker")
        queue_aged("dispatch_alert", 90)
    assert app.test_client().get("/healthz").status_code == 200


def test_the_running_workers_errors_are_counted(any_database_app: Flask) -> None:
    app = any_database_app
    with app.app_context():
        beat("stopped-worker")
        note_error("stopped-worker")  # its errors are history once it stopped
        db.session.execute(
            db.update(WorkerHeartbeat)
            .where(WorkerHeartbeat.worker == "stopped-worker")
            .values(beat_at=utcnow() - timedelta(hours=1))
        )
        db.session.commit()
        beat("quiet-worker")
        beat("failing-worker")
        note_error("failing-worker")
        note_error("failing-worker")
    response = app.test_client().get("/healthz")
    assert response.status_code == 200  # failing and going on: worth a look, still serving
    body = response.get_json()
    assert body["workers_running"] == 2
    assert body["worker_errors"] == 2
    # Reported on PostgreSQL too, where a worker without errors sorts first in ORDER BY DESC.
    assert 0 <= body["worker_last_error_age_seconds"] < 5


def healthz_status(app: Flask) -> int:
    return app.test_client().get("/healthz").status_code


def test_unhealthy_when_the_worker_stops_and_healthy_when_it_starts_again(tmp_path: Path) -> None:
    """A real `flask --app portal worker` process, killed and started again."""
    from flask_migrate import upgrade

    environ = make_environ(tmp_path)
    app = create_app({"TESTING": True}, environ=environ)
    with app.app_context():
        upgrade()
    assert healthz_status(app) == 503  # no worker yet
    log = tmp_path / "worker.log"
    process = worker("worker", environ, log)
    try:
        assert wait_for(lambda: healthz_status(app) == 200, seconds=60), log_tail(log)
        process.kill()  # SIGKILL: no chance to say goodbye
        # Rather than wait 15 seconds for silence, age the dead worker's last heartbeat.
        with app.app_context():
            db.session.execute(db.update(WorkerHeartbeat).values(beat_at=utcnow() - timedelta(seconds=16)))
            db.session.commit()
        response = app.test_client().get("/healthz")
        assert response.status_code == 503
        assert response.get_json()["problems"] == ["no worker running"]
        assert response.get_json()["workers_running"] == 0
        process.start()
        assert wait_for(lambda: healthz_status(app) == 200, seconds=60), log_tail(log)
        assert app.test_client().get("/healthz").get_json()["workers_running"] == 1
    finally:
        process.stop()
