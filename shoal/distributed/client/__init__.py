"""``Client``: submit work to a scheduler and get results back.

``core.py`` is the Client itself, made of parts that own their state
(``refs.KeyTable``, ``transfer.Transfers``, ``graphs.GraphSender``) and the
cluster operations of ``client_ops``; ``context.py`` decides which Client
code uses (open clients, the one inside a task); ``options.py`` finds the
token and decides whether a call is pure.
"""
from shoal.distributed import actors
from shoal.distributed.client.context import (
    _close_all, current_client, get_client, get_task_stream, register_local_cluster, worker_client,
)
from shoal.distributed.client.core import Client
from shoal.distributed.client.options import _choose_pure, _warned_random

# Actor proxies (a floor below) find their Client through this
actors.register_client_getter(get_client)

__all__ = ["Client", "get_client", "worker_client", "get_task_stream", "current_client",
           "register_local_cluster", "_choose_pure", "_warned_random", "_close_all"]
