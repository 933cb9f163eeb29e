"""The protocol reference the code cites lives in this repository, and every section a comment
or the README cites exists in it."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PROTOCOL = ROOT / "docs" / "wechat-protocol.md"
CITATION = re.compile(r"wechat-protocol\.md,? ?§?(\d+(?:\.\d+)?)")
SOURCES = ["botstore", "handlers", "tests", "bench", "templates", "README.md"]


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
