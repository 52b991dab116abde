"""Validators for the 911 data formats the portal emits, for tests to call.

- `validate_additional_data`: one RFC 7852 / NENA-STA-012.2 additional data block (XML).
- `validate_eido`: one NENA-STA-021 EIDO document (JSON, as a dict).

Both raise AssertionError listing every problem found. Where each schema and element list
comes from, and what could not be found, is in tests/standards/SOURCES.md: the xCard
(RFC 6351) RELAX NG schema is vendored and enforced as published; no XSD of the RFC 7852
or NENA blocks could be retrieved, so those are checked against element lists recorded
from the standards; the EIDO schema is checked through the element list recorded from
NENA-STA-021.1a, and also through NENA's published OpenAPI schema with `jsonschema` when
a copy of it is on the machine (EIDO_SCHEMA_DIR, see `eido_schema_dir`).
"""

from __future__ import annotations

import functools
import json
import os
import re
from collections import defaultdict
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from lxml import etree

STANDARDS = Path(__file__).parent / "standards"
VCARD_NS = "urn:ietf:params:xml:ns:vcard-4.0"

# Documents under test are parsed without DTDs, entity expansion or network access.
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, remove_comments=False)

# RFC 3986 section 3.1: a URI starts with its scheme and a colon.
_URI = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*:\S+")
# RFC 3339 section 5.6 date-time, the format NENA's schema gives every EIDO timestamp.
_DATE_TIME = re.compile(r"\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+\-]\d{2}:\d{2})")


# --- RFC 7852 / NENA-STA-012.2 additional data -------------------------------------------


@functools.cache
def _element_lists() -> dict[str, Any]:
    path = STANDARDS / "additional_data" / "element_lists.json"
    return dict(json.loads(path.read_text(encoding="utf-8")))


@functools.cache
def xcard_schema() -> etree.RelaxNG:
    """RFC 6351 Appendix A (xCard), compact syntax converted by lxml through rnc2rng."""
    rnc = (STANDARDS / "xcard" / "vcard-4_0.rnc").read_text(encoding="utf-8")
    return etree.RelaxNG.from_rnc_string(rnc)


def validate_vcard(vcard: etree._Element) -> list[str]:
    """Problems of one <vcard> element against RFC 6351; its grammar starts at <vcards>."""
    wrapper = etree.Element(f"{{{VCARD_NS}}}vcards")
    wrapper.append(etree.fromstring(etree.tostring(vcard), _PARSER))
    schema = xcard_schema()
    if schema.validate(etree.ElementTree(wrapper)):
        return []
    return [f"vcard (RFC 6351): {error.message} (line {error.line})" for error in schema.error_log]


def validate_additional_data(xml: bytes) -> None:
    """Check one additional data block, chosen by its root element's namespace."""
    try:
        root = etree.fromstring(xml, _PARSER)
    except etree.XMLSyntaxError as error:
        raise AssertionError(f"not well-formed XML: {error}") from None
    name = etree.QName(root)
    spec = _element_lists()["blocks"].get(name.namespace)
    if spec is None:
        known = ", ".join(_element_lists()["blocks"])
        raise AssertionError(
            f"no schema or element list is recorded for root {name.localname!r} in namespace "
            f"{name.namespace!r} (recorded: {known})"
        )
    problems = []
    if name.localname != spec["root"]:
        problems.append(f"root element is {name.localname!r}, {spec['standard']} names it {spec['root']!r}")
    problems += _block_children(root, name.namespace, spec)
    if problems:
        raise AssertionError(f"{spec['root']} ({spec['standard']}) is not valid:\n- " + "\n- ".join(problems))


def _block_children(root: etree._Element, namespace: str, spec: Mapping[str, Any]) -> list[str]:
    order = [child["name"] for child in spec["children"]]
    by_name = {child["name"]: child for child in spec["children"]}
    problems: list[str] = []
    counts = dict.fromkeys(order, 0)
    furthest = 0  # index in `order` of the last child seen: the schema is a sequence
    for element in root.iterchildren(tag=etree.Element):
        qname = etree.QName(element)
        if qname.namespace != namespace:
            if qname.namespace is None or not spec["other_namespace_children"]:
                problems.append(f"<{qname.localname}> in namespace {qname.namespace!r} is not allowed here")
            continue
        if qname.localname not in by_name:
            problems.append(f"<{qname.localname}> is not an element of {spec['root']}")
            continue
        index = order.index(qname.localname)
        if index < furthest:
            problems.append(
                f"<{qname.localname}> comes after <{order[furthest]}>; the order is {', '.join(order)}"
            )
        furthest = max(furthest, index)
        counts[qname.localname] += 1
        problems += _content(element, by_name[qname.localname])
    for child_name, count in counts.items():
        child = by_name[child_name]
        if count < child["min"]:
            problems.append(f"<{child_name}> is required (at least {child['min']}), found {count}")
        if child["max"] is not None and count > child["max"]:
            problems.append(f"<{child_name}> may occur at most {child['max']} times, found {count}")
    return problems


