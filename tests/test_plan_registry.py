"""The crisis-plan registry through its pages, with CSRF protection on."""

from __future__ import annotations

import io
import logging
import re
from datetime import timedelta
from pathlib import Path

import pytest
from flask import Flask
from PIL import Image
from sqlalchemy import func, select

from portal.audit import PLAN_VIEW, record
from portal.database import utcnow
from portal.extensions import db
from portal.messaging.outbox import OutboundMessage
from portal.plans.models import CrisisPlan, PlanDraft, PlanPhone, PlanPhoto
from tests.registry_helpers import CONSENT, PERSON, Registrant, e164


@pytest.fixture
def registrant(migrated_app: Flask) -> Registrant:
    return Registrant(migrated_app, migrated_app.test_client())


def count(app: Flask, model: type) -> int:
    with app.app_context():
        return int(db.session.scalar(select(func.count()).select_from(model)) or 0)


def test_a_complete_plan_is_filed_and_shown_with_its_reference(registrant: Registrant) -> None:
    overview = registrant.file_plan()
    reference = re.search(r"Crisis plan <bdi[^>]*>([2-9A-Z]{4}-[2-9A-Z]{4})</bdi>", overview)
    assert reference, overview
    assert "Quiet voice, music" in overview and "Sirens or flashing lights" in overview
    assert "CIT officer requested" in overview
    card = registrant.client.get("/crisis-plan/card").get_data(as_text=True)
    assert "In a crisis, call 911 and ask for a CIT officer." in card and reference.group(1) in card
    assert count(registrant.app, PlanDraft) == 0, "the draft goes once the plan is filed"


def test_a_plan_filed_in_spanish_has_a_spanish_card(migrated_app: Flask) -> None:
    registrant = Registrant(migrated_app, migrated_app.test_client(), prefix="/es")
    overview = registrant.file_plan(consent={**CONSENT, "language": "es"})
    assert '<html lang="es"' in overview
    card = registrant.client.get("/crisis-plan/card").get_data(as_text=True)
    assert "En una crisis, llame al 911" in card
    assert 'lang="es"' in card


def test_bad_input_keeps_what_was_typed_and_explains_each_field(registrant: Registrant) -> None:
    registrant.post("/crisis-plan/start", {"action": "new"})
    typed = {"name": "", "preferred_name": "Jojo", "birth_date": "2999-01-01", "pronouns": "they/them"}
    response = registrant.step("person", typed)
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert 'value="Jojo"' in page and 'value="they/them"' in page and 'value="2999-01-01"' in page
    assert 'href="#name"' in page and 'href="#birth_date"' in page  # the error summary links
    assert "The date of birth must be in the past." in page
    assert 'aria-describedby="name-error"' in page or 'aria-describedby="name-hint name-error"' in page
    # Coming back later (or after a closed tab), the typed answers are still there.
    again = registrant.client.get("/crisis-plan/step/person").get_data(as_text=True)
    assert 'value="Jojo"' in again and 'value="they/them"' in again


@pytest.mark.parametrize(
    "junk",
    ["", "\x00", "é" * 5000, "<script>alert(1)</script>", "2024-02-30", "1e9", "-1", "' OR 1=1 --"],
)
def test_no_step_answers_500_to_bad_input(registrant: Registrant, junk: str) -> None:
    registrant.post("/crisis-plan/start", {"action": "new"})
    for slug in ("person", "where", "crisis", "care", "people", "consent"):
        data = dict.fromkeys(
            (
                "name",
                "birth_date",
                "home_address",
                "what_helps",
                "triggers",
                "filed_by",
                "language",
                "emergency_contacts",
                "diagnoses",
            ),
            junk,
        )
        response = registrant.step(slug, data)
        # Nobody types a NUL: it is refused whole (400), as PostgreSQL would refuse it.
        expected = (400,) if "\x00" in junk else (200, 302)
        assert response.status_code in expected, (slug, response.status_code)
        assert "<script>alert(1)</script>" not in response.get_data(as_text=True)
    response = registrant.post(
        "/crisis-plan/step/phones", {"action": "add", "add-number": junk, "add-role": junk}
    )
    assert response.status_code == (400 if "\x00" in junk else 200)


