"""A real `python -m botstore serve` subprocess, for end-to-end and fuzz tests."""

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def live_server(directory: Path, **settings: str) -> Iterator[dict[str, str]]:
    """Serve botstore on a fresh SQLite file; yields the environment that reaches it."""
    port = free_port()
    env = os.environ | {
        "BOTSTORE_DATABASE_URL": f"sqlite+aiosqlite:///{directory}/live.db",
        "BOTSTORE_SERVER_PORT": str(port),
        "BOTSTORE_SERVER_PUBLIC_URL": f"http://127.0.0.1:{port}",
        **settings,
    }
    log_path = directory / "serve.log"
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "botstore", "serve"],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=1).close()
                    break
                except OSError:
                    if process.poll() is not None or time.monotonic() > deadline:
                        raise RuntimeError(log_path.read_text()) from None
                    time.sleep(0.2)
            yield env
        finally:
            process.terminate()
            process.wait(timeout=30)
