"""What every bench shares: a real gateway on a fresh database, cheap clients, CPU accounting, calibration,
medians, two checkouts side by side, and the folder a run keeps its data in.

The benches measure a real gateway process (``edoc serve``, :class:`tests.support.server.GatewayProcess`) on a
fresh SQLite file or a private PostgreSQL database (:func:`database`), driven by keep-alive ``http.client``
connections (:class:`Http`: httpx spends about three times the CPU per request, CPU taken from the gateway on the
same cores). Their figures are CPU milliseconds per request or document read from /proc (:func:`cpu_seconds` of
a process tree, PostgreSQL's processes), because on a shared machine those are far steadier than throughput, and
each run prints :func:`calibration_ms`, the time of a fixed pure-Python loop: whether the run was made on a fast
or a slow hour. The gateway's figures do not scale with it one to one, so two versions of the code are compared
only side by side in one run (:func:`checkout`, :func:`gateway_of`, :func:`alternate`).

The data folder (:func:`bench_folder`, :func:`file_create_ms`). The gateway's filesystem object store creates a
file for each large blob (a submit's package and attachment: two per document). On ext4 without a journal,
creating a file makes the kernel step over every free inode of the folder's block group that was deleted recently
(``recently_deleted`` in ``find_inode_bit``: the last 5 s, or 5 minutes while the inode table block is still
dirty), one buffer-cache lookup each, so a create's cost depends on what was deleted near that folder just before
(test runs, an earlier bench's cleanup). A deployment keeps its data on its own volume, where nothing
mass-deletes; to measure the gateway rather than the last cleanup, each run's folder goes under
``<temp>/edoc-bench``, a parent marked with ext4's ``TOPDIR`` attribute (``chattr +T``): the kernel places each
new folder below it in a block group of its own choosing (the Orlov allocator) instead of the parent's, where the
previous run's folder was just deleted. Where the attribute is not supported nothing is marked and nothing
changes; either way :func:`file_create_ms` measures the cost in the folder actually used, and the benches print it.

The figures behind these choices, and every bench's latest ones: docs/performance.md.
"""

from __future__ import annotations

import array
import contextlib
import fcntl
import http.client
import json
import os
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, TypeVar

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.support.databases import postgres_available, temporary_postgres_database  # noqa: E402
from tests.support.gateway import A, B, C  # noqa: E402
from tests.support.server import GatewayProcess  # noqa: E402

__all__ = [
    "ROOT", "Http", "KeepAliveHttp", "KeepAliveResponse", "Upkeep", "alternate", "bench_folder", "calibration_ms",
    "checkout", "cpu_seconds", "database", "database_pids", "document", "drain", "file_create_ms", "gateway_of",
    "machine_busy_seconds", "medians", "multipart", "process_groups_postgres", "topdir_marked", "tree_cpu_seconds",
]

T = TypeVar("T")


# ------------------------------------------------------------------------------------------------ the database


@contextlib.contextmanager
def database(backend: str, folder: Path, name: str = "edoc_bench") -> Iterator[str]:
    """The URL of a fresh database: a SQLite file in ``folder``, or a private PostgreSQL database dropped
    afterwards. Exits with a one-line message when PostgreSQL is asked for and not reachable."""
    if backend == "sqlite":
        yield f"sqlite:///{folder / 'edoc.sqlite3'}"
        return
    if backend != "postgresql":
        sys.exit(f"error: unknown backend {backend!r} (sqlite, postgresql)")
    if not postgres_available():
        sys.exit("error: PostgreSQL is not reachable (EDOC_TEST_POSTGRES_URL)")
    with temporary_postgres_database(name) as url:
        yield url


# ------------------------------------------------------------------------------------------------ clients