def test_switching_language_on_a_form_page_saves_the_draft(registrant: Registrant) -> None:
    registrant.post("/crisis-plan/start", {"action": "new"})
    response = registrant.post(
        "/crisis-plan/step/person", {"switch_language": "ar", "name": "Jordan Rivers", "preferred_name": "Jo"}
    )
    assert response.status_code == 302 and response.headers["Location"] == "/ar/crisis-plan/step/person"
    page = registrant.client.get("/ar/crisis-plan/step/person").get_data(as_text=True)
    assert '<html lang="ar" dir="rtl">' in page
    assert 'value="Jordan Rivers"' in page and 'value="Jo"' in page


def test_drafts_are_encrypted_and_kept_off_the_cookie(registrant: Registrant, tmp_path: Path) -> None:
    registrant.post("/crisis-plan/start", {"action": "new"})
    registrant.step("person", {**PERSON, "name": "Canary Q9Z"})
    cookie = registrant.client.get_cookie("session")
    assert cookie is not None and "Canary" not in cookie.decoded_value
    with registrant.app.app_context():
        db.engine.dispose()
    for path in tmp_path.glob("portal.db*"):
        assert b"Canary Q9Z" not in path.read_bytes()


def test_a_used_code_fails_and_five_wrong_codes_lock_the_phone(registrant: Registrant) -> None:
    registrant.post("/crisis-plan/start", {"action": "new"})
    registrant.add_phone("314.555.0100", "filer")
    code = registrant.last_code("+13145550100")
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    for _attempt in range(4):
        page = registrant.verify_phone(0, wrong).get_data(as_text=True)
        assert "That code is not right" in page
    page = registrant.verify_phone(0, wrong).get_data(as_text=True)
    assert "Too many wrong codes" in page
    # Locked: even the right code is refused for now.
    assert "Too many wrong codes" in registrant.verify_phone(0, code).get_data(as_text=True)

    with registrant.app.app_context():
        from portal.plans.models import PhoneLockout

        db.session.execute(db.update(PhoneLockout).values(locked_until=utcnow() - timedelta(seconds=1)))
        db.session.commit()
    assert registrant.verify_phone(0, code).status_code == 302  # unlocked: the code works once
    registrant.post(
        "/crisis-plan/step/phones", {"action": "add", "add-number": "(314) 555-0144", "add-role": "other"}
    )
    with registrant.app.app_context():
        from portal.plans.codes import CodeCheck, check_code

        assert check_code("+13145550100", "verify", code) is CodeCheck.WRONG  # used up


def test_only_the_filer_and_the_person_can_sign_in(registrant: Registrant, migrated_app: Flask) -> None:
    registrant.file_plan()
    registrant.post("/crisis-plan/change/phones", {}, token_from="/crisis-plan/")
    registrant.add_phone("(314) 555-0166", "other")
    registrant.verify_phone(1, registrant.last_code("+13145550166"))
    # A new phone changes who dispatch finds the plan for: acknowledged again, then saved.
    assert registrant.post("/crisis-plan/step/phones", {"action": "next"}).headers["Location"] == (
        "/crisis-plan/review"
    )
    assert registrant.post("/crisis-plan/review", {"understood": "y"}).headers["Location"] == "/crisis-plan/"
    with migrated_app.app_context():
        before = db.session.scalar(select(func.count()).select_from(OutboundMessage))

    visitor = Registrant(migrated_app, migrated_app.test_client())
    for number, expect_code in (("314-555-0166", False), ("(314) 555-0199", False), ("(314) 555-0100", True)):
        response = visitor.post("/crisis-plan/sign-in", {"number": number})
        assert response.status_code == 302  # the same answer either way
        with migrated_app.app_context():
            after = db.session.scalar(select(func.count()).select_from(OutboundMessage))
        assert (after > before) is expect_code, number
        before = after

    code = visitor.last_code("+13145550100")
    response = visitor.post("/crisis-plan/sign-in/code", {"code": code})
    assert response.headers["Location"] == "/crisis-plan/"
    assert "Jordan Rivers" in visitor.client.get("/crisis-plan/").get_data(as_text=True)


