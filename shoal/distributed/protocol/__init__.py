"""Wire protocol: framing, serialisation and the authentication handshake.

See ``docs/protocol.md`` for the full description.  Nothing in this package
does IO; ``shoal.distributed.comm`` moves the bytes.
"""
from shoal.distributed.protocol.frames import PROTOCOL_VERSION, ProtocolError, pack_frames, unpack_frames
from shoal.distributed.protocol.serialize import (
    Serialized,
    deserialize,
    dumps_function,
    dumps_messages,
    loads_function,
    loads_messages,
    serialize,
)

__all__ = [
    "PROTOCOL_VERSION",
    "ProtocolError",
    "pack_frames",
    "unpack_frames",
    "Serialized",
    "serialize",
    "deserialize",
    "dumps_function",
    "loads_function",
    "dumps_messages",
    "loads_messages",
]
