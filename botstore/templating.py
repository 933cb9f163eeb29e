"""Jinja2 environments: project templates for replies and pages, a sandbox for merchant text."""

from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from botstore.merchant_sandbox import MerchantSandbox, TemplateLimits
from botstore.money import format_yuan
from botstore.paths import TEMPLATES


def _when(value: datetime, timezone: str = "UTC", fmt: str = "%Y-%m-%d %H:%M") -> str:
    return value.astimezone(ZoneInfo(timezone)).strftime(fmt)


FILTERS = {"yuan": format_yuan, "when": _when}


def _install(env: Environment) -> Environment:
    env.filters.update(FILTERS)
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


def merchant_environment(limits: TemplateLimits | None = None) -> MerchantSandbox:
    """Merchant-written templates run sandboxed: no attribute tricks, no file access, and each
    render within `limits` (botstore.merchant_sandbox)."""
    return MerchantSandbox(limits or TemplateLimits(), filters=FILTERS)


def render_merchant(env: Environment, source: str, **context: Any) -> str:
    return env.from_string(source).render(**context).strip()