def test_edit_renew_and_access_log(registrant: Registrant) -> None:
    registrant.file_plan()
    # One section changed from the plan page and saved at once: no walk through every step.
    changing = registrant.post("/crisis-plan/change/crisis", {}, token_from="/crisis-plan/")
    assert changing.headers["Location"] == "/crisis-plan/step/crisis"
    response = registrant.step("crisis", {"what_helps": "Slow breathing together", "triggers": ["loud"]})
    assert response.headers["Location"] == "/crisis-plan/"
    overview = registrant.client.get("/crisis-plan/").get_data(as_text=True)
    assert "Slow breathing together" in overview and "Quiet voice" not in overview

    # Turning the CIT request off changes what dispatch is told: asked to acknowledge again.
    registrant.post("/crisis-plan/change/consent", {}, token_from="/crisis-plan/")
    response = registrant.step("consent", {**CONSENT, "cit_requested": "no"})
    assert response.headers["Location"] == "/crisis-plan/review"
    refused = registrant.post("/crisis-plan/review", {})
    assert refused.status_code == 200 and "Please confirm you have read this." in refused.get_data(
        as_text=True
    )
    assert registrant.post("/crisis-plan/review", {"understood": "y"}).headers["Location"] == "/crisis-plan/"
    assert "No CIT officer requested." in registrant.client.get("/crisis-plan/").get_data(as_text=True)

    with registrant.app.app_context():
        plan = db.session.scalars(select(CrisisPlan)).one()
        plan.confirmed_at = utcnow() - timedelta(days=350)
        record(
            PLAN_VIEW,
            actor_id=7,
            actor_name="Dispatcher Lee",
            plan_reference=plan.reference,
            reason="incoming 911 call",
        )
        db.session.commit()
    assert "This plan ends soon" in registrant.client.get("/crisis-plan/").get_data(as_text=True)
    registrant.post("/crisis-plan/renew", {}, token_from="/crisis-plan/")
    assert "This plan ends soon" not in registrant.client.get("/crisis-plan/").get_data(as_text=True)

    log = registrant.client.get("/crisis-plan/access-log").get_data(as_text=True)
    assert "A 911 dispatcher" in log and "incoming 911 call" in log
    assert "Lee" not in log  # a role for the family, never a staff member's name or e-mail


def test_withdrawal_deletes_every_row_of_the_plan(registrant: Registrant) -> None:
    registrant.file_plan()
    registrant.post("/crisis-plan/change/person", {}, token_from="/crisis-plan/")  # leaves an edit draft
    assert count(registrant.app, PlanDraft) == 1
    response = registrant.post("/crisis-plan/withdraw", {})
    assert response.status_code == 302
    for model in (CrisisPlan, PlanPhone, PlanDraft, PlanPhoto):
        assert count(registrant.app, model) == 0, model.__name__
    assert registrant.client.get("/crisis-plan/").headers["Location"] == "/crisis-plan/sign-in"


def jpeg_with_location() -> bytes:
    image = Image.new("RGB", (64, 48), "teal")
    exif = Image.Exif()
    exif[0x010F] = "CameraMaker"  # Make
    exif[0x8825] = {2: (38.0, 37.0, 0.0)}  # GPSInfo
    out = io.BytesIO()
    image.save(out, format="JPEG", exif=exif)
    return out.getvalue()


def test_photos_are_checked_by_content_and_stripped_of_metadata(registrant: Registrant) -> None:
    registrant.post("/crisis-plan/start", {"action": "new"})
    registrant.step("person", {**PERSON, "preferred_name": "Kept"})

    def upload(data: bytes, name: str) -> str:
        response = registrant.post(
            "/crisis-plan/step/photo",
            {"action": "upload", "photo": (io.BytesIO(data), name)},
            content_type="multipart/form-data",
        )
        return response.get_data(as_text=True) if response.status_code == 200 else ""

    gif = io.BytesIO()
    Image.new("RGB", (4, 4)).save(gif, format="GIF")
    for data, name in (
        (b"%PDF-1.4 not a photo", "photo.jpg"),
        (gif.getvalue(), "photo.png"),
        (b"\xff\xd8" + b"0" * (5 * 1024 * 1024), "broken.jpg"),
    ):
        assert "This file is not a photo we can use" in upload(data, name), name
    assert "This photo is larger than 25 MB" in upload(b"\xff\xd8" + b"0" * (25 * 1024 * 1024), "big.jpg")
    assert 'value="Kept"' in registrant.client.get("/crisis-plan/step/person").get_data(as_text=True)

    assert upload(jpeg_with_location(), "me.jpg") == ""  # accepted: redirected
    stored = registrant.client.get("/crisis-plan/step/photo/image").data
    with Image.open(io.BytesIO(stored)) as image:
        assert image.format == "JPEG" and image.size == (64, 48)
        assert not image.getexif()
    assert b"CameraMaker" not in stored


