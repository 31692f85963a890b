"""The one local execution engine, and the sync and threads schedulers.

Every local scheduler is ``run_graph(executor, graph, keys, ...)`` with a
different *executor*.  The engine owns all the bookkeeping; executors only
move batches of keys to where they run and bring the values back::

      graph, keys ──> order() ──> priorities
                                   │
      ready heap (smallest priority first) <───────────────┐
         │  pop a batch (size adapts to measured task time) │
         ▼                                                  │
      executor.submit(batch)        executor.collect()  ────┘ values
      sync: runs nothing here       results[key] = value; dependents whose
      threads: shared thread pool   last input arrived become ready; inputs
      processes: worker processes   whose last dependent ran are released
        (shoal.local.processes)
      any Executor: executor_get    (and forgotten by the workers)

* **Sync** never builds a heap: the static order is already a valid
  sequence, and running it straight is exactly what the heap would do with
  one worker.  Exceptions are not caught, so the original exception object
  reaches the caller and ``pdb.post_mortem`` lands in the failing frame.
* Literal and alias nodes (``Ref``) are resolved in the engine's own thread
  as soon as they are ready: a big array wrapped in ``delayed`` is never
  shipped to a worker just to be shipped back.
* Batching: a batch starts at the ready task with the smallest priority
  and takes the following tasks *of the static order* whose inputs are
  done or earlier in the same batch, up to ``target_batch_s / mean task
  time`` tasks (and a fair share of what is left).  A worker thus runs a
  depth-first stretch of the graph, like sync would: a tiny task pays the
  hand-over cost once per batch, long tasks still go one at a time, and a
  reduction inside a batch frees its chunks as it goes (results read only
  inside the batch, ``internal``, are dropped there and never sent back).
  Each worker may hold two batches so it never waits for the engine.
* Memory: every result is dropped as soon as the last task that reads it
  has run, unless it is an output.  With the depth-first priorities of
  ``shoal.core.order`` a reduction holds a few chunks at a time.
* Every task runs between ``set_task(key, seed)`` and ``clear_task()``.

Callbacks (``shoal.local.callbacks``) are looked up once per run; with none
active the hot loop does no callback work at all.
"""
from __future__ import annotations

import contextvars
import os
import queue
import threading
import time
from heapq import heappop, heappush
from typing import Any, Callable, Hashable, Mapping

from shoal.core.context import _local as _context_local  # set_task's storage, for the hot loop
from shoal.core.context import clear_task, set_task
from shoal.core.graph import cull
from shoal.core.order import order
from shoal.core.spec import pack_results, prepare_get
from shoal.core.task import Ref, Task, deps_of, run_node
from shoal.local.callbacks import active_callbacks

__all__ = ["run_graph", "run_get", "get_sync", "get_threads", "executor_get", "default_num_workers"]


def default_num_workers() -> int:
    """CPU cores this process may use."""
    try:
        return len(os.sched_getaffinity(0)) or 1
    except (AttributeError, OSError):  # pragma: no cover - non-Linux
        return os.cpu_count() or 1


class Run:
    """What one graph execution shares with its executor."""

    __slots__ = ("graph", "deps", "results", "seed", "done", "aborted", "id", "limit", "context")
    _next_id = 0

    def __init__(self, graph: dict, deps: Mapping, results: dict, seed: Any):
        Run._next_id += 1
        self.id = (os.getpid(), Run._next_id)
        self.graph = graph
        self.deps = deps
        self.results = results
        self.seed = seed
        self.done: Any = None
        self.aborted = False
        self.limit: Any = None  # threads: at most num_workers batches run at once
        self.context: Any = None  # threads: the caller's contextvars, seen by every task


