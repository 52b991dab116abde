"""docs/settings.md lists every environment variable the portal reads, and only those.

The names read come from the code itself: the settings module is run on an environment
that notes every name asked of it, and every module of portal/ is searched for reads of
os.environ or os.getenv (a setting read outside portal/settings.py still needs its row).
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator, Mapping
from pathlib import Path

from cryptography.fernet import Fernet

from portal.settings import Settings, SettingsError, load
from tests.test_settings import PRODUCTION

ROOT = Path(__file__).resolve().parent.parent
TABLE = ROOT / "docs" / "settings.md"
VARIABLE = re.compile(r"(PORTAL|TWILIO)_[A-Z0-9_]+")


class NotingEnvironment(Mapping[str, str]):
    """An environment that remembers every name looked up in it, set or not."""

    def __init__(self, values: Mapping[str, str]) -> None:
        self.values = dict(values)
        self.asked: set[str] = set()

    def __getitem__(self, name: str) -> str:
        self.asked.add(name)
        return self.values[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self.values)

    def __len__(self) -> int:
        return len(self.values)


def read_by_the_settings_module(instance: Path) -> set[str]:
    environments = [
        {},  # development, nothing set
        PRODUCTION,
        {
            "TWILIO_ACCOUNT_SID": "AC" + "0" * 32,
            "TWILIO_AUTH_TOKEN": "t",
            "TWILIO_FROM_NUMBER": "+13145550100",
        },
        {"PORTAL_ENCRYPTION_KEYS": Fernet.generate_key().decode(), "PORTAL_SMS_BACKEND": "console"},
    ]
    asked: set[str] = set()
    for values in environments:
        environ = NotingEnvironment(values)
        Settings.from_env(environ, instance)
        asked |= environ.asked
    return asked


def _mentions_the_environment(node: ast.AST) -> bool:
    source = ast.unparse(node)
    return source.endswith("environ") or source.endswith("getenv")


def read_in_the_code(package: Path) -> dict[str, str]:
    """Names passed with the environment: environ.get("X"), os.environ["X"], os.getenv("X"),
    and helpers called as helper(environ, "X", ...). Each name with where it is read."""
    found: dict[str, str] = {}
    for path in sorted(package.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Subscript) and _mentions_the_environment(node.value):
                names = [node.slice]
            elif isinstance(node, ast.Call) and (
                _mentions_the_environment(node.func)
                or (isinstance(node.func, ast.Attribute) and _mentions_the_environment(node.func.value))
                or any(map(_mentions_the_environment, node.args))
            ):
                names = list(node.args)
            else:
                continue
            for name in names:
                if (
                    isinstance(name, ast.Constant)
                    and isinstance(name.value, str)
                    and VARIABLE.fullmatch(name.value)
                ):
                    found.setdefault(name.value, f"{path.relative_to(package.parent)}:{node.lineno}")
    return found


def documented() -> dict[str, list[str]]:
    """The table's rows: variable -> meaning, default, example, production."""
    rows: dict[str, list[str]] = {}
    lines = TABLE.read_text().splitlines()
    start = lines.index("| variable | meaning | default | example | production |")
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        assert len(cells) == 5, f"a row of docs/settings.md has {len(cells)} cells, not 5: {line}"
        name = cells[0].strip("`")
        assert VARIABLE.fullmatch(name), f"a row of docs/settings.md names no variable: {line}"
        assert name not in rows, f"{name} has two rows in docs/settings.md"
        assert all(cells[1:4]), f"{name} needs a meaning, a default and an example in docs/settings.md"
        rows[name] = cells[1:]
    return rows


def test_every_variable_read_has_a_row_and_every_row_is_read(tmp_path: Path) -> None:
    read = dict.fromkeys(read_by_the_settings_module(tmp_path), "portal/settings.py")
    read |= read_in_the_code(ROOT / "portal")
    rows = documented()
    missing = {name: where for name, where in read.items() if name not in rows}
    assert not missing, f"read by the code but not in docs/settings.md: {missing}"
    unread = sorted(set(rows) - set(read))
    assert not unread, f"in docs/settings.md but read nowhere in portal/: {unread}"


def test_the_code_search_finds_reads_of_every_form(tmp_path: Path) -> None:
    """The search above, on a module reading the environment in each way it knows."""
    package = tmp_path / "portal"
    package.mkdir()
    (package / "elsewhere.py").write_text(
        "import os\n"
        "from os import environ, getenv\n"
        'A = os.environ.get("PORTAL_A", "1")\n'
        'B = os.environ["PORTAL_B"]\n'
        'C = getenv("TWILIO_C")\n'
        'D = _seconds(environ, "PORTAL_D", 60)\n'
        'NOT_READ = app.config["PORTAL_SETTINGS"]\n'
    )
    assert set(read_in_the_code(package)) == {"PORTAL_A", "PORTAL_B", "TWILIO_C", "PORTAL_D"}


def test_the_production_column_says_which_variables_production_needs(tmp_path: Path) -> None:
    said_required = {name for name, cells in documented().items() if cells[3].startswith("required")}
    needed = set()
    for name in PRODUCTION:
        try:
            load(tmp_path, {other: value for other, value in PRODUCTION.items() if other != name})
        except SettingsError:
            needed.add(name)
    assert needed == said_required
    assert not list(tmp_path.iterdir()), "production must not invent secrets on disk"


def test_every_example_that_is_a_value_is_accepted(tmp_path: Path) -> None:
    """An operator copies the example: it must start the portal (in development, where a
    `test` hash cost is allowed; the agency file's example names a server's path)."""
    tried = 0
    for name, cells in documented().items():
        example = cells[2]
        if name == "PORTAL_AGENCY_FILE" or not re.fullmatch(r"`[^`]+`( \(.*\))?", example):
            continue  # an instruction such as "64 random hex digits", not a value
        load(tmp_path, {**PRODUCTION, "PORTAL_ENV": "development", name: example.split("`")[1]})
        tried += 1
    assert tried >= 20
