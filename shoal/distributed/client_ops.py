"""Cluster-wide operations of ``Client`` beyond submitting work.

Each function takes the ``Client`` as its first argument and uses only its
request API (``_request``, ``run``, ``_adopt_keys``), so this module owns no
client state; ``Client`` exposes each as a method.  Published datasets are
the ``Datasets`` mapping (``client.datasets``).
"""
from __future__ import annotations

import os
import platform
import sys
import time
from collections.abc import MutableMapping
from typing import Any, Iterator

from shoal.distributed import portable
from shoal.distributed.exceptions import remote_error
from shoal.distributed.protocol.serialize import deserialize, dumps_function, serialize

_NO_DEFAULT = object()


def _keys_of(futures: Any) -> list:
    from shoal.distributed.futures import _flatten

    return [f.key for f in _flatten(futures)]


def raise_first(results: dict) -> dict:
    """``{worker: value}`` from ``{worker: (ok, payload)}``; the first failure is raised."""
    out = {}
    for addr, (ok, payload) in results.items():
        value = deserialize(payload)
        if not ok:
            raise value
        out[addr] = value
    return out


# ---- where data lives -------------------------------------------------------
def who_has(client: Any, futures: Any = None) -> dict:
    """``{key: [worker addresses holding it]}`` for ``futures`` (all keys held when None)."""
    if futures is None:
        out: dict = {}
        for addr, keys in has_what(client).items():
            for k in keys:
                out.setdefault(k, []).append(addr)
        return out
    return client._request({"op": "who-has", "keys": _keys_of(futures)})


def has_what(client: Any, workers: Any = None) -> dict:
    """``{worker address: [keys it holds]}`` (for ``workers``, or every worker)."""
    if isinstance(workers, str):
        workers = [workers]
    return client._request({"op": "has-what", "workers": list(workers) if workers else None})


def replicate(client: Any, futures: Any, n: int | None = None, workers: Any = None) -> None:
    """Copy each future's value to ``n`` workers (all of ``workers``, or all workers, when None)."""
    keys = _keys_of(futures)
    from shoal.distributed.futures import wait

    wait(futures)
    ok, text = client._request({"op": "replicate", "keys": keys, "n": n,
                                "workers": [workers] if isinstance(workers, str) else workers}, timeout=None)
    if not ok:
        raise ValueError(text)


def rebalance(client: Any, futures: Any = None, workers: Any = None, timeout: float = 60.0) -> int:
    """Even out the bytes each worker holds: values move from workers above the mean to
    workers below it (only ``futures``' values when given; among ``workers`` when given).
    A value is copied before the sender's copy is dropped.  Returns how many moved."""
    from shoal.distributed.futures import wait

    keys = None
    if futures is not None:
        wait(futures)
        keys = _keys_of(futures)
    ok, value = client._request({"op": "rebalance", "keys": keys, "timeout": timeout,
                                 "workers": [workers] if isinstance(workers, str) else workers},
                                timeout=timeout + 30)
    if not ok:
        raise TimeoutError(value)
    return value


# ---- running code -------------------------------------------------------------
def run_on_scheduler(client: Any, function: Any, *args: Any, **kwargs: Any) -> Any:
    """Run ``function(*args, **kwargs)`` in the scheduler process; its result.

    A ``dask_scheduler`` (or ``scheduler``) parameter receives the scheduler
    server object, for inspection.
    """
    _, data = dumps_function(function)
    ok, payload = client._request({"op": "run-on-scheduler", "func": data,
                                   "args": serialize((args, kwargs))}, timeout=None)
    value = deserialize(payload)
    if not ok:
        raise value
    return value


def register_plugin(client: Any, plugin: Any, name: str | None = None) -> dict:
    """Install a worker plugin on every worker, now and on workers that join later.

    ``plugin.setup(worker)`` runs on each worker; ``plugin.teardown(worker)``
    when it closes.  Returns ``{worker address: setup's result}``.
    """
    name = name or getattr(plugin, "name", None) or f"{type(plugin).__name__}-{id(plugin):x}"
    _, data = dumps_function(plugin)
    return raise_first(client._request({"op": "register-plugin", "name": name, "plugin": data}, timeout=None))


def unregister_worker_plugin(client: Any, name: str) -> dict:
    return raise_first(client._request({"op": "unregister-plugin", "name": name}, timeout=None))


class UploadFile:
    """Worker plugin writing a file into each worker's directory (on ``sys.path``);
    a ``.py`` file is imported (again, if it was), a ``.zip``/``.egg`` put on the path."""

    def __init__(self, filename: str, load: bool = True):
        self.name = f"upload-file-{os.path.basename(filename)}"
        self.filename = os.path.basename(filename)
        with open(filename, "rb") as f:
            self.data = f.read()
        self.load = load

    def setup(self, worker: Any) -> str:
        import importlib

        d = worker.local_directory
        path = os.path.join(d, self.filename)
        with open(path, "wb") as f:
            f.write(self.data)
        if d not in sys.path:
            sys.path.insert(0, d)
        root, ext = os.path.splitext(self.filename)
        if ext in (".zip", ".egg", ".whl") and path not in sys.path:
            sys.path.insert(0, path)
        if self.load and ext == ".py":
            importlib.invalidate_caches()
            if root in sys.modules:
                importlib.reload(sys.modules[root])
            else:
                importlib.import_module(root)
        return path


