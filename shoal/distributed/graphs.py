"""How a Client turns a task graph into one ``update-graph`` message.

``GraphSender`` is the part of a ``Client`` that does this; it owns the
ids of functions already shipped and the large literals kept on the
cluster, and uses the Client only through its request API.  Per task it costs one small pickle (the arguments,
with ``Ref``s to other keys) and a dictionary lookup for the function id:
functions are cloudpickled once per submission and shipped once per worker.
Keys are ordered depth-first from the outputs (inputs first, one branch at a
time), which the scheduler uses as priorities so branches finish and free
memory before new ones start.  Large literal values (over ``LARGE_LITERAL``)
go straight to a worker rather than through the scheduler, and stay there
while the caller keeps the object.
"""
from __future__ import annotations

import weakref
from typing import Any

from shoal.base import is_lazy
from shoal.core.task import Ref, Task, deps_of
from shoal.distributed.futures import Future, _collect
from shoal.distributed.protocol.serialize import Serialized, dumps_function, serialize
from shoal.utils import funcname

LARGE_LITERAL = 1 << 20  # literal graph values above this go straight to a worker


def _identity(x: Any) -> Any:
    return x


def _forget_literal(literals: dict, key: Any, ref: Any) -> None:
    entry = literals.get(key)
    if entry is not None and entry[0] is ref:  # not a newer object's upload under the same key
        del literals[key]


def _finalize(values: Any, func: Any, extra: tuple) -> Any:
    return func(values, *extra)




def _refs(keys: Any) -> Any:
    if type(keys) is list:
        return [_refs(k) for k in keys]
    return Ref(keys)


