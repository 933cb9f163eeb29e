"""The message catalogues' source side: what `pybabel extract` (babel.cfg) finds in handlers
besides gettext calls, and the extraction the catalogue test compares the .po files with."""

import ast
from collections.abc import Collection, Iterator, Mapping
from io import BytesIO
from pathlib import Path
from typing import IO, Any

from babel.messages.catalog import Catalog
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir, extract_python
from babel.messages.frontend import parse_mapping_cfg

ROOT = Path(__file__).resolve().parent.parent
# The gettext names of botstore's Python code: N_() marks, translate(locale, message) shows
# (the Makefile passes the same: -k translate:2).
KEYWORDS = {**DEFAULT_KEYWORDS, "translate": (2,)}

Extracted = tuple[int, str, str, list[str]]


def extract_handlers(
    fileobj: IO[bytes],
    keywords: Collection[str],
    comment_tags: Collection[str],
    options: Mapping[str, Any],
) -> Iterator[Extracted]:
    """A handler module's gettext calls, and what the router shows of its commands: each
    command's summary (its docstring's first line), its argument names and the area's title."""
    source = fileobj.read()
    yield from extract_python(BytesIO(source), keywords, comment_tags, options)
    tree = ast.parse(source)
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and _called(node) == "Router":
            for keyword in node.keywords:
                if keyword.arg == "title" and isinstance(keyword.value, ast.Constant):
                    yield node.lineno, "N_", keyword.value.value, ["area title"]
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        if not any(
            isinstance(d, ast.Call) and _called(d) == "command" for d in node.decorator_list
        ):
            continue
        doc = ast.get_docstring(node)
        if doc:
            yield node.lineno, "N_", doc.splitlines()[0], ["command summary"]
        for arg in node.args.args[1:]:  # after ctx
            yield node.lineno, "N_", arg.arg.replace("_", " "), ["argument name"]


def _called(call: ast.Call) -> str:
    func = call.func
    if isinstance(func, ast.Attribute):
        return func.attr
    return func.id if isinstance(func, ast.Name) else ""


def extract(root: Path = ROOT) -> Catalog:
    """Every message id of the sources, as `make messages` (pybabel extract) finds them."""
    with (root / "babel.cfg").open() as config:
        method_map, options_map = parse_mapping_cfg(config)
    catalog = Catalog()
    for filename, lineno, message, _comments, context in extract_from_dir(
        root, method_map, options_map, keywords=KEYWORDS
    ):
        catalog.add(message, None, [(filename, lineno)], context=context)
    return catalog
