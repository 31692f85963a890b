"""Peer-to-peer shuffle on a distributed cluster: workers exchange shards directly.

The graph has ``n_in + n_out + 1`` tasks::

    transfer 0 ─┐
    transfer 1 ─┼─> barrier ─┬─> output 0   (on the worker holding its shards)
    ...        ─┘            └─> output 1 ...

* ``transfer i`` splits input partition ``i`` and sends each piece to the
  worker that keeps its output partition, a few messages in flight at a
  time (each answered once written to that worker's disk), then reports
  itself done to the run.  If the run is dropped meanwhile (a worker left),
  it sends everything again to the next run.
* ``barrier`` waits until the scheduler says every input is in the run.
* ``output j`` reads its pieces, in input order, from the disk of the worker
  it runs on (the scheduler places it there), so rows come out in the same
  order as with the other methods.

Runs, recovery and placement are the scheduler's (``shoal.distributed.
scheduler.shuffle``); sending, receiving and storing are the worker's
(``shoal.distributed.worker.shuffle``).  The tasks reach the worker through
the module that is loaded in every worker process, so this module does not
import the distributed package.
"""
from __future__ import annotations

import collections
import sys
import time
from typing import Any, Callable

import pandas as pd

from shoal import config
from shoal.dataframe.disk_shuffle import PieceEncoder, _Activity, _mib, decode_frame

__all__ = ["p2p_shuffle_layer"]

MAX_IN_FLIGHT = 2  # unanswered messages per transfer: enough to overlap encoding and sending


def _service() -> Any:
    mod = sys.modules.get("shoal.distributed.worker.shuffle")
    svc = mod.current() if mod is not None else None
    if svc is None:
        raise RuntimeError(
            "shuffle_method='p2p' runs only on the workers of a distributed cluster (workers exchange "
            "shards directly); compute with a shoal.distributed Client, or use shuffle_method='disk' "
            "(files) or 'tasks' (in memory) on the local schedulers")
    return svc


def _lost_error() -> type:
    return sys.modules["shoal.distributed.worker.shuffle"].RunLost


def transfer(df: pd.DataFrame, spec: dict, i: int, split_func: Callable, args: tuple) -> int:
    """Send input partition ``i``'s pieces to their workers; the run id they arrived in."""
    svc = _service()
    nbytes = int(df.memory_usage(deep=False).sum()) if hasattr(df, "memory_usage") else 0
    with _Activity(f"p2p shuffle {spec['token'][:40]}: sending input partition {i} "
                   f"({len(df)} rows, {_mib(nbytes)})"):
        pieces = split_func(df, *args)
        if len(pieces) != spec["nout"]:
            raise ValueError(f"the shuffle's split gave {len(pieces)} pieces for {spec['nout']} output partitions")
        enc = PieceEncoder(df, pieces, config.get("dataframe.shuffle.compression", None))
        del df, pieces
        deadline = time.monotonic() + float(config.get("distributed.shuffle.timeout", 300.0))
        delay = 0.05
        while True:
            run = svc.call("get-run", **spec)
            try:
                _send_all(svc, run, i, enc)
                if svc.call("done", token=spec["token"], id=run["id"], i=i):
                    return run["id"]
            except _lost_error():
                if time.monotonic() > deadline:
                    raise
            time.sleep(delay)  # the scheduler is dropping the run; the next one starts without the lost worker
            delay = min(2 * delay, 1.0)


def _send_all(svc: Any, run: dict, i: int, enc: PieceEncoder) -> None:
    workers = run["workers"]
    n = len(workers)
    cap = int(config.get("distributed.shuffle.message-bytes", 8 * 2**20))
    bufs: dict = {w: [] for w in workers}
    sizes = dict.fromkeys(workers, 0)
    sent = dict.fromkeys(workers, 0)
    in_flight: collections.deque = collections.deque()

    def flush(w: str, last: bool) -> None:
        m = sent[w]
        sent[w] += 1
        in_flight.append(svc.push(run, i, m, w, bufs[w], enc.meta, m + 1 if last else None))
        bufs[w], sizes[w] = [], 0
        while len(in_flight) > MAX_IN_FLIGHT:
            in_flight.popleft().result()

    try:
        for j in range(len(enc)):
            blob = enc.blob(j)
            if blob is None:
                continue
            w = workers[j % n]
            bufs[w].append((j, blob))
            sizes[w] += len(blob)
            if sizes[w] >= cap:
                flush(w, False)
        for w in workers:  # every worker hears the last message, so it knows this input is complete
            flush(w, True)
        while in_flight:
            in_flight.popleft().result()
    finally:
        for f in in_flight:
            f.cancel()


def barrier(spec: dict, *run_ids: int) -> int:
    """Every input is in one run (asks the scheduler, which may recompute inputs of older runs)."""
    return _service().wait(spec)["id"]


def unpack(_barrier: int, spec: dict, j: int) -> pd.DataFrame:
    """Output partition ``j``: its pieces from every input, in input order."""
    svc = _service()
    lost = _lost_error()
    for attempt in range(5):
        run = svc.wait(spec)
        try:
            with _Activity(f"p2p shuffle {spec['token'][:40]}: reading output partition {j}"):
                blobs, meta = svc.read(run, j)
                frames = []
                while blobs:  # each piece's bytes go as soon as it is decoded
                    frames.append(decode_frame(blobs.pop(0)))
                break
        except lost as e:
            # the shards of this run are gone (a worker left, or its files did): start the run again
            svc.call("restart", token=spec["token"], id=run["id"], why=str(e))
    else:
        raise RuntimeError(f"output {j} of shuffle {spec['token']!r} could not be read after 5 runs")
    if not frames:
        return decode_frame(meta) if meta is not None else pd.DataFrame()
    return frames[0] if len(frames) == 1 else pd.concat(frames)


def p2p_shuffle_layer(frame: Any, split_func: Callable, args: tuple, k: int, name: str) -> dict:
    """Tasks of a peer-to-peer shuffle of ``frame`` into ``k`` partitions named ``(name, j)``."""
    from shoal.core.task import Ref, Task

    tname = f"{name}-transfer"
    bname = f"{name}-barrier"
    n_in = frame.npartitions
    spec = {"token": name, "n_in": n_in, "nout": k,
            "keys": {"transfer": tname, "barrier": bname, "output": name}}
    layer: dict = {}
    for i in range(n_in):
        layer[(tname, i)] = Task(transfer, Ref((frame._name, i)), spec, i, split_func, args)
    layer[bname] = Task(barrier, spec, *[Ref((tname, i)) for i in range(n_in)])
    for j in range(k):
        layer[(name, j)] = Task(unpack, Ref(bname), spec, j)
    return layer
