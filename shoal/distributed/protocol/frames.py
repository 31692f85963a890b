"""Length-prefixed framing.

On the wire every message is::

    u64 big-endian   payload length L          (checked against a maximum)
    L bytes          payload

Before authentication the payload is one msgpack map (see ``auth.py``) and L
may be at most ``HANDSHAKE_MAX`` bytes.  After it, the payload is a frame
table::

    u32 n            number of frames
    u64 * n          length of each frame
    frames           each starting at a multiple of 64 bytes from the
                     payload start (zero padding between frames)

Frame 0 is a msgpack header ``{"v": PROTOCOL_VERSION, "nb": n_buffers}``,
frame 1 a pickle (protocol 5) of a *list* of messages, frames 2.. the
pickle's out-of-band buffers (numpy/pandas memory, sent without copying).
Every check here raises ``ProtocolError``; the comm layer closes only the
offending connection.
"""
from __future__ import annotations

import struct

import msgpack

from shoal.distributed.exceptions import ProtocolError

PROTOCOL_VERSION = 1
ALIGN = 64
_PAD = bytes(ALIGN)
HANDSHAKE_MAX = 4096
PREFIX = struct.Struct("!Q")
_U32 = struct.Struct("!I")


def pack_frames(frames: list) -> list:
    """Buffers to write for ``frames`` (prefix and table first, no data copies).

    Each frame starts at a multiple of ``ALIGN`` bytes from the payload start
    (zero padding in between), so arrays rebuilt on the other side are as
    aligned as the sender's: same SIMD code paths, same float results.
    """
    n = len(frames)
    lengths = [memoryview(f).nbytes for f in frames]
    table = _U32.pack(n) + struct.pack(f"!{n}Q", *lengths)
    out = [None]
    pos = len(table)
    head = [table]
    for f, ln in zip(frames, lengths):
        pad = -pos % ALIGN
        if pad:
            (head if len(out) == 1 else out).append(_PAD[:pad])
        pos += pad
        if len(out) == 1 and ln < 4096:
            head.append(f)   # small leading frames ride with the table
        else:
            out.append(f)
        pos += ln
    out[0] = PREFIX.pack(pos) + b"".join(bytes(h) if not isinstance(h, bytes) else h for h in head)
    return out


def unpack_frames(payload: memoryview, max_frames: int = 1 << 20) -> list:
    """Split a received payload into memoryview frames; ProtocolError if malformed."""
    size = payload.nbytes
    if size < 4:
        raise ProtocolError(f"payload of {size} bytes is too short for a frame table")
    (n,) = _U32.unpack_from(payload, 0)
    if n < 2 or n > max_frames:
        raise ProtocolError(f"frame count {n} is out of range (2..{max_frames})")
    pos = 4 + 8 * n
    if pos > size:
        raise ProtocolError(f"frame table of {n} frames does not fit a {size}-byte payload")
    lengths = struct.unpack_from(f"!{n}Q", payload, 4)
    out = []
    for ln in lengths:
        pos += -pos % ALIGN
        if pos + ln > size:
            raise ProtocolError("frame lengths do not add up to the payload length")
        out.append(payload[pos:pos + ln])
        pos += ln
    if pos != size:
        raise ProtocolError("frame lengths do not add up to the payload length")
    return out


def pack_header(nbuffers: int) -> bytes:
    return msgpack.packb({"v": PROTOCOL_VERSION, "nb": nbuffers})


def check_header(frame: memoryview, nframes: int) -> None:
    """Validate frame 0 (msgpack, tiny) before the pickle in frame 1 is touched."""
    if frame.nbytes > 256:
        raise ProtocolError("message header is larger than 256 bytes")
    try:
        head = msgpack.unpackb(frame, raw=False, strict_map_key=True)
    except Exception as e:
        raise ProtocolError(f"message header is not valid msgpack: {e}") from None
    if type(head) is not dict or head.get("v") != PROTOCOL_VERSION:
        raise ProtocolError(
            f"message header {head!r} has the wrong protocol version; expected v={PROTOCOL_VERSION}"
        )
    if head.get("nb") != nframes - 2:
        raise ProtocolError("message header's buffer count does not match its frames")
