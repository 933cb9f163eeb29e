"""JSON request bodies read with pydantic: nesting, numbers, text and types bounded, and every
refusal a field and a reason a person can read. Knows no HTTP: each area words its own answer
(admin and console a 400, the emulated /cgi-bin API its errcode)."""

import math
from typing import Annotated, Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, JsonValue, TypeAdapter, ValidationError

from botstore.numbers import ID_MAX

# The widest integer anything here stores (a BIGINT column); beyond it a number is junk.
INT64_MAX = 2**63 - 1

Id = Annotated[int, Field(ge=1, le=ID_MAX)]

_OBJECT = TypeAdapter(dict[str, JsonValue])
_KEY_SHOWN = 40  # of a hostile key, only this much goes into the reason

Model = TypeVar("Model", bound=BaseModel)


class BodyError(ValueError):
    """A refused body: `field` is the top-level field ("body" for the whole of it, what a form
    highlights), `reason` what is wrong; str() says where inside it too: "ids[2]: ..."."""

    def __init__(self, path: tuple[str | int, ...], reason: str) -> None:
        self.field = str(path[0])[:_KEY_SHOWN] if path else "body"
        self.reason = reason
        inner = "".join(
            f"[{part}]" if isinstance(part, int) else f".{str(part)[:_KEY_SHOWN]}"
            for part in path[1:]
        )
        super().__init__(f"{self.field}{inner}: {reason}")


class JsonBody(BaseModel):
    """The base of a body's model: unknown fields refused, no coercion ("3" is not 3)."""

    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False, frozen=True)


def read_object(raw: bytes) -> dict[str, Any]:
    """Any JSON object whose numbers fit 64 bits, are finite, and whose text has no NUL.

    pydantic's parser refuses invalid UTF-8, lone surrogates, integers of thousands of digits
    and nesting deeper than 200 levels (json.loads recursed until RecursionError).
    """
    if not raw.strip():
        raise BodyError((), "empty; send a JSON object")
    try:
        data = _OBJECT.validate_json(raw)
    except ValidationError as error:
        raise _body_error(error) from None
    _check_values(data, ())
    return data


def read_model(raw: bytes, model: type[Model]) -> Model:
    """The body as `model` (a JsonBody), after the checks of read_object."""
    read_object(raw)
    try:
        return model.model_validate_json(raw)
    except ValidationError as error:
        raise _body_error(error) from None


def _check_values(value: object, path: tuple[str | int, ...]) -> None:
    # Nesting is at most ~200 levels here (the parser's limit), so recursing is safe.
    if isinstance(value, bool) or value is None:
        return
    if isinstance(value, int):
        if not -INT64_MAX - 1 <= value <= INT64_MAX:
            raise BodyError(path, "a whole number too large (more than 64 bits)")
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise BodyError(path, "must be a finite number (no NaN or Infinity)")
    elif isinstance(value, str):
        # PostgreSQL text can't hold NUL: refused here rather than failing in the database.
        if "\x00" in value:
            raise BodyError(path, "must not contain NUL characters")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _check_values(item, (*path, index))
    elif isinstance(value, dict):
        for key, item in value.items():
            if "\x00" in key:
                raise BodyError((*path, key.replace("\x00", "?")), "a name with a NUL character")
            _check_values(item, (*path, key))


def _body_error(error: ValidationError) -> BodyError:
    first = error.errors(include_url=False)[0]
    return BodyError(first["loc"], _reason(first["type"], first["msg"], first.get("ctx") or {}))


_REASONS = {
    "extra_forbidden": "unknown field",
    "missing": "missing",
    "dict_type": "must be a JSON object",
    "model_type": "must be a JSON object",
    "int_type": "must be a whole number",
    "int_from_float": "must be a whole number",
    "bool_type": "must be true or false",
    "string_type": "must be a string",
    "list_type": "must be a list",
    "float_type": "must be a number",
    "finite_number": "must be a finite number (no NaN or Infinity)",
}


def _reason(kind: str, message: str, ctx: dict[str, Any]) -> str:
    if kind == "json_invalid":
        detail = str(ctx.get("error", message))
        if "recursion limit" in detail:
            return "nested too deeply"
        if "number out of range" in detail:
            return "a number is too large"
        if "unicode" in detail or "utf-8" in detail.lower() or "surrogate" in detail:
            return "not valid UTF-8 JSON text"
        return "not valid JSON"
    if kind in _REASONS:
        return _REASONS[kind]
    bounds = {
        "greater_than_equal": "must be {ge} or more",
        "greater_than": "must be more than {gt}",
        "less_than_equal": "must be at most {le}",
        "less_than": "must be less than {lt}",
        "string_too_long": "at most {max_length} characters",
        "string_too_short": "at least {min_length} characters",
        "too_long": "at most {max_length} items",
        "too_short": "at least {min_length} items",
    }
    if kind in bounds:
        return bounds[kind].format(**ctx)
    return message.replace("Input should be", "must be").replace("Value error, ", "")
