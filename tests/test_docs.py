"""The docs a user finds their way in: the protocol reference the code cites lives in this
repository and every section a comment or page cites exists in it; every relative link and
anchor of README.md and docs/*.md resolves; every page is in mkdocs.yml's nav; and
`mkdocs build --strict` (what `make docs` runs) builds them without a warning."""

import importlib.util
import re
import subprocess
import sys
import unicodedata
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
PROTOCOL = DOCS / "wechat-protocol.md"
CITATION = re.compile(r"wechat-protocol\.md,? ?§?(\d+(?:\.\d+)?)")
SOURCES = ["botstore", "handlers", "tests", "bench", "templates", "README.md", "docs"]
PAGES = [ROOT / "README.md", *sorted(DOCS.glob("*.md"))]
# [text](target), not an image's; targets with a scheme (http:, mailto:) are outside.
LINK = re.compile(r"(?<!!)\[(?:[^\]]|\n)*?\]\(([^)\s]+)\)")


def cited_sections() -> dict[str, set[str]]:
    cited: dict[str, set[str]] = {}
    for source in SOURCES:
        path = ROOT / source
        files = [path] if path.is_file() else [p for p in path.rglob("*") if p.is_file()]
        for file in files:
            if file.suffix not in {".py", ".md", ".txt", ".xml", ".html", ".js"}:
                continue
            for section in CITATION.findall(file.read_text(encoding="utf-8")):
                cited.setdefault(section, set()).add(str(file.relative_to(ROOT)))
    return cited


def test_every_cited_protocol_section_exists() -> None:
    headings = set(re.findall(r"^#{2,3} (\d+(?:\.\d+)?)\.? ", PROTOCOL.read_text(), re.M))
    cited = cited_sections()
    assert cited, "no citations found: the pattern is wrong"
    missing = {
        section: sorted(files) for section, files in cited.items() if section not in headings
    }
    assert missing == {}


def _prose(text: str) -> str:
    """The text without code: fenced blocks and inline code may show link-like strings."""
    text = re.sub(r"^```.*?^```", "", text, flags=re.S | re.M)
    return re.sub(r"`[^`\n]*`", "", text)


def _headings(text: str) -> list[str]:
    return [m.group(1).strip() for m in re.finditer(r"^#{1,6} (.+)$", _prose(text), re.M)]


def _mkdocs_slug(heading: str) -> str:
    """Python-Markdown's toc slug, which MkDocs's anchors are."""
    value = unicodedata.normalize("NFKD", heading).encode("ascii", "ignore").decode()
    value = re.sub(r"[^\w\s-]", "", value).strip().lower()
    return re.sub(r"[-\s]+", "-", value)


def _github_slug(heading: str) -> str:
    """GitHub's, for README.md and the pages read on GitHub."""
    return re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-")


def anchors(page: Path) -> set[str]:
    found = set()
    for heading in _headings(page.read_text(encoding="utf-8")):
        found |= {_mkdocs_slug(heading), _github_slug(heading)}
    return found


def broken_links(page: Path) -> list[str]:
    broken = []
    for target in LINK.findall(_prose(page.read_text(encoding="utf-8"))):
        if re.match(r"[a-z][a-z0-9+.-]*:", target):
            continue
        path, _, anchor = target.partition("#")
        linked = (page.parent / path).resolve() if path else page
        if not linked.is_file():
            broken.append(f"{target}: no such file")
        elif anchor and linked.suffix == ".md" and anchor not in anchors(linked):
            broken.append(f"{target}: no such heading in {linked.name}")
    return broken


def test_the_link_checker_sees_links_and_anchors() -> None:
    assert _mkdocs_slug("WeChat Pay (emulated, API v3)") == "wechat-pay-emulated-api-v3"
    assert _mkdocs_slug("The emulated /cgi-bin API") == "the-emulated-cgi-bin-api"
    links = LINK.findall(_prose((ROOT / "README.md").read_text(encoding="utf-8")))
    assert "docs/testing-bots.md" in links and "docs/economy.md#shops-and-orders" in links


@pytest.mark.parametrize("page", PAGES, ids=lambda page: page.name)
def test_every_relative_link_and_anchor_resolves(page: Path) -> None:
    assert broken_links(page) == []


def test_every_docs_page_is_in_the_nav() -> None:
    nav = set(re.findall(r"^\s*- [^:]+: ([\w./-]+\.md)$", (ROOT / "mkdocs.yml").read_text(), re.M))
    assert nav == {page.name for page in DOCS.glob("*.md")}


def test_readme_links_every_docs_page() -> None:
    readme = set(LINK.findall((ROOT / "README.md").read_text(encoding="utf-8")))
    assert {f"docs/{page.name}" for page in DOCS.glob("*.md")} <= readme


def test_mkdocs_builds_the_docs_without_a_warning(tmp_path: Path) -> None:
    if importlib.util.find_spec("mkdocs") is None:
        pytest.skip("mkdocs is not installed: pip install -e '.[dev]' (make test does)")
    build = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert build.returncode == 0, build.stdout + build.stderr
    assert (tmp_path / "testing-bots" / "index.html").is_file()
