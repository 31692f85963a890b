"""The ``processes`` scheduler: persistent worker processes under the local engine.

Data flow for one run (``W`` = a worker process, see ``shoal.local.worker``)::

    engine thread                                   W (one per core)
    ─────────────                                   ────────────────
    submit(batch) ─ pick the W with least in flight,
                    then most inputs already there
                  ─ ("run", id, seed, tasks,        reader thread queues it
                     inputs W lacks, keys to forget) ──>  run tasks, cache
                                                          inputs + results
    collect() <── select() over the sockets of busy W <── ("done", values)
                  EOF on a socket: W died -> WorkerDied naming its tasks

* Start-up: workers are launched with ``python -m shoal.local.worker`` and
  a socketpair, in parallel, on first use, and then kept for every later
  run (``get_pool()``).  Nothing is forked and the user's ``__main__`` is
  never re-imported, which is what breaks Dask's process pool in scripts
  without a ``__main__`` guard.
* Shipping: the engine remembers which keys each worker holds in this run
  (``has``); an input is sent to a worker once and reused by every later
  task there.  Released keys are piggy-backed as ``forget`` on the next
  message.  Arrays move as pickle-5 out-of-band buffers (``wire``).
* Failure: a task's exception comes back pickled with its traceback text
  and is raised here ``from RemoteTraceback``.  A dead worker (``os._exit``,
  segfault, OOM kill) is noticed as EOF; the error names the tasks it held
  and the pool starts a replacement on the next run.  When a run stops
  early (error, Ctrl-C) the workers still busy with it are killed, so the
  next run starts clean and a Ctrl-C returns at once.
* Lifetime: workers exit when the engine process goes away (EOF on their
  socket, or their parent pid changes) and at interpreter exit.
"""
from __future__ import annotations

import atexit
import os
import selectors
import signal
import socket
import subprocess
import sys
import threading
import time
from typing import Any, Callable, Hashable, Mapping

from shoal.local.engine import Executor, Run, default_num_workers, run_get
from shoal.local.wire import RemoteTraceback, dumps_code, loads, recv_frames, send

__all__ = ["WorkerDied", "ProcessPool", "ProcessExecutor", "get_pool", "shutdown_pool", "get_processes"]

#: Socket buffer size: big enough that a batch message rarely blocks.
SOCK_BUF = 4 << 20


#: Longest blocking wait; pending signals (Ctrl-C) are handled in between.
WAKE_S = 0.2


class WorkerDied(RuntimeError):
    """A worker process ended while running tasks."""


class WorkerProc:
    __slots__ = ("proc", "sock", "wid", "inflight", "has", "forget")

    def __init__(self, proc: subprocess.Popen, sock: socket.socket, wid: int):
        self.proc = proc
        self.sock = sock
        self.wid = wid
        self.inflight: list = []  # batches sent, oldest first
        self.has: set = set()  # keys cached there in the current run
        self.forget: list = []  # keys to drop there, sent with the next batch

    @property
    def pid(self) -> int:
        return self.proc.pid

    def kill(self) -> None:
        try:
            self.sock.close()
        except OSError:
            pass
        if self.proc.poll() is None:
            try:
                self.proc.kill()
            except OSError:
                pass
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:  # pragma: no cover
            pass


def _worker_env() -> dict:
    env = dict(os.environ)
    paths = [os.path.abspath(p) if p else os.getcwd() for p in sys.path]
    env["PYTHONPATH"] = os.pathsep.join(dict.fromkeys(paths))
    return env


