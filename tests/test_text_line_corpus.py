"""Real texters' conversations, replayed through the signed webhook with a worker running.

tests/scenarios/textline.tsv holds them (the shared scenarios, grown): each must reach
dispatch with its place in the texter's words, or be asked again where help is needed,
with every reply in the texter's language.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import select

from portal.dispatch.models import CitRequest
from portal.extensions import db
from portal.phones import phone_index
from tests.fake_twilio import FakeTwilio
from tests.reply_language import language_of, sources_of
from tests.text_line_helpers import (
    DISPATCH,
    make_text_line_app,
    reply_text,
    running_worker,
    send_text,
    wait_until,
)

CORPUS = Path(__file__).with_name("scenarios") / "textline.tsv"
LANGUAGES = ("en", "es", "bs", "vi", "zh", "ar")
# A text that is only one of these changes the reply language (DESIGN.md, SMS texts).
SWITCH_WORDS = {
    "EN",
    "ES",
    "ESPAÑOL",
    "ESPANOL",
    "BS",
    "BOSANSKI",
    "VI",
    "TIENG VIET",
    "TIẾNG VIỆT",
    "ZH",
    "中文",
    "AR",
    "عربي",
    "العربية",
}


@dataclass(frozen=True)
class Conversation:
    id: str
    language: str
    texts: tuple[str, ...]
    expect: str


def read_corpus() -> list[Conversation]:
    rows = [line.rstrip("\n").split("\t") for line in CORPUS.read_text(encoding="utf-8").splitlines()]
    rows = [row for row in rows if row[0] and not row[0].startswith("#") and row[0] != "id"]
    return [Conversation(row[0], row[1], tuple(row[2].split(" || ")), row[3]) for row in rows]


def test_the_corpus_is_large_and_in_every_language() -> None:
    conversations = read_corpus()
    assert len(conversations) >= 100
    assert len({conversation.id for conversation in conversations}) == len(conversations)
    for language in LANGUAGES:
        mine = [c for c in conversations if c.language == language]
        assert len(mine) >= 15, language
        assert {c.expect.split(":")[0] for c in mine} == {"dispatch", "ask"}, language


@pytest.fixture(scope="module")
def replayed(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[Flask, FakeTwilio, dict[str, list[str]]]]:
    """Every conversation, each from its own phone, through one app with a worker."""
    fake = FakeTwilio().start()
    app = make_text_line_app(tmp_path_factory.mktemp("corpus"), fake)
    client = app.test_client()
    replies: dict[str, list[str]] = {}
    numbers = (f"+1314555{n:04d}" for n in itertools.count(2000))
    with running_worker(app):
        for conversation in read_corpus():
            number = next(numbers)
            replies[conversation.id] = [number] + [
                reply_text(send_text(client, text, sender=number)) for text in conversation.texts
            ]
        with app.app_context():
            references = list(db.session.scalars(select(CitRequest.reference)))

        def every_request_alerted() -> bool:
            alerted = [m.body for m in fake.messages if m.to in DISPATCH]
            return all(
                sum(reference in body for body in alerted) >= len(DISPATCH) for reference in references
            )

        wait_until(every_request_alerted, seconds=60)
    yield app, fake, replies
    fake.stop()


@pytest.mark.parametrize("conversation", read_corpus(), ids=lambda conversation: conversation.id)
def test_a_real_conversation_holds(replayed, conversation: Conversation) -> None:  # type: ignore[no-untyped-def]
    app, fake, replies = replayed
    number, *answers = replies[conversation.id]
    switched = [n for n, text in enumerate(conversation.texts) if text.strip().upper() in SWITCH_WORDS]
    for n, (text, answer) in enumerate(zip(conversation.texts, answers, strict=True)):
        assert answer, f"no reply to {text!r}"
        assert "911" in answer
        if not switched or n >= switched[-1]:  # before a switch word, the first guess
            assert conversation.language in language_of(answer), (text, answer)
    with app.app_context():
        found = db.session.scalars(
            select(CitRequest).where(CitRequest.callback_index == phone_index(number))
        ).all()
        places = [(request.location, request.reference) for request in found]
    if conversation.expect == "ask":
        assert places == [], f"dispatched as a place: {places}"
        asked = sources_of(answers[-1])
        assert any("address" in source or "place" in source for source in asked), answers[-1]
        return
    wanted = conversation.expect.removeprefix("dispatch:").strip()
    assert len(places) == 1, places
    location, reference = places[0]
    assert location is not None and wanted in location, (location, wanted)
    alerts = [m.body for m in fake.messages if m.to in DISPATCH and reference in m.body]
    assert any(wanted in body for body in alerts), alerts
