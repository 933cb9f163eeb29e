"""Every reply template rendered in both locales: a Chinese reply holds no English words and an
English reply no Chinese, but for names (tests/i18n/samples.py)."""

import re

import pytest

from botstore.i18n import EN, ZH_CN
from botstore.templating import TEMPLATES, localized_environments
from tests.i18n.samples import COMMON, NAMES, SAMPLES

REPLIES = TEMPLATES / "replies"
LATIN_WORD = re.compile(r"[A-Za-z]{2,}")
CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff\u3000-\u303f\uff01-\uff0c\uff1a-\uff1f]")
URL = re.compile(r"https?://\S+")
ENVS = localized_environments()


def test_the_samples_cover_every_reply_template() -> None:
    templates = {
        str(path.relative_to(REPLIES))
        for path in REPLIES.rglob("*.txt")
        if not path.name.startswith("_commands")
    }
    assert templates == set(SAMPLES), "add samples for new templates to tests/i18n/samples.py"


def rendered(locale: str) -> list[tuple[str, int, str]]:
    out = []
    for name, contexts in SAMPLES.items():
        template = ENVS[locale].get_template(f"replies/{name}")
        for index, values in enumerate(contexts):
            out.append((name, index, template.render(**COMMON, **values).strip()))
    return out


def without_names(text: str) -> str:
    text = URL.sub("", text)
    for name in sorted(NAMES, key=len, reverse=True):
        text = text.replace(name, "")
    return text


@pytest.mark.parametrize(("name", "index", "text"), rendered(ZH_CN))
def test_a_chinese_reply_has_no_english_words(name: str, index: int, text: str) -> None:
    assert text
    assert not LATIN_WORD.findall(without_names(text)), f"{name}[{index}]: {text}"


@pytest.mark.parametrize(("name", "index", "text"), rendered(EN))
def test_an_english_reply_has_no_chinese(name: str, index: int, text: str) -> None:
    assert text
    assert not CJK.findall(without_names(text)), f"{name}[{index}]: {text}"


def test_money_and_times_are_written_per_locale() -> None:
    values = {**COMMON, "holding": SAMPLES["wealth/invested.txt"][0]["holding"]}
    values |= {"product_name": "Green Tea Fund", "total_dividend_fen": 123450}
    zh = ENVS[ZH_CN].get_template("replies/wealth/invested.txt").render(**values)
    en = ENVS[EN].get_template("replies/wealth/invested.txt").render(**values)
    # 2026-12-05 14:00 UTC is 22:00 on the account's clock (Asia/Shanghai).
    assert "合计 ¥1,234.50；首次在 2026年12月5日 22:00" in zh
    assert "totalling ¥1,234.50; first on Dec 5, 2026 22:00" in en