def _content(element: etree._Element, child: Mapping[str, Any]) -> list[str]:
    name = child["name"]
    text = (element.text or "").strip()
    children = list(element.iterchildren(tag=etree.Element))
    if child["content"] == "vcards":
        if text:
            return [f"<{name}> holds text; it holds <vcard> elements"]
        if not children:
            return [f"<{name}> holds no <vcard>"]
        problems = []
        for vcard in children:
            if vcard.tag != f"{{{VCARD_NS}}}vcard":
                problems.append(f"<{name}> holds {vcard.tag}, not a vcard in {VCARD_NS}")
            else:
                problems += [f"<{name}>: {problem}" for problem in validate_vcard(vcard)]
        return problems
    if children:
        return [f"<{name}> holds elements; it holds text"]
    if child["content"] == "token" and not text:
        return [f"<{name}> is empty"]
    if child["content"] == "uri" and not _URI.fullmatch(text):
        return [f"<{name}> is not a URI: {text!r}"]
    return []


# --- NENA-STA-021 EIDO ---------------------------------------------------------------------


@functools.cache
def _eido_list() -> dict[str, Any]:
    path = STANDARDS / "eido" / "eido_components.json"
    return dict(json.loads(path.read_text(encoding="utf-8")))


def validate_eido(document: Mapping[str, Any]) -> None:
    """Check one EIDO against NENA-STA-021.1a, and against NENA's schema when it is on the machine."""
    problems = _eido_recorded(document)
    schema_dir = eido_schema_dir()
    if schema_dir is not None:
        problems += [f"schema: {problem}" for problem in eido_schema_problems(document, schema_dir)]
    if problems:
        raise AssertionError("EIDO (NENA-STA-021.1a) is not valid:\n- " + "\n- ".join(problems))


def _eido_recorded(document: Mapping[str, Any]) -> list[str]:
    recorded = _eido_list()
    problems: list[str] = []
    ids: set[str] = set()
    refs: list[tuple[str, str]] = []
    _object(document, recorded["root"], "$", problems, ids, refs)
    problems += [f"{path}: $ref {ref!r} names no $id in this EIDO" for path, ref in refs if ref not in ids]
    return problems


def _object(
    value: Any, type_name: str, path: str, problems: list[str], ids: set[str], refs: list[tuple[str, str]]
) -> None:
    recorded = _eido_list()
    if not isinstance(value, Mapping):
        problems.append(f"{path}: a {type_name} is a JSON object, found {type(value).__name__}")
        return
    prologue, own = recorded["prologue"], recorded["types"][type_name]
    properties = {**prologue["properties"], **own["properties"]}
    for required in [*prologue["required"], *own["required"]]:
        if required not in value:
            problems.append(f"{path}: {type_name} requires {required!r}")
    for key, item in value.items():
        if key not in properties:
            problems.append(f"{path}: {key!r} is not a property of {type_name}")
            continue
        _value(item, properties[key], f"{path}.{key}", problems, ids, refs)
        registry = recorded["registry_of"].get(f"{type_name}.{key}")
        if registry is not None:
            allowed = recorded["registries"][registry]
            for entry in item if isinstance(item, list) else [item]:
                if entry not in allowed:
                    problems.append(f"{path}.{key}: {entry!r} is not in the {registry} registry")
    if isinstance(value.get("$id"), str):
        ids.add(value["$id"])
    if type_name == "AdditionalDataType":
        # NENA-STA-021.1a Table 2-17: by reference or by value, exactly one of the two.
        present = [key for key in ("additionalDataByReferenceUrl", "additionalDataByValue") if key in value]
        if len(present) != 1:
            problems.append(
                f"{path}: needs exactly one of additionalDataByReferenceUrl, additionalDataByValue"
            )


