"""Review files for the agency's language partners, and taking their answers back.

    python -m portal.translation_review review [--screenshots]
    python -m portal.translation_review import [--language es --file path/to/es.xlf]

`review` writes translations/review/<catalogue>.xlf for every catalogue, made by
translate-toolkit's po2xliff: XLIFF opens in free translation tools (Poedit, OmegaT)
and keeps each string's notes, source location and language, so partners never
edit a .po file. `import` copies the translations a partner changed back into the .po,
after checks that protect what the portal relies on; if any check fails it writes nothing.

Run by make and by maintainers only: the web app never imports this module.
"""

from __future__ import annotations

import argparse
import hashlib
import logging
import re
import secrets
import sys
import tempfile
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from io import BytesIO
from pathlib import Path

from babel.dates import format_date
from babel.messages.catalog import Catalog, Message
from babel.messages.pofile import read_po, write_po
from cryptography.fernet import Fernet
from translate.convert.po2xliff import po2xliff
from translate.misc.multistring import multistring
from translate.storage.po import pofile
from translate.storage.poxliff import PoXliffFile

from portal import PROJECT_ROOT
from portal.agency import load_agency
from portal.i18n import LANGUAGES
from portal.messaging.segments import segment_count
from portal.public import PAGES

TRANSLATIONS = PROJECT_ROOT / "translations"
CHROMIUM = Path("/usr/bin/chromium")

# The limit every text is held to in every language (tests/test_sms_texts.py and
# tests/test_person_consent.py check the rendered bodies against it).
TEXT_SEGMENTS = 3

# Every string in these files is a text message.
TEXT_MESSAGE_FILES = (
    "portal/sms/",
    "portal/dispatch/texts.py",
    "portal/plans/lifecycle.py",  # the renewal reminder
    "portal/plans/services.py",  # "the plan is deleted", to the filer
    "portal/dispatch/family_texts.py",  # to the family: the plan was opened, the request closed
)
# The other plan modules mix texts with page messages; a text there says so in its
# translator note, or has a one-time code or a link in it (pages never spell out a URL).
TEXT_NOTE = re.compile(r"\bSMS\b|text message", re.IGNORECASE)
TEXT_SLOTS = ("{code}", "%(url)s")
# Plan texts go out from the notices number, and the outbox puts the campaign's name in
# front of every one of those (portal/messaging/outbox.py): it counts towards the limit.
NOTICES_FILES = ("portal/plans/", "portal/dispatch/family_texts.py")

# Where each place in the code shows its strings: (location prefix, screen, page rule).
# A rule of None: no page to show (a text message, or a screen that needs a sign-in).
# Public pages come from portal.public.PAGES (templates/public/<endpoint>.html).
SCREENS: tuple[tuple[str, str, str | None], ...] = (
    ("templates/base.html", "every page: header, menu and footer", "/"),
    ("templates/macros/", "parts shared by many pages", "/"),
    ("portal/public/", "page titles, menu and search-engine descriptions", "/"),
    ("portal/i18n.py", "the language menu", "/"),
    ("portal/agency.py", "the help page's crisis lines and groups", "/help"),
    ("templates/errors/", "error pages", None),
    ("templates/plans/start.html", "crisis-plan form: first page", "/crisis-plan/start"),
    ("templates/plans/sign_in.html", "crisis-plan form: sign-in", "/crisis-plan/sign-in"),
    ("templates/plans/", "crisis-plan form (after signing in)", None),
    ("portal/plans/", "crisis-plan form (after signing in)", None),
    ("templates/console/", "dispatch console (staff only)", None),
    ("portal/console/", "dispatch console (staff only)", None),
    ("portal/dispatch/", "dispatch console (staff only)", None),
)
PUBLIC_PAGES = {f"templates/public/{page.endpoint}.html": page.rule for page in PAGES}

