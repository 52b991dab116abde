from datetime import timedelta
from pathlib import Path

from flask import Flask

from portal import create_app
from portal.database import utcnow
from portal.extensions import db
from portal.messaging.outbox import OutboundMessage, queue_message
from portal.worker import beat
from tests.conftest import make_environ


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
