"""Jinja2 environments: project templates for replies and pages, a sandbox for merchant text."""

from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from jinja2.sandbox import ImmutableSandboxedEnvironment

from botstore.money import format_yuan

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"


def _when(value: datetime, timezone: str = "UTC", fmt: str = "%Y-%m-%d %H:%M") -> str:
    return value.astimezone(ZoneInfo(timezone)).strftime(fmt)


def _install(env: Environment) -> Environment:
    env.filters["yuan"] = format_yuan
    env.filters["when"] = _when
    return env


def project_environment(directory: Path = TEMPLATES) -> Environment:
    """Templates under templates/: reply bodies (.txt), reply XML and pages (escaped)."""
    env = Environment(
        loader=FileSystemLoader(directory),
        autoescape=select_autoescape(["xml", "html"], default_for_string=False),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
        auto_reload=False,
    )
    return _install(env)


def merchant_environment() -> Environment:
    """Merchant-written templates run sandboxed: no attribute tricks, no file access."""
    env = ImmutableSandboxedEnvironment(autoescape=False)
    return _install(env)


def render_merchant(env: Environment, source: str, **context: Any) -> str:
    return env.from_string(source).render(**context).strip()