# %(name)s and %(num)d (Python), {code} (str.format); 911 and 988 as whole numbers.
PLACEHOLDER = re.compile(r"%\(\w+\)[-#0 +]*\d*(?:\.\d+)?[a-zA-Z]|\{\w+\}")
CRISIS_NUMBERS = ("911", "988")
CONTEXT_NOTE = "Context: "
SENT = "sent"  # review/sent/: each catalogue as it was when its review file was made


class ImportRefused(Exception):
    """A reviewed file failed a check: the message names each entry."""


@dataclass(frozen=True)
class Place:
    screen: str
    page: str | None  # the path in the catalogue's language, e.g. /es/how-to-call
    screenshot: str | None  # next to the review file, e.g. es/how-to-call.png


def url_code(catalogue: str) -> str:
    """The language's code in URLs (zh for the zh_Hans catalogue)."""
    for language in LANGUAGES:
        if language.catalogue == catalogue:
            return language.code
    raise ImportRefused(f"{catalogue!r} is not one of the portal's languages")


def source_files(message: Message) -> list[str]:
    return [path for path, _line in message.locations]


def english(message: Message) -> list[str]:
    return list(message.id) if isinstance(message.id, tuple | list) else [message.id]


def forms(message: Message) -> list[str]:
    return list(message.string) if isinstance(message.string, tuple | list) else [message.string or ""]


def is_text_message(message: Message) -> bool:
    files = source_files(message)
    if any(path.startswith(TEXT_MESSAGE_FILES) for path in files):
        return True
    in_code = any(path.startswith("portal/") for path in files)
    noted = TEXT_NOTE.search(" ".join(message.auto_comments)) is not None
    return in_code and (noted or any(slot in text for text in english(message) for slot in TEXT_SLOTS))


def places(message: Message, catalogue: str) -> list[Place]:
    if is_text_message(message):
        return [Place("text message (SMS)", None, None)]
    found: list[Place] = []
    for path in source_files(message):
        screen, rule = "another screen", None
        if path in PUBLIC_PAGES:
            rule = PUBLIC_PAGES[path]
            screen = "public page " + ("home" if rule == "/" else rule.strip("/"))
        else:
            for prefix, where, page in SCREENS:
                if path.startswith(prefix):
                    screen, rule = where, page
                    break
        place = Place(screen, None, None)
        if rule is not None:
            slug = "home" if rule == "/" else rule.strip("/").replace("/", "-")
            place = Place(screen, f"/{url_code(catalogue)}{rule}", f"{catalogue}/{slug}.png")
        if place not in found:
            found.append(place)
    return found


def review_notes(message: Message, catalogue: str) -> list[str]:
    """Lines for the unit's notes. The context line comes first: import reads it back."""
    lines = [CONTEXT_NOTE + message.context] if message.context else []
    here = places(message, catalogue)
    lines.append("Where: " + "; ".join(place.screen for place in here))
    pages = [place for place in here if place.page]
    if pages:
        lines.append("Page: " + ", ".join(str(place.page) for place in pages))
        lines.append("Screenshot: " + ", ".join(str(place.screenshot) for place in pages))
    if is_text_message(message):
        lines.append(f"Text message: at most {TEXT_SEGMENTS} SMS segments once sent; keep it short.")
    keep = sorted({token for text in english(message) for token in must_keep(text)})
    if keep:
        lines.append("Keep exactly: " + " ".join(keep))
    return lines


def must_keep(text: str) -> set[str]:
    return set(PLACEHOLDER.findall(text)) | {number for number in CRISIS_NUMBERS if number in text}


# --- review --------------------------------------------------------------------------


def catalogues(translations: Path) -> list[str]:
    return sorted(path.parent.parent.name for path in translations.glob("*/LC_MESSAGES/messages.po"))


def po_path(translations: Path, catalogue: str) -> Path:
    return translations / catalogue / "LC_MESSAGES" / "messages.po"


def read_catalogue(translations: Path, catalogue: str) -> Catalog:
    # As `pybabel update` reads it, so that writing it back changes nothing else.
    with po_path(translations, catalogue).open("rb") as file:
        return read_po(file, locale=catalogue, domain="messages")


