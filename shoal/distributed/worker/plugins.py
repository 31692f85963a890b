"""Worker plugins: objects with optional ``setup(worker)`` and ``teardown(worker)``.

``Client.register_plugin(plugin)`` ships the plugin to every worker (and to
workers that join later); ``setup`` runs once per worker process before the
plugin is used, ``teardown`` when the worker closes or the plugin is
removed.  A plugin registered again under the same name replaces the old
one (which is torn down first).
"""
from __future__ import annotations

import inspect
import logging
from typing import Any

from shoal.distributed.protocol.serialize import loads_function

logger = logging.getLogger("shoal.distributed.worker")


async def _maybe_await(value: Any) -> Any:
    if inspect.isawaitable(value):
        return await value
    return value


async def add(worker: Any, name: str, data: bytes) -> Any:
    plugin = loads_function(data)
    await remove(worker, name)
    worker.plugins[name] = plugin
    setup = getattr(plugin, "setup", None)
    if setup is not None:
        return await _maybe_await(setup(worker=worker))
    return None


async def remove(worker: Any, name: str) -> None:
    plugin = worker.plugins.pop(name, None)
    teardown = getattr(plugin, "teardown", None)
    if teardown is not None:
        await _maybe_await(teardown(worker=worker))


async def teardown_all(worker: Any) -> None:
    for name in list(worker.plugins):
        try:
            await remove(worker, name)
        except Exception:
            logger.exception("teardown of worker plugin %r failed", name)
