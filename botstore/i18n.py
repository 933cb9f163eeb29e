"""Locales: the message catalogues under botstore/locales/, which language a word or a browser
speaks, and money and times written the way each locale reads them. Knows no HTTP or database."""

import functools
import re
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import get_timezone_name, parse_pattern
from babel.numbers import get_decimal_symbol, get_group_symbol
from babel.support import NullTranslations, Translations

LOCALES_DIR = Path(__file__).resolve().parent / "locales"
DOMAIN = "messages"
# The first is the platform's own default (a new fan's language unless config.toml says else).
LOCALES = ("zh_CN", "en")
ZH_CN, EN = LOCALES

# What fans and browsers call each language, lower-cased: `语言 English`, `language 中文`,
# `/cgi-bin/user/info`'s zh_CN, Accept-Language's zh-Hans-CN.
_NAMES = {
    ZH_CN: (
        "zh_cn",
        "zh-cn",
        "zh",
        "zh-hans",
        "zh-hans-cn",
        "中文",
        "汉语",
        "简体中文",
        "chinese",
    ),
    EN: ("en", "en_us", "en-us", "en-gb", "english", "英文", "英语"),
}
_BY_NAME = {name: locale for locale, names in _NAMES.items() for name in names}
_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
_LATIN = re.compile(r"[A-Za-z]")


def N_(message: str) -> str:  # noqa: N802 (the name gettext tools look for)
    """Marks `message` for the catalogues; it is translated where it is shown."""
    return message


def locale_named(name: str | None) -> str | None:
    """'English', '中文', 'zh-CN', 'en_US' -> a locale botstore speaks, or None."""
    if not name:
        return None
    key = name.strip().lower()
    if key in _BY_NAME:
        return _BY_NAME[key]
    base = key.replace("_", "-").split("-")[0]
    return _BY_NAME.get(base)


def locale_of_word(word: str) -> str | None:
    """The language a command word is written in: 余额 zh_CN, balance en, "?" neither."""
    if _CJK.search(word):
        return ZH_CN
    if _LATIN.search(word):
        return EN
    return None


def negotiate(accept_language: str, default: str = ZH_CN) -> str:
    """The best locale for an Accept-Language header (RFC 9110 weights), else `default`."""
    ranked: list[tuple[float, int, str]] = []
    for index, part in enumerate(accept_language.split(",")[:20]):
        tag, _, params = part.strip().partition(";")
        weight = 1.0
        if params.strip().startswith("q="):
            try:
                weight = float(params.strip()[2:])
            except ValueError:
                continue
        locale = locale_named(tag)
        if locale is not None and weight > 0:
            ranked.append((-weight, index, locale))
    return min(ranked)[2] if ranked else default


@functools.cache
def translations(locale: str) -> NullTranslations:
    """The compiled catalogue of `locale`, loaded once per process and shared (read-only)."""
    if locale not in LOCALES:
        raise ValueError(f"unknown locale {locale!r}")
    # English is the source language: its catalogue exists to be complete, not to change text.
    loaded = Translations.load(LOCALES_DIR, [locale], DOMAIN)
    if locale != EN and not isinstance(loaded, Translations):
        raise FileNotFoundError(
            f"no compiled catalogue for {locale} under {LOCALES_DIR}: run `make messages`"
        )
    return loaded


def translate(locale: str, message: str, **values: Any) -> str:
    """`message` in `locale`, with %(name)s values filled in (as the templates' _() does)."""
    text = translations(locale).gettext(message)
    return text % values if values else text


def zone_name(timezone: str, locale: Locale | str) -> str:
    """The account's time zone as `locale` names it, for replies that show times: China Time,
    中国时间. Babel has no region for UTC (its "Unknown Region (UTC) Time"): that is UTC."""
    if timezone.removeprefix("Etc/") in ("UTC", "UCT", "GMT", "Zulu", "Universal"):
        return "UTC"
    return get_timezone_name(ZoneInfo(timezone), locale=locale)


class Formats:
    """Money and times as `locale` writes them, in the account's time zone; built once per
    locale (Babel's symbols and patterns), cheap per call."""

    def __init__(self, locale: str, timezone: str) -> None:
        babel_locale = Locale.parse(locale)
        self.locale = babel_locale
        self.zone = ZoneInfo(timezone)
        self.group = get_group_symbol(babel_locale)
        self.decimal = get_decimal_symbol(babel_locale)
        # The locale's medium date (2026年12月5日, Dec 5, 2026) and a 24-hour clock.
        date = babel_locale.datetime_skeletons["yMMMd"].pattern
        self.moment = parse_pattern(f"{date} HH:mm")
        self.day = parse_pattern(date)
        self.zone_name = zone_name(timezone, babel_locale)

    def yuan(self, fen: int) -> str:
        """123450 -> '1,234.50' (the ¥ is the template's)."""
        sign = "-" if fen < 0 else ""
        whole, cents = divmod(abs(fen), 100)
        return f"{sign}{whole:,}".replace(",", self.group) + f"{self.decimal}{cents:02d}"

    def when(self, value: datetime, timezone: str | None = None) -> str:
        """A moment on the account's clock: 2026年12月5日 22:00 / Dec 5, 2026 22:00."""
        zone = ZoneInfo(timezone) if timezone else self.zone
        return self.moment.apply(value.astimezone(zone), self.locale)

    def date(self, value: datetime, timezone: str | None = None) -> str:
        zone = ZoneInfo(timezone) if timezone else self.zone
        return self.day.apply(value.astimezone(zone), self.locale)
