"""Worker process of the ``processes`` scheduler: ``python -m shoal.local.worker FD``.

Started fresh with ``subprocess`` (never forked, never importing the
user's ``__main__``), so scripts without an ``if __name__ == "__main__":``
guard, ``python -c``, stdin and notebooks all work: tasks arrive pickled by
cloudpickle, functions of ``__main__`` by value.

Two threads:

* a reader drains the socket into a queue, so the engine's writes never
  block on a busy worker (no deadlock when both sides send at once).  On
  EOF (the engine's process is gone) it ends the process at once;
* the main thread runs batches: ``("run", run_id, seed, tasks, data,
  forget)``.  ``data`` holds inputs this process has not seen in this run;
  they and the results computed here are cached by key until the engine
  says ``forget`` or a new run starts, so a big input shared by many tasks
  arrives once per process.

A watchdog thread also exits if the parent process changes (the engine was
killed without closing the socket, e.g. its children inherited it).
SIGINT is ignored: Ctrl-C goes to the engine, which stops the workers it
needs to stop.
"""
from __future__ import annotations

import os
import queue
import signal
import socket
import sys
import threading
import time
import traceback


def _watch_parent(ppid: int) -> None:
    while True:
        time.sleep(0.5)
        if os.getppid() != ppid:
            os._exit(3)


def _reader(sock: socket.socket, inbox: queue.SimpleQueue) -> None:
    from shoal.local.wire import recv_frames

    try:
        while True:
            inbox.put(recv_frames(sock))
    except BaseException:
        os._exit(0)  # the engine closed the connection or died


def _seed_numpy_once(state: list) -> None:
    np = sys.modules.get("numpy")
    if np is not None and not state:
        state.append(True)
        # never share the legacy global stream with another process
        np.random.seed(int.from_bytes(os.urandom(4), "little"))


def main(argv: list) -> None:
    fd, ppid = int(argv[0]), int(argv[1])  # argv[2]: the worker number (shown by ps)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    sock = socket.socket(fileno=fd)
    inbox: queue.SimpleQueue = queue.SimpleQueue()
    threading.Thread(target=_reader, args=(sock, inbox), daemon=True).start()
    threading.Thread(target=_watch_parent, args=(ppid,), daemon=True).start()

    from shoal.local.engine import run_batch
    from shoal.local.wire import dumps, loads, send

    seeded: list = []
    cache: dict = {}
    run_id = None
    init_error = None
    perf = time.perf_counter
    while True:
        frames = inbox.get()
        t0 = perf()
        try:
            msg = loads(frames)
        except BaseException as e:
            # its run id is inside what could not be read: the parent pins the error on
            # the oldest batch it has in flight here (replies come back in order)
            send(sock, dumps(("load-error", None, 0, None, _picklable(e), traceback.format_exc())))
            continue
        del frames
        kind = msg[0]
        if kind == "clear":
            cache.clear()
            run_id = None
            continue
        if kind == "exit":
            os._exit(0)
        if kind == "init":  # the pool's initializer, before any task
            try:
                msg[1]()
            except BaseException as e:  # reported with the first batch
                init_error = (_picklable(e), traceback.format_exc())
            continue
        _, rid, seed, tasks, data, forget, internal = msg
        if init_error is not None:
            send(sock, dumps(("error", rid, 0, None, init_error[0], init_error[1])))
            continue
        del msg
        if rid != run_id:
            cache.clear()
            run_id = rid
        for k in forget:
            cache.pop(k, None)
        if data:
            cache.update(data)
        del data
        _seed_numpy_once(seeded)
        out: list = []
        try:
            run_batch(tasks, cache, internal, seed, out)
        except BaseException as e:
            key = tasks[len(out)][0] if len(out) < len(tasks) else None
            send(sock, dumps(("error", rid, 0, key, _picklable(e), traceback.format_exc())))
            continue
        del tasks
        try:
            frames_out = dumps(("done", rid, out, perf() - t0))
        except BaseException as e:
            frames_out = dumps(("error", rid, 0, None, _picklable(TypeError(
                f"a result could not be pickled to send it back from the worker process: {e!r}. "
                "Return plain data (numbers, arrays, frames) from tasks run with "
                "scheduler='processes', or use scheduler='threads'.")), traceback.format_exc()))
        del out
        send(sock, frames_out)
        del frames_out


def _picklable(e: BaseException) -> BaseException:
    """``e`` if it survives pickling, else a RuntimeError carrying its text."""
    import pickle

    import cloudpickle

    try:
        pickle.loads(cloudpickle.dumps(e))
        return e
    except Exception:
        return RuntimeError(f"{type(e).__name__}: {e}")


if __name__ == "__main__":
    main(sys.argv[1:])
