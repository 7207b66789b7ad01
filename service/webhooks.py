"""Calls the gateway makes to a URL a client gave it (the remote-signing webhook, issue 23): bounded and
SSRF-safe.

A caller-supplied URL must not turn the gateway into a proxy into its own network. So: ``https://`` (``http://``
only into an allowed network), no credentials in the URL, the host resolved once and **every** address checked
(private, loopback, link-local, multicast, reserved and unspecified ones are refused unless inside
``EDOC_REMOTE_WEBHOOK_ALLOWED_NETWORKS``), the connection made to the checked address (no second lookup an
attacker's DNS could answer differently), no redirects, a short timeout and a small bounded answer read.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import socket
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

import httpx

from service.exchange.errors import Invalid

__all__ = ["check_url", "post_json"]

log = logging.getLogger(__name__)
MAX_URL = 2000
TIMEOUT = 5.0

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def _networks(allowed: Sequence[str]) -> list[Network]:
    return [ipaddress.ip_network(n, strict=False) for n in allowed]


def _public(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    return address.is_global and not address.is_multicast


def check_url(url: str, allowed: Sequence[str] = ()) -> str:
    """The address to connect to for ``url``; :class:`Invalid` (``webhook_url_refused``) if it may not be called."""
    parts = urlsplit(url)
    if len(url) > MAX_URL or parts.scheme not in ("https", "http") or not parts.hostname:
        raise Invalid("the webhook must be an http(s) URL with a host", code="webhook_url_refused")
    if parts.username or parts.password:
        raise Invalid("the webhook URL must not carry credentials", code="webhook_url_refused")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
        infos = socket.getaddrinfo(parts.hostname, port, type=socket.SOCK_STREAM)
    except (OSError, ValueError) as exc:
        raise Invalid(f"the webhook host {parts.hostname!r} does not resolve", code="webhook_url_refused") from exc
    networks = _networks(allowed)
    addresses = {ipaddress.ip_address(info[4][0]) for info in infos}
    for address in addresses:
        inside = any(address in net for net in networks)
        if not inside and not _public(address):
            raise Invalid(f"the webhook host {parts.hostname!r} is in a network the gateway does not call",
                          code="webhook_url_refused")
        if parts.scheme == "http" and not inside:
            raise Invalid("the webhook must use https://", code="webhook_url_refused")
    return str(sorted(addresses, key=str)[0])


def post_json(url: str, body: dict[str, Any], *, allowed: Sequence[str] = (), timeout: float = TIMEOUT) -> bool:
    """POST ``body`` to ``url`` once (checked by :func:`check_url`, connected to the checked address); True on a
    2xx answer. Never raises for the remote's failures: the outcome is logged and returned."""
    try:
        address = check_url(url, allowed)
    except Invalid as exc:
        log.warning("webhook refused: %s", exc)
        return False
    parts = urlsplit(url)
    host = f"[{address}]" if ":" in address else address
    target = parts._replace(netloc=f"{host}:{parts.port}" if parts.port else host).geturl()
    headers = {"Host": parts.netloc, "Content-Type": "application/json", "User-Agent": "edoc-gateway"}
    extensions = {"sni_hostname": parts.hostname} if parts.scheme == "https" else {}
    try:
        with httpx.Client(timeout=timeout, follow_redirects=False) as client:
            response = client.post(target, content=json.dumps(body).encode(), headers=headers,
                                   extensions=extensions)
    except httpx.HTTPError as exc:
        log.warning("webhook %s failed: %s", parts.hostname, type(exc).__name__)
        return False
    if not 200 <= response.status_code < 300:
        log.warning("webhook %s answered %s", parts.hostname, response.status_code)
        return False
    return True