class Executor:
    """Interface between the engine and where tasks run.

    ``submit(run, batch, internal)`` starts a list of keys (their inputs
    are in ``run.results`` or earlier in the batch; ``internal`` maps the
    keys only later tasks of the batch read to their number of uses, see
    ``run_batch``); ``collect(run)`` blocks until at least one batch is
    done and returns ``[(batch, values, worker_id, seconds), ...]``, raising
    the task's exception if one failed.  ``release(run, key)`` says a
    result is no longer needed; ``close_run(run, errored)`` ends the run.
    """

    num_workers = 1
    slots = 2  # batches in flight at once
    target_batch_s = 0.002
    max_batch = 1000

    def start_run(self, run: Run) -> None:
        pass

    def submit(self, run: Run, batch: list, internal: dict) -> None:
        raise NotImplementedError

    def collect(self, run: Run) -> list:
        raise NotImplementedError

    def release(self, run: Run, key: Hashable) -> None:
        pass

    def close_run(self, run: Run, errored: bool) -> None:
        pass


def _prepare(graph: Any, keys: list, dependencies: Mapping | None) -> tuple[dict, Mapping]:
    if type(graph) is not dict:
        graph = dict(graph.to_dict() if hasattr(graph, "to_dict") else graph)
    if dependencies is None:
        graph, dependencies = cull(graph, keys)
    return graph, dependencies


def run_graph(executor: Executor | None, graph: Any, keys: list, dependencies: Mapping | None = None,
              seed: Any = None, callbacks: Any = None) -> list:
    """Run ``graph`` to get ``keys``; ``executor=None`` runs in this thread."""
    keys = list(keys)
    graph, deps = _prepare(graph, keys, dependencies)
    cbs = active_callbacks(callbacks)
    prio = order(graph, deps, keys)
    if executor is None:
        return _run_sequential(graph, deps, keys, prio, seed, cbs)
    return _run_parallel(executor, graph, deps, keys, prio, seed, cbs)


def run_get(executor: Executor | None, graph: Any, keys: Any, dependencies: Mapping | None = None,
            seed: Any = None, callbacks: Any = None, cache: Mapping | None = None) -> Any:
    """What every local ``get`` does: run ``graph`` for ``keys`` on ``executor``.

    Without ``dependencies`` the graph is one the caller wrote (the classic
    tuple spec is accepted): it is converted, checked and culled by
    ``shoal.core.spec.prepare_get`` and the values come back in the shape of
    ``keys`` (a key gives its value, a list of keys a tuple).  With
    ``dependencies`` the graph comes from ``compute`` (already ``Task``
    nodes, culled): ``keys`` is a flat list and so is the result.
    """
    if dependencies is None:
        graph, deps, flat = prepare_get(graph, keys, cache)
        return pack_results(keys, run_graph(executor, graph, flat, deps, seed=seed, callbacks=callbacks))
    if type(keys) is not list:
        return run_graph(executor, graph, [keys], dependencies, seed=seed, callbacks=callbacks)[0]
    return run_graph(executor, graph, keys, dependencies, seed=seed, callbacks=callbacks)


def _new_state(graph: dict, deps: Mapping, dependents: Mapping, prio: dict, results: dict) -> dict:
    return {"cache": results, "dependencies": deps, "dependents": dependents, "order": prio,
            "num_tasks": len(prio), "ready": 0, "running": set(), "finished": set(),
            "released": set()}