def review_file(translations: Path, catalogue: str, review_dir: Path) -> bytes:
    data = po_path(translations, catalogue).read_bytes()
    # The catalogue as sent is kept (never sent): the import then tells what the partner
    # changed from what the catalogue gained meanwhile, which it must not undo.
    sent = f"{catalogue}-{hashlib.sha256(data).hexdigest()[:12]}.po"
    (review_dir / SENT).mkdir(parents=True, exist_ok=True)
    (review_dir / SENT / sent).write_bytes(data)
    catalog = read_po(BytesIO(data), locale=catalogue, domain="messages")
    store = pofile(data)
    store.filename = sent  # the XLIFF's <file original="...">, which import reads back
    for unit in store.units:
        if unit.isheader() or unit.isblank():
            continue
        message = catalog.get(str(unit.source), context=unit.getcontext() or None)
        if message is None:
            raise ValueError(f"{unit.source!r}: babel and translate-toolkit read {catalogue} differently")
        # Translator comments, which po2xliff turns into the unit's notes.
        unit.addnote("\n".join(review_notes(message, catalogue)), origin="translator")
    return bytes(po2xliff().convertstore(store))  # type: ignore[no-untyped-call]


def write_reviews(translations: Path, review_dir: Path) -> list[Path]:
    review_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for catalogue in catalogues(translations):
        path = review_dir / f"{catalogue}.xlf"
        path.write_bytes(review_file(translations, catalogue, review_dir))
        written.append(path)
    return written


def take_screenshots(translations: Path, review_dir: Path) -> None:
    """Optional: each public page the notes name, 375 px wide, as the app shows it now."""
    if not CHROMIUM.exists():
        print(f"No Chromium at {CHROMIUM}: no screenshots (the review files work without them).")
        return
    from playwright.sync_api import sync_playwright
    from werkzeug.serving import make_server

    from portal import create_app

    shots: dict[str, Path] = {}
    for catalogue in catalogues(translations):
        for message in read_catalogue(translations, catalogue):
            for place in places(message, catalogue) if message.id else []:
                if place.page and place.screenshot:
                    shots[place.page] = review_dir / place.screenshot
    with tempfile.TemporaryDirectory() as instance:
        # A throw-away development app: the pages shown need no data.
        environ = {
            "PORTAL_ENV": "development",
            "PORTAL_DATABASE_URL": f"sqlite:///{instance}/portal.db",
            "PORTAL_SECRET_KEY": secrets.token_hex(32),
            "PORTAL_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
            "PORTAL_HASH_KEY": secrets.token_hex(32),
        }
        app = create_app(environ=environ)
        logging.getLogger("werkzeug").setLevel(logging.WARNING)  # not a line per request
        server = make_server("127.0.0.1", 0, app, threaded=True)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        try:
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
                page = browser.new_page(viewport={"width": 375, "height": 667})
                for path, shot in sorted(shots.items()):
                    shot.parent.mkdir(parents=True, exist_ok=True)
                    page.goto(f"http://127.0.0.1:{server.server_port}{path}")
                    page.screenshot(path=str(shot), full_page=True)
                browser.close()
        finally:
            server.shutdown()
    print(f"{len(shots)} screenshots in {review_dir}")


# --- import --------------------------------------------------------------------------


@dataclass(frozen=True)
class Reviewed:
    context: str | None
    english: list[str]
    translation: list[str]


