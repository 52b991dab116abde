from pathlib import Path

from portal import create_app
from tests.conftest import make_environ


def test_healthy_when_the_database_answers(client) -> None:  # type: ignore[no-untyped-def]
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json()["database"] is True


def test_unhealthy_when_the_database_cannot_be_reached(tmp_path: Path) -> None:
    unreachable = f"sqlite:///{tmp_path / 'missing-folder' / 'portal.db'}"
    app = create_app({"TESTING": True}, environ=make_environ(tmp_path, PORTAL_DATABASE_URL=unreachable))
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.get_json()["database"] is False