def _run_sequential(graph: dict, deps: Mapping, keys: list, prio: dict, seed: Any, cbs: list) -> list:
    outputs = set(keys)
    refcount: dict = {}
    get = refcount.get
    for k in prio:
        for d in deps[k]:
            refcount[d] = get(d, 0) + 1
    results: dict = {}
    state = None
    if cbs:
        dependents: dict = {k: [] for k in prio}
        for k in prio:
            for d in deps[k]:
                dependents[d].append(k)
        state = _new_state(graph, deps, dependents, prio, results)
        for cb in cbs:
            cb.start(graph)
        for cb in cbs:
            cb.start_state(graph, state)
    errored = True
    try:
        if state is None:
            # the hot loop: set_task and run_node inlined (same effect)
            local = _context_local
            local.seed = seed
            for k in prio:
                local.key = k
                node = graph[k]
                t = type(node)
                if t is Task:
                    results[k] = node(results)
                elif t is Ref:
                    results[k] = results[node.key]
                else:
                    results[k] = node
                for d in deps[k]:
                    c = refcount[d] - 1
                    if c:
                        refcount[d] = c
                    elif d not in outputs:
                        del results[d]
        else:
            finished, released = state["finished"], state["released"]
            for k in prio:
                for cb in cbs:
                    cb.pretask(k, graph, state)
                set_task(k, seed)
                results[k] = v = run_node(graph[k], results)
                finished.add(k)
                for d in deps[k]:
                    c = refcount[d] - 1
                    if c:
                        refcount[d] = c
                    elif d not in outputs:
                        del results[d]
                        released.add(d)
                for cb in cbs:
                    cb.posttask(k, v, graph, state, 0)
        errored = False
    finally:
        clear_task()
        if state is not None:
            for cb in cbs:
                cb.finish(graph, state, errored)
    return [results[k] for k in keys]


def _run_parallel(ex: Executor, graph: dict, deps: Mapping, keys: list, prio: dict,
                  seed: Any, cbs: list) -> list:
    outputs = set(keys)
    seq = list(prio)
    n = len(seq)
    dependents: dict = {k: [] for k in seq}
    waiting: dict = {}
    for k in seq:
        ds = deps[k]
        waiting[k] = len(ds)
        for d in ds:
            dependents[d].append(k)
    refcount = {k: len(v) for k, v in dependents.items()}
    # per priority: 0 waiting, 1 in the ready heap, 2 handed out, 3 done
    st = bytearray(n)
    results: dict = {}
    run = Run(graph, deps, results, seed)
    state = None
    if cbs:
        state = _new_state(graph, deps, dependents, prio, results)
        for cb in cbs:
            cb.start(graph)
    nworkers = max(1, ex.num_workers)
    target = ex.target_batch_s
    max_batch = ex.max_batch
    slots = ex.slots
    avg = 0.0  # mean seconds per task; 0 until measured
    ready: list = []  # heap of priorities
    inline: list = []  # ready literal/alias nodes, resolved here
    for i, k in enumerate(seq):
        if not waiting[k]:
            if type(graph[k]) is Task:
                ready.append(i)
                st[i] = 1
            else:
                inline.append(k)
                st[i] = 2
    # seq is in priority order, so ``ready`` is already a heap
    left = n  # not yet handed out
    inflight = 0
    errored = True

    def finish(key: Hashable, value: Any) -> None:
        results[key] = value
        st[prio[key]] = 3
        for c in dependents[key]:
            w = waiting[c] - 1
            waiting[c] = w
            if not w:
                p = prio[c]
                if not st[p]:
                    if type(graph[c]) is Task:
                        st[p] = 1
                        heappush(ready, p)
                    else:
                        st[p] = 2
                        inline.append(c)
        for d in deps[key]:
            r = refcount[d] - 1
            refcount[d] = r
            if not r and d not in outputs:
                del results[d]
                ex.release(run, d)
                if state is not None:
                    state["released"].add(d)

    try:
        ex.start_run(run)
        if state is not None:
            for cb in cbs:
                cb.start_state(graph, state)
        while True:
            while inline:
                k = inline.pop()
                left -= 1
                if state is not None:
                    for cb in cbs:
                        cb.pretask(k, graph, state)
                v = run_node(graph[k], results)
                finish(k, v)
                if state is not None:
                    state["finished"].add(k)
                    for cb in cbs:
                        cb.posttask(k, v, graph, state, -1)
            while ready and inflight < slots:
                p0 = heappop(ready)
                if st[p0] != 1:
                    continue  # already taken into an earlier batch
                st[p0] = 2
                batch = [seq[p0]]
                internal: dict = {}
                bs = 1
                if avg:
                    bs = int(target / avg) or 1
                    fair = left // (2 * nworkers)
                    if bs > fair:
                        bs = fair or 1
                    if bs > max_batch:
                        bs = max_batch
                if bs > 1:
                    # extend with the next tasks of the static order whose
                    # inputs are done or earlier in this batch: the worker
                    # then runs a depth-first stretch, like sync would
                    bset = {batch[0]}
                    j = p0 + 1
                    stop = min(n, p0 + 2 * bs + 16)
                    while j < stop:
                        if st[j] < 2:
                            k = seq[j]
                            for d in deps[k]:
                                if st[prio[d]] != 3 and d not in bset:
                                    break
                            else:
                                batch.append(k)
                                bset.add(k)
                                st[j] = 2
                                if len(batch) >= bs:
                                    break
                        j += 1
                    # results only this batch reads need not come back
                    for k in batch:
                        ds = dependents[k]
                        if ds and k not in outputs:
                            for c in ds:
                                if c not in bset:
                                    break
                            else:
                                internal[k] = len(ds)
                left -= len(batch)
                if state is not None:
                    state["ready"] = len(ready)
                    state["running"].update(batch)
                    for k in batch:
                        for cb in cbs:
                            cb.pretask(k, graph, state)
                ex.submit(run, batch, internal)
                inflight += 1
            if not inflight:
                if inline:
                    continue
                break
            for batch, values, wid, secs in ex.collect(run):
                inflight -= 1
                per = secs / len(batch)
                # quick to learn that tasks are short (a first batch pays
                # start-up costs), slower to believe one long batch
                avg = per if not avg or per < avg else 0.7 * avg + 0.3 * per
                for key, value in zip(batch, values):
                    finish(key, value)
                if state is not None:
                    state["ready"] = len(ready)
                    running, fin = state["running"], state["finished"]
                    for key, value in zip(batch, values):
                        running.discard(key)
                        fin.add(key)
                        for cb in cbs:
                            cb.posttask(key, value, graph, state, wid)
        errored = False
    finally:
        if errored:
            run.aborted = True
        ex.close_run(run, errored)
        clear_task()
        if state is not None:
            for cb in cbs:
                cb.finish(graph, state, errored)
    missing = [k for k in keys if k not in results]
    if missing:  # pragma: no cover - would be an engine bug
        raise RuntimeError(f"the local engine finished without computing {missing[:5]!r}")
    return [results[k] for k in keys]