def read_review(path: Path, catalogue: str) -> tuple[str, list[Reviewed]]:
    """The name of the catalogue as sent, and the file's units."""
    store = PoXliffFile.parsestring(path.read_bytes())  # type: ignore[no-untyped-call]
    language = (store.gettargetlanguage() or "").replace("-", "_").lower()
    expected = catalogue.lower()
    # A tool may add a region (es_ES); another language (bs for es) is refused.
    if language != expected and not language.startswith(expected + "_"):
        raise ImportRefused(
            f"{path} is for language {store.gettargetlanguage()!r}, not {catalogue!r}: "
            "check that the file and the language go together."
        )
    units = []
    for unit in store.units:
        if unit.isheader():
            continue
        notes = unit.gettranslatorcomments().splitlines()
        context = next((line[len(CONTEXT_NOTE) :] for line in notes if line.startswith(CONTEXT_NOTE)), None)
        units.append(Reviewed(context, plain(unit.source), plain(unit.target)))
    names = store.getfilenames()
    return (str(names[0]) if names else ""), units


def plain(text: multistring | str | None) -> list[str]:
    """A unit's text as a list of str: one, or a plural's forms."""
    if isinstance(text, multistring):
        return [str(form) for form in text.strings]
    return [text or ""]


def problems(message: Message, translation: list[str], catalogue: str) -> list[str]:
    """What is wrong with a new translation, each naming the English."""
    name = repr(english(message)[0])
    found = []
    template = english(message)[-1]  # the plural's English holds every placeholder
    wanted = set(PLACEHOLDER.findall(template))
    for text in translation:
        have = set(PLACEHOLDER.findall(text))
        missing = wanted - have
        if message.pluralizable:
            # A plural form may say "one" in words instead (as tests/test_catalogues.py allows).
            missing = {slot for slot in missing if not slot.startswith("%(num)")}
        if missing:
            found.append(f"{name}: the translation lost {', '.join(sorted(missing))}; keep it exactly.")
        added = have - set(PLACEHOLDER.findall(" ".join(english(message))))
        if added:
            found.append(
                f"{name}: the translation adds {', '.join(sorted(added))}, which the English has not."
            )
        for number in CRISIS_NUMBERS:
            if template.count(number) > text.count(number):
                found.append(f"{name}: the English says {number}, the translation does not; keep {number}.")
        if is_text_message(message):
            segments = segment_count(as_sent(message, text, catalogue))
            if segments > TEXT_SEGMENTS:
                found.append(
                    f"{name}: this text message would take {segments} SMS segments "
                    f"(at most {TEXT_SEGMENTS}); shorten the translation."
                )
    return found


def as_sent(message: Message, text: str, catalogue: str) -> str:
    """The text as a phone gets it, with the longest values its slots take."""
    samples = {
        "reference": "WWWW-WWWW",  # a plan's reference; a text-line request's is shorter
        "num": "100",
        "code": "000000",  # one-time codes have six digits (portal/plans/codes.py)
        "url": f"https://pin.example.org/{url_code(catalogue)}/crisis-plan/confirm",
        "date": max(
            (format_date(date(2026, month, 28), "medium", locale=catalogue) for month in range(1, 13)),
            key=len,
        ),
    }

    def fill(slot: re.Match[str]) -> str:
        return samples.get(slot.group(1) or slot.group(2), "W" * 12)

    body = re.sub(r"%\((\w+)\)[a-zA-Z]|\{(\w+)\}", fill, text).replace("%%", "%")
    if any(path.startswith(NOTICES_FILES) for path in source_files(message)):
        body = f"{load_agency(PROJECT_ROOT / 'portal' / 'agency.toml').campaign_name}: {body}"
    return body


