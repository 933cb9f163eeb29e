"""Which language a word, a name or a browser speaks, and money and times per locale."""

from datetime import UTC, datetime

import pytest

from botstore.i18n import EN, ZH_CN, Formats, locale_named, locale_of_word, negotiate, translate


@pytest.mark.parametrize(
    ("word", "locale"),
    [
        ("余额", ZH_CN),
        ("balance", EN),
        ("BALANCE", EN),
        ("不用券", ZH_CN),
        ("?", None),
        ("？", None),
    ],
)
def test_a_command_words_script_is_its_language(word: str, locale: str | None) -> None:
    assert locale_of_word(word) == locale


@pytest.mark.parametrize(
    ("name", "locale"),
    [
        ("English", EN),
        ("english", EN),
        ("英文", EN),
        ("en_US", EN),
        ("中文", ZH_CN),
        ("Chinese", ZH_CN),
        ("zh_CN", ZH_CN),
        ("zh-Hans-CN", ZH_CN),
        ("zh_TW", ZH_CN),
        ("klingon", None),
        ("", None),
    ],
)
def test_languages_are_known_by_their_names(name: str, locale: str | None) -> None:
    assert locale_named(name) == locale


@pytest.mark.parametrize(
    ("header", "locale"),
    [
        ("en-US,en;q=0.9", EN),
        ("zh-CN,zh;q=0.9,en;q=0.8", ZH_CN),
        ("fr-FR,en;q=0.5,zh;q=0.9", ZH_CN),
        ("fr-FR", ZH_CN),
        ("en;q=0, zh;q=0.1", ZH_CN),
        ("en;q=bad", ZH_CN),
        ("", ZH_CN),
    ],
)
def test_accept_language_picks_the_best_locale(header: str, locale: str) -> None:
    assert negotiate(header) == locale


def test_money_and_moments_are_written_the_way_each_locale_reads_them() -> None:
    moment = datetime(2026, 12, 5, 14, 0, tzinfo=UTC)
    chinese, english = Formats(ZH_CN, "Asia/Shanghai"), Formats(EN, "Asia/Shanghai")
    assert chinese.yuan(123450) == english.yuan(123450) == "1,234.50"
    assert chinese.yuan(-5) == "-0.05" and chinese.yuan(100_000_000_00) == "100,000,000.00"
    assert chinese.when(moment) == "2026年12月5日 22:00"
    assert english.when(moment) == "Dec 5, 2026 22:00"
    assert english.when(moment, "UTC") == "Dec 5, 2026 14:00"


def test_python_side_text_is_translated_with_its_values() -> None:
    reason = "must be at most %(most)s yuan"
    assert translate(ZH_CN, reason, most="10,000,000") == "最多 10,000,000 元"
    assert translate(EN, reason, most="10,000,000") == "must be at most 10,000,000 yuan"