# --------------------------------------------------------------------------
# sync


def get_sync(graph: Any, keys: Any, *, dependencies: Mapping | None = None, seed: Any = None,
             callbacks: Any = None, cache: Mapping | None = None, **kwargs: Any) -> Any:
    """Run ``graph`` for ``keys`` in the calling thread.

    ``keys`` is one key (the value comes back) or a list, possibly nested, of
    keys (a tuple of the same shape comes back).  The original exception of
    a failing task propagates unchanged, so a debugger lands in its frame.
    ``cache`` maps keys to values already known.
    """
    return run_get(None, graph, keys, dependencies, seed=seed, callbacks=callbacks, cache=cache)


# --------------------------------------------------------------------------
# threads

_in_pool = threading.local()


def run_batch(tasks: Any, store: Any, internal: dict, seed: Any, out: list | None = None) -> list:
    """Run ``(key, node)`` pairs in order, reading and writing ``store``.

    Keys in ``internal`` (``{key: uses}``) are read only by later tasks of
    this batch: they are dropped after their last use and come back as None.
    Values are appended to ``out`` as they come, so after an exception
    ``len(out)`` is the index of the failing task.
    """
    if out is None:
        out = []
    append = out.append
    try:
        if not internal:
            for k, node in tasks:
                set_task(k, seed)
                store[k] = v = run_node(node, store)
                append(v)
            return out
        uses = dict(internal)
        for k, node in tasks:
            set_task(k, seed)
            store[k] = v = run_node(node, store)
            append(None if k in uses else v)
            for d in deps_of(node):
                c = uses.get(d)
                if c is not None:
                    if c == 1:
                        del uses[d]
                        store.pop(d, None)
                    else:
                        uses[d] = c - 1
        return out
    finally:
        clear_task()