def test_a_family_member_filing_for_an_adult_needs_the_persons_confirmation(
    registrant: Registrant, migrated_app: Flask
) -> None:
    registrant.post("/crisis-plan/start", {"action": "new"})
    registrant.step("person", PERSON)
    registrant.step("where", {})
    registrant.add_phone("(314) 555-0100", "filer")
    registrant.verify_phone(0, registrant.last_code("+13145550100"))
    registrant.add_phone("(314) 555-0177", "person")
    registrant.verify_phone(1, registrant.last_code("+13145550177"))
    for slug, data in (
        ("crisis", {"what_helps": "Music"}),
        ("care", {}),
        ("people", {"emergency_contacts": "Mom"}),
    ):
        registrant.step(slug, data)
    registrant.step("consent", {**CONSENT, "filed_by": "family"})
    registrant.post("/crisis-plan/review", {"understood": "y"})
    with migrated_app.app_context():
        plan = db.session.scalars(select(CrisisPlan)).one()
        assert plan.filed_by == "family" and plan.person_confirmed_at is None
    # What the person sees and answers is in tests/test_person_consent.py.
    person = Registrant(migrated_app, migrated_app.test_client())
    assert person.last_code("+13145550177")  # the person was texted a code to confirm


def test_a_filled_honeypot_files_nothing(registrant: Registrant) -> None:
    response = registrant.post("/crisis-plan/start", {"action": "new", "website": "http://spam.example"})
    assert response.status_code == 302
    assert count(registrant.app, PlanDraft) == 0


def test_plan_starts_and_code_requests_are_rate_limited(registrant: Registrant) -> None:
    statuses = [
        registrant.post("/crisis-plan/start", {"action": "new", "confirmed": "1"}).status_code
        for _ in range(11)
    ]
    assert statuses[:10] == [302] * 10 and statuses[10] == 429
    visitor = Registrant(registrant.app, registrant.app.test_client())
    for _attempt in range(10):  # ten codes an hour to one phone
        visitor.post("/crisis-plan/sign-in", {"number": "(314) 555-0100"})
    page = visitor.post("/crisis-plan/sign-in", {"number": "(314) 555-0100"}).get_data(as_text=True)
    assert "Too many codes were asked for" in page


def test_every_registry_form_refuses_a_missing_csrf_token(
    registrant: Registrant, migrated_app: Flask
) -> None:
    registrant.file_plan()
    forms = {
        rule.rule
        for rule in migrated_app.url_map.iter_rules()
        if rule.endpoint.startswith("plans.")
        and "POST" in (rule.methods or ())
        and not rule.rule.startswith("/<")
    }
    assert {
        "/crisis-plan/start",
        "/crisis-plan/step/phones",
        "/crisis-plan/withdraw",
        "/crisis-plan/sign-in",
    } <= forms
    for path in forms:
        path = re.sub(r"<any\((\w+)[^>]*>", r"\1", path)
        response = registrant.client.post(path, data={"action": "next", "name": "x"})
        assert response.status_code == 400, path
        assert "Please try again" in response.get_data(as_text=True)
    assert count(migrated_app, CrisisPlan) == 1  # still there: nothing was withdrawn


# The registry's scheduled jobs, by the names an operator types (portal/jobs.py).
PLAN_JOBS = ("plan-reminders", "delete-ended-plans", "delete-expired-drafts", "delete-used-codes")


