"""The ``Client`` class: submit work to a scheduler and get results back.

Threads: user code calls the Client from any thread; all socket IO runs on
the process-wide ``shoal-io`` loop thread (``utils.io_loop``).  Hot paths
(``submit``, ``map``, dropping futures) only append to a message batch and
wake the loop once; replies update per-key states under one condition
variable that waiting threads sleep on.

Results stay on workers until gathered; ``gather`` asks the scheduler who
holds the keys (one round trip) and then fetches from every worker at once,
straight from the workers (no copy through the scheduler).
"""
from __future__ import annotations

import concurrent.futures
import itertools
import logging
import time
import uuid
from functools import partial
from typing import Any, Iterable, Iterator

from shoal import config
from shoal.base import collections_to_graph, is_lazy, set_default_client, get_default_client
from shoal.core.graph import flatten_keys
from shoal.core.spec import prepare_get
from shoal.core.task import Task
from shoal.core.tokenize import tokenize
from shoal.distributed import actors, client_ops
from shoal.distributed.client import context
from shoal.distributed.client.options import _choose_pure, _security_for
from shoal.distributed.comm.security import Security
from shoal.distributed.comm.tcp import Comm, connect
from shoal.distributed.exceptions import NotShoalPeer
from shoal.distributed.futures import CancelledError, Future, _collect, _flatten, wait
from shoal.distributed.protocol.serialize import dumps_function, serialize
from shoal.distributed.graphs import GraphSender, _finalize, _refs
from shoal.utils import funcname
from shoal.distributed.refs import DONE, KeyTable
from shoal.distributed.transfer import Transfers
from shoal.distributed.utils import io_loop

logger = logging.getLogger("shoal.distributed.client")