class BatchError(Exception):
    """Internal: a batch stopped at an exception after ``done`` results."""


def _thread_main(jobs: "queue.SimpleQueue", wid: int) -> None:
    _in_pool.active = True
    while True:
        job = jobs.get()
        if job is None:
            return
        run, batch, internal = job
        if run.aborted:
            run.done.put((batch, None, wid, 0.0, None))
            continue
        graph = run.graph
        limit = run.limit  # the shared pool may have more threads than this run's num_workers
        if limit is not None:
            limit.acquire()
        t0 = time.perf_counter()
        out = None
        try:
            try:
                # a copy per batch: one Context cannot be entered by two threads at once
                out = run.context.copy().run(run_batch, [(k, graph[k]) for k in batch], run.results,
                                             internal, run.seed)
            finally:
                if limit is not None:
                    limit.release()
        except BaseException as e:  # handed to the engine's thread
            run.done.put((batch, None, wid, time.perf_counter() - t0, e))
            del e
        else:
            run.done.put((batch, out, wid, time.perf_counter() - t0, None))
        # hold nothing of this run while waiting for the next job
        del job, run, graph, out


class ThreadPool:
    """Daemon threads fed from one queue; reused by every threaded run."""

    def __init__(self) -> None:
        self.jobs: queue.SimpleQueue = queue.SimpleQueue()
        self.threads: list = []
        self.lock = threading.Lock()
        self.pid = os.getpid()

    def ensure(self, n: int) -> None:
        with self.lock:
            self.threads = [t for t in self.threads if t.is_alive()]
            while len(self.threads) < n:
                t = threading.Thread(target=_thread_main, args=(self.jobs, len(self.threads)),
                                     name=f"shoal-thread-{len(self.threads)}", daemon=True)
                t.start()
                self.threads.append(t)


_thread_pool: ThreadPool | None = None


def _get_thread_pool() -> ThreadPool:
    global _thread_pool
    if _thread_pool is None or _thread_pool.pid != os.getpid():
        _thread_pool = ThreadPool()
    return _thread_pool


class ThreadExecutor(Executor):
    """Batches go to the shared thread pool; workers read inputs in place.

    Batches are long (``target_batch_s``) because each hand-back costs the
    engine's thread a wait for the GIL of up to the interpreter's switch
    interval (5 ms) while the workers run Python code.
    """

    target_batch_s = 0.02
    max_batch = 4000

    def __init__(self, num_workers: int):
        self.num_workers = num_workers
        self.slots = 2 * num_workers
        self.pool = _get_thread_pool()
        self.pool.ensure(num_workers)

    def start_run(self, run: Run) -> None:
        run.done = queue.SimpleQueue()
        run.context = contextvars.copy_context()
        if len(self.pool.threads) > self.num_workers:
            run.limit = threading.BoundedSemaphore(self.num_workers)

    def submit(self, run: Run, batch: list, internal: dict) -> None:
        self.pool.jobs.put((run, batch, internal))

    def collect(self, run: Run) -> list:
        done = run.done
        while True:
            try:  # a timeout lets a Ctrl-C delivered to another thread through
                items = [done.get(timeout=0.2)]
                break
            except queue.Empty:
                continue
        while True:
            try:
                items.append(done.get_nowait())
            except queue.Empty:
                break
        out = []
        for batch, values, wid, secs, err in items:
            if err is not None:
                raise err
            out.append((batch, values, wid, secs))
        return out


