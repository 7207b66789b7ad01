"""Helpers on object-store URLs shared by the backends (no network, no third-party client)."""

from __future__ import annotations

from urllib.parse import urlsplit

__all__ = ["redact"]


def redact(url: str) -> str:
    """``url`` with its userinfo (credentials) replaced by ``***``: what messages and logs may show."""
    parts = urlsplit(url)
    if parts.username is None and parts.password is None:
        return url
    host = parts.netloc.rpartition("@")[2]
    return parts._replace(netloc=f"***@{host}").geturl()
