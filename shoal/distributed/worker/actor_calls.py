"""Worker side of actor method calls (see ``shoal.distributed.actors``)."""
from __future__ import annotations

from typing import Any

from shoal.distributed.protocol.serialize import deserialize, serialize


def run_on_worker(worker: Any, msg: dict) -> tuple:
    """Worker side: run one actor request (on the actor thread); ``(ok, serialised result)``."""
    try:
        obj = worker.actors.get(msg["key"])
        if obj is None:
            raise ValueError(f"no actor {msg['key']!r} on worker {worker.address}: it was released "
                             "(keep the future of submit(..., actor=True) while using the actor)")
        args, kwargs = deserialize(msg["args"])
        name = msg["name"]
        if msg["what"] == "call":
            result = getattr(obj, name)(*args, **kwargs)
        elif msg["what"] == "get":
            result = getattr(obj, name)
        else:
            setattr(obj, name, args[0])
            result = None
        return True, serialize(result)
    except Exception as e:
        try:
            return False, serialize(e)
        except Exception:
            return False, serialize(RuntimeError(f"{type(e).__name__}: {e}"))
