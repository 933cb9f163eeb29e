"""A real `python -m botstore serve` subprocess, for end-to-end, fuzz and fault tests."""

import contextlib
import fcntl
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

PORTS = range(20000, 32768)  # below Linux's ephemeral range (32768-60999 by default)
PORT_LOCKS = Path(tempfile.gettempdir()) / "botstore-test-ports"
_reserved: list[int] = []  # lock files held open: our ports, until this process ends


def free_port() -> int:
    """A port for a server this test process starts, that nothing else will take meanwhile.

    A port from bind(0) is free once the probe closes it: the kernel may give it to another
    pytest-xdist worker's server, or to an outgoing connection (a load test opens thousands),
    before our server binds it, or while a killed server restarts on it. So ports come from
    below the range the kernel picks from, and each is claimed with a lock on a file named after
    it, which every test process (every worker, every concurrent run) respects; the kernel drops
    the lock when the process ends, however it ends."""
    if not PORT_LOCKS.exists():
        PORT_LOCKS.mkdir(exist_ok=True)
        PORT_LOCKS.chmod(0o1777)  # as /tmp: shared by every user's test runs
    start = random.randrange(len(PORTS))
    for index in range(len(PORTS)):
        port = PORTS[(start + index) % len(PORTS)]
        try:
            lock = os.open(PORT_LOCKS / str(port), os.O_RDONLY | os.O_CREAT, 0o644)
        except OSError:
            continue
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            with socket.socket() as sock:
                sock.bind(("127.0.0.1", port))  # and no other program listens there
        except OSError:
            os.close(lock)
            continue
        _reserved.append(lock)
        return port
    raise RuntimeError(f"no free port in {PORTS}")


def listeners(port: int) -> int:
    """How many sockets listen on `port` (Linux): one per worker of `serve --workers N`, each
    bound with SO_REUSEPORT. A worker logs its start-up before it binds, so this is the sign
    that all of them take connections (those made before go to the ones already bound)."""
    count = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(FileNotFoundError), open(table) as lines:
            next(lines)  # the header
            for line in lines:
                local, state = line.split()[1], line.split()[3]
                count += int(local.rsplit(":", 1)[1], 16) == port and state == "0A"
    return count


def cpu_seconds(pid: int) -> float:
    """User + system CPU time process `pid` has used (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


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
        return cpu_seconds(self.pid)

    def workers(self) -> list[int]:
        """The worker processes `serve --workers N` spawned (Linux; multiprocessing's resource
        tracker left out)."""
        found = []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                parent = int(stat.read_text().rsplit(")", 1)[1].split()[1])
                spawned = b"spawn_main" in (stat.parent / "cmdline").read_bytes()
            except OSError:  # exited meanwhile
                continue
            if parent == self.pid and spawned:
                found.append(int(stat.parent.name))
        return found

    def wait_listening(self, sockets: int, timeout: float = 60) -> None:
        """Until `sockets` sockets listen on the port: every worker of `serve --workers N`."""
        deadline = time.monotonic() + timeout
        while listeners(self.port) < sockets:
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"{sockets} workers did not start:\n{self.log_path.read_text()}"
                )
            time.sleep(0.05)

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
