"""The settings form: a tenant's or site's settings model (domain/policies.py) as a list of fields, each with
its value, its default and whether it differs; and a submitted form read back into changes, checked by the
same model, with an error per field. Pure: no I/O.

A form posts every field, so a value equal to its default is taken as "the default" (its path is taken
out of the stored document, and follows the default if a later version changes it); any other value is
stored. A rate-limit bucket may be switched off (stored as null): its field `<bucket>` is a checkbox
"off", and its capacity and rate are then left as they were.
"""

from __future__ import annotations

import hashlib
import json
import re
import types
import typing
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, ValidationError

Kind = Literal["int", "float", "bool", "text", "choice", "choices", "off", "words"]
MISSING: Any = object()
"""A change to a path: back to its default (taken out of the stored document)."""
SWITCH_ON: Any = object()
"""A change to a bucket: on (a null stored for it, "off", is taken out)."""


@dataclass(frozen=True, slots=True)
class SettingField:
    """One input of the form. `path` is its dotted settings path (password.min_length), also the input's
    name; `section` the path of the model it belongs to (its fieldset)."""

    path: str
    section: str
    kind: Kind
    value: Any
    default: Any
    help: str = ""
    choices: tuple[str, ...] = ()
    bucket: str = ""
    """For a field of a bucket that may be switched off: the bucket's path (its "off" field)."""

    @property
    def name(self) -> str:
        return self.path.rpartition(".")[2]

    @property
    def differs(self) -> bool:
        return bool(self.value != self.default)

    def shown(self, value: Any) -> str:
        """A value as the form shows it."""
        if value is None:
            return "" if self.kind != "off" else "off"
        if self.kind in ("choices", "words"):
            return ", ".join(value) if value else "(none)"
        if self.kind in ("bool", "off"):
            return "yes" if value else "no"
        return str(value)

    @property
    def shown_default(self) -> str:
        if self.kind == "off":
            return "off" if self.default else "on"
        if self.kind == "text" and self.default == "":
            return "(empty)"
        return self.shown(self.default)


def version_of(stored: Mapping[str, Any]) -> str:
    """A short digest of a stored settings document: the form carries the version it was read at, and a
    save is refused when the document changed meanwhile (every field is posted, so it would undo the
    other change)."""
    canonical = json.dumps(stored, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:20]


@dataclass(frozen=True, slots=True)
class SettingsForm:
    fields: list[SettingField]
    version: str = ""
    errors: dict[str, str] = field(default_factory=dict)
    """Field path (or section path, for a rule over several fields) -> message."""
    submitted: dict[str, Any] = field(default_factory=dict)
    """What was submitted, shown again when it had errors."""

    @property
    def differing(self) -> list[SettingField]:
        return [f for f in self.fields if f.differs]

    def differs_in(self, prefix: str) -> bool:
        """Whether a field under the section `prefix` differs from its default."""
        return any(f.differs and (f.path == prefix or f.path.startswith(prefix + ".")) for f in self.fields)

    def sections(self) -> list[tuple[str, list[SettingField]]]:
        """The fields grouped by section, in model order."""
        grouped: dict[str, list[SettingField]] = {}
        for f in self.fields:
            grouped.setdefault(f.section, []).append(f)
        return list(grouped.items())

    def value_of(self, f: SettingField) -> Any:
        """The value to show in the input: what was submitted when the form had errors, else the stored one."""
        return self.submitted.get(f.path, f.value) if self.errors else f.value


