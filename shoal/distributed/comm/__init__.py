"""Connections: framed, batched, authenticated messages over TCP or TLS."""
from shoal.distributed.comm.security import Security
from shoal.distributed.comm.tcp import Comm, Listener, connect, listen, parse_address

__all__ = ["Comm", "Listener", "Security", "connect", "listen", "parse_address"]
