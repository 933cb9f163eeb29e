"""Packaging that pyproject.toml can't say: the repository keeps templates/, migrations/,
config.toml and alembic.ini at the top level, and the wheel ships them inside the package, as
botstore/_data/ (botstore/paths.py finds them in either place). Metadata is in pyproject.toml."""

from setuptools import find_namespace_packages, setup
from setuptools.command.build_py import build_py

DATA = "botstore._data"


def tree(directory: str, package: str) -> list[str]:
    """The package and every directory below it: data-only directories (static/, locales/,
    templates/replies/xml/) are packages too, to setuptools."""
    below = find_namespace_packages(directory, exclude=["*__pycache__*"])
    return [package, *(f"{package}.{name}" for name in below)]


class BuildPy(build_py):
    def find_package_modules(self, package: str, package_dir: str) -> list:
        # botstore._data maps to the repository's root: ship its two files, not setup.py.
        return [] if package == DATA else super().find_package_modules(package, package_dir)


code = [*tree("botstore", "botstore"), *tree("handlers", "handlers")]
data = [*tree("templates", f"{DATA}.templates"), *tree("migrations", f"{DATA}.migrations")]

setup(
    cmdclass={"build_py": BuildPy},
    packages=[*code, DATA, *data],
    package_dir={DATA: "."},
    # Every file of every directory listed, so new data directories under botstore/ ship too.
    package_data={DATA: ["config.toml", "alembic.ini"], **{name: ["*"] for name in code + data}},
    exclude_package_data={"": ["*.pyc"]},
)
