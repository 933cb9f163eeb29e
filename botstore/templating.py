"""Jinja2 environments: project templates for replies and pages, a sandbox for merchant text."""

from collections.abc import Callable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from babel.support import NullTranslations
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from botstore.config import Config
from botstore.i18n import EN, LOCALES, Formats, translations
from botstore.images import absolute
from botstore.merchant_sandbox import MerchantSandbox, TemplateLimits
from botstore.money import format_yuan
from botstore.paths import TEMPLATES
from botstore.terms import LABELS


def _when(value: datetime, timezone: str = "UTC", fmt: str = "%Y-%m-%d %H:%M") -> str:
    return value.astimezone(ZoneInfo(timezone)).strftime(fmt)


# `absolute`: botstore's own root-relative pictures as pages link them (botstore/images.py).
FILTERS = {"yuan": format_yuan, "when": _when, "absolute": absolute}


def _install(env: Environment) -> Environment:
    env.filters.update(FILTERS)
    return env


# The account's time zone unless a caller names one (config.toml's wallet.timezone).
DEFAULT_TIMEZONE = "Asia/Shanghai"


def project_environment(
    directory: Path = TEMPLATES,
    *,
    locale: str | None = None,
    timezone: str = DEFAULT_TIMEZONE,
    text_only: bool = False,
) -> Environment:
    """Templates under templates/: reply bodies (.txt), reply XML and pages (escaped).

    With a `locale`, {% trans %} and _() read its catalogue and `yuan` and `when` write its
    numbers and dates in `timezone`; without one, text stays as written (English) with plain
    ISO-like times. `text_only` translates the text but keeps the plain numbers and times (the
    admin pages, whose figures are not yet localised). One environment per locale, built once:
    a message only picks one.
    """
    env = Environment(
        loader=FileSystemLoader(directory),
        autoescape=select_autoescape(["xml", "html"], default_for_string=False),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
        auto_reload=False,
        extensions=["jinja2.ext.i18n"],
    )
    # `trimmed` folds a {% trans %} block's line breaks and indentation into single spaces, as
    # babel.cfg extracts them; _() and {% trans %} fill in %(name)s values themselves (newstyle).
    env.policies["ext.i18n.trimmed"] = True
    catalogue = translations(locale or EN)
    env.install_gettext_translations(catalogue, newstyle=True)  # type: ignore[attr-defined]
    _install(env)
    env.filters["term"] = term = _term(catalogue)
    env.filters["label"] = lambda value, group: term(LABELS.get(group, {}).get(value, value))
    env.globals["locale"] = locale or EN
    # What replies that show times name once: times are on the account's clock.
    env.globals["zone"] = timezone
    if locale is not None and not text_only:
        formats = Formats(locale, timezone)
        env.filters.update(yuan=formats.yuan, when=formats.when, date=formats.date)
        env.globals["zone"] = formats.zone_name
    return env


def localized_environments(
    directory: Path = TEMPLATES, *, timezone: str = DEFAULT_TIMEZONE
) -> dict[str, Environment]:
    """One project environment per locale botstore speaks."""
    return {
        locale: project_environment(directory, locale=locale, timezone=timezone)
        for locale in LOCALES
    }


def reply_environments(config: Config) -> dict[str, Environment]:
    """The replies' and notices' environments: times on the account's clock."""
    return localized_environments(timezone=config.wallet.timezone)


def _term(catalogue: NullTranslations) -> Callable[..., str]:
    def term(message: str, values: Mapping[str, Any] | None = None) -> str:
        """A catalogue id held in data, translated where it is shown: a domain word stored in
        English (an order's status: botstore/terms.py marks them), a command's summary, a
        refusal's reason with its %(name)s values."""
        if not message:
            return message
        text = catalogue.gettext(message)
        return text % values if values else text

    return term


def merchant_environment(limits: TemplateLimits | None = None) -> MerchantSandbox:
    """Merchant-written templates run sandboxed: no attribute tricks, no file access, and each
    render within `limits` (botstore.merchant_sandbox)."""
    return MerchantSandbox(limits or TemplateLimits(), filters=FILTERS)


def render_merchant(env: Environment, source: str, **context: Any) -> str:
    return env.from_string(source).render(**context).strip()