class GraphSender:
    """Turns graphs into ``update-graph`` messages for one Client (see the module docstring)."""

    def __init__(self, client: Any):
        self.client = client
        self.sent_fids: set = set()      # functions every worker can get from the scheduler
        self.literals: dict = {}         # key -> (weakref to object, Future) of an uploaded large literal
        self.literal_objs: dict = {}     # (during one submission) key -> the literal object

    def fid(self, func: Any, cache: dict, funcs: dict, fnames: dict) -> str:
        hit = cache.get(id(func))
        if hit is not None:
            return hit[1]
        fid, data = dumps_function(func)
        cache[id(func)] = (func, fid)
        if fid not in self.sent_fids:
            funcs[fid] = data
            fnames[fid] = funcname(func)
        return fid

    def submit(self, graph: dict, wanted: list, dependencies: dict | None = None,
                      priority: int = 0, retries: int = 0, resources: dict | None = None,
                      keep: list | None = None, seed: Any = None, make_futures: bool = True) -> list:
        """Send ``graph`` (dict of nodes) and return Futures for ``wanted`` keys.

        With ``make_futures=False`` the wanted keys are referenced without
        Future objects (the caller must ``_release`` them).
        """
        deps = dependencies
        order: list = []
        done: set = set()
        entered: set = set()
        cache: dict = {}
        funcs: dict = {}
        fnames: dict = {}
        # depth-first post-order from the outputs: inputs first, one branch at a time
        for root in wanted:
            if root in done or root not in graph:
                continue
            stack = [root]
            while stack:
                k = stack[-1]
                if k in done:
                    stack.pop()
                    continue
                if k in entered:
                    stack.pop()
                    done.add(k)
                    order.append(k)
                    continue
                entered.add(k)
                node = graph[k]
                ds = deps[k] if deps is not None and k in deps else deps_of(node)
                for d in ds:
                    if d not in done and d in graph:
                        stack.append(d)
        keys, specs, fids, dlist = [], [], [], []
        _collect.keys = found = set()
        try:
            self._build_specs(graph, order, deps, cache, funcs, fnames, keep, keys, specs, fids, dlist, found, seed)
        finally:
            _collect.keys = None
        try:
            held = self._upload_large_literals(keys, specs, fids, dlist)
        finally:
            self.literal_objs.clear()
        client = self.client
        futures = client._futures(wanted) if make_futures else client.refs.acquire(wanted)
        client._send({"op": "update-graph", "keys": keys, "specs": specs, "fids": fids, "deps": dlist,
                    "wanted": list(wanted), "funcs": funcs, "fnames": fnames, "priority": priority,
                    "retries": retries or 0, "resources": resources})
        self.sent_fids.update(funcs)
        del held  # the scheduler keeps them while their dependents need them
        return futures

    def _upload_large_literals(self, keys: list, specs: list, fids: list, dlist: list) -> list:
        """Send big literal values straight to a worker (one hop, not two via the scheduler)."""
        big = [i for i, (sp, fid) in enumerate(zip(specs, fids))
               if fid is None and type(sp) is Serialized and sp.nbytes > LARGE_LITERAL]
        if not big:
            return []
        # a literal still on the cluster from an earlier computation is not sent again
        held = []
        cached = set()
        for i in big:
            entry = self.literals.get(keys[i])
            # the same object, not just the same key: a graph may reuse a key for new data
            if entry is not None and entry[0]() is self.literal_objs.get(keys[i]) \
                    and entry[1].status == "finished":
                held.append(entry[1])
                cached.add(i)
        if cached:
            big = [i for i in big if i not in cached]
            self._drop_rows(cached, keys, specs, fids, dlist)
            if not big:
                return held
            big = [i for i, (sp, fid) in enumerate(zip(specs, fids))
                   if fid is None and type(sp) is Serialized and sp.nbytes > LARGE_LITERAL]
        try:
            addrs = sorted(self.client._request({"op": "workers"}))
        except Exception:
            addrs = []
        if not addrs:
            return []  # no workers yet: let the scheduler hand them out
        plan: dict = {}
        for j, i in enumerate(big):
            plan.setdefault(addrs[j % len(addrs)], {})[keys[i]] = specs[i]
        client = self.client
        new = [Future(keys[i], client) for i in big]
        client._loop.run(client.transfers.put(plan))
        for a, d in plan.items():
            client._send({"op": "scatter", "keys": list(d), "nbytes": [s.nbytes for s in d.values()],
                        "workers": [a], "rid": -1})
        for i, f in zip(big, new):
            obj = self.literal_objs.get(keys[i])
            if obj is not None:
                try:  # keep it on the cluster exactly as long as the caller keeps the object
                    ref = weakref.ref(obj)
                    weakref.finalize(obj, _forget_literal, self.literals, keys[i], ref)
                    self.literals[keys[i]] = (ref, f)
                except TypeError:
                    pass  # not weak-referenceable: upload again next time
        self._drop_rows(set(big), keys, specs, fids, dlist)
        return held + new

    @staticmethod
    def _drop_rows(drop: set, *lists: list) -> None:
        for lst in lists:
            lst[:] = [v for i, v in enumerate(lst) if i not in drop]

    def _build_specs(self, graph, order, deps, cache, funcs, fnames, keep, keys, specs, fids, dlist, found, seed):
        alias_fid = None
        for k in order:
            node = graph[k]
            t = type(node)
            if t is Task:
                fid = self.fid(node.func, cache, funcs, fnames)
                spec = serialize((node.args, node.kwargs) if seed is None else (node.args, node.kwargs, seed))
                ds = deps[k] if deps is not None and k in deps else node.deps
            elif t is Ref:
                if alias_fid is None:
                    alias_fid = self.fid(_identity, cache, funcs, fnames)
                fid = alias_fid
                spec = serialize(((node,), {}))
                ds = (node.key,)
            elif t is Future:
                if node.key == k:
                    if keep is not None:
                        keep.append(node)
                    continue  # already on the cluster
                if keep is not None:
                    keep.append(node)
                if alias_fid is None:
                    alias_fid = self.fid(_identity, cache, funcs, fnames)
                fid = alias_fid
                spec = serialize(((Ref(node.key),), {}))
                ds = (node.key,)
            else:
                fid = None
                spec = serialize(node)
                ds = ()
                if type(spec) is Serialized and spec.nbytes > LARGE_LITERAL:
                    self.literal_objs[k] = node
            if found:
                ds = set(ds) | found
                found.clear()
            keys.append(k)
            specs.append(spec)
            fids.append(fid)
            dlist.append(list(ds) if ds else None)

    def unfuture(self, obj: Any, deps: set) -> Any:
        t = type(obj)
        if t is Future:
            deps.add(obj.key)
            return Ref(obj.key)
        if t is list or t is tuple:
            return t(self.unfuture(o, deps) for o in obj)
        if t is dict:
            return {k: self.unfuture(v, deps) for k, v in obj.items()}
        if is_lazy(obj):
            raise TypeError(
                "submit/map got a lazy object as an argument; compute it first or pass a Future: "
                "`fut = client.compute(x); client.submit(f, fut)`"
            )
        return obj

    @staticmethod
    def has_future(obj: Any) -> bool:
        t = type(obj)
        if t is Future:
            return True
        if t is list or t is tuple:
            return any(GraphSender.has_future(o) for o in obj)
        if t is dict:
            return any(GraphSender.has_future(o) for o in obj.values())
        return False