class ProcessPool:
    """Worker processes kept across runs; one run at a time (``lock``).

    ``initializer`` (a function of no arguments) runs once in every worker
    of the pool as it starts, before any task.
    """

    def __init__(self, initializer: Callable | None = None) -> None:
        self.workers: list[WorkerProc] = []
        self.lock = threading.Lock()
        self.pid = os.getpid()
        self._next_wid = 0
        self.initializer = initializer

    def _spawn(self) -> WorkerProc:
        parent, child = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        for s in (parent, child):
            try:
                s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, SOCK_BUF)
                s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, SOCK_BUF)
            except OSError:  # pragma: no cover - limited by the system
                pass
        wid = self._next_wid
        self._next_wid += 1
        cfd = child.fileno()
        proc = subprocess.Popen(
            [sys.executable, "-m", "shoal.local.worker", str(cfd), str(os.getpid()), str(wid)],
            pass_fds=(cfd,), stdin=subprocess.DEVNULL, env=_worker_env(), close_fds=True,
        )
        child.close()
        if self.initializer is not None:
            send(parent, dumps_code(("init", self.initializer)))
        return WorkerProc(proc, parent, wid)

    def ensure(self, n: int) -> list:
        """At least ``n`` live workers; returns the first ``n``."""
        alive = []
        for w in self.workers:
            if w.proc.poll() is None:
                alive.append(w)
            else:
                w.kill()
        self.workers = alive
        while len(self.workers) < n:
            self.workers.append(self._spawn())
        return self.workers[:n]

    def discard(self, w: WorkerProc) -> None:
        w.kill()
        if w in self.workers:
            self.workers.remove(w)

    def shutdown(self) -> None:
        workers, self.workers = self.workers, []
        for w in workers:
            try:
                w.sock.close()  # EOF: the worker exits by itself
            except OSError:
                pass
        deadline = time.monotonic() + 2
        for w in workers:
            try:
                w.proc.wait(timeout=max(0.01, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                w.kill()


_pool: ProcessPool | None = None
_pool_lock = threading.Lock()
# pools whose workers ran an initializer, by the initializer's identity
_init_pools: dict = {}


def get_pool(initializer: Callable | None = None) -> ProcessPool:
    """The process-wide pool (a fresh one in a forked child).

    With ``initializer``, a pool of its own whose workers each ran it once:
    workers that never ran it (or ran another) never see those tasks.
    """
    global _pool
    with _pool_lock:
        if initializer is not None:
            entry = _init_pools.get(id(initializer))
            if entry is None or entry[0] is not initializer or entry[1].pid != os.getpid():
                entry = (initializer, ProcessPool(initializer))
                _init_pools[id(initializer)] = entry
            return entry[1]
        if _pool is None or _pool.pid != os.getpid():
            _pool = ProcessPool()
        return _pool


def shutdown_pool() -> None:
    """Stop every worker process (also done at interpreter exit)."""
    global _pool
    with _pool_lock:
        pools = [_pool] + [p for _, p in _init_pools.values()]
        _pool = None
        _init_pools.clear()
    for pool in pools:
        if pool is not None and pool.pid == os.getpid():
            pool.shutdown()


atexit.register(shutdown_pool)


def _describe_exit(code: int | None) -> str:
    if code is None:
        return "closed its connection"
    if code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        hint = {
            "SIGKILL": " (killed: often the out-of-memory killer)",
            "SIGSEGV": " (segmentation fault in native code)",
            "SIGABRT": " (aborted by native code)",
        }.get(name, "")
        return f"was killed by {name}{hint}"
    return f"exited with code {code}"


class ProcessExecutor(Executor):
    """Runs batches on the pool's worker processes."""

    target_batch_s = 0.01
    max_batch = 2000

    def __init__(self, pool: ProcessPool, num_workers: int):
        self.pool = pool
        self.num_workers = num_workers
        self.slots = 2 * num_workers
        self.workers = pool.ensure(num_workers)
        self.sel: selectors.BaseSelector | None = None
        self.by_fd: dict = {}

    def start_run(self, run: Run) -> None:
        self.sel = selectors.DefaultSelector()
        for w in self.workers:
            w.inflight = []
            w.has = set()
            w.forget = []
            self.sel.register(w.sock, selectors.EVENT_READ, w)

    def _pick(self, run: Run, batch: list) -> WorkerProc:
        best = None
        best_score = None
        deps = run.deps
        for w in self.workers:
            local = 0
            has = w.has
            if has:
                for k in batch:
                    for d in deps[k]:
                        if d in has:
                            local += 1
            score = (len(w.inflight), -local)
            if best_score is None or score < best_score:
                best, best_score = w, score
        return best  # type: ignore[return-value]

    def submit(self, run: Run, batch: list, internal: dict) -> None:
        w = self._pick(run, batch)
        graph, deps, results = run.graph, run.deps, run.results
        has = w.has
        data = {}
        for k in batch:
            for d in deps[k]:
                if d not in has and d in results:  # else: made earlier in this batch
                    data[d] = results[d]
                    has.add(d)
        tasks = [(k, graph[k]) for k in batch]
        forget, w.forget = w.forget, []
        try:
            frames = dumps_code(("run", run.id, run.seed, tasks, data, forget, internal))
        except Exception as e:
            raise TypeError(
                f"task {batch[0]!r} (or another of {len(batch)} in its batch) cannot be sent to a "
                f"worker process: {e}. Functions, lambdas and closures are fine; open files, locks, "
                "sockets and similar live objects are not. Create them inside the task, or use "
                "scheduler='threads'."
            ) from e
        try:
            send(w.sock, frames)
        except OSError:
            self._died(w, batch)
        if internal:
            has.update(k for k in batch if k not in internal)
        else:
            has.update(batch)
        w.inflight.append(batch)

    def _died(self, w: WorkerProc, extra: list | None = None) -> None:
        try:
            code = w.proc.wait(timeout=2)
        except subprocess.TimeoutExpired:
            code = None
        keys = [k for b in w.inflight for k in b] + list(extra or [])
        self._unregister(w)
        self.pool.discard(w)
        self.workers = [x for x in self.workers if x is not w]
        shown = ", ".join(repr(k) for k in keys[:5]) + (f" and {len(keys) - 5} more" if len(keys) > 5 else "")
        raise WorkerDied(
            f"worker process {w.pid} {_describe_exit(code)} while running task {shown}. "
            "The task crashed the interpreter (a segfault in native code, os._exit) or was "
            "killed from outside (often for using too much memory). The pool starts a fresh "
            "worker for the next compute; run with scheduler='sync' to debug the task."
        )

    def _unregister(self, w: WorkerProc) -> None:
        if self.sel is not None:
            try:
                self.sel.unregister(w.sock)
            except (KeyError, ValueError):
                pass

    def collect(self, run: Run) -> list:
        sel = self.sel
        assert sel is not None
        out = []
        while not out:
            # wake up now and then so a Ctrl-C that hit another thread is seen
            events = sel.select(WAKE_S)
            for sk, _ in events:
                w: WorkerProc = sk.data
                if not w.inflight:
                    self._idle_readable(w)
                    continue
                try:
                    frames = recv_frames(w.sock)
                except (EOFError, OSError):
                    self._died(w)
                msg = loads(frames)
                if msg[1] != run.id and msg[0] != "load-error":
                    continue
                batch = w.inflight.pop(0)
                if msg[0] == "done":
                    out.append((batch, msg[2], w.wid, msg[3]))
                    continue
                _, _, ndone, key, exc, tb = msg
                if key is None:
                    key = batch[0]
                if msg[0] == "load-error":
                    hint = (f"shoal: a worker process could not unpickle the tasks starting with "
                            f"{key!r}. Objects sent to worker processes must be importable there "
                            "(define classes in a module on sys.path when the pool started, or in "
                            "the script itself)")
                    if isinstance(exc, Exception):  # the original error, as raised in the worker
                        exc.add_note(hint)
                        raise exc from RemoteTraceback(tb)
                    raise RuntimeError(
                        f"a worker process could not unpickle the tasks starting with {key!r}: "
                        f"{type(exc).__name__}: {exc}. Objects sent to worker processes must be "
                        "importable there (define classes in a module on sys.path when the pool "
                        "started, or in the script itself)") from RemoteTraceback(tb)
                if isinstance(exc, BaseException):
                    raise exc from RemoteTraceback(f"(while running task {key!r})\n{tb}")
                raise RuntimeError(f"task {key!r} failed in a worker process:\n{tb}")  # pragma: no cover
        return out

    def _idle_readable(self, w: WorkerProc) -> None:
        """A worker with nothing to do spoke: it died (EOF) or sent a stale reply."""
        try:
            recv_frames(w.sock)  # a stale message: dropped
            return
        except (EOFError, OSError):
            pass
        # it held no task of this run: retire it quietly, unless none are left
        self._unregister(w)
        self.pool.discard(w)
        self.workers = [x for x in self.workers if x is not w]
        if not self.workers:
            raise WorkerDied(
                f"every worker process has exited (the last, pid {w.pid}, "
                f"{_describe_exit(w.proc.poll())}); the next compute starts new ones"
            )

    def release(self, run: Run, key: Hashable) -> None:
        for w in self.workers:
            if key in w.has:
                w.has.discard(key)
                w.forget.append(key)

    def close_run(self, run: Run, errored: bool) -> None:
        for w in list(self.workers):
            if errored and w.inflight:
                # still busy with tasks nobody waits for: stop it now
                self._unregister(w)
                self.pool.discard(w)
                continue
            w.inflight = []
            w.forget = []
            if w.has:
                w.has = set()
                try:
                    send(w.sock, dumps_code(("clear",)))  # drop cached data now
                except OSError:
                    pass
        if self.sel is not None:
            self.sel.close()
            self.sel = None


def get_processes(graph: Any, keys: Any, *, dependencies: Mapping | None = None,
                  num_workers: int | None = None, seed: Any = None, callbacks: Any = None,
                  cache: Mapping | None = None, initializer: Callable | None = None,
                  **kwargs: Any) -> Any:
    """Run ``graph`` for ``keys`` on the persistent worker processes.

    ``keys`` and the result are as for ``shoal.local.engine.get_sync``.
    ``initializer`` (default: config ``multiprocessing.initializer``) is a
    function each worker process runs once before its first task.  ``pool=``
    (or config ``pool``) runs on the caller's ``ProcessPoolExecutor`` or
    ``multiprocessing.Pool`` instead.
    """
    from shoal import config

    user_pool = kwargs.get("pool") or config.get("pool", None)
    if user_pool is not None:  # the caller's ProcessPoolExecutor or multiprocessing.Pool
        from shoal.local.engine import FuturesExecutor

        return run_get(FuturesExecutor(user_pool, num_workers), graph, keys, dependencies, seed=seed,
                       callbacks=callbacks, cache=cache)
    n = int(num_workers or config.get("num_workers", None) or default_num_workers())
    if initializer is None:
        initializer = config.get("multiprocessing.initializer", None)
    pool = get_pool(initializer)
    with pool.lock:
        return run_get(ProcessExecutor(pool, n), graph, keys, dependencies, seed=seed,
                       callbacks=callbacks, cache=cache)
