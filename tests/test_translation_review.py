"""The language partners' round trip: `make translations-review` writes a review file per
language, `make translations-import` takes it back after its checks
(portal/translation_review.py). Always on a copy of the catalogues, never the real ones.
"""

from __future__ import annotations

import difflib
import re
import shutil
import subprocess
import sys
from io import BytesIO
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog, Message
from babel.messages.pofile import read_po
from translate.storage.poxliff import PoXliffFile, PoXliffUnit

from portal import PROJECT_ROOT
from portal.translation_review import PLACEHOLDER, is_text_message, po_bytes
from tests.test_catalogues import never_reinstall

LANGUAGE = "es"


def run(translations: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "portal.translation_review", "--translations", str(translations), *args],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        check=False,
    )


@pytest.fixture
def translations(tmp_path: Path) -> Path:
    """A copy of the catalogues, with their review files made."""
    copy = tmp_path / "translations"
    shutil.copytree(PROJECT_ROOT / "translations", copy, ignore=shutil.ignore_patterns("*.mo", "review"))
    made = run(copy, "review")
    assert made.returncode == 0, made.stdout + made.stderr
    return copy


def po(translations: Path, language: str = LANGUAGE) -> Path:
    return translations / language / "LC_MESSAGES" / "messages.po"


def catalogue(translations: Path, language: str = LANGUAGE) -> Catalog:
    return read_po(BytesIO(po(translations, language).read_bytes()), locale=language)


def translated(translations: Path, wanted: str) -> Message:
    """The first translated, singular entry whose English matches `wanted` (a regex)."""
    return next(
        message
        for message in catalogue(translations)
        if message.id and not message.pluralizable and message.string and re.search(wanted, message.id)
    )


def review(translations: Path, english: str, translation: str, language: str = LANGUAGE) -> None:
    """What a partner's tool does: change one unit's target and save the file."""
    path = translations / "review" / f"{language}.xlf"
    store = PoXliffFile.parsestring(path.read_bytes())
    (unit,) = [unit for unit in store.units if not unit.isheader() and str(unit.source) == english]
    unit.target = translation
    path.write_bytes(bytes(store))


def refused(translations: Path, english: str, because: str) -> None:
    before = po(translations).read_bytes()
    result = run(translations, "import", "--language", LANGUAGE)
    assert result.returncode == 1, result.stdout
    assert "Import refused, nothing written" in result.stderr
    assert repr(english) in result.stderr and because in result.stderr, result.stderr
    assert po(translations).read_bytes() == before


def test_review_then_import_unchanged_gives_back_the_same_catalogues(tmp_path: Path) -> None:
    """Through the real make targets, in a copy of the tree (as test_catalogues does)."""
    tree = tmp_path / "tree"
    for name in ("portal", "templates", "translations"):
        shutil.copytree(
            PROJECT_ROOT / name, tree / name, ignore=shutil.ignore_patterns("*.mo", "__pycache__", "review")
        )
    for name in ("Makefile", "pyproject.toml", "requirements.lock"):
        shutil.copy2(PROJECT_ROOT / name, tree / name)
    never_reinstall(tree, PROJECT_ROOT / ".venv")
    venv = f"VENV={PROJECT_ROOT / '.venv'}"
    for target in ("translations-review", "translations-import"):
        result = subprocess.run(
            ["make", "--no-print-directory", target, venv],
            cwd=tree,
            capture_output=True,
            text=True,
            check=False,
        )
        assert result.returncode == 0, result.stdout + result.stderr
    reviews = sorted(path.name for path in (tree / "translations/review").glob("*.xlf"))
    assert reviews == ["ar.xlf", "bs.xlf", "es.xlf", "vi.xlf", "zh_Hans.xlf"]
    for path in sorted((PROJECT_ROOT / "translations").glob("*/LC_MESSAGES/messages.po")):
        relative = path.relative_to(PROJECT_ROOT)
        assert (tree / relative).read_bytes() == path.read_bytes(), f"the round trip changed {relative}"


def test_the_writer_gives_back_the_real_catalogues_byte_for_byte() -> None:
    """The import writes as `pybabel update` does; read-only on the real catalogues."""
    for path in sorted((PROJECT_ROOT / "translations").glob("*/LC_MESSAGES/messages.po")):
        language = path.parent.parent.name
        assert po_bytes(read_po(BytesIO(path.read_bytes()), locale=language)) == path.read_bytes(), path


def units(translations: Path, language: str = LANGUAGE) -> list[PoXliffUnit]:
    store = PoXliffFile.parsestring((translations / "review" / f"{language}.xlf").read_bytes())
    assert store.gettargetlanguage() == language
    return [unit for unit in store.units if not unit.isheader()]