def _model_of(annotation: Any) -> tuple[type[BaseModel] | None, bool]:
    """The model class of a field's annotation and whether it may be None."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation, False
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        if len(args) == 1 and isinstance(args[0], type) and issubclass(args[0], BaseModel):
            return args[0], True
    return None, False


def _kind_of(annotation: Any) -> tuple[Kind, tuple[str, ...]]:
    if annotation is bool:
        return "bool", ()
    if annotation is int:
        return "int", ()
    if annotation is float:
        return "float", ()
    if annotation is str:
        return "text", ()
    origin = typing.get_origin(annotation)
    if origin is Literal:
        return "choice", tuple(str(a) for a in typing.get_args(annotation))
    if origin is list:
        (item,) = typing.get_args(annotation)
        if typing.get_origin(item) is Literal:
            return "choices", tuple(str(a) for a in typing.get_args(item))
        if item is str:  # a list of words without spaces (passkeys.origins): one input, separated by spaces
            return "words", ()
    raise TypeError(f"no form input for a setting of type {annotation!r}")


def _get(document: Any, path: Sequence[str]) -> Any:
    node = document
    for key in path:
        if not isinstance(node, dict) or key not in node:
            return MISSING
        node = node[key]
    return node


def form_fields(model: type[BaseModel], stored: Mapping[str, Any]) -> list[SettingField]:
    """The fields of `model` with the effective values of the `stored` document and the defaults."""
    effective = model.model_validate(dict(stored)).model_dump(mode="json")
    defaults = model().model_dump(mode="json")
    out: list[SettingField] = []
    _walk(model, [], effective, defaults, "", out)
    return out


def _walk(model: type[BaseModel], prefix: list[str], effective: Any, defaults: Any, bucket: str,
          out: list[SettingField]) -> None:
    section = ".".join(prefix) or "general"
    for name, info in model.model_fields.items():
        path = [*prefix, name]
        dotted = ".".join(path)
        sub, nullable = _model_of(info.annotation)
        value, default = _get(effective, path), _get(defaults, path)
        if sub is not None:
            if nullable:
                out.append(SettingField(dotted, dotted, "off", value is None, default is None, info.description or ""))
                _walk(sub, path, effective, defaults, dotted, out)
            else:
                _walk(sub, path, effective, defaults, bucket, out)
            continue
        kind, choices = _kind_of(info.annotation)
        default = None if default is MISSING else default
        # a bucket switched off shows its default numbers, ready for switching it on again
        value = default if value is MISSING else value
        out.append(SettingField(dotted, section, kind, value, default, info.description or "", choices, bucket))


def read_form(model: type[BaseModel], stored: Mapping[str, Any],
              form: Mapping[str, Sequence[str]]) -> tuple[SettingsForm, dict[str, Any] | None]:
    """The submitted `form` (input name -> values) checked against `model`: the form to show (with an
    error per field when any) and, when it is valid, the change to make: path -> new value, or MISSING
    for "back to the default"."""
    fields = form_fields(model, stored)
    version = version_of(stored)
    submitted: dict[str, Any] = {}
    candidate = json.loads(json.dumps(model.model_validate(dict(stored)).model_dump(mode="json")))
    off = {f.path for f in fields if f.kind == "off" and form.get(f.path)}
    for f in fields:
        given = list(form.get(f.path, ()))
        if f.path not in form and f.kind in ("int", "float", "text", "choice", "words"):
            # an input the form did not post at all (a browser posts every input, empty or not: a form
            # made before the field existed) keeps its value
            submitted[f.path] = f.value
            continue
        if f.kind in ("bool", "off"):
            raw: Any = bool(given)
        elif f.kind == "choices":
            raw = [v for v in given if v]
        elif f.kind == "words":
            raw = [word for v in given for word in re.split(r"[\s,]+", v) if word]
        else:
            raw = given[0].strip() if given else ""
        submitted[f.path] = raw
        if f.bucket and f.bucket in off:
            continue
        if f.kind == "off":
            _put(candidate, f.path.split("."), None if raw else ({} if _get(candidate, f.path.split(".")) is None
                                                                   else _get(candidate, f.path.split("."))))
            continue
        _put(candidate, f.path.split("."), raw)
    errors: dict[str, str] = {}
    try:
        typed = model.model_validate(candidate).model_dump(mode="json")
    except ValidationError as exc:
        paths = {f.path for f in fields}
        for error in exc.errors():
            loc = [str(part) for part in error["loc"] if not isinstance(part, int)]
            where = ".".join(loc)
            while where and where not in paths and "." in where and not any(
                    p.startswith(where + ".") for p in paths):
                where = where.rpartition(".")[0]
            errors.setdefault(where or "general", _message(error))
        return SettingsForm(fields, version, errors, submitted), None
    changes: dict[str, Any] = {}
    for f in fields:
        if f.bucket and f.bucket in off:
            continue
        value = _get(typed, f.path.split("."))
        if f.kind == "off":
            changes[f.path] = (MISSING if f.default else None) if f.path in off else SWITCH_ON
            continue
        changes[f.path] = MISSING if value == f.default else value
    return SettingsForm(fields, version, {}, submitted), changes


def _message(error: Any) -> str:
    kind = str(error.get("type", ""))
    if kind in ("int_parsing", "int_type", "int_from_float"):
        return "Enter a whole number."
    if kind in ("float_parsing", "float_type"):
        return "Enter a number."
    if kind == "missing":
        return "Required."
    message = str(error.get("msg", "Invalid value."))
    return message.removeprefix("Value error, ") + ("" if message.endswith(".") else ".")


def _put(document: dict[str, Any], path: Sequence[str], value: Any) -> None:
    node = document
    for key in path[:-1]:
        if not isinstance(node.get(key), dict):
            node[key] = {}
        node = node[key]
    node[path[-1]] = value


def _remove(document: dict[str, Any], path: Sequence[str]) -> None:
    node: Any = document
    trail: list[tuple[dict[str, Any], str]] = []
    for key in path[:-1]:
        if not isinstance(node, dict) or not isinstance(node.get(key), dict):
            return
        trail.append((node, key))
        node = node[key]
    if isinstance(node, dict):
        node.pop(path[-1], None)
    for parent, key in reversed(trail):  # no empty objects left behind
        if parent[key] == {}:
            del parent[key]


def apply_changes(model: type[BaseModel], stored: Mapping[str, Any],
                  changes: Mapping[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """`stored` with `changes` (from `read_form`) made, checked by `model` as a whole, and the paths whose
    effective value changed. Bucket switches first, so a bucket switched on again gets its fields."""
    document: dict[str, Any] = json.loads(json.dumps(dict(stored)))
    before = model.model_validate(document).model_dump(mode="json")
    ordered = sorted(changes.items(), key=lambda item: item[0].count("."))
    for path_text, value in ordered:
        path = path_text.split(".")
        if value is SWITCH_ON:
            if _get(document, path) is None:
                _remove(document, path)
        elif value is MISSING:
            _remove(document, path)
        else:
            _put(document, path, value)
    after = model.model_validate(document).model_dump(mode="json")
    changed = sorted(p for p in changes if _get(before, p.split(".")) != _get(after, p.split(".")))
    return document, changed
