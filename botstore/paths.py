"""Where botstore's own files are: templates/, migrations/, config.toml and alembic.ini sit at the
top of the repository, and inside the package (botstore/_data/) once installed from a wheel."""

from pathlib import Path

PACKAGE = Path(__file__).resolve().parent
# setup.py maps the repository's top-level data into the package under this name.
_BUNDLED = PACKAGE / "_data"
ROOT = _BUNDLED if (_BUNDLED / "config.toml").is_file() else PACKAGE.parent

TEMPLATES = ROOT / "templates"
MIGRATIONS = ROOT / "migrations"
DEFAULT_CONFIG = ROOT / "config.toml"
ALEMBIC_INI = ROOT / "alembic.ini"