def get_threads(graph: Any, keys: Any, *, dependencies: Mapping | None = None,
                num_workers: int | None = None, seed: Any = None, callbacks: Any = None,
                cache: Mapping | None = None, **kwargs: Any) -> Any:
    """Run ``graph`` for ``keys`` on a shared pool of ``num_workers`` threads (default: cores).

    ``keys`` and the result are as for ``get_sync``.
    """
    if getattr(_in_pool, "active", False):
        # a task computing a graph itself: running it here cannot deadlock
        return run_get(None, graph, keys, dependencies, seed=seed, callbacks=callbacks, cache=cache)
    from shoal import config

    pool = kwargs.get("pool") or config.get("pool", None)
    if pool is not None:  # the caller's own pool (concurrent.futures or multiprocessing.pool)
        return run_get(FuturesExecutor(pool, num_workers), graph, keys, dependencies, seed=seed,
                       callbacks=callbacks, cache=cache)

    n = num_workers or config.get("num_workers", None) or default_num_workers()
    return run_get(ThreadExecutor(int(n)), graph, keys, dependencies, seed=seed, callbacks=callbacks,
                   cache=cache)


# --------------------------------------------------------------------------
# any concurrent.futures.Executor


def _run_payload(payload: Any) -> tuple:
    """Run a batch sent to a foreign executor; ``payload`` may be pickled bytes."""
    if isinstance(payload, bytes):
        import cloudpickle

        payload = cloudpickle.loads(payload)
    tasks, data, seed = payload
    t0 = time.perf_counter()
    out = run_batch(tasks, data, {}, seed)
    return out, time.perf_counter() - t0


class FuturesExecutor(Executor):
    """Adapter for a ``concurrent.futures.Executor`` (threads, processes, ...)."""

    target_batch_s = 0.005

    def __init__(self, executor: Any, num_workers: int | None = None):
        from concurrent.futures import ThreadPoolExecutor

        if not hasattr(executor, "submit") and hasattr(executor, "apply_async"):
            executor = _ApplyAsyncExecutor(executor)
        self.executor = executor
        self.local = isinstance(executor, ThreadPoolExecutor) or getattr(executor, "in_process", False)
        self.num_workers = num_workers or getattr(executor, "_max_workers", None) or default_num_workers()
        self.slots = 2 * self.num_workers

    def start_run(self, run: Run) -> None:
        run.done = queue.SimpleQueue()

    def submit(self, run: Run, batch: list, internal: dict) -> None:
        graph, deps, results = run.graph, run.deps, run.results
        tasks = [(k, graph[k]) for k in batch]
        data = {}
        for k in batch:
            for d in deps[k]:
                if d in results and d not in data:
                    data[d] = results[d]
        payload: Any = (tasks, data, run.seed)
        if not self.local:
            import cloudpickle

            payload = cloudpickle.dumps(payload)
        fut = self.executor.submit(_run_payload, payload)
        fut.add_done_callback(lambda f, b=batch, q=run.done: q.put((b, f)))

    def collect(self, run: Run) -> list:
        while True:
            try:
                items = [run.done.get(timeout=0.2)]
                break
            except queue.Empty:
                continue
        while True:
            try:
                items.append(run.done.get_nowait())
            except queue.Empty:
                break
        out = []
        for batch, fut in items:
            values, secs = fut.result()  # re-raises the task's exception
            out.append((batch, values, 0, secs))
        return out


class _ApplyAsyncExecutor:
    """``submit`` for a ``multiprocessing.pool`` pool (``ThreadPool`` or ``Pool``)."""

    def __init__(self, pool: Any):
        from multiprocessing.pool import ThreadPool

        self.pool = pool
        self.in_process = isinstance(pool, ThreadPool)
        self._max_workers = getattr(pool, "_processes", None)

    def submit(self, fn: Callable, *args: Any) -> Any:
        from concurrent.futures import Future

        fut: Future = Future()
        self.pool.apply_async(fn, args, callback=fut.set_result, error_callback=fut.set_exception)
        return fut


def executor_get(executor: Any) -> Callable:
    """A ``get`` function running graphs on ``executor`` (any concurrent.futures Executor)."""

    def get(graph: Any, keys: Any, *, dependencies: Mapping | None = None, seed: Any = None,
            callbacks: Any = None, num_workers: int | None = None, cache: Mapping | None = None,
            **kwargs: Any) -> Any:
        return run_get(FuturesExecutor(executor, num_workers), graph, keys, dependencies,
                       seed=seed, callbacks=callbacks, cache=cache)

    return get
