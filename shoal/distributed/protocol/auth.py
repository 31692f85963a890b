"""The authentication handshake: HMAC challenge-response over msgpack.

It runs first on every connection, before a single pickle is loaded.  Each
step is one small msgpack map (at most ``HANDSHAKE_MAX`` bytes, validated
field by field); anything else fails the handshake and closes the socket::

    server -> client  {"op": "hello", "v": 1, "nonce": 32 random bytes}
    client -> server  {"op": "auth",  "v": 1, "nonce": 32 random bytes,
                       "mac": HMAC-SHA256(token, "client" + s_nonce + c_nonce)}
    server -> client  {"op": "welcome", "mac": HMAC-SHA256(token, "server" + c_nonce + s_nonce)}
                   or {"op": "denied", "reason": "..."} and close

Both sides prove knowledge of the token (the client checks the server's MAC
too, so a client never sends pickles to an impostor), the token never
crosses the wire, and fresh nonces on both sides stop replays.
"""
from __future__ import annotations

import hashlib
import hmac
import os

import msgpack

from shoal.distributed.exceptions import ProtocolError, VersionMismatch
from shoal.distributed.protocol.frames import HANDSHAKE_MAX, PROTOCOL_VERSION

NONCE_BYTES = 32


def new_nonce() -> bytes:
    return os.urandom(NONCE_BYTES)


def mac(token: str, role: bytes, a: bytes, b: bytes) -> bytes:
    return hmac.new(token.encode(), role + a + b, hashlib.sha256).digest()


def encode(msg: dict) -> bytes:
    return msgpack.packb(msg, use_bin_type=True)


def decode(payload: bytes | memoryview, op: str) -> dict:
    """Parse one handshake message, checking its shape; ProtocolError otherwise."""
    if len(payload) > HANDSHAKE_MAX:
        raise ProtocolError(f"handshake message of {len(payload)} bytes exceeds {HANDSHAKE_MAX}")
    try:
        msg = msgpack.unpackb(payload, raw=False, strict_map_key=True, max_bin_len=64,
                              max_str_len=512, max_array_len=0, max_map_len=8)
    except Exception as e:
        raise ProtocolError(f"handshake message is not valid msgpack: {e}") from None
    if type(msg) is not dict:
        raise ProtocolError("handshake message is not a map")
    got = msg.get("op")
    if got == "denied" and op != "denied":
        raise PermissionError(f"the server refused the connection: {msg.get('reason', '')}")
    if got != op:
        raise ProtocolError(f"expected handshake step {op!r}, got {got!r}")
    if op in ("hello", "auth"):
        if msg.get("v") != PROTOCOL_VERSION:
            raise VersionMismatch(
                f"peer speaks protocol version {msg.get('v')!r}, this side speaks {PROTOCOL_VERSION}; "
                "run the same shoal version on scheduler, workers and clients"
            )
        nonce = msg.get("nonce")
        if type(nonce) is not bytes or len(nonce) != NONCE_BYTES:
            raise ProtocolError("handshake nonce is missing or has the wrong size")
    if op in ("auth", "welcome"):
        m = msg.get("mac")
        if type(m) is not bytes or len(m) != 32:
            raise ProtocolError("handshake MAC is missing or has the wrong size")
    return msg
