"""TOML -> validated pydantic model, with errors that name the file, the key and the allowed range."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any, TypeVar, get_args
from urllib.parse import urlsplit

from annotated_types import Ge, Gt, Le, Lt
from pydantic import BaseModel, ConfigDict, ValidationError
from pydantic.fields import FieldInfo

CONFIG_ROOT = Path(__file__).resolve().parents[2] / "configs"

ModelT = TypeVar("ModelT", bound=BaseModel)


class Section(BaseModel):
    """Base of every config section: frozen, and an unknown key is an error (a typo is not a default)."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class ConfigError(ValueError):
    """A config that cannot be used. The message names the file, the key and what is allowed."""


def resolve(kind: str, name_or_path: str | Path) -> Path:
    """A name from configs/<kind>/ or a path to a TOML file."""
    candidate = Path(name_or_path)
    if candidate.suffix == ".toml" and candidate.is_file():
        return candidate
    named = CONFIG_ROOT / kind / f"{name_or_path}.toml"
    if named.is_file():
        return named
    known = ", ".join(sorted(p.stem for p in (CONFIG_ROOT / kind).glob("*.toml")))
    raise ConfigError(f"{kind}: no file or name {str(name_or_path)!r}; known names: {known}")


def load(kind: str, name_or_path: str | Path, model: type[ModelT]) -> ModelT:
    path = resolve(kind, name_or_path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from exc
    except RecursionError:
        raise ConfigError(f"{path}: not valid TOML: nested too deeply") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    return validate(data, model, source=str(path))


def validate(data: dict[str, Any], model: type[ModelT], source: str) -> ModelT:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(describe(exc, model, source)) from None


def checked_url(url: str, schemes: tuple[str, ...], form: str) -> str:
    """`url`, if its scheme is one of `schemes` and it names a host and a port that is a number."""
    parts = urlsplit(url)
    if parts.scheme not in schemes or not parts.hostname:
        raise ValueError(f"{url!r}: expected {form}")
    try:
        parts.port  # noqa: B018 -- urlsplit checks the port only when asked
    except ValueError:
        raise ValueError(f"{url!r}: the port must be a number from 1 to 65535") from None
    return url


def describe(exc: ValidationError, model: type[BaseModel], source: str) -> str:
    lines = [f"{source}: {exc.error_count()} problem(s)"]
    for error in exc.errors():
        loc = tuple(error["loc"])
        key = ".".join(str(part) for part in loc) or "(top level)"
        message = error["msg"]
        if error["type"] == "extra_forbidden":
            message = "unknown key (check the spelling; allowed keys: " + allowed_keys(model, loc) + ")"
        elif error["type"] == "missing":
            message = "missing required key"
        allowed = allowed_range(model, loc)
        got = "" if error["type"] == "missing" else f" (got {error.get('input')!r})"
        suffix = f"; allowed: {allowed}" if allowed and error["type"] != "extra_forbidden" else ""
        lines.append(f"  {key}: {message}{got}{suffix}")
    return "\n".join(lines)


def _model_in(annotation: Any) -> Any:
    """The pydantic model inside an annotation such as `Section | None`, if there is one."""
    for candidate in (annotation, *get_args(annotation)):
        if isinstance(candidate, type) and issubclass(candidate, BaseModel):
            return candidate
    return annotation


def _field_at(model: type[BaseModel], loc: tuple[Any, ...]) -> FieldInfo | None:
    current: Any = model
    field: FieldInfo | None = None
    for part in loc:
        current = _model_in(current)
        if not (isinstance(current, type) and issubclass(current, BaseModel)):
            return None
        field = current.model_fields.get(str(part))
        if field is None:
            return None
        current = field.annotation
    return field


def allowed_keys(model: type[BaseModel], loc: tuple[Any, ...]) -> str:
    parent = _field_at(model, loc[:-1]) if len(loc) > 1 else None
    owner: Any = model if parent is None else _model_in(parent.annotation)
    if isinstance(owner, type) and issubclass(owner, BaseModel):
        return ", ".join(owner.model_fields)
    return "?"


def allowed_range(model: type[BaseModel], loc: tuple[Any, ...]) -> str:
    field = _field_at(model, loc)
    if field is None:
        return ""
    low = high = ""
    for meta in field.metadata:
        if isinstance(meta, Gt):
            low = f"> {meta.gt}"
        elif isinstance(meta, Ge):
            low = f">= {meta.ge}"
        elif isinstance(meta, Lt):
            high = f"< {meta.lt}"
        elif isinstance(meta, Le):
            high = f"<= {meta.le}"
    return " and ".join(part for part in (low, high) if part)