def import_review(translations: Path, catalogue: str, path: Path) -> tuple[bytes, list[str]]:
    """The catalogue with the partner's changes in, and their English; refused (nothing
    returned) if any change fails a check."""
    catalog = read_catalogue(translations, catalogue)
    sent_name, units = read_review(path, catalogue)
    sent_path = translations / "review" / SENT / Path(sent_name).name
    if sent_path.is_file():
        with sent_path.open("rb") as file:
            sent = read_po(file, locale=catalogue, domain="messages")
    else:
        print(
            f"{catalogue}: no copy of the catalogue as sent ({sent_path}); every difference counts as a change."
        )
        sent = catalog
    changed: list[str] = []
    refused: list[str] = []
    for unit in units:
        message = catalog.get(unit.english[0], context=unit.context)
        if message is None or not message.id:
            print(
                f"{catalogue}: skipped {unit.english[0]!r}: its English has changed since the file was sent."
            )
            continue
        now = forms(message)
        sent_message = sent.get(unit.english[0], context=unit.context)
        before = forms(sent_message) if sent_message is not None else now
        # po2xliff gives every plural at least the English's two forms; the language's
        # own number of forms (one in Vietnamese, six in Arabic) is what counts.
        translation = unit.translation[: len(now)]
        # Left as sent (or without a target, as some tools leave an untouched unit): the
        # catalogue keeps what it holds now, even if it changed meanwhile.
        if not any(translation) or translation in (before, now):
            continue
        name = repr(unit.english[0])
        if before != now:
            refused.append(f"{name}: changed in the catalogue since the file was sent, and by the reviewer.")
        elif len(translation) < len(now):
            refused.append(f"{name}: {len(translation)} plural form(s); the language has {len(now)}.")
        else:
            refused += problems(message, translation, catalogue)
            message.string = tuple(translation) if message.pluralizable else translation[0]
            message.flags.discard("fuzzy")  # a partner has now read it
            changed.append(unit.english[0])
    if refused:
        raise ImportRefused(f"{path} was not imported into {catalogue}:\n  " + "\n  ".join(refused))
    return po_bytes(catalog), changed


def po_bytes(catalog: Catalog) -> bytes:
    out = BytesIO()
    # The settings `pybabel update` writes with (make translations): only the changed
    # entries differ from the file as it was.
    write_po(out, catalog, width=76, ignore_obsolete=True, include_previous=False)
    return out.getvalue()


def import_reviews(translations: Path, pairs: Sequence[tuple[str, Path]]) -> None:
    """Every file is checked before any catalogue is written."""
    results = [(catalogue, *import_review(translations, catalogue, path)) for catalogue, path in pairs]
    for catalogue, data, changed in results:
        target = po_path(translations, catalogue)
        if changed:
            target.write_bytes(data)
        print(f"{catalogue}: {len(changed)} translation(s) changed")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m portal.translation_review", description=__doc__)
    parser.add_argument("--translations", type=Path, default=TRANSLATIONS, help="the catalogues' folder")
    commands = parser.add_subparsers(dest="command", required=True)
    review = commands.add_parser("review", help="write a review file for each language")
    review.add_argument("--screenshots", action="store_true", help="also take the pages' screenshots")
    take = commands.add_parser("import", help="take reviewed files back into the catalogues")
    take.add_argument("--language", help="one catalogue (es, bs, vi, zh_Hans, ar); default: every one")
    take.add_argument("--file", type=Path, help="the reviewed file (default: review/<language>.xlf)")
    args = parser.parse_args(argv)
    translations: Path = args.translations
    review_dir = translations / "review"

    if args.command == "review":
        for path in write_reviews(translations, review_dir):
            print(f"wrote {path}")
        if args.screenshots:
            take_screenshots(translations, review_dir)
        return 0

    if args.file and not args.language:
        parser.error("--file needs --language, so that a file for the wrong language is refused")
    if args.language:
        pairs = [(args.language, args.file or review_dir / f"{args.language}.xlf")]
    else:
        pairs = [(name, review_dir / f"{name}.xlf") for name in catalogues(translations)]
        pairs = [(name, path) for name, path in pairs if path.exists()]
    try:
        for catalogue, path in pairs:
            if catalogue not in catalogues(translations):
                raise ImportRefused(f"there is no catalogue {catalogue!r} in {translations}")
            if not path.exists():
                raise ImportRefused(f"{path} does not exist")
        if not pairs:
            raise ImportRefused(f"no review files in {review_dir}: run make translations-review first")
        import_reviews(translations, pairs)
    except ImportRefused as refusal:
        print(f"Import refused, nothing written. {refusal}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
