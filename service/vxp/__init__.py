"""The national-axis protocol (VXP, STANDARDS.md §8): wire format, server-side authentication, client.

Framework-free: nothing here imports FastAPI. The facade router (in ``service/``) uses
:class:`VxpAuthenticator` and the envelopes of :mod:`service.vxp.protocol`; the uplink uses
:class:`VxpClient`.
See ``service/vxp/README.md`` for the error codes and the mapping onto the exchange core.
"""

from service.vxp.auth import AuthenticatedCall, VxpAuthenticator, check_hash_file
from service.vxp.client import Agency, ReceivedItem, SentItem, VxpClient
from service.vxp.errors import (
    VxpAuthError,
    VxpError,
    VxpRemoteError,
    VxpRequestError,
    VxpResponseError,
    VxpTransportError,
)
from service.vxp.interfaces import ReplayGuard
from service.vxp.replay import InMemoryReplayGuard

__all__ = [
    "Agency",
    "AuthenticatedCall",
    "InMemoryReplayGuard",
    "ReceivedItem",
    "ReplayGuard",
    "SentItem",
    "VxpAuthError",
    "VxpAuthenticator",
    "VxpClient",
    "VxpError",
    "VxpRemoteError",
    "VxpRequestError",
    "VxpResponseError",
    "VxpTransportError",
    "check_hash_file",
]
