"""botstore as another project installs it: the wheel `python -m build` makes, installed into a
fresh venv outside the repository, then `botstore serve`, `send`, `chat` and `replay --fresh-fans`
run from it, and the pytest-plugin example of docs/testing-bots.md (its pytest.ini, conftest.py
and tests, verbatim) passes against a wechatpy bot. Needs the network (the build's setuptools and
the dependencies come from the index), as `pip install botstore` does; ~1-2 min here, so it is
marked heavy."""

import os
import shutil
import socket
import subprocess
import sys
import time
import venv
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.live import free_port

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.heavy


def _clean_env(**extra: str) -> dict[str, str]:
    """No trace of this repository or its venv: no PYTHONPATH, no BOTSTORE_* settings."""
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("BOTSTORE_", "PYTHON", "VIRTUAL_ENV", "PYTEST"))
    }
    return env | extra


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    # A copy: building writes botstore.egg-info into the source tree.
    source = tmp_path_factory.mktemp("source") / "botstore"
    junk = ("*.egg-info", "__pycache__", ".*", "*.db", "*.db-*", "build", "dist", "site")
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(*junk))
    subprocess.run(
        [sys.executable, "-m", "build", "--outdir", str(out), str(source)],
        check=True,
        capture_output=True,
        env=_clean_env(),
    )
    (found,) = out.glob("botstore-*.whl")
    return found


