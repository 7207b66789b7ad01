"""A private PostgreSQL cluster for tests that stop the database under a running gateway (issue 17 item 4, issue
22 item 3): ``initdb``/``pg_ctl`` of the machine's PostgreSQL, on a free port, its data in a temporary folder, run
as the ``postgres`` user when the tests run as root (initdb refuses root). The machine's own server is never
touched, so other tests keep their database while this one goes away."""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.support.env import require
from tests.support.server import free_port

__all__ = ["Cluster", "private_cluster"]


class Cluster:
    def __init__(self, root: Path) -> None:
        bins = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
        require(bool(bins), "PostgreSQL server binaries (initdb, pg_ctl) not found under /usr/lib/postgresql")
        self.bin = Path(bins[-1]).parent
        self.root = root
        self.data = root / "data"
        self.port = free_port()
        self.url = f"postgresql+psycopg://edoc@127.0.0.1:{self.port}/postgres"
        self.as_user: list[str] = []
        if os.geteuid() == 0:  # initdb refuses root
            require(shutil.which("runuser") is not None, "runuser is needed to run PostgreSQL as postgres")
            self.as_user = ["runuser", "-u", "postgres", "--"]
            shutil.chown(root, "postgres")

    def _run(self, *args: str) -> None:
        subprocess.run([*self.as_user, *args], check=True, capture_output=True, timeout=120)

    def init(self) -> Cluster:
        self._run(str(self.bin / "initdb"), "-D", str(self.data), "-A", "trust", "-U", "edoc", "--no-sync")
        return self

    def start(self, *settings: str) -> None:
        """Start (again) on the same port and data; ``settings`` are extra ``-c name=value`` options."""
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off"
        options += "".join(f" -c {setting}" for setting in settings)
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-o", options, "-l", str(self.root / "pg.log"),
                  "-w", "start")

    def stop(self, mode: str = "fast") -> None:
        """``fast``: the clean shutdown an operator does; ``immediate``: as if the server crashed (no checkpoint,
        crash recovery at the next start)."""
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop")


@contextmanager
def private_cluster(*settings: str) -> Iterator[Cluster]:
    """A started private cluster, stopped and removed afterwards."""
    root = Path(tempfile.mkdtemp(prefix="edoc-pg-"))  # not under pytest's folder: the postgres user cannot enter it
    try:
        pg = Cluster(root).init()
        pg.start(*settings)
        try:
            yield pg
        finally:
            subprocess.run([*pg.as_user, str(pg.bin / "pg_ctl"), "-D", str(pg.data), "-m", "immediate", "stop"],
                           capture_output=True, timeout=60)
    finally:
        shutil.rmtree(root, ignore_errors=True)
