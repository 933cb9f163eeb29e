"""The CLI end to end: a real `serve` process, poked by `send`."""

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.live import free_port, live_server


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    with live_server(tmp_path_factory.mktemp("serve"), BOTSTORE_WECHAT_TOKEN="clitoken") as env:
        yield env


def send(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "botstore", "send", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_send_talks_to_a_served_botstore_in_plaintext_and_aes(server: dict[str, str]) -> None:
    assert send(server, "--fan", "o_cli", "topup 8").stdout == "Topped up ¥8.00. Balance: ¥8.00\n"
    assert send(server, "--fan", "o_cli", "--aes", "balance").stdout == "Your balance: ¥8.00\n"
    raw = send(server, "--fan", "o_cli", "--aes", "--raw", "balance").stdout
    assert "<ToUserName><![CDATA[o_cli]]></ToUserName>" in raw


def test_send_events_and_demo_keyword_rules(server: dict[str, str]) -> None:
    # config.toml's account speaks Chinese to a fan who has typed no command yet; a menu click
    # types none either.
    welcome = send(server, "--fan", "o_cli2", "--event", "subscribe").stdout
    assert welcome.startswith("欢迎来到 botstore！")
    assert send(server, "--fan", "o_cli2", "--event", "CLICK", "--key", "balance").stdout == (
        "你的余额：¥0.00\n"
    )
    assert send(server, "--fan", "o_cli2", "about").stdout.startswith("[news]\n- About botstore")


def test_send_reports_a_wrong_token_and_an_unreachable_url(server: dict[str, str]) -> None:
    wrong = send(server | {"BOTSTORE_WECHAT_TOKEN": "other"}, "balance")
    assert wrong.stdout == "HTTP 403: bad signature\n"
    assert wrong.returncode == 3  # the bot's error: HTTP 403
    gone = send(server, "--url", f"http://127.0.0.1:{free_port()}/wechat", "balance")
    assert gone.returncode == 3
    assert gone.stderr.startswith("botstore send: could not reach")


SEND_AND_LIST_MODULES = """
import atexit, sys
from botstore import cli

atexit.register(lambda: print(" ".join(sorted({name.split(".")[0] for name in sys.modules}))))
sys.exit(cli.main(["send", "--url", sys.argv[1], "balance"]))
"""


def test_send_starts_without_the_database_modules() -> None:
    # send, chat and replay run once per message from scripts: SQLAlchemy and the models were
    # two thirds of each run's start.
    result = subprocess.run(
        [sys.executable, "-c", SEND_AND_LIST_MODULES, f"http://127.0.0.1:{free_port()}/wechat"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.stderr.startswith("botstore send: could not reach"), result.stderr
    loaded = set(result.stdout.split())
    assert "aiohttp" in loaded
    assert not loaded & {"sqlalchemy", "sqlmodel", "alembic"}


def test_migrate_and_seed_commands(tmp_path: Path) -> None:
    env = os.environ | {"BOTSTORE_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/m.db"}
    run = [sys.executable, "-m", "botstore"]
    migrated = subprocess.run(
        [*run, "migrate"], env=env, capture_output=True, text=True, timeout=60
    )
    assert migrated.returncode == 0, migrated.stderr
    seeded = subprocess.run([*run, "seed"], env=env, capture_output=True, text=True, timeout=60)
    assert seeded.stdout == "demo data loaded\n"
    again = subprocess.run([*run, "seed"], env=env, capture_output=True, text=True, timeout=60)
    assert again.stdout == "demo data already present\n"


@pytest.mark.parametrize(("flags", "logged"), [([], False), (["--access-log"], True)])
def test_serve_logs_each_request_only_when_asked(
    monkeypatch: pytest.MonkeyPatch, flags: list[str], logged: bool
) -> None:
    from botstore import cli

    ran: dict[str, object] = {}
    monkeypatch.setattr(cli, "prepare_database", lambda *_args, **_kwargs: False)
    monkeypatch.setattr(cli.web, "run_app", lambda app, **kwargs: ran.update(kwargs, app=app))

    assert cli.main(["serve", *flags]) == 0
    assert (ran["access_log"] is not None) is logged
    # The served process keeps its start-up heap out of the garbage collector's full passes.
    assert cli.freeze_startup_heap in ran["app"].on_startup  # type: ignore[attr-defined]


def test_chat_in_a_terminal(server: dict[str, str]) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "botstore", "chat", "--openid", "o_term_cli", "--aes"],
        env=server,
        input="topup 3\n/click balance\n/quit\n",
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "bot> Topped up ¥3.00. Balance: ¥3.00" in result.stdout
    assert "bot> Your balance: ¥3.00" in result.stdout


WECHAT_SHIPPED = (
    "botstore: bad config: wechat.token (BOTSTORE_WECHAT_TOKEN), "
    "wechat.app_secret (BOTSTORE_WECHAT_APP_SECRET), "
    "wechat.encoding_aes_key (BOTSTORE_WECHAT_ENCODING_AES_KEY), "
    "miniprogram.app_secret (BOTSTORE_MINIPROGRAM_APP_SECRET): still the shipped values"
)


def test_serve_off_loopback_with_shipped_secrets_stops_before_the_database(tmp_path: Path) -> None:
    # Only the admin token changed, the case that used to start: the webhook token and the app
    # secret shipped in config.toml would let anyone on the network act as any fan.
    env = {
        "PATH": os.environ["PATH"],
        "PYTHONPATH": str(Path(__file__).resolve().parent.parent),
        "BOTSTORE_SERVER_HOST": "0.0.0.0",
        "BOTSTORE_SERVER_PORT": str(free_port()),
        "BOTSTORE_ADMIN_TOKEN": "s3cret-own",
        "BOTSTORE_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/never.db",
    }
    result = subprocess.run(
        [sys.executable, "-m", "botstore", "serve"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )
    assert result.returncode == 2
    assert result.stderr.startswith(WECHAT_SHIPPED + ", which anyone can read; set your own to ")
    assert "serve on '0.0.0.0'" in result.stderr
    assert result.stderr.count("\n") == 1  # one line
    assert list(tmp_path.iterdir()) == []  # no database made, nothing migrated


@pytest.fixture
def started(monkeypatch: pytest.MonkeyPatch) -> dict[str, object]:
    """What `serve` got as far as: migrating, and run_app's arguments (neither really runs)."""
    from botstore import cli

    ran: dict[str, object] = {}

    def prepare(*_args: object, **_kwargs: object) -> bool:
        ran["migrated"] = True
        return False

    monkeypatch.setattr(cli, "prepare_database", prepare)
    monkeypatch.setattr(cli.web, "run_app", lambda app, **kwargs: ran.update(kwargs))
    for name in list(os.environ):
        if name.startswith("BOTSTORE_"):
            monkeypatch.delenv(name)
    return ran


@pytest.mark.parametrize(
    ("flags", "env"),
    [
        (["--host", "0.0.0.0"], {}),
        (["--host", "::"], {}),
        ([], {"BOTSTORE_SERVER_HOST": "botstore.example.com"}),
        (["--host", "192.168.1.5"], {"BOTSTORE_SERVER_HOST": "127.0.0.1"}),
    ],
)
def test_serve_off_loopback_names_every_shipped_secret(
    started: dict[str, object],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    flags: list[str],
    env: dict[str, str],
) -> None:
    from botstore import cli

    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert cli.main(["serve", *flags]) == 2
    err = capsys.readouterr().err
    assert err.startswith(WECHAT_SHIPPED.replace("):", "), admin.token (BOTSTORE_ADMIN_TOKEN):"))
    assert started == {}


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "::1"])
def test_serve_on_loopback_keeps_the_shipped_secrets(
    started: dict[str, object], host: str
) -> None:
    from botstore import cli

    assert cli.main(["serve", "--host", host]) == 0
    assert started["host"] == host


def test_the_secrets_command_prints_values_that_serve_anywhere(
    started: dict[str, object], monkeypatch: pytest.MonkeyPatch
) -> None:
    from botstore import cli

    printed = subprocess.run(
        [sys.executable, "-m", "botstore", "secrets"], capture_output=True, text=True, timeout=60
    )
    assert printed.returncode == 0, printed.stderr
    lines = dict(line.split("=", 1) for line in printed.stdout.splitlines())
    assert sorted(lines) == [
        "BOTSTORE_ADMIN_TOKEN",
        "BOTSTORE_MINIPROGRAM_APP_SECRET",
        "BOTSTORE_WECHAT_APP_SECRET",
        "BOTSTORE_WECHAT_ENCODING_AES_KEY",
        "BOTSTORE_WECHAT_TOKEN",
    ]
    for name, value in lines.items():
        monkeypatch.setenv(name, value)
    assert cli.main(["serve", "--host", "0.0.0.0"]) == 0
    assert started["host"] == "0.0.0.0"
    again = subprocess.run(
        [sys.executable, "-m", "botstore", "secrets"], capture_output=True, text=True, timeout=60
    )
    assert set(again.stdout.splitlines()).isdisjoint(printed.stdout.splitlines())


PORT = ["--port", "8123"]


@pytest.mark.parametrize(
    ("argv", "level"),
    [
        (["serve", *PORT], "WARNING"),
        (["--verbose", "serve", *PORT], "INFO"),
        (["serve", "--verbose", *PORT], "INFO"),
    ],
)
def test_serve_names_its_urls_and_quiets_the_scheduler_unless_verbose(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    argv: list[str],
    level: str,
) -> None:
    import logging

    from botstore import cli

    monkeypatch.setattr(cli, "prepare_database", lambda *_args, **_kwargs: False)
    monkeypatch.setattr(cli.web, "run_app", lambda app, **kwargs: None)
    scheduler_log = logging.getLogger("apscheduler")
    monkeypatch.setattr(scheduler_log, "level", scheduler_log.level)

    assert cli.main(argv) == 0
    assert capsys.readouterr().out.splitlines() == [
        "botstore: webhook on http://127.0.0.1:8123/wechat",
        "          console   http://127.0.0.1:8123/console",
        "          admin     http://127.0.0.1:8123/admin (token: admin.token)",
    ]
    assert logging.getLevelName(scheduler_log.level) == level


def test_serve_database_memory_starts_each_run_from_the_seeded_state(tmp_path: Path) -> None:
    from tests.live import LiveServer

    server = LiveServer(tmp_path, flags=["--database", ":memory:"])
    scratch = []
    for _ in range(2):
        server.start()
        try:
            assert send(server.env, "--fan", "o_mem", "topup 5").stdout == (
                "Topped up ¥5.00. Balance: ¥5.00\n"
            )
            assert send(server.env, "--fan", "o_mem", "about").stdout.startswith("[news]")
        finally:
            server.stop()
        started = server.log_path.read_text().splitlines()
        line = [line for line in started if line.startswith("botstore: a fresh database in ")][-1]
        scratch.append(Path(line.split(" in ", 1)[1].split(",")[0]))
    assert scratch[0] != scratch[1]
    assert not any(path.exists() for path in scratch)
    assert not (tmp_path / "live.db").exists()  # database.url was not used


SERVE_AND_LIST_MODULES = """
import sys
from botstore import cli

def run_app(app, **_kwargs):
    print(" ".join(sorted({name.split(".")[0] for name in sys.modules})))

cli.web.run_app = run_app
sys.exit(cli.main(["serve", "--database", sys.argv[1]]))
"""


def test_serve_migrates_and_seeds_in_a_process_of_its_own(tmp_path: Path) -> None:
    # The serving process never loads Alembic (Mako, Pygments: 11 MB) or the demo data: it
    # would keep them for its whole life (bench/memory.py).
    database = tmp_path / "served.db"
    result = subprocess.run(
        [sys.executable, "-c", SERVE_AND_LIST_MODULES, str(database)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "demo data loaded" in result.stderr
    loaded = set(result.stdout.splitlines()[-1].split())
    assert "botstore" in loaded
    assert not loaded & {"alembic", "mako", "pygments"}
    seeded = subprocess.run(
        [sys.executable, "-m", "botstore", "seed"],
        env=os.environ | {"BOTSTORE_DATABASE_URL": f"sqlite+aiosqlite:///{database}"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert seeded.stdout == "demo data already present\n"


def test_serve_stops_with_the_migration_error(tmp_path: Path) -> None:
    not_a_database = tmp_path / "notes.db"
    not_a_database.write_text("these are not the droids\n" * 100)
    result = subprocess.run(
        [sys.executable, "-c", SERVE_AND_LIST_MODULES, str(not_a_database)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert result.stderr.splitlines()[-1] == (
        "botstore: the database could not be migrated: file is not a database"
    )
    assert "botstore" not in result.stdout  # never served


def test_a_reader_that_went_away_ends_the_command_quietly() -> None:
    # `botstore send "help" | head -1`: the pipe is closed before botstore writes to it.
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        result = subprocess.run(
            [sys.executable, "-m", "botstore", "secrets"],
            stdout=write_end,
            stderr=subprocess.PIPE,
            text=True,
            timeout=60,
        )
    finally:
        os.close(write_end)
    assert result.returncode == 1
    assert result.stderr == ""
