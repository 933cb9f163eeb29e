"""The message catalogues against the sources: every id `make messages` extracts is in each
locale's .po (zh_CN translated), and each committed .mo is the compiled .po."""

import re
from io import BytesIO

import pytest
from babel.messages.mofile import read_mo, write_mo
from babel.messages.pofile import read_po

from botstore.catalogue import extract
from botstore.i18n import LOCALES, LOCALES_DIR, ZH_CN

PLACEHOLDER = re.compile(r"%\((\w+)\)s")


@pytest.fixture(scope="module")
def extracted() -> set[str | tuple[str, ...]]:
    return {message.id for message in extract() if message.id}


def po(locale: str):  # noqa: ANN201 (a Babel Catalog)
    with (LOCALES_DIR / locale / "LC_MESSAGES" / "messages.po").open("rb") as file:
        return read_po(file, locale=locale)


@pytest.mark.parametrize("locale", LOCALES)
def test_every_message_id_of_the_sources_is_in_the_catalogue(
    locale: str, extracted: set[str | tuple[str, ...]]
) -> None:
    ids = {message.id for message in po(locale) if message.id}
    missing = extracted - ids
    assert not missing, f"run `make messages`, then translate: {sorted(map(str, missing))}"


def test_every_chinese_message_is_translated_with_the_same_values() -> None:
    for message in po(ZH_CN):
        if not message.id:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        assert all(strings), f"untranslated: {ids[0]!r}"
        assert not message.fuzzy, f"fuzzy (check, then drop the flag): {ids[0]!r}"
        wanted = set(PLACEHOLDER.findall(ids[-1])) | set(PLACEHOLDER.findall(ids[0]))
        for string in strings:
            # Singular English may leave %(count)s out ("Last movement:"); Chinese says it.
            assert set(PLACEHOLDER.findall(string)) <= wanted | {"count"}, ids[0]
            assert set(PLACEHOLDER.findall(string)) >= set(PLACEHOLDER.findall(ids[0])), ids[0]


@pytest.mark.parametrize("locale", LOCALES)
def test_the_compiled_catalogue_is_the_current_po(locale: str) -> None:
    compiled = BytesIO()
    write_mo(compiled, po(locale))
    compiled.seek(0)
    with (LOCALES_DIR / locale / "LC_MESSAGES" / "messages.mo").open("rb") as file:
        committed = read_mo(file)
    fresh = read_mo(compiled)
    assert as_dict(committed) == as_dict(fresh), "run `make messages` (pybabel compile)"


def as_dict(catalog) -> dict[object, object]:  # noqa: ANN001 (a Babel Catalog)
    def plain(value: object) -> object:
        return tuple(value) if isinstance(value, list | tuple) else value

    return {plain(m.id): plain(m.string) for m in catalog if m.id}


def test_a_message_missing_from_a_catalogue_is_found(tmp_path) -> None:
    """The check itself: a template with a new {% trans %} is extracted as a new id."""
    (tmp_path / "babel.cfg").write_text("[jinja2: templates/**.txt]\ntrimmed = true\n")
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates" / "new.txt").write_text("{% trans %}A brand new reply{% endtrans %}")
    found = {message.id for message in extract(tmp_path) if message.id}
    assert found == {"A brand new reply"}
    assert "A brand new reply" not in {message.id for message in po(ZH_CN)}
