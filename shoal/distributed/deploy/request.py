"""One-shot requests to a scheduler: connect, authenticate, ask once, close.

A deployment that only needs a snapshot of the scheduler (how many workers,
how many tasks are waiting) has no use for a whole ``Client``: no client
registration, no reference counting, no background connections.  The
scheduler answers any authenticated connection's ``snapshot`` or ``workers``
request with a ``reply`` carrying the same ``rid``.
"""
from __future__ import annotations

import asyncio
from typing import Any

from shoal.distributed.comm.tcp import Comm, connect
from shoal.distributed.utils import io_loop

__all__ = ["request", "request_sync"]


async def request(address: str, security: Any, msg: dict, timeout: float = 10.0) -> Any:
    """Send ``msg`` (a dict with an ``op``) to the scheduler at ``address``; return its reply."""
    comm = await connect(address, security, name="request", timeout=timeout)
    loop = asyncio.get_running_loop()
    answer: asyncio.Future = loop.create_future()
    rid = 1

    def on_messages(_comm: Comm, msgs: list) -> None:
        for m in msgs:
            if isinstance(m, dict) and m.get("op") == "reply" and m.get("rid") == rid and not answer.done():
                answer.set_result(m.get("result"))

    def on_close(_comm: Comm) -> None:
        if not answer.done():
            answer.set_exception(ConnectionError(
                f"the scheduler at {address} closed the connection before answering {msg.get('op')!r}"))

    try:
        comm.start(on_messages)
        comm.on_close(on_close)
        comm.send({**msg, "rid": rid})
        try:
            return await asyncio.wait_for(answer, timeout)
        except asyncio.TimeoutError:
            raise TimeoutError(f"the scheduler at {address} did not answer {msg.get('op')!r} "
                               f"within {timeout}s") from None
    finally:
        comm.close()


def request_sync(address: str, security: Any, msg: dict, timeout: float = 10.0) -> Any:
    """Blocking form of :func:`request`, run on the process's IO loop thread."""
    return io_loop().run(request(address, security, msg, timeout), timeout + 5)