class Http:
    """A keep-alive HTTP/1.1 client on the standard library, one per load-generator thread.

    Raises on a transport error; answers (status, body). A connection left idle longer than the server's
    keep-alive timeout (uvicorn's: 5 s) is closed by the server; the next request on it fails before any answer
    (RemoteDisconnected, or a reset). That request is sent again once on a new connection, as HTTP clients do:
    the server never saw it."""

    def __init__(self, base: str) -> None:
        host, port = base.removeprefix("http://").split(":")
        self.conn = http.client.HTTPConnection(host, int(port), timeout=60)

    def request(self, method: str, path: str, headers: dict[str, str], body: bytes | None = None) -> tuple[int, bytes]:
        try:
            return self._send(method, path, headers, body)
        except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
            self.conn.close()  # the next request opens a new connection
            return self._send(method, path, headers, body)

    def _send(self, method: str, path: str, headers: dict[str, str], body: bytes | None) -> tuple[int, bytes]:
        self.conn.request(method, path, body=body, headers=headers)
        resp = self.conn.getresponse()
        return resp.status, resp.read()

    def close(self) -> None:
        self.conn.close()


class KeepAliveResponse:
    """What VxpClient reads of an answer: the status, the headers (lower-case names) and the JSON body."""

    def __init__(self, status_code: int, headers: dict[str, str], body: bytes) -> None:
        self.status_code = status_code
        self.headers = headers
        self.body = body

    def json(self) -> Any:
        return json.loads(self.body)


class KeepAliveHttp:
    """The load generator's transport for ``service.vxp.client.VxpClient``: one keep-alive connection per thread.

    VxpClient signs every call exactly as the SDK does (that part is what the server checks); only the HTTP
    transport differs from httpx. ``on_response`` sees every answer (the Server-Timing figures)."""

    def __init__(self, base: str, on_response: Callable[[KeepAliveResponse], None]) -> None:
        self.http = Http(base)
        self.prefix = base
        self.on_response = on_response

    def request(
        self, method: str, url: str, *, headers: list[tuple[bytes, bytes]], content: bytes | None = None
    ) -> KeepAliveResponse:
        path = url.removeprefix(self.prefix)
        self.http.conn.putrequest(method, path, skip_accept_encoding=True)
        for name, value in headers:
            self.http.conn.putheader(name, value)
        self.http.conn.putheader("Content-Length", str(len(content or b"")))
        self.http.conn.endheaders(content or None)
        answer = self.http.conn.getresponse()
        response = KeepAliveResponse(answer.status, {k.lower(): v for k, v in answer.getheaders()}, answer.read())
        self.on_response(response)
        return response

    def close(self) -> None:
        self.http.close()


def multipart(header: dict[str, object], name: str, data: bytes) -> tuple[bytes, str]:
    """A multipart/form-data body with the JSON ``header`` field and one PDF in ``files``."""
    boundary = uuid.uuid4().hex
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="header"\r\n\r\n'
        f"{json.dumps(header, ensure_ascii=False)}\r\n"
        f'--{boundary}\r\nContent-Disposition: form-data; name="files"; filename="{name}"\r\n'
        "Content-Type: application/pdf\r\n\r\n"
    ).encode()
    return head + data + f"\r\n--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


def document(n: int, notation: str, pdf: bytes, subject: str = "Văn bản thử tải số") -> tuple[bytes, str]:
    """The multipart body (and its Content-Type) of the benches' document ``n``: ``pdf`` from A to B and C, its
    number ``n`` and ``notation`` (distinct per run, so no submit is a replay), its subject ending in ``n``."""
    header: dict[str, object] = {
        "from": A,
        "to": [B, C],
        "code": {"number": str(n), "notation": notation},
        "subject": f"{subject} {n}",
        "date": "2026-11-20",
    }
    return multipart(header, f"vb-{n}.pdf", pdf)


def drain(worker: Any) -> None:
    """Run delivery-worker rounds (``DeliveryWorker.run_once``) in this process until one finds nothing."""
    while worker.run_once():
        pass


# ------------------------------------------------------------------------------------------------ CPU accounting


