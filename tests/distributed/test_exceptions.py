"""One home for the exception types: every module raises and catches the same classes."""
from __future__ import annotations

import importlib
import pickle

import pytest

from shoal.distributed import exceptions as ex


def test_one_class_each_wherever_it_is_imported_from():
    import shoal.distributed as dist
    from shoal.distributed import futures
    from shoal.distributed.protocol import frames
    from shoal.distributed.scheduler import model, state
    from shoal.distributed.worker import state as wstate
    from shoal.local import wire

    assert wire.RemoteTraceback is ex.RemoteTraceback is futures.RemoteTraceback
    assert state.InvalidTransition is wstate.InvalidTransition is model.InvalidTransition is ex.InvalidTransition
    assert dist.KilledWorker is state.KilledWorker is ex.KilledWorker
    assert dist.CancelledError is futures.CancelledError is ex.CancelledError
    assert frames.ProtocolError is ex.ProtocolError
    ser = importlib.import_module("shoal.distributed.protocol.serialize")  # the package re-exports a function of that name
    assert ser.SerializationError is ex.SerializationError


def test_invalid_transition_names_where_event_and_states():
    from shoal.distributed.worker.state import WorkerState

    w = WorkerState(nthreads=1)
    w.compute("x", b"", "f", None, 0)
    with pytest.raises(ex.InvalidTransition, match="worker event 'start': task 'x' cannot go from 'executing'"):
        w._move(w.tasks["x"], "executing", "start")


def test_serialization_error_keeps_its_cause_through_pickle():
    e = ex.SerializationError("cannot pickle the value")
    e.__cause__ = ValueError("lock object")
    back = pickle.loads(pickle.dumps(e))
    assert type(back) is ex.SerializationError and str(back.__cause__) == "lock object"


def test_not_shoal_peer_is_a_connection_and_protocol_error():
    assert issubclass(ex.NotShoalPeer, ConnectionError) and issubclass(ex.NotShoalPeer, ex.ProtocolError)
    assert issubclass(ex.VersionMismatch, ex.ProtocolError)
