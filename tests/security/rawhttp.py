"""Raw HTTP/1.1 over a socket, for requests no well-behaved client sends: oversized heads, bodies sent slowly or
never, chunked uploads stopped by the server."""

from __future__ import annotations

import select
import socket
import time
from dataclasses import dataclass

__all__ = ["Reply", "connect", "read_reply", "send_chunked_until_answered"]


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes


def connect(port: int, timeout: float = 10.0) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def read_reply(sock: socket.socket, timeout: float = 10.0) -> Reply:
    """The next answer on ``sock`` (Content-Length bodies; the connection may close after it)."""
    sock.settimeout(timeout)
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError(f"closed before an answer: {data[:200]!r}")
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    length = int(headers.get("content-length", "0"))
    while len(body) < length:
        chunk = sock.recv(65536)
        if not chunk:
            break
        body += chunk
    return Reply(int(lines[0].split()[1]), headers, body[:length])


def send_chunked_until_answered(
    sock: socket.socket, head: bytes, *, chunk: bytes, most: int, seconds: float = 30.0
) -> tuple[Reply | None, int]:
    """Send ``head`` then ``chunk`` as chunked body pieces until the server answers or drops the connection (its
    answer, or None if it reset the connection before one could be read; and the body bytes sent so far), or
    until ``most`` bytes were sent (None, ``most``)."""
    sock.sendall(head)
    sent, deadline = 0, time.monotonic() + seconds
    framed = f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n"
    sock.settimeout(5)
    while sent < most and time.monotonic() < deadline:
        readable, _, _ = select.select([sock], [], [], 0)
        if readable:
            break
        try:
            sock.sendall(framed)
        except OSError:  # reset, broken pipe, or the server stopped reading (timeout)
            break
        sent += len(chunk)
    try:
        return read_reply(sock, timeout=5), sent
    except OSError:
        return None, sent
