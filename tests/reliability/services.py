"""Our own Redis and PostgreSQL servers, started for a test and stopped or restarted by it.

The machine's shared servers are never touched: fault tests break only what they started.
Each server gets a free port and a temporary directory, and is gone when the test ends.
"""

import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

PG_BIN = Path(os.environ.get("PG_BIN", "/usr/lib/postgresql/15/bin"))


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for_port(port: int, up: bool, seconds: float = 15) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with socket.socket() as probe:
            listening = probe.connect_ex(("127.0.0.1", port)) == 0
        if listening == up:
            return
        time.sleep(0.05)
    raise TimeoutError(f"port {port} did not go {'up' if up else 'down'}")


class OwnRedis:
    """redis-server on a free port, AOF on (as production: queued work survives a restart)."""

    def __init__(self):
        self.port = free_port()
        self.dir = tempfile.mkdtemp(prefix="crm-redis-")
        self.process = None
        self.url = f"redis://127.0.0.1:{self.port}/0"

    def start(self):
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--dir", self.dir,
             "--appendonly", "yes", "--appendfsync", "always", "--save", "", "--maxmemory-policy", "noeviction"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        wait_for_port(self.port, up=True)

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(15)
        wait_for_port(self.port, up=False)

    def close(self):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


def _as_postgres_user(command: list[str]) -> list[str]:
    # initdb and postgres refuse to run as root; CI runs as root on this machine.
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else command


class OwnPostgres:
    """A throwaway PostgreSQL cluster (initdb) on a free port, trust auth, fsync off."""

    def __init__(self):
        self.port = free_port()
        self.dir = tempfile.mkdtemp(prefix="crm-pg-")
        self.data = f"{self.dir}/data"
        if os.geteuid() == 0:
            shutil.chown(self.dir, "postgres")
        subprocess.run(
            _as_postgres_user(
                [str(PG_BIN / "initdb"), "-D", self.data, "-U", "postgres", "--auth=trust", "-E", "UTF8"]
            ),
            check=True, capture_output=True, timeout=120,
        )

    def url(self, database: str = "postgres") -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{database}"

    def _ctl(self, *args):
        subprocess.run(
            _as_postgres_user([str(PG_BIN / "pg_ctl"), "-D", self.data, "-w", "-t", "60", *args]),
            check=True, capture_output=True, timeout=90,
        )

    def start(self):
        options = f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off"
        self._ctl("-o", options, "-l", f"{self.dir}/log", "start")

    def stop(self):
        self._ctl("-m", "fast", "stop")

    def restart(self):
        self.stop()
        self.start()

    def sql(self, statement: str, database: str = "postgres") -> str:
        result = subprocess.run(
            [str(PG_BIN / "psql"), "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "-d", database,
             "-tAc", statement],
            check=True, capture_output=True, text=True, timeout=60,
        )
        return result.stdout.strip()

    def close(self):
        try:
            self.stop()
        except subprocess.CalledProcessError:
            pass  # already stopped
        shutil.rmtree(self.dir, ignore_errors=True)


def server_binaries_missing() -> str | None:
    if not shutil.which("redis-server"):
        return "redis-server is not installed"
    if not (PG_BIN / "initdb").exists():
        return f"PostgreSQL server binaries are not in {PG_BIN}"
    return None