class Client:
    """Connect to a scheduler (or start a LocalCluster) and run work on it.

    >>> client = Client()                                 # a LocalCluster on this machine
    >>> client = Client(cluster)                          # an existing cluster object
    >>> client = Client("tcp://host:8786")                # a running scheduler
    >>> client = Client(scheduler_file="sched.json")      # address and token from a file
    """

    def __init__(self, address: Any = None, *, security: Security | None = None, set_as_default: bool = True,
                 timeout: float = 30.0, name: str | None = None, scheduler_file: str | None = None,
                 **cluster_kwargs: Any):
        self._loop = io_loop()
        self.id = f"{name or 'client'}-{uuid.uuid4().hex[:12]}"
        self._uid = uuid.uuid4().hex[:10]
        self._counter = itertools.count()
        self.cluster: Any = None
        self._own_cluster = False
        self.status = "connecting"
        if address is None:
            address = cluster_kwargs.pop("address", None)
        if address is None and scheduler_file is not None:
            import json

            with open(scheduler_file) as f:
                info = json.load(f)
            address = info["address"]
            if security is None and info.get("token"):
                security = Security(token=info["token"])
        if address is None:
            self.cluster = context._local_cluster_class(**cluster_kwargs)
            self._own_cluster = True
        elif not isinstance(address, str) and hasattr(address, "scheduler_address"):
            self.cluster = address
        elif cluster_kwargs:
            raise TypeError(f"unexpected keyword arguments {sorted(cluster_kwargs)} for Client({address!r})")
        if self.cluster is not None:
            address = self.cluster.scheduler_address
            if security is None:
                security = self.cluster.security
        self.scheduler_address: str = address
        self.security = _security_for(address, security)
        self.refs = KeyTable(self._post_releases)   # futures' keys: states and reference counts
        self._outbox: list = []          # ("m", msg) or ("r", key), sent in this order (under refs.lock)
        self._out_pending = False
        self._callback_pool: Any = None
        self._rid = itertools.count(1)
        self._replies: dict = {}
        self.transfers = Transfers(self.security, self._arequest, self._rid)  # worker connections
        self.graphs = GraphSender(self)    # graphs -> update-graph messages
        self._comm: Comm | None = None
        self._info: dict = {}
        try:
            self._info = self._loop.run(self._start(timeout), timeout + 1)
        except BaseException as e:
            if self._own_cluster:
                self.cluster.close()
            unanswered = isinstance(e, (TimeoutError, concurrent.futures.TimeoutError)) and not str(e)
            if unanswered or (isinstance(e, OSError) and not isinstance(e, (NotShoalPeer, PermissionError))):
                raise TimeoutError(f"no scheduler answered at {self.scheduler_address} within {timeout}s: "
                                   "is it running, and is that its address (see `shoal scheduler` "
                                   "output or the scheduler file)?") from None
            raise
        self.status = "running"
        self._set_default = set_as_default
        self._scheduler_setting = None
        if set_as_default:
            set_default_client(self)
            # like naming it in config: beats a scheduler chosen earlier (the tutorial sets
            # 'processes' and then opens a Client), while a later config.set(...) beats it
            self._scheduler_setting = config.set(scheduler="distributed")
        with context._open_lock:
            context._open_clients.append(self)

    # ---- connection ----------------------------------------------------
    async def _start(self, timeout: float) -> dict:
        self._comm = await connect(self.scheduler_address, self.security, name="client->scheduler",
                                   timeout=timeout)
        self._comm.start(self._handle)
        self._comm.on_close(self._lost)
        fut = concurrent.futures.Future()
        self._replies[0] = fut
        self._comm.send({"op": "register-client", "id": self.id, "rid": 0})
        import asyncio

        return await asyncio.wrap_future(fut)

    def _lost(self, comm: Comm) -> None:
        if self.status == "running":
            logger.warning("client lost its connection to the scheduler %s", self.scheduler_address)
            self.status = "closed"
        changed = []
        with self.refs.cond:
            for k, st in list(self.refs.states.items()):
                if st.status == "pending":
                    st.status = "lost"
                    changed.append((k, st))
            self.refs.cond.notify_all()
        self._run_callbacks(changed)
        for f in self._replies.values():
            if not f.done():
                f.set_exception(ConnectionError(f"lost the connection to the scheduler {self.scheduler_address}"))
        self._replies.clear()

    def _handle(self, comm: Comm, msgs: list) -> None:
        changed = []
        keys = self.refs.states
        for msg in msgs:
            op = msg["op"]
            if op == "key-in-memory":
                st = keys.get(msg["key"])
                if st is not None and st.status != "finished":
                    st.status = "finished"
                    st.nbytes = msg.get("nbytes", 0)
                    changed.append((msg["key"], st))
            elif op == "key-erred":
                st = keys.get(msg["key"])
                if st is not None:
                    st.status = "error"
                    st.exception = msg["exception"]
                    st.traceback = msg.get("traceback")
                    st.blame = msg.get("blame")
                    changed.append((msg["key"], st))
            elif op == "reply":
                f = self._replies.pop(msg["rid"], None)
                if f is not None and not f.done():
                    f.set_result(msg["result"])
            elif op == "worker-gone":
                self.transfers.forget(msg["address"])  # a gather waiting on it retries elsewhere
            elif op == "restarted":
                for k, st in list(keys.items()):
                    if st.status not in ("cancelled",):
                        st.status = "cancelled"
                        changed.append((k, st))
        if changed:
            self.refs.notify()
            self._run_callbacks(changed)

    def _run_callbacks(self, changed: list) -> None:
        """Done-callbacks of keys that just finished, on a thread of their own: a
        callback may block (call ``result()``, wait on another future) without
        stopping the IO loop that would deliver what it waits for."""
        todo = []
        for _key, st in changed:
            if st.callbacks:
                cbs, st.callbacks = st.callbacks, None
                todo.extend(cbs)
        if not todo:
            return
        if self._callback_pool is None:
            self._callback_pool = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="shoal-callbacks")
        for fn, fut in todo:
            self._callback_pool.submit(_call_back, fn, fut)

    def _send(self, msg: dict) -> None:
        if self.status != "running" and msg.get("op") != "register-client":
            raise RuntimeError(f"this Client is {self.status}; start a new Client to keep working")
        self._post([("m", msg)])

    def _post(self, items: list) -> None:
        """Queue messages and key releases; one loop callback sends them in order, so a
        key dropped after a graph that needs it is released after that graph arrives."""
        with self.refs.lock:
            self._outbox.extend(items)
            if self._out_pending:
                return
            self._out_pending = True
        self._loop.call(self._flush_out)

    def _flush_out(self) -> None:
        with self.refs.lock:
            box, self._outbox = self._outbox, []
            self._out_pending = False
        comm = self._comm
        if comm is None or comm.closed:
            return
        keys: list = []
        for kind, item in box:
            if kind == "r":
                keys.append(item)
                continue
            if keys:
                comm.send({"op": "release-keys", "keys": keys})
                keys = []
            comm.send(item)
        if keys:
            comm.send({"op": "release-keys", "keys": keys})

    def _post_releases(self, keys: list) -> None:
        """Keys no Future refers to any more (called under ``refs.lock``): tell the scheduler."""
        if self.status == "running":
            self._post([("r", k) for k in keys])

    def _futures(self, keys: list) -> list:
        """One new Future per key (references counted in one go)."""
        return [Future(k, self, st, True) for k, st in zip(keys, self.refs.acquire(keys))]

    def _add_callback(self, fut: Future, fn: Any) -> None:
        def add():
            st = fut._state
            if st.callbacks is None:
                st.callbacks = []
            st.callbacks.append((fn, fut))
            if st.status in DONE:
                self._run_callbacks([(fut.key, st)])
        self._loop.call(add)

    async def _arequest(self, msg: dict) -> Any:
        """``_request`` from the IO loop."""
        rid = next(self._rid)
        fut: concurrent.futures.Future = concurrent.futures.Future()
        self._replies[rid] = fut
        msg["rid"] = rid
        if self._comm is None or self._comm.closed:
            raise RuntimeError(f"this Client is {self.status}; start a new Client to keep working")
        self._comm.send(msg)
        import asyncio

        return await asyncio.wrap_future(fut)

    def _request(self, msg: dict, timeout: float | None = 60.0) -> Any:
        rid = next(self._rid)
        fut: concurrent.futures.Future = concurrent.futures.Future()
        self._replies[rid] = fut
        msg["rid"] = rid
        self._send(msg)
        return fut.result(timeout)

    # ---- public API: tasks ----------------------------------------------
    def submit(self, func: Any, *args: Any, key: Any = None, pure: bool | None = None, retries: int = 0,
               priority: int = 0, resources: dict | None = None, workers: Any = None, **kwargs: Any) -> Future:
        """Run ``func(*args, **kwargs)`` on a worker; return a Future.

        ``pure=True`` (the default) names the task by its inputs, so the same
        call twice returns the same result (computed once); ``pure=False`` runs
        every call.  Functions that draw random numbers are recognised and
        run as impure, with a one-time warning (see ``_choose_pure``).  ``workers=`` (addresses
        or names) restricts where it may run; ``resources={"GPU": 1}`` needs
        workers started with those resources.
        """
        if not callable(func):
            raise TypeError(f"submit needs a function first, got {func!r}: client.submit(func, *args)")
        if kwargs.pop("actor", False) or kwargs.pop("actors", False):
            if key is None:
                key = f"{funcname(func)}-actor-{uuid.uuid4().hex}"
            return self._submit_many(partial(actors.create_actor, func), [key], [args], kwargs, priority, retries,
                                     resources, workers)[0]
        pure = _choose_pure(func, pure)
        if key is None:
            name = funcname(func)
            key = f"{name}-{tokenize(func, args, kwargs)}" if pure else f"{name}-{self._uid}{next(self._counter)}"
        return self._submit_many(func, [key], [args], kwargs, priority, retries, resources, workers)[0]

    def _submit_many(self, func: Any, keys: list, argss: list, kwargs: dict, priority: int, retries: int,
                     resources: dict | None, workers: Any = None) -> list:
        cache: dict = {}
        funcs: dict = {}
        fnames: dict = {}
        fid = self.graphs.fid(func, cache, funcs, fnames)
        specs, dlist = [], []
        kw_has = bool(kwargs) and self.graphs.has_future(kwargs)
        kdeps: set = set()
        kw = self.graphs.unfuture(kwargs, kdeps) if kw_has else kwargs
        _collect.keys = found = set()  # Futures met while pickling (inside sets, objects...)
        try:
            for args in argss:
                if self.graphs.has_future(args):
                    ds = set(kdeps)
                    args = self.graphs.unfuture(args, ds)
                else:
                    ds = kdeps
                specs.append(serialize((args, kw)))
                if found:
                    ds = set(ds) | found
                    found.clear()
                dlist.append(list(ds) if ds else None)
        finally:
            _collect.keys = None
        futures = self._futures(keys)
        self._send({"op": "update-graph", "keys": keys, "specs": specs, "fids": [fid] * len(keys),
                    "deps": dlist, "wanted": keys, "funcs": funcs, "fnames": fnames, "priority": priority,
                    "retries": retries or 0, "resources": resources,
                    "workers": [workers] if isinstance(workers, str) else workers})
        self.graphs.sent_fids.update(funcs)
        return futures

    def map(self, func: Any, *iterables: Iterable, key: Any = None, pure: bool | None = None,
            batch_size: int | None = None, retries: int = 0, priority: int = 0,
            resources: dict | None = None, workers: Any = None, **kwargs: Any) -> list:
        """``[submit(func, *items) for items in zip(*iterables)]``, sent in batches."""
        if not callable(func):
            raise TypeError(f"map needs a function first, got {func!r}: client.map(func, iterable)")
        if not iterables:
            raise TypeError("map needs at least one iterable: client.map(func, range(10))")
        items = list(zip(*iterables))
        pure = _choose_pure(func, pure)
        name = funcname(func)
        if isinstance(key, (list, tuple)):
            keys = list(key)
            if len(keys) != len(items):
                raise ValueError(f"map got {len(keys)} keys for {len(items)} items")
        elif pure:
            prefix = key or name
            keys = [f"{prefix}-{tokenize(func, a, kwargs)}" for a in items]
        else:
            prefix = key or name
            u = self._uid
            c = self._counter
            keys = [f"{prefix}-{u}{next(c)}" for _ in items]
        n = len(items)
        bs = batch_size or n or 1
        out: list = []
        for i in range(0, n, bs):
            out.extend(self._submit_many(func, keys[i:i + bs], items[i:i + bs], kwargs, priority, retries,
                                         resources, workers))
        return out

    # ---- public API: results --------------------------------------------
    def _gather_keys(self, keys: list, errors: str = "raise", timeout: float | None = None) -> list:
        """Wait for ``keys`` and fetch their values; ``TimeoutError`` after ``timeout`` seconds in all."""
        deadline = None if timeout is None else time.monotonic() + timeout
        self.refs.wait(keys, timeout)
        states = self.refs.states
        for k in keys:
            st = states.get(k)
            if st is not None and st.status == "error" and errors == "raise":
                f = Future(k, self, st)
                raise f._exc()
            if st is not None and st.status in ("cancelled", "lost") and errors == "raise":
                raise CancelledError(f"future {k!r} was {st.status}")
        want = [k for k in keys if states.get(k) is None or states[k].status == "finished"]
        want = list(dict.fromkeys(want))
        if deadline is None:
            values = self._loop.run(self.transfers.fetch(want))
        else:
            try:
                values = self._loop.run(self.transfers.fetch(want, max(0.0, deadline - time.monotonic())))
            except TimeoutError as e:
                raise TimeoutError(f"timeout={timeout}s passed: {e}") from None
        out = []
        for k in keys:
            if k in values:
                out.append(values[k])
            else:
                st = states.get(k)
                out.append(Future(k, self, st)._exc() if st is not None and st.status == "error" else None)
        return out

    def gather(self, futures: Any, errors: str = "raise", direct: Any = None, asynchronous: Any = None) -> Any:
        """Results of futures, in the same structure (list, dict, nested, single)."""
        if errors not in ("raise", "skip"):
            raise ValueError(f"errors={errors!r}; use 'raise' or 'skip'")
        if isinstance(futures, Iterator):
            futures = list(futures)  # an iterator is read once: gather what it yields, as a list
        fs = _flatten(futures)
        for f in fs:
            if f.client is not self:
                raise ValueError(f"{f!r} belongs to another Client ({f.client!r}); gather it with that one")
        values = self._gather_keys([f.key for f in fs], errors)
        by_key = dict(zip([f.key for f in fs], values))
        return self._rebuild(futures, by_key, errors)

    def _rebuild(self, obj: Any, by_key: dict, errors: str) -> Any:
        if isinstance(obj, Future):
            return by_key[obj.key]
        if isinstance(obj, dict):
            return {k: self._rebuild(v, by_key, errors) for k, v in obj.items()
                    if not (errors == "skip" and isinstance(v, Future) and v.status == "error")}
        if isinstance(obj, (list, tuple, set)):
            out = [self._rebuild(o, by_key, errors) for o in obj
                   if not (errors == "skip" and isinstance(o, Future) and o.status == "error")]
            if isinstance(obj, tuple) and hasattr(obj, "_fields"):
                return type(obj)(*out)  # a namedtuple
            return type(obj)(out)
        return obj

    def scatter(self, data: Any, workers: Any = None, broadcast: bool = False, hash: bool = True,
                direct: Any = None) -> Any:
        """Put local data on workers; return Futures (same structure as ``data``)."""
        if isinstance(data, dict):
            items = list(data.items())
        elif isinstance(data, (list, tuple, set)):
            items = [(None, v) for v in data]
        else:
            items = [(None, data)]
        keyed = []
        for k, v in items:
            if k is None:
                k = f"{type(v).__name__}-{tokenize(v) if hash else uuid.uuid4().hex}"
            keyed.append((k, v))
        ws = self._request({"op": "workers"})
        addrs = sorted(ws)
        if workers is not None:
            wanted = [workers] if isinstance(workers, str) else list(workers)
            addrs = [a for a in addrs if a in wanted or ws[a].get("name") in wanted]
        if not addrs:
            raise RuntimeError("scatter found no workers; wait for workers (client.wait_for_workers(1)) first")
        plan: dict = {}
        for i, (k, v) in enumerate(keyed):
            targets = addrs if broadcast else [addrs[i % len(addrs)]]
            s = serialize(v)
            for a in targets:
                plan.setdefault(a, {})[k] = s
        futures = {k: Future(k, self) for k, _ in keyed}
        self._loop.run(self.transfers.put(plan))
        for a, d in plan.items():
            from shoal.distributed.protocol.serialize import nbytes_of

            self._request({"op": "scatter", "keys": list(d), "nbytes": [nbytes_of(s) for s in d.values()],
                           "workers": [a]})
        if isinstance(data, dict):
            return futures
        fl = [futures[k] for k, _ in keyed]
        if isinstance(data, (list, tuple, set)):
            return type(data)(fl) if not isinstance(data, set) else fl
        return fl[0]

    def cancel(self, futures: Any) -> None:
        """Stop computing these futures (if nothing else needs them) and mark them cancelled.

        A finished future is cancelled too: the scheduler may free its value."""
        fs = _flatten(futures)
        keys = [f.key for f in fs]
        changed = []
        with self.refs.cond:
            for f in fs:
                if f._state.status != "cancelled":
                    f._state.status = "cancelled"
                    changed.append((f.key, f._state))
            self.refs.cond.notify_all()
        self._run_callbacks(changed)
        self._send({"op": "release-keys", "keys": keys})

    def _fire_and_forget(self, keys: list) -> None:
        self._send({"op": "fire-and-forget", "keys": keys})

    # ---- collections -----------------------------------------------------
    def compute(self, collections: Any, sync: bool = False, optimize_graph: bool = True,
                priority: int = 0, retries: int = 0, resources: dict | None = None, seed: Any = None,
                **kwargs: Any) -> Any:
        """Start computing lazy objects; return a Future each (results with ``sync=True``).

        ``seed=`` is the run-wide random seed of ``shoal.random.task_rng``
        (default: ``config.get("random_seed")``)."""
        if seed is None:
            seed = config.get("random_seed", None)
        single = is_lazy(collections)
        colls = [collections] if single else list(collections)
        lazy = [c for c in colls if is_lazy(c)]
        graph, deps, _ = collections_to_graph(lazy, optimize_graph) if lazy else ({}, {}, [])
        graph = dict(graph)
        deps = dict(deps)
        outs = []
        for c in lazy:
            func, extra = c.__shoal_postcompute__()
            okeys = c.__shoal_keys__()
            fkey = f"finalize-{self._uid}{next(self._counter)}"
            graph[fkey] = Task(_finalize, _refs(okeys), func, tuple(extra))
            deps[fkey] = frozenset(flatten_keys(okeys))
            outs.append(fkey)
        keep: list = []
        futs = iter(self.graphs.submit(graph, outs, deps, priority, retries, resources, keep, seed))
        result = [next(futs) if is_lazy(c) else c for c in colls]
        if sync:
            result = self.gather(result)
        return result[0] if single else result

    def persist(self, collections: Any, optimize_graph: bool = True, priority: int = 0,
                retries: int = 0, resources: dict | None = None, sync: bool = False, **kwargs: Any) -> Any:
        """Compute lazy objects on the cluster and return the same objects backed by Futures.

        Returns at once; ``sync=True`` waits until the results are in worker memory
        (errors are raised then).
        """
        single = is_lazy(collections)
        colls = [collections] if single else list(collections)
        lazy = [c for c in colls if is_lazy(c)]
        graph, deps, keys = collections_to_graph(lazy, optimize_graph)
        futures = self.graphs.submit(dict(graph), keys, deps, priority, retries, resources)
        fmap = {f.key: f for f in futures}
        if sync:
            wait(futures)
            for f in futures:
                if f.status == "error":
                    raise f._exc()
        out = []
        for c in colls:
            if not is_lazy(c):
                out.append(c)
                continue
            func, extra = c.__shoal_postpersist__()
            sub = {k: fmap[k] for k in flatten_keys(c.__shoal_keys__())}
            out.append(func(sub, *extra))
        return out[0] if single else out

    def get(self, graph: Any, keys: Any, *, dependencies: dict | None = None, num_workers: Any = None,
            seed: Any = None, callbacks: Any = None, sync: bool = True, **kwargs: Any) -> Any:
        """Compute ``keys`` of ``graph`` on the cluster and return their values.

        A hand-written graph may use the classic task spec (``{"a": 1, "b":
        (operator.add, "a", 10)}``); ``keys`` is one key (its value comes back)
        or a list, possibly nested, of keys (a list of values in that shape).
        A missing key, a key of an unusable type or a cycle raises before
        anything is sent.  With ``dependencies`` (graphs that ``compute``
        builds) ``keys`` is flat and so is the result.
        """
        if dependencies is None:
            graph, dependencies, flat = prepare_get(graph, keys)
            shaped = True
        else:
            if not isinstance(graph, dict):
                graph = dict(graph)
            flat = list(keys) if type(keys) is list else [keys]
            shaped = type(keys) is not list
        keep: list = []
        wanted = list(dict.fromkeys(flat))
        self.graphs.submit(graph, wanted, dependencies, kwargs.get("priority", 0), kwargs.get("retries", 0),
                           kwargs.get("resources"), keep, seed, make_futures=False)
        try:
            values = dict(zip(wanted, self._gather_keys(wanted)))
        finally:
            self.refs.release(wanted)
            del keep
        if shaped:
            return _pack_lists(keys, values)
        return [values[k] for k in flat]

    # ---- cluster-wide operations -----------------------------------------
    def run(self, function: Any, *args: Any, workers: Any = None, **kwargs: Any) -> dict:
        """Run ``function(*args, **kwargs)`` once on every worker; ``{worker address: result}``."""
        fn = partial(function, *args, **kwargs) if (args or kwargs) else function
        _, data = dumps_function(fn)
        return client_ops.raise_first(self._request({"op": "run", "func": data, "workers": workers}, timeout=120))

    def scheduler_info(self) -> dict:
        """The scheduler's view: address, workers (threads, memory, keys held...), task counts."""
        return self._request({"op": "snapshot"})

    def nthreads(self, workers: Any = None) -> dict:
        """``{worker address: threads}``."""
        return {a: w["nthreads"] for a, w in self._request({"op": "workers"}).items()
                if workers is None or a in workers or w.get("name") in workers}

    ncores = nthreads

    def wait_for_workers(self, n_workers: int = 1, timeout: float | None = None) -> None:
        """Block until ``n_workers`` workers are connected (``TimeoutError`` after ``timeout`` s)."""
        client_ops.wait_for_workers(self, n_workers, timeout)

    def who_has(self, futures: Any = None) -> dict:
        """``{key: [worker addresses]}`` for ``futures`` (every key held, when None)."""
        return client_ops.who_has(self, futures)

    def has_what(self, workers: Any = None) -> dict:
        """``{worker address: [keys held]}``."""
        return client_ops.has_what(self, workers)

    def replicate(self, futures: Any, n: int | None = None, workers: Any = None) -> None:
        """Copy values to ``n`` workers each (every allowed worker when None); blocks until done."""
        client_ops.replicate(self, futures, n, workers)

    def rebalance(self, futures: Any = None, workers: Any = None, timeout: float = 60.0) -> int:
        """Move values so that workers hold about the same number of bytes; see ``client_ops.rebalance``."""
        return client_ops.rebalance(self, futures, workers, timeout)

    def run_on_scheduler(self, function: Any, *args: Any, **kwargs: Any) -> Any:
        """Run ``function`` in the scheduler process (a ``dask_scheduler`` argument gets the scheduler)."""
        return client_ops.run_on_scheduler(self, function, *args, **kwargs)

    def register_plugin(self, plugin: Any, name: str | None = None, **kwargs: Any) -> dict:
        """Install a worker plugin (``setup(worker)``/``teardown(worker)``) on every worker."""
        return client_ops.register_plugin(self, plugin, name)

    register_worker_plugin = register_plugin

    def unregister_worker_plugin(self, name: str) -> dict:
        return client_ops.unregister_worker_plugin(self, name)

    def upload_file(self, filename: str, load: bool = True) -> dict:
        """Send a ``.py``/``.zip``/``.egg`` file to every worker so tasks can import it."""
        return client_ops.upload_file(self, filename, load)

    def retire_workers(self, workers: Any = None, n: int | None = None, timeout: float = 60.0,
                       close_workers: bool = True, **kwargs: Any) -> list:
        """Close workers gracefully, copying values only they hold to others first."""
        return client_ops.retire_workers(self, workers, n, timeout, close_workers)

    def restart_workers(self, workers: list, timeout: float = 60.0, **kwargs: Any) -> list:
        """Restart these workers through their nannies; their data is recomputed where needed."""
        return client_ops.restart_workers(self, workers, timeout)

    def get_worker_logs(self, n: int | None = None, workers: Any = None, nanny: bool = False) -> dict:
        """``{worker address: [(level, message)]}``: recent log records of each worker."""
        return client_ops.get_worker_logs(self, n, workers)

    def get_versions(self, check: bool = False, packages: Any = None) -> dict:
        """Python and package versions of client, scheduler and workers (``check=True``: must agree)."""
        return client_ops.get_versions(self, check)

    def get_task_stream(self, start: float | None = None, plot: bool = False) -> list:
        """Recent task events from the scheduler (key, worker, start and stop times, status)."""
        return client_ops.get_task_stream(self, start)

    @property
    def datasets(self) -> client_ops.Datasets:
        """Published datasets as a mapping: ``client.datasets["name"] = value``."""
        return client_ops.Datasets(self)

    def publish_dataset(self, *args: Any, name: Any = None, override: bool = False, **kwargs: Any) -> None:
        """Publish values under names for other clients: ``publish_dataset(df, name="x")``
        or ``publish_dataset(x=df)``; Futures inside stay on the cluster until unpublished."""
        items = dict(kwargs)
        if args:
            if name is None or len(args) != 1:
                raise ValueError("publish_dataset(value, name='...') or publish_dataset(name=value)")
            items[name] = args[0]
        ds = self.datasets
        for k, v in items.items():
            ds.publish(k, v, override=override)

    def get_dataset(self, name: Any, default: Any = client_ops._NO_DEFAULT, **kwargs: Any) -> Any:
        """A published dataset (``KeyError`` when none has that name, unless ``default`` given)."""
        return self.datasets.get(name, default)

    def list_datasets(self, **kwargs: Any) -> list:
        return list(self.datasets)

    def unpublish_dataset(self, name: Any, **kwargs: Any) -> None:
        del self.datasets[name]

    def _adopt_keys(self, keys: list) -> list:
        """Futures to keys the scheduler already counts this client as wanting (values read
        from a Variable, a Queue or a dataset); asks for their state to be sent again."""
        futures = self._futures(keys)
        self._send({"op": "update-graph", "keys": [], "specs": [], "fids": [], "deps": [], "wanted": list(keys)})
        return futures

    def restart(self, timeout: float = 60.0) -> "Client":
        """Restart every worker (fresh processes, all data dropped, futures cancelled)."""
        self._request({"op": "restart", "timeout": timeout}, timeout=timeout + 10)
        return self

    def shutdown(self) -> None:
        """Stop the scheduler and every worker it serves (remote ones too), then close."""
        try:
            self._request({"op": "shutdown"}, timeout=10)
        except Exception:
            pass
        self.close()

    @property
    def dashboard_link(self) -> str | None:
        link = self._info.get("dashboard") if self._info else None
        if link is None and self.cluster is not None:
            link = getattr(self.cluster, "dashboard_link", None)
        return link

    def close(self, timeout: float = 10.0) -> None:
        """Disconnect; also close the cluster this Client started (``Client()``)."""
        if self.status == "closed" and self._comm is None:
            return
        self.status = "closed"
        if get_default_client() is self:
            set_default_client(None)
        if self._scheduler_setting is not None and config.get("scheduler", None) == "distributed":
            self._scheduler_setting.__exit__(None, None, None)  # back to the choice before
        self._scheduler_setting = None
        with context._open_lock:
            if self in context._open_clients:
                context._open_clients.remove(self)

        async def _close():
            if self._comm is not None:
                self._comm.close()
            self.transfers.close()

        try:
            self._loop.run(_close(), timeout)
        except Exception:
            pass
        self._comm = None
        # a cluster may ask to end with its client (SSHCluster: no orphaned remote processes)
        if self.cluster is not None and (self._own_cluster or getattr(self.cluster, "close_with_client", False)):
            self.cluster.close()

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        from shoal.distributed import views

        return views.info_text(views.client_info(self))

    def _repr_html_(self) -> str:
        from shoal.distributed import views

        return views.info_html(views.client_info(self))


def _pack_lists(keys: Any, values: dict) -> Any:
    """``values`` in the shape of ``keys``: a key gives its value, a (nested) list a list."""
    if type(keys) is list:
        return [_pack_lists(k, values) for k in keys]
    return values[keys]


def _call_back(fn: Any, fut: Future) -> None:
    try:
        fn(fut)
    except Exception:
        logger.exception("future callback %r failed", fn)