def test_each_unit_carries_what_a_partner_needs(translations: Path) -> None:
    def only_in(path: str) -> list[PoXliffUnit]:
        return [unit for unit in units(translations) if unit.getlocations() == [path]]

    page = only_in("templates/public/how_to_call.html")[0].gettranslatorcomments()
    assert "Page: /es/how-to-call" in page and "Screenshot: es/how-to-call.png" in page
    text = next(unit for unit in only_in("portal/sms/texts.py") if "%(reference)s" in unit.source)
    notes = text.gettranslatorcomments()
    assert "Where: text message (SMS)" in notes and "at most 3 SMS segments" in notes, notes
    assert "Keep exactly: %(reference)s 911" in notes
    assert "Screenshot" not in notes  # a text has no page
    # The #. comments, for the translator.
    assert any(unit.getnotes("developer").startswith("Translators:") for unit in units(translations))


def test_a_context_is_carried_and_kept_apart(translations: Path) -> None:
    """No entry has a msgctxt yet: one is added to the copy, beside the same English without."""
    with_context = catalogue(translations)
    with_context.add("Send", "Enviar", context="button")
    with_context.add("Send", "Mandar")
    po(translations).write_bytes(po_bytes(with_context))
    assert run(translations, "review").returncode == 0
    (button,) = [unit for unit in units(translations) if "Context: button" in unit.gettranslatorcomments()]
    assert str(button.source) == "Send"
    path = translations / "review/es.xlf"
    store = PoXliffFile.parsestring(path.read_bytes())
    next(
        unit for unit in store.units if "Context: button" in unit.gettranslatorcomments()
    ).target = "Enviar ya"
    path.write_bytes(bytes(store))
    assert run(translations, "import", "--language", LANGUAGE).returncode == 0
    after = catalogue(translations)
    assert after.get("Send", context="button").string == "Enviar ya"
    assert after.get("Send").string == "Mandar"


def test_a_changed_translation_is_imported(translations: Path) -> None:
    entry = translated(translations, r"^[^%{}0-9]+$")
    before, text_before = catalogue(translations), po(translations).read_text(encoding="utf-8")
    review(translations, entry.id, "Traducción revisada por el socio.")
    result = run(translations, "import", "--language", LANGUAGE)
    assert result.returncode == 0, result.stderr
    assert "es: 1 translation(s) changed" in result.stdout
    after = catalogue(translations)
    assert after.get(entry.id).string == "Traducción revisada por el socio."
    changed = [m.id for m in after if m.id and m.string != before.get(m.id, context=m.context).string]
    assert changed == [entry.id]
    # Only that msgstr's lines differ in the file.
    lines = difflib.unified_diff(
        text_before.splitlines(), po(translations).read_text(encoding="utf-8").splitlines(), n=0
    )
    edits = [line for line in lines if line[:1] in "+-" and not line.startswith(("+++", "---"))]
    assert edits and all(line[1:].startswith(("msgstr", '"')) for line in edits), edits


def test_a_lost_placeholder_is_refused(translations: Path) -> None:
    entry = translated(translations, r"%\(\w+\)s")
    placeholder = PLACEHOLDER.findall(entry.string)[0]
    review(translations, entry.id, entry.string.replace(placeholder, ""))
    refused(translations, entry.id, f"lost {placeholder}")


def test_a_lost_911_is_refused(translations: Path) -> None:
    entry = translated(translations, r"\b911\b")
    review(translations, entry.id, entry.string.replace("911", "el número de emergencias"))
    refused(translations, entry.id, "keep 911")


def test_a_text_message_too_long_is_refused(translations: Path) -> None:
    entry = next(
        message
        for message in catalogue(translations)
        if message.id and not message.pluralizable and message.string and is_text_message(message)
    )
    review(translations, entry.id, entry.string + " Texto de relleno." * 30)  # over 3 segments either way
    refused(translations, entry.id, "SMS segments")


def test_a_file_for_another_language_is_refused(translations: Path) -> None:
    before = po(translations, "bs").read_bytes()
    result = run(translations, "import", "--language", "bs", "--file", str(translations / "review/es.xlf"))
    assert result.returncode == 1
    assert "is for language 'es', not 'bs'" in result.stderr
    assert po(translations, "bs").read_bytes() == before


def test_a_fix_made_after_sending_is_kept(translations: Path) -> None:
    """The catalogue moved on while the partner had the file: their untouched units leave the
    fix alone, and a unit both sides changed is refused for a person to settle."""
    entry = translated(translations, r"^[A-Za-z ,.]{1,40}$")
    fixed = (
        po(translations)
        .read_text(encoding="utf-8")
        .replace(f'msgstr "{entry.string}"', 'msgstr "Arreglado."')
    )
    assert "Arreglado." in fixed, "pick an entry on one line"
    po(translations).write_text(fixed, encoding="utf-8")
    assert run(translations, "import", "--language", LANGUAGE).returncode == 0
    assert catalogue(translations).get(entry.id).string == "Arreglado."
    review(translations, entry.id, "Otra cosa.")
    refused(translations, entry.id, "changed in the catalogue since the file was sent")


def test_the_web_app_never_imports_the_module() -> None:
    users = [
        path
        for path in (PROJECT_ROOT / "portal").rglob("*.py")
        if "translation_review" in path.read_text(encoding="utf-8") and path.name != "translation_review.py"
    ]
    assert users == []
