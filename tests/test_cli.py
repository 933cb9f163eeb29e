"""The CLI end to end: a real `serve` process, poked by `send`."""

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    tmp = tmp_path_factory.mktemp("serve")
    port = free_port()
    env = os.environ | {
        "BOTSTORE_DATABASE_URL": f"sqlite+aiosqlite:///{tmp}/cli.db",
        "BOTSTORE_SERVER_PORT": str(port),
        "BOTSTORE_WECHAT_TOKEN": "clitoken",
    }
    log = (tmp / "serve.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "botstore", "serve"], env=env, stdout=log, stderr=subprocess.STDOUT
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            assert process.poll() is None, (tmp / "serve.log").read_text()
            time.sleep(0.2)
    yield env
    process.terminate()
    process.wait(timeout=30)
    log.close()


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
    assert send(server, "--fan", "o_cli2", "--event", "subscribe").stdout.startswith("Welcome")
    assert send(server, "--fan", "o_cli2", "--event", "CLICK", "--key", "balance").stdout == (
        "Your balance: ¥0.00\n"
    )
    assert send(server, "--fan", "o_cli2", "about").stdout.startswith("[news]\n- About botstore")


def test_send_reports_a_wrong_token_and_an_unreachable_url(server: dict[str, str]) -> None:
    wrong = send(server | {"BOTSTORE_WECHAT_TOKEN": "other"}, "balance")
    assert wrong.stdout == "HTTP 403: bad signature\n"
    gone = send(server, "--url", f"http://127.0.0.1:{free_port()}/wechat", "balance")
    assert gone.returncode == 1
    assert gone.stderr.startswith("botstore send: could not reach")


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
