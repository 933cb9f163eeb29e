"""A real `python -m botstore serve` subprocess, for end-to-end, fuzz and fault tests."""

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class LiveServer:
    """One server process that can be started, killed with SIGKILL and started again on the
    same port and database (its output goes to `<directory>/<name>.log`, appended)."""

    def __init__(
        self,
        directory: Path,
        *,
        name: str = "serve",
        module: str = "botstore",
        flags: Sequence[str] = (),
        **settings: str,
    ) -> None:
        # What `python -m` runs: botstore's CLI (`serve`), or a test's own server module.
        serve = ["serve"] if module == "botstore" else []
        self.command = [sys.executable, "-m", module, *serve, *flags]
        self.port = free_port()
        self.env = os.environ | {
            "BOTSTORE_DATABASE_URL": f"sqlite+aiosqlite:///{directory}/live.db",
            "BOTSTORE_SERVER_PORT": str(self.port),
            "BOTSTORE_SERVER_PUBLIC_URL": f"http://127.0.0.1:{self.port}",
            **settings,
        }
        self.log_path = directory / f"{name}.log"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """The webhook's URL."""
        path = self.env.get("BOTSTORE_WECHAT_PATH", "/wechat")
        return f"http://127.0.0.1:{self.port}{path}"

    @property
    def pid(self) -> int:
        assert self.process is not None, "not started"
        return self.process.pid

    def start(self, timeout: float = 60) -> None:
        """Spawn the server and return once it accepts connections."""
        with self.log_path.open("a") as log:
            self.process = subprocess.Popen(
                self.command,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + timeout
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    self.kill()
                    raise RuntimeError(self.log_path.read_text()) from None
                time.sleep(0.2)

    def kill(self) -> None:
        """kill -9: no shutdown handlers, no cleanup, open transactions cut off."""
        if self.process is not None and self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=30)

    def stop(self) -> None:
        """A graceful stop (SIGTERM), as `web.run_app` handles it."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()

    def cpu_seconds(self) -> float:
        """User + system CPU time the process has used (Linux)."""
        fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def rss_bytes(self) -> int:
        """The process's resident set size now (Linux)."""
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
        raise RuntimeError("no VmRSS")


@contextmanager
def live_server(directory: Path, **settings: str) -> Iterator[dict[str, str]]:
    """Serve botstore on a fresh SQLite file; yields the environment that reaches it."""
    server = LiveServer(directory, **settings)
    server.start()
    try:
        yield server.env
    finally:
        server.stop()
