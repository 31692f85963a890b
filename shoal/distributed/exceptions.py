"""Every exception type of ``shoal.distributed``, in one leaf module.

Nothing here imports the rest of the package, so the scheduler, the
workers, the comm layer and the Client can all raise and catch the same
classes.  ``RemoteTraceback`` is the local engine's (one type for a
traceback from any worker, thread pool or cluster).
"""
from __future__ import annotations

from typing import Any

from shoal.local.wire import RemoteTraceback

__all__ = [
    "RemoteTraceback",
    "InvalidTransition",
    "KilledWorker",
    "CancelledError",
    "ProtocolError",
    "VersionMismatch",
    "NotShoalPeer",
    "SerializationError",
]


def remote_error(value: tuple) -> BaseException:
    """The exception for a ``(class name, message)`` answer of the scheduler."""
    cls, text = value
    exc = {"TimeoutError": TimeoutError, "ValueError": ValueError, "KeyError": KeyError,
           "RuntimeError": RuntimeError}.get(cls, RuntimeError)
    if exc is KeyError:
        text = text.strip("'\"")  # str(KeyError) quoted the message once already
    return exc(text)


class InvalidTransition(RuntimeError):
    """A task state machine (scheduler or worker) was asked for a move its table does not allow."""

    def __init__(self, event: str, state: Any, to: Any, key: Any, where: str = "scheduler"):
        super().__init__(f"{where} event {event!r}: task {key!r} cannot go from {state!r} to {to!r}")
        self.event, self.state, self.to, self.key = event, state, to, key


class KilledWorker(RuntimeError):
    """A task was running on too many workers that died."""


class CancelledError(Exception):
    """The future was cancelled (or its client restarted) before it finished."""


class ProtocolError(Exception):
    """A peer sent bytes that do not follow the protocol; its connection is closed."""


class VersionMismatch(ProtocolError):
    """The peer speaks shoal's protocol, but another version of it."""


class NotShoalPeer(ProtocolError, ConnectionError):
    """Something answers at the address, but it does not speak shoal's protocol."""


class SerializationError(TypeError):
    """A task's result could not be pickled to leave the worker holding it.

    Raised where the value was needed (``Future.result``, ``gather``, or a
    dependent task on another worker); ``__cause__`` is the pickling error,
    which travels with it (plain pickling of exceptions drops ``__cause__``).
    """

    def __reduce__(self):
        return (_rebuild_error, (type(self), self.args, self.__cause__))


def _rebuild_error(cls: type, args: tuple, cause: Any) -> BaseException:
    exc = cls(*args)
    exc.__cause__ = cause
    return exc