@pytest.fixture(scope="module")
def installed(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv with the wheel (and pytest, for the plugin) installed; returns its bin/."""
    where = tmp_path_factory.mktemp("venv")
    venv.create(where, with_pip=True)
    bin_dir = where / "bin"
    subprocess.run(
        # pytest-asyncio for the plugin, wechatpy for the docs' example bot.
        [
            bin_dir / "python",
            "-m",
            "pip",
            "install",
            "--quiet",
            wheel,
            "pytest-asyncio",
            "wechatpy",
        ],
        check=True,
        capture_output=True,
        env=_clean_env(),
    )
    return bin_dir


@pytest.fixture(scope="module")
def served(installed: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """`botstore serve` from the venv, in a directory outside the repository, on a free port;
    yields the environment that reaches it (the packaged default config, a port and database)."""
    workdir = tmp_path_factory.mktemp("elsewhere")
    port = free_port()
    env = _clean_env(
        BOTSTORE_SERVER_PORT=str(port), BOTSTORE_SERVER_PUBLIC_URL=f"http://127.0.0.1:{port}"
    )
    log = workdir / "serve.log"
    with log.open("w") as out:
        process = subprocess.Popen(
            [installed / "botstore", "serve"], cwd=workdir, env=env, stdout=out, stderr=out
        )
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(log.read_text()) from None
                time.sleep(0.2)
        yield env | {"WORKDIR": str(workdir), "LOG": str(log)}
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_the_wheel_ships_every_data_file_of_the_repository(wheel: Path) -> None:
    tracked = subprocess.run(
        ["git", "ls-files", "botstore", "handlers", "templates", "migrations"],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split()
    if not tracked:
        pytest.skip("not a git checkout")
    names = set(zipfile.ZipFile(wheel).namelist())
    expected = {
        path if path.startswith(("botstore/", "handlers/")) else f"botstore/_data/{path}"
        for path in tracked
    }
    assert expected - names == set()
    assert {"botstore/_data/config.toml", "botstore/_data/alembic.ini"} <= names
    assert not [name for name in names if "__pycache__" in name or name.endswith("setup.py")]
    entry_points = zipfile.ZipFile(wheel).read("botstore-0.1.0.dist-info/entry_points.txt")
    assert b"botstore = botstore.cli:main" in entry_points


def test_serve_and_send_run_from_the_installed_wheel(
    installed: Path, served: dict[str, str]
) -> None:
    workdir = Path(served["WORKDIR"])
    # serve migrated a database in its working directory with the packaged migrations.
    assert (workdir / "botstore.db").is_file()
    started = Path(served["LOG"]).read_text()
    assert f"http://127.0.0.1:{served['BOTSTORE_SERVER_PORT']}/console" in started

    sent = subprocess.run(
        [installed / "botstore", "send", "--aes", "help"],
        cwd=workdir,
        env=served,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert sent.returncode == 0, sent.stderr
    assert "help [topic]" in sent.stdout  # the help reply, rendered from packaged templates


def test_the_installed_wheel_reads_a_code_image(installed: Path, tmp_path: Path) -> None:
    # The scan's readers (Pillow, zxing-cpp) come with the wheel's dependencies.
    script = (
        "import io, segno\n"
        "from botstore import qr_reader\n"
        "out = io.BytesIO()\n"
        "segno.make_qr('http://127.0.0.1/wxa/open?scene=1').save(out, kind='png', scale=3)\n"
        "print(qr_reader.read(out.getvalue()))\n"
    )
    run = subprocess.run(
        [installed / "python", "-c", script],
        cwd=tmp_path,
        env=_clean_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout == "http://127.0.0.1/wxa/open?scene=1\n"


def test_the_pytest_plugin_runs_from_the_installed_wheel(
    installed: Path, served: dict[str, str], tmp_path: Path
) -> None:
    port = served["BOTSTORE_SERVER_PORT"]
    # The docs' pytest.ini, pointed at the served botstore (its default account settings).
    (tmp_path / "pytest.ini").write_text(
        "[pytest]\n"
        "asyncio_mode = auto\n"
        "asyncio_default_fixture_loop_scope = function\n"
        "filterwarnings = error\n"
        f"wechat_url = http://127.0.0.1:{port}/wechat\n"
        "wechat_token = botstore\n"
        "wechat_app_id = wx0123456789abcdef\n"
        "wechat_aes_key = abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG\n"
        "wechat_account_id = gh_b0757e5d0a1e\n"
    )
    (tmp_path / "test_bot.py").write_text(
        "import pytest\n"
        "\n"
        "async def test_help(wechat):\n"
        "    assert 'help [topic]' in (await wechat.say('help')).content\n"
        "\n"
        "@pytest.mark.wechat(aes=True)\n"
        "async def test_balance_encrypted(wechat):\n"
        "    assert '¥' in (await wechat.say('balance')).content\n"
        "    assert wechat.last.encrypted\n"
    )
    run = subprocess.run(
        [installed / "python", "-m", "pytest", "-q", "-p", "no:cacheprovider"],
        cwd=tmp_path,
        env=_clean_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "2 passed" in run.stdout and "warning" not in run.stdout.lower()


def test_a_transcript_recorded_with_chat_replays_in_ci_with_fresh_fans(
    installed: Path, served: dict[str, str], tmp_path: Path
) -> None:
    script = "/subscribe\ntopup 5\nbalance\n/save conversation.json\n/quit\n"
    chat = subprocess.run(
        [installed / "botstore", "chat", "--fan", "o_recorded"],
        cwd=tmp_path,
        env=served,
        input=script,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert chat.returncode == 0, chat.stdout + chat.stderr
    assert "saved 3 turns to conversation.json" in chat.stdout
    for _ in range(2):  # the second run meets fans as new as the first's
        replay = subprocess.run(
            [installed / "botstore", "replay", "conversation.json", "--fresh-fans", "--strict"],
            cwd=tmp_path,
            env=served,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert replay.returncode == 0, replay.stdout + replay.stderr
        assert replay.stdout.splitlines()[-1] == "3 turns replayed: all replies match"


def readme_plugin_example() -> dict[str, str]:
    """The docs' pytest.ini, conftest.py and test_bot.py for the pytest plugin, verbatim."""
    page = (ROOT / "docs" / "testing-bots.md").read_text(encoding="utf-8")
    section = page.split("\n## Testing your own bot (pytest plugin)", 1)[1].split("\n## ", 1)[0]
    ini = section.split("```ini\n", 1)[1].split("```", 1)[0]
    python = section.split("```python\n", 1)[1].split("```", 1)[0]
    conftest, test_bot = python.split("# test_bot.py\n", 1)
    return {"pytest.ini": ini, "conftest.py": conftest, "test_bot.py": test_bot}


def test_readmes_plugin_example_passes_against_a_wechatpy_bot(
    installed: Path, tmp_path: Path
) -> None:
    files = readme_plugin_example()
    files["pytest.ini"] += "filterwarnings = error\n"  # the docs' settings must not warn
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    shutil.copy(ROOT / "tests" / "plugin" / "example_bot.py", tmp_path)  # aiohttp + wechatpy
    run = subprocess.run(
        [installed / "python", "-m", "pytest", "-q", "-p", "no:cacheprovider"],
        cwd=tmp_path,
        env=_clean_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "4 passed" in run.stdout and "warning" not in run.stdout.lower()