def upload_file(client: Any, filename: str, load: bool = True) -> dict:
    """Send a local file to every worker (and later ones): ``.py`` files are importable
    by tasks afterwards, ``.zip``/``.egg`` files go on ``sys.path``."""
    return register_plugin(client, UploadFile(filename, load))


# ---- workers ----------------------------------------------------------------------
def retire_workers(client: Any, workers: Any = None, n: int | None = None, timeout: float = 60.0,
                   close_workers: bool = True) -> list:
    """Close ``workers`` (addresses or names; or the ``n`` holding least data) gracefully:
    they take no new tasks, finish running ones, and values only they hold are copied to
    other workers first.  Returns the retired addresses."""
    if workers is None and n is None:
        raise ValueError("retire_workers needs workers=[addresses or names] or n=<how many>")
    if isinstance(workers, str):
        workers = [workers]
    ok, value = client._request({"op": "retire-workers", "workers": workers, "n": n, "timeout": timeout},
                                timeout=timeout + 30)
    if not ok:
        raise ValueError(value)
    return value


def restart_workers(client: Any, workers: list, timeout: float = 60.0) -> list:
    """Restart these workers (their nannies start fresh processes); their data is lost and
    recomputed where needed.  Returns the addresses of the workers now running."""
    if isinstance(workers, str):
        workers = [workers]
    ok, value = client._request({"op": "restart-workers", "workers": list(workers), "timeout": timeout},
                                timeout=timeout + 30)
    if not ok:
        raise ValueError(value)
    return value


def wait_for_workers(client: Any, n_workers: int = 1, timeout: float | None = None) -> None:
    """Block until at least ``n_workers`` workers are connected (``TimeoutError`` after ``timeout``)."""
    deadline = None if timeout is None else time.monotonic() + float(timeout)
    while len(client._request({"op": "workers"})) < n_workers:
        if deadline is not None and time.monotonic() > deadline:
            have = len(client._request({"op": "workers"}))
            raise TimeoutError(f"only {have} of {n_workers} workers arrived within {timeout}s")
        time.sleep(0.05)


def get_worker_logs(client: Any, n: int | None = None, workers: Any = None) -> dict:
    """``{worker address: [(level, message), ...]}``: each worker's recent log records."""
    def logs(dask_worker: Any) -> list:
        records = list(getattr(dask_worker, "log_records", ()))
        return records[-n:] if n else records

    return client.run(logs, workers=workers)


# ---- versions ------------------------------------------------------------------
def versions() -> dict:
    """Versions of Python and the packages that must agree across a cluster."""
    import importlib.metadata as md

    pkgs = {}
    for name in ("shoal", "cloudpickle", "msgpack", "numpy", "pandas", "pyarrow", "psutil"):
        try:
            pkgs[name] = md.version(name)
        except Exception:
            mod = sys.modules.get(name)
            pkgs[name] = getattr(mod, "__version__", None)
    return {"host": {"python": platform.python_version(), "OS": platform.system(),
                     "machine": platform.machine()}, "packages": pkgs}


def get_versions(client: Any, check: bool = False) -> dict:
    """Versions on the client, the scheduler and every worker; ``check=True`` raises
    ``ValueError`` naming each package whose version differs."""
    out = {"client": versions(), "scheduler": run_on_scheduler(client, versions),
           "workers": client.run(versions)}
    if check:
        every = {"client": out["client"], "scheduler": out["scheduler"], **out["workers"]}
        diffs = []
        for pkg in ("python",) + tuple(out["client"]["packages"]):
            seen = {where: (v["host"]["python"] if pkg == "python" else v["packages"].get(pkg))
                    for where, v in every.items()}
            if len(set(seen.values())) > 1:
                diffs.append(f"{pkg}: " + ", ".join(f"{w}={v}" for w, v in seen.items()))
        if diffs:
            raise ValueError("versions differ across the cluster:\n  " + "\n  ".join(diffs))
    return out


def get_task_stream(client: Any, start: float | None = None) -> list:
    """Recent task events (key, worker, start/stop times, status) from the scheduler."""
    return client._request({"op": "task-stream", "start": start})


# ---- published datasets -----------------------------------------------------------
class Datasets(MutableMapping):
    """``client.datasets``: published datasets as a mapping (``client.datasets["x"] = df``)."""

    def __init__(self, client: Any):
        self._client = client

    def _call(self, action: str, **fields: Any) -> Any:
        ok, value = self._client._request({"op": "coord", "kind": "dataset", "action": action, **fields})
        if not ok:
            raise remote_error(value)
        return value

    def publish(self, name: Any, value: Any, override: bool = False) -> None:
        data, keys = portable.dumps(value)
        self._call("publish", name=name, data=data, keys=keys, override=override)

    def get(self, name: Any, default: Any = _NO_DEFAULT) -> Any:  # type: ignore[override]
        try:
            data, keys = self._call("get", name=name)
        except KeyError:
            if default is _NO_DEFAULT:
                raise
            return default
        return portable.loads(data, keys, self._client)

    def __getitem__(self, name: Any) -> Any:
        return self.get(name)

    def __setitem__(self, name: Any, value: Any) -> None:
        self.publish(name, value, override=True)

    def __delitem__(self, name: Any) -> None:
        self._call("unpublish", name=name)

    def __iter__(self) -> Iterator:
        return iter(self._call("list", name=None))

    def __len__(self) -> int:
        return len(self._call("list", name=None))

    def __contains__(self, name: Any) -> bool:
        return name in self._call("list", name=None)
