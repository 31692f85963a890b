"""Scheduler side of published datasets (``Client.publish_dataset`` and friends).

A dataset is a name for a value pickled by the publishing client (usually a
persisted collection or Futures); the Futures inside it are held until the
dataset is unpublished, so other clients can ``get_dataset`` it later.
"""
from __future__ import annotations

from typing import Any


class Datasets:
    def __init__(self, ext: Any):
        self.ext = ext
        self.items: dict = {}   # name -> (data, keys, hold id)

    async def handle(self, action: str, cid: str, msg: dict) -> Any:
        if action == "list":
            return sorted(self.items, key=str)
        name = msg["name"]
        if action == "publish":
            if name in self.items and not msg.get("override"):
                raise KeyError(f"a dataset named {name!r} is already published: "
                               "unpublish_dataset() it first, or pass override=True")
            old = self.items.get(name)
            self.items[name] = (msg["data"], msg["keys"], self.ext.hold(msg["keys"]))
            if old is not None:
                self.ext.drop(old[2])
            return None
        if action == "get":
            item = self.items.get(name)
            if item is None:
                raise KeyError(f"no dataset named {name!r}; published: {sorted(self.items, key=str)}")
            self.ext.give(cid, item[1])
            return item[0], item[1]
        if action == "unpublish":
            item = self.items.pop(name, None)
            if item is None:
                raise KeyError(f"no dataset named {name!r}")
            self.ext.drop(item[2])
            return None
        raise ValueError(f"unknown dataset action {action!r}")

    def client_gone(self, cid: str) -> None:
        pass  # published data outlives its publisher
