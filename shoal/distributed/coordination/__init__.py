"""Coordination primitives shared by every client and task of a cluster.

``Lock``, ``MultiLock``, ``Semaphore``, ``Queue``, ``Variable``, ``Event``,
``Pub``/``Sub``: each is a name whose state the scheduler keeps
(``shoal.distributed.scheduler.coordination``), one module per primitive.
"""
from shoal.distributed.coordination.event import Event
from shoal.distributed.coordination.lock import Lock, MultiLock
from shoal.distributed.coordination.pubsub import Pub, Sub
from shoal.distributed.coordination.queue import Queue
from shoal.distributed.coordination.semaphore import Semaphore
from shoal.distributed.coordination.variable import Variable

__all__ = ["Lock", "MultiLock", "Semaphore", "Queue", "Variable", "Event", "Pub", "Sub"]