def test_lifecycle_reminds_twice_then_deletes(registrant: Registrant) -> None:
    registrant.file_plan()
    app = registrant.app

    def age_plan(days: int) -> None:
        with app.app_context():
            db.session.execute(db.update(CrisisPlan).values(confirmed_at=utcnow() - timedelta(days=days)))
            db.session.commit()

    def reminders() -> list[str]:
        with app.app_context():
            return [
                m.body
                for m in db.session.scalars(
                    select(OutboundMessage).where(OutboundMessage.purpose == "plan_reminder")
                )
            ]

    def run_plan_jobs() -> None:
        """As the worker runs them, or an operator with `flask --app portal jobs run`."""
        result = app.test_cli_runner().invoke(args=["jobs", "run", *PLAN_JOBS])
        assert result.exit_code == 0, result.output

    with app.app_context():
        age_plan(300)
        run_plan_jobs()
        assert reminders() == []
        age_plan(340)
        run_plan_jobs()
        run_plan_jobs()  # safe to run twice
        assert len(reminders()) == 1 and "/crisis-plan/sign-in" in reminders()[0]
        age_plan(360)
        run_plan_jobs()
        assert len(reminders()) == 2
        age_plan(365 + 29)
        run_plan_jobs()
        assert count(app, CrisisPlan) == 1  # still in its grace period
        age_plan(365 + 31)
        run_plan_jobs()
    for model in (CrisisPlan, PlanPhone, PlanPhoto):
        assert count(app, model) == 0, model.__name__


def test_no_plan_contents_or_phones_in_any_log_line(
    registrant: Registrant, caplog: pytest.LogCaptureFixture
) -> None:
    canary = "Canary-4d1f"
    with caplog.at_level(logging.DEBUG):
        registrant.file_plan(person={**PERSON, "name": f"Jordan {canary}"}, crisis={"what_helps": canary})
        registrant.client.get("/crisis-plan/print")
        from portal.messaging.gateway import ConsoleGateway
        from portal.messaging.outbox import deliver_due

        with registrant.app.app_context():
            deliver_due(ConsoleGateway())
    text = "\n".join(record.getMessage() for record in caplog.records)
    assert canary not in text
    assert "5550100" not in text and "555-0100" not in text and e164("3145550100") not in text


def cookie_of(client) -> str:  # type: ignore[no-untyped-def]
    cookie = client.get_cookie("session")
    assert cookie is not None
    return cookie.value


def test_an_old_cookie_never_opens_the_next_familys_plan(migrated_app: Flask) -> None:
    """A family signs in, keeps a copy of its cookie and withdraws; the next plan filed
    (on SQLite it may get the same row id) stays closed to that copy."""
    first = Registrant(migrated_app, migrated_app.test_client())
    first.file_plan(phone="(314) 555-0101")
    kept = cookie_of(first.client)
    first.post("/crisis-plan/withdraw", {})
    second = Registrant(migrated_app, migrated_app.test_client())
    second.file_plan(phone="(314) 555-0102", care={"medications": "Canary-Med"})
    thief = migrated_app.test_client()
    thief.set_cookie("session", kept)
    for path in ("/crisis-plan/", "/crisis-plan/print", "/crisis-plan/access-log"):
        response = thief.get(path)
        assert response.status_code == 302 and "Canary-Med" not in response.get_data(as_text=True), path


def test_signing_out_ends_the_session_on_the_server(registrant: Registrant) -> None:
    registrant.file_plan()
    kept = cookie_of(registrant.client)
    registrant.post("/crisis-plan/sign-out", {}, token_from="/crisis-plan/")
    replay = registrant.app.test_client()
    replay.set_cookie("session", kept)
    assert replay.get("/crisis-plan/").status_code == 302


def test_plan_pages_are_not_stored_and_the_cookie_holds_no_phone_or_plan(registrant: Registrant) -> None:
    import base64
    import zlib

    registrant.file_plan(phone="(314) 555-0177")
    page = registrant.client.get("/crisis-plan/")
    assert page.headers["Cache-Control"] == "no-store"
    payload = cookie_of(registrant.client).lstrip(".").split(".")[0]
    raw = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
    decoded = zlib.decompress(raw).decode() if cookie_of(registrant.client).startswith(".") else raw.decode()
    with registrant.app.app_context():
        plan = db.session.scalars(select(CrisisPlan)).one()
    assert "5550177" not in decoded and f'"registrant_plan":{plan.id}' not in decoded