def cpu_seconds(pids: Sequence[int]) -> float:
    """User + system CPU time of ``pids`` (and their reaped children), from /proc; a vanished pid counts 0."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError):
            continue
        total += sum(int(f) for f in fields[11:15])  # utime, stime, cutime, cstime
    return total / tick


def tree_cpu_seconds(pid: int) -> float:
    """User + system CPU of a process and its descendants (the HTTP processes uvicorn starts), from /proc."""
    import psutil

    return cpu_seconds([pid, *(child.pid for child in psutil.Process(pid).children(recursive=True))])


def machine_busy_seconds() -> float:
    """CPU time all processes of the machine spent busy (everything but idle and iowait), from /proc/stat."""
    fields = [int(f) for f in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return (sum(fields) - fields[3] - fields[4]) / os.sysconf("SC_CLK_TCK")


def process_groups_postgres() -> list[int]:
    """Every PostgreSQL process of the machine (backends and the server's background processes)."""
    import psutil

    return [p.pid for p in psutil.process_iter(["name"]) if (p.info["name"] or "").startswith("postgres")]


def database_pids(database_url: str) -> list[int]:
    """PostgreSQL processes doing this run's work: backends on its database and the shared background ones
    (none for SQLite, which runs inside the gateway)."""
    if not database_url.startswith("postgresql"):
        return []
    import sqlalchemy as sa

    engine = sa.create_engine(database_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(sa.text(
                "SELECT pid FROM pg_stat_activity WHERE (datname = current_database() OR datname IS NULL)"
                " AND pid <> pg_backend_pid()"
            )).scalars().all()
    finally:
        engine.dispose()
    return [int(pid) for pid in rows]


def calibration_ms() -> float:
    """A fixed pure-Python workload (2 million additions), best of three: how fast this machine runs right now.

    A shared machine's speed moves by up to a factor of two between hours. The gateway's figures move with it, but
    not one to one (its work is memory- and kernel-heavy, this loop is neither): a hint of how fast the hour was,
    not a divisor; compare versions in paired runs."""
    best = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        total = 0
        for i in range(2_000_000):
            total += i
        best = min(best, time.perf_counter() - started)
    return best * 1000


def medians(runs: list[dict[str, float]]) -> dict[str, Any]:
    """Each figure's median over repeated runs, and the runs themselves (``runs``)."""
    return {**{key: statistics.median(run[key] for run in runs) for key in runs[0]}, "runs": runs}


class Upkeep:
    """VACUUM (ANALYZE) between runs when the PostgreSQL server has autovacuum off, and what it cost.

    The test server of the 2-core machine runs with ``autovacuum = off``. Each document updates outbox and delivery
    rows two or three times, so without vacuum their dead row versions pile up run after run and every claim,
    inbox page and ack walks more of them (docs/performance.md has the figures). A deployment keeps
    autovacuum on (the gateway warns at start when it is off), so the benches do its work between runs instead,
    outside the timed window, and report its database CPU per document. With autovacuum on (or on SQLite) this
    does nothing."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.active = url.startswith("postgresql") and _autovacuum_off(url)
        self.cpu_ms: list[float] = []
        self.docs = 0

    def after(self, docs: int) -> None:
        """Vacuum after a run of ``docs`` documents."""
        if not self.active:
            return
        import sqlalchemy as sa

        engine = sa.create_engine(self.url, isolation_level="AUTOCOMMIT")
        try:
            with engine.connect() as conn:  # timed while this backend lives: an ended process's CPU is unreadable
                postgres = process_groups_postgres()
                before = cpu_seconds(postgres)
                conn.execute(sa.text("VACUUM (ANALYZE)"))
                self.cpu_ms.append(1000 * (cpu_seconds(postgres) - before))
        finally:
            engine.dispose()
        self.docs += docs

    def summary(self) -> str | None:
        if not self.active or not self.docs:
            return None
        return (
            "PostgreSQL here runs with autovacuum off: the bench ran VACUUM (ANALYZE) after each run, outside the "
            f"timed window, as autovacuum would during it; that took {sum(self.cpu_ms) / self.docs:.2f} ms of "
            "database CPU per document, not counted in the tables"
        )


def _autovacuum_off(url: str) -> bool:
    import sqlalchemy as sa

    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return str(conn.execute(sa.text("SHOW autovacuum")).scalar()).lower() == "off"
    finally:
        engine.dispose()


# ------------------------------------------------------------------------------------------------ two checkouts


def checkout(path: Path) -> Path:
    """``path`` resolved, after checking it is a checkout of edoc-gateway (e.g. ``git worktree add /tmp/base
    <rev>``); exits with a one-line message otherwise."""
    root = path.resolve()
    if not (root / "service" / "app.py").is_file():
        sys.exit(f"error: {root} is not a checkout of edoc-gateway (no service/app.py)")
    return root


def gateway_of(root: Path, data: Path, url: str, **settings: str) -> GatewayProcess:
    """An ``edoc serve`` process (not started) that imports the code under ``root``: it goes first on PYTHONPATH,
    before the editable install of the checkout the venv was made from."""
    process = GatewayProcess(data, database_url=url, port=None, **settings)
    process.env["PYTHONPATH"] = str(root)
    return process


def alternate(round_number: int, versions: Sequence[T]) -> Sequence[T]:
    """The order to run ``versions`` in, in round ``round_number``: reversed every other round, so that neither
    always goes first and a slow spell of the machine hits both."""
    return versions if round_number % 2 == 0 else versions[::-1]


# ------------------------------------------------------------------------------------------------ the data folder

# linux/fs.h: FS_IOC_GETFLAGS / FS_IOC_SETFLAGS (declared with long, read and written as int by ext2/3/4) and
# FS_TOPDIR_FL, the attribute chattr spells +T.
_FS_IOC_GETFLAGS = 0x80086601
_FS_IOC_SETFLAGS = 0x40086602
_FS_TOPDIR_FL = 0x00020000


def _flags(fd: int) -> array.array[int]:
    """The inode attributes of the open file ``fd``, as a buffer FS_IOC_SETFLAGS takes back (OSError if none)."""
    flags = array.array("i", [0])
    fcntl.ioctl(fd, _FS_IOC_GETFLAGS, flags, True)
    return flags


def topdir_marked(folder: Path) -> bool | None:
    """Whether ``folder`` carries the TOPDIR attribute; None where the filesystem has no inode attributes."""
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        return bool(_flags(fd)[0] & _FS_TOPDIR_FL)
    except OSError:
        return None
    finally:
        os.close(fd)


def _mark_topdir(folder: Path) -> bool:
    """Set the TOPDIR attribute on ``folder``; False where the filesystem has no such attribute."""
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        flags = _flags(fd)
        if not flags[0] & _FS_TOPDIR_FL:
            flags[0] |= _FS_TOPDIR_FL
            fcntl.ioctl(fd, _FS_IOC_SETFLAGS, flags, True)
        return True
    except OSError:  # ENOTTY / EOPNOTSUPP: not ext2/3/4; EPERM: not the owner
        return False
    finally:
        os.close(fd)


@contextlib.contextmanager
def bench_folder(prefix: str, workdir: Path | None = None) -> Iterator[Path]:
    """A new folder for one bench run, removed afterwards: under ``workdir`` if given (used as it is), else under
    ``<temp>/edoc-bench``, marked TOPDIR when the filesystem allows (see the module docstring)."""
    if workdir is None:
        workdir = Path(tempfile.gettempdir()) / "edoc-bench"
        workdir.mkdir(exist_ok=True)
        _mark_topdir(workdir)
    with tempfile.TemporaryDirectory(prefix=prefix, dir=workdir) as folder:
        yield Path(folder)


def file_create_ms(folder: Path, count: int = 200) -> float:
    """CPU milliseconds (user + system, this process) to create one empty file in ``folder``: the median of
    ``count`` creates. The files stay in ``folder/.create-probe`` until the folder is removed: deleting them now
    would make the next creates there dearer, which is what this measures."""
    probe = folder / ".create-probe"
    probe.mkdir(exist_ok=True)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
    base = len(os.listdir(probe))
    times = []
    for n in range(base, base + count):
        started = time.process_time()
        os.close(os.open(probe / f"f{n}", flags, 0o600))
        times.append(time.process_time() - started)
    return statistics.median(times) * 1000
