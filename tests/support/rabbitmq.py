"""Real RabbitMQ for tests: a vhost of its own per test session on the machine's broker, or a private node.

- :func:`session_vhost`: on the broker at ``EDOC_TEST_AMQP_URL`` (default ``amqp://guest:guest@127.0.0.1:5672/``),
  a fresh vhost (``rabbitmqctl add_vhost`` + ``set_permissions``) deleted at the end, so parallel sessions never
  share a queue.
- :func:`private_node`: a node of its own (``rabbitmq-server`` in the background with its own node name, free AMQP and
  distribution ports, data and log folders in a temporary directory), for tests that must kill the broker
  (issue 22's fault tests); stopped and removed at the end.

Both raise :class:`Unavailable` with the reason when RabbitMQ is missing; the fixtures turn it into a failure under
``CI=true`` and a skip elsewhere (tests/support/env.py).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

__all__ = ["DEFAULT_AMQP_URL", "PrivateNode", "Unavailable", "private_node", "session_vhost"]

DEFAULT_AMQP_URL = "amqp://guest:guest@127.0.0.1:5672/"


class Unavailable(RuntimeError):
    """RabbitMQ cannot be reached or started here (the message says why)."""


def _reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=2):
            return True
    except OSError:
        return False


def _ctl(*args: str, env: dict[str, str] | None = None, timeout: float = 60) -> str:
    ctl = shutil.which("rabbitmqctl")
    if ctl is None:
        raise Unavailable("rabbitmqctl is not installed (apt-get install rabbitmq-server)")
    done = subprocess.run([ctl, *args], capture_output=True, text=True, timeout=timeout, env=env)
    if done.returncode != 0:
        raise Unavailable(f"rabbitmqctl {' '.join(args)}: {(done.stderr or done.stdout).strip()[:300]}")
    return done.stdout


@contextmanager
def session_vhost() -> Iterator[str]:
    """An ``amqp://`` URL of a fresh vhost on the machine's broker; the vhost is deleted afterwards."""
    base = os.environ.get("EDOC_TEST_AMQP_URL", DEFAULT_AMQP_URL)
    parts = urlsplit(base)
    host, port = parts.hostname or "127.0.0.1", parts.port or 5672
    if not _reachable(host, port):
        raise Unavailable(f"no RabbitMQ at {host}:{port} (start it: rabbitmq-server -detached)")
    vhost = f"edoc_t_{uuid.uuid4().hex[:12]}"
    _ctl("add_vhost", vhost)
    try:
        _ctl("set_permissions", "-p", vhost, parts.username or "guest", ".*", ".*", ".*")
        yield parts._replace(path=f"/{vhost}").geturl()
    finally:
        with suppress(Unavailable):
            _ctl("delete_vhost", vhost)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class PrivateNode:
    """A RabbitMQ node this test started: ``url`` to connect, ``pid`` of its Erlang VM (to ``kill -9``)."""

    name: str
    port: int
    env: dict[str, str]
    base: Path
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"amqp://guest:guest@127.0.0.1:{self.port}/"

    def pid(self) -> int:
        return int(_ctl("-n", self.name, "eval", "list_to_integer(os:getpid()).", env=self.env).strip())

    def start(self, timeout: float = 90) -> None:
        """Start the node in the background (its output in ``log/server.out``) and wait until it serves AMQP."""
        server = shutil.which("rabbitmq-server")
        if server is None:
            raise Unavailable("rabbitmq-server is not installed (apt-get install rabbitmq-server)")
        output = open(self.base / "log" / "server.out", "wb")  # noqa: SIM115 (the node's, closed by the OS)
        self.process = subprocess.Popen([server], env=self.env, stdout=output, stderr=subprocess.STDOUT,
                                        start_new_session=True)
        output.close()
        deadline = time.monotonic() + timeout
        while not _reachable("127.0.0.1", self.port):
            if self.process.poll() is not None or time.monotonic() > deadline:
                tail = (self.base / "log" / "server.out").read_text(errors="replace")[-300:]
                raise Unavailable(f"private RabbitMQ node {self.name} did not start: {tail}")
            time.sleep(0.3)
        _ctl("-n", self.name, "await_startup", env=self.env, timeout=timeout)

    def kill(self) -> None:
        """``kill -9`` of the node's Erlang VM, as a crash (issue 22's fault tests); :meth:`start` brings it back
        on the same ports and data."""
        pid = self.pid()
        os.kill(pid, signal.SIGKILL)
        if self.process is not None:
            self.process.wait(30)  # the start script exits with its VM
        deadline = time.monotonic() + 30
        while _reachable("127.0.0.1", self.port) and time.monotonic() < deadline:
            time.sleep(0.1)

    def queues(self) -> dict[str, int]:
        """Every queue of the default vhost and its message count."""
        out = _ctl("-n", self.name, "list_queues", "-q", "--no-table-headers", "name", "messages", env=self.env)
        rows = (line.split() for line in out.splitlines())
        return {row[0]: int(row[1]) for row in rows if len(row) == 2 and row[1].isdigit()}

    def stop(self) -> None:
        with suppress(Unavailable, subprocess.TimeoutExpired):
            _ctl("-n", self.name, "stop", env=self.env, timeout=60)
        if self.process is None:
            return
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:  # the node did not stop: its whole session goes (our own processes)
            with suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)


def _give_to_the_broker_user(base: Path) -> None:
    """As root, Debian's rabbitmq-server runs the node as the ``rabbitmq`` user: it must own the folders."""
    if os.geteuid() != 0:
        return
    try:
        import pwd

        user = pwd.getpwnam("rabbitmq")
    except KeyError:
        return
    for path in (base, *base.rglob("*")):
        os.chown(path, user.pw_uid, user.pw_gid)


@contextmanager
def private_node() -> Iterator[PrivateNode]:
    """Start a RabbitMQ node of our own on free ports (AMQP on 127.0.0.1 only); stop and remove it afterwards."""
    base = Path(tempfile.mkdtemp(prefix="edoc-rabbit-"))
    name = f"edoc_t_{uuid.uuid4().hex[:8]}@localhost"
    port, dist = _free_port(), _free_port()
    config = base / "rabbitmq.conf"
    config.write_text(f"listeners.tcp.1 = 127.0.0.1:{port}\nloopback_users = none\n", encoding="utf-8")
    (base / "enabled_plugins").write_text("[].\n", encoding="utf-8")
    for folder in ("mnesia", "log"):  # the node creates files in them, not the folders themselves
        (base / folder).mkdir()
    _give_to_the_broker_user(base)
    env = {
        **os.environ, "RABBITMQ_NODENAME": name, "RABBITMQ_NODE_PORT": str(port), "RABBITMQ_DIST_PORT": str(dist),
        "RABBITMQ_NODE_IP_ADDRESS": "127.0.0.1", "RABBITMQ_MNESIA_BASE": str(base / "mnesia"),
        "RABBITMQ_LOG_BASE": str(base / "log"), "RABBITMQ_CONFIG_FILE": str(config.with_suffix("")),
        "RABBITMQ_ENABLED_PLUGINS_FILE": str(base / "enabled_plugins"), "RABBITMQ_PID_FILE": str(base / "pid"),
        "RABBITMQ_FEATURE_FLAGS_FILE": str(base / "mnesia" / "feature_flags"),
    }
    node = PrivateNode(name, port, env, base)
    try:
        node.start()
        yield node
    finally:
        node.stop()
        shutil.rmtree(base, ignore_errors=True)