def small_png_of_a_huge_picture(side: int = 8890) -> bytes:
    """A PNG of a few hundred KB that declares side x side RGBA pixels (a gigabyte decoded)."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    packer = zlib.compressobj(9)
    row = b"\x00" * (1 + side * 4)
    pixels = b"".join(packer.compress(row) for _ in range(side)) + packer.flush()
    header = struct.pack(">IIBBBBB", side, side, 8, 6, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")


def test_a_small_file_of_a_huge_picture_is_refused_before_decoding(registrant: Registrant) -> None:
    from portal.plans.photos import RefusedPhoto, clean_photo

    bomb = small_png_of_a_huge_picture()
    assert len(bomb) < 500_000
    with pytest.raises(RefusedPhoto, match="too many pixels"):
        clean_photo(bomb)
    camera = io.BytesIO()
    Image.new("RGB", (4032, 3024), "teal").save(camera, format="JPEG", quality=60)  # a phone's 12 MP
    with Image.open(io.BytesIO(clean_photo(camera.getvalue()))) as image:
        assert max(image.size) == 800  # what the officer brief needs


@pytest.mark.parametrize(
    "number",
    ["+44 7700 900123", "+882 35 1234 5678", "+232 76 123456", "1-900-555-1234", "(314) 555-01"],
)
def test_codes_are_texted_only_to_phones_of_the_agencys_countries(
    registrant: Registrant, number: str
) -> None:
    registrant.post("/crisis-plan/start", {"action": "new"})
    response = registrant.post(
        "/crisis-plan/step/phones", {"action": "add", "add-number": number, "add-role": "filer"}
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and f'value="{number}"' in page  # nothing typed is lost
    assert "We can only send text messages to phones in: United States, Canada." in page or (
        "Enter a phone number like" in page
    )
    with registrant.app.app_context():
        assert db.session.scalars(select(OutboundMessage)).all() == []


def test_a_canadian_mobile_gets_its_code(registrant: Registrant) -> None:
    registrant.post("/crisis-plan/start", {"action": "new"})
    registrant.add_phone("+1 613 555 0123", "filer")
    assert registrant.last_code("+16135550123")


def test_an_edit_draft_ends_with_the_sign_in(registrant: Registrant) -> None:
    """On a shared phone the next person must not read or change the plan through the
    draft "Change the plan" made, once the sign-in has run out."""
    from portal.plans.models import RegistrantSession

    registrant.file_plan(care={"medications": "Canary-Med"})
    registrant.post("/crisis-plan/change/care", {}, token_from="/crisis-plan/")
    assert "Canary-Med" in registrant.client.get("/crisis-plan/step/care").get_data(as_text=True)
    token = registrant.token("/crisis-plan/step/care")
    with registrant.app.app_context():
        db.session.execute(
            db.update(RegistrantSession).values(last_active_at=utcnow() - timedelta(minutes=31))
        )
        db.session.commit()
        confirmed = db.session.scalars(select(CrisisPlan.confirmed_at)).one()
    assert "Canary-Med" not in registrant.client.get("/crisis-plan/step/care").get_data(as_text=True)
    registrant.client.post("/crisis-plan/step/consent", data={**token, "action": "next", **CONSENT})
    with registrant.app.app_context():
        assert db.session.scalars(select(CrisisPlan.confirmed_at)).one() == confirmed  # not saved


def test_nobody_can_lock_a_family_out_with_guesses_for_a_code_never_sent(registrant: Registrant) -> None:
    registrant.file_plan(phone="(314) 555-0100")
    registrant.post("/crisis-plan/sign-out", {}, token_from="/crisis-plan/")
    stranger = Registrant(registrant.app, registrant.app.test_client())
    for guess in range(6):
        stranger.post(
            "/crisis-plan/confirm", {"phone-number": "314 555 0100", "confirm-code": f"{guess:06d}"}
        )
    family = Registrant(registrant.app, registrant.app.test_client())
    family.post("/crisis-plan/sign-in", {"number": "(314) 555-0100"})
    response = family.post("/crisis-plan/sign-in/code", {"code": family.last_code("+13145550100")})
    assert response.status_code == 302 and response.headers["Location"].endswith("/crisis-plan/")


def test_a_draft_may_try_only_so_many_photos(registrant: Registrant) -> None:
    registrant.post("/crisis-plan/start", {"action": "new"})
    photo = io.BytesIO()
    Image.new("RGB", (8, 8), "teal").save(photo, format="JPEG")
    pages = [
        registrant.post(
            "/crisis-plan/step/photo",
            {"action": "upload", "photo": (io.BytesIO(photo.getvalue()), "me.jpg")},
            content_type="multipart/form-data",
        )
        for _ in range(21)
    ]
    assert all(page.status_code == 302 for page in pages[:20])
    assert "Too many photos were uploaded" in pages[20].get_data(as_text=True)