def _value(
    item: Any, spec: Any, path: str, problems: list[str], ids: set[str], refs: list[tuple[str, str]]
) -> None:
    if isinstance(spec, dict) and "array" in spec:
        if not isinstance(item, list):
            problems.append(f"{path}: is a JSON array in the schema, found {type(item).__name__}")
            return
        for index, entry in enumerate(item):
            _value(entry, spec["array"], f"{path}[{index}]", problems, ids, refs)
    elif isinstance(spec, dict) and "enum" in spec:
        if item not in spec["enum"]:
            problems.append(f"{path}: {item!r} is not one of {spec['enum']}")
    elif spec == "ref":
        if not isinstance(item, Mapping) or not isinstance(item.get("$ref"), str) or set(item) != {"$ref"}:
            problems.append(f'{path}: a reference is {{"$ref": "<$id>"}}, found {item!r}')
        else:
            refs.append((path, item["$ref"]))
    elif spec in ("string", "date-time", "uri"):
        if not isinstance(item, str):
            problems.append(f"{path}: is a string in the schema, found {type(item).__name__}")
        elif spec == "date-time" and not _is_date_time(item):
            problems.append(f"{path}: {item!r} is not an RFC 3339 date-time")
        elif spec == "uri" and not _URI.fullmatch(item):
            problems.append(f"{path}: {item!r} is not a URI")
    elif spec == "boolean":
        if not isinstance(item, bool):
            problems.append(f"{path}: is a boolean in the schema, found {type(item).__name__}")
    elif spec == "integer":
        if not isinstance(item, int) or isinstance(item, bool):
            problems.append(f"{path}: is an integer in the schema, found {type(item).__name__}")
    elif spec == "object":
        # NIEM types (ncPersonComponent, ncVehicleComponent) and @context: their inner
        # structure is only checked by the full schema (eido_schema_problems).
        if not isinstance(item, Mapping):
            problems.append(f"{path}: is a JSON object in the schema, found {type(item).__name__}")
    else:
        _object(item, spec, path, problems, ids, refs)


def _is_date_time(text: str) -> bool:
    if not _DATE_TIME.fullmatch(text):
        return False
    try:
        datetime.fromisoformat(text.upper().replace("Z", "+00:00"))
    except ValueError:
        return False
    return True


# --- NENA's OpenAPI schema, when a copy is on the machine -----------------------------------


def eido_schema_dir() -> Path | None:
    """The Schema folder of NENA911/EIDO-JSON (tag NENA-STA-021.1b), if a copy is present.

    EIDO_SCHEMA_DIR names it; without that variable, shared/standards/EIDO-JSON/Schema beside
    the checkout is used when it exists. It is not in the repository: see SOURCES.md.
    """
    configured = os.environ.get("EIDO_SCHEMA_DIR")
    if configured:
        path = Path(configured)
        if not (path / "openapi.yaml").is_file():
            raise AssertionError(f"EIDO_SCHEMA_DIR={configured} holds no openapi.yaml")
        return path
    beside = Path(__file__).resolve().parents[2] / "shared" / "standards" / "EIDO-JSON" / "Schema"
    return beside if (beside / "openapi.yaml").is_file() else None


def eido_schema_problems(document: Mapping[str, Any], schema_dir: Path) -> list[str]:
    """Validate with jsonschema against openapi.yaml and the NIEM component files beside it."""
    validator = _eido_validator(schema_dir.resolve())
    errors = sorted(validator.iter_errors(document), key=lambda error: list(error.absolute_path))
    return [f"{error.json_path}: {error.message}" for error in errors]


@functools.cache
def _eido_validator(schema_dir: Path) -> Any:
    # Imported here: only this optional path needs them (see SOURCES.md for the packages).
    import yaml
    from jsonschema import Draft4Validator
    from referencing import Registry, Resource
    from referencing.jsonschema import DRAFT4

    checker = Draft4Validator.FORMAT_CHECKER
    if "date-time" not in checker.checkers:
        raise AssertionError("jsonschema checks date-time only with rfc3339-validator installed")

    def retrieve(uri: str) -> Any:
        path = Path(os.path.normpath(unquote(urlsplit(uri).path)))
        if not path.is_relative_to(schema_dir) or not path.is_file():
            # A missing NIEM file: each of its types accepts any value, as in the recorded list.
            anything = {"components": {"schemas": defaultdict(dict)}}
            return Resource.from_contents(anything, default_specification=DRAFT4)
        contents = yaml.safe_load(path.read_text(encoding="utf-8"))
        return Resource.from_contents(contents, default_specification=DRAFT4)

    # OpenAPI 3.0 schema objects are JSON Schema draft 4/5 with extra keywords, which draft 4 ignores.
    base = (schema_dir / "openapi.yaml").as_uri()
    registry = Registry(retrieve=retrieve)
    root = {"$ref": f"{base}#/components/schemas/EmergencyIncidentDataObjectType"}
    return Draft4Validator(root, registry=registry, format_checker=checker)
