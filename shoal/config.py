"""Configuration: ``shoal.config.get/set`` with a YAML file and ``SHOAL_*`` variables.

Lookup order, later wins:

1. built-in defaults (``DEFAULTS`` below, then any ``update_defaults``);
2. YAML files: those in ``/etc/shoal/`` and ``<sys.prefix>/etc/shoal/``,
   then ``~/.config/shoal/shoal.yaml`` (or ``$SHOAL_CONFIG``, a file or a
   folder of YAML files);
3. environment variables ``SHOAL_<KEY>``, where ``__`` separates nested keys
   and ``_`` stands for ``-`` or ``_`` (``SHOAL_NUM_WORKERS=4``,
   ``SHOAL_DISTRIBUTED__COMM__TIMEOUT=30s``); values are parsed as YAML
   scalars so numbers and booleans arrive typed;
4. ``config.set(...)``, either globally or as a context manager.

Keys are dotted paths (``"distributed.worker.memory.target"``); ``-`` and
``_`` are interchangeable in keys, as users type both: a key is stored as
first written and found under either spelling (``canonical_name``).

The functions follow Dask's ``dask.config`` (``get``, ``set``, ``update``,
``update_defaults``, ``merge``, ``pop``, ``refresh``, ``collect``,
``expand_environment_variables``), and each takes ``config=`` to work on
another dict than the global one.  ``defaults`` is the list of default
dicts (libraries add theirs with ``update_defaults``); ``refresh`` rebuilds
``config`` from them, the YAML files and the environment.
"""
from __future__ import annotations

import ast
import builtins
import os
import sys
import threading
from collections.abc import Mapping
from typing import Any

__all__ = [
    "get", "set", "pop", "update", "update_defaults", "merge", "refresh", "collect",
    "collect_yaml", "collect_env", "canonical_name", "expand_environment_variables",
    "paths_containing_key", "ensure_file", "serialize", "deserialize",
    "config", "global_config", "defaults", "paths", "DEFAULTS", "PATH",
]

DEFAULTS: dict[str, Any] = {
    "scheduler": None,
    "num_workers": None,
    "random_seed": None,
    "optimization": {"fuse": {"active": True}},
    "processes": {"batch_target_seconds": 0.02},
    "array": {"chunk_size": "128MiB", "random": {"bit_generator": "SFC64"}},
    "dataframe": {"shuffle": {"method": "auto", "memory_fraction": 0.25, "memory-limit": None,
                               "compression": None}},
    "distributed": {
        "comm": {"timeout": 30, "max_frame_bytes": 4 << 30},
        "scheduler": {"allowed_failures": 3, "worker_ttl": 60, "port": 8786,
                      "work_stealing": True, "work_stealing_interval": 0.1},
        "worker": {
            "heartbeat_interval": 1.0,
            "memory": {"target": 0.6, "spill": 0.7, "pause": 0.8, "terminate": 0.95},
        },
        "dashboard": {"port": 8787},
        "security": {"require_token": True},
    },
}

#: The user's file (or folder of YAML files): ``$SHOAL_CONFIG`` or ``~/.config/shoal/shoal.yaml``.
PATH = os.environ.get(
    "SHOAL_CONFIG",
    os.path.join(os.path.expanduser("~"), ".config", "shoal", "shoal.yaml"),
)

#: Folders (or files) read before ``PATH``, lowest priority first.
paths: list[str] = [
    "/etc/shoal",
    os.path.join(sys.prefix, "etc", "shoal"),
]

_lock = threading.RLock()
config: dict[str, Any] = {}
global_config = config  # the name Dask code also uses
#: Default dicts, lowest priority first; ``update_defaults`` appends.
defaults: list[dict] = [DEFAULTS]

_MISSING = object()
no_default = _MISSING


def canonical_name(k: Any, config: Mapping) -> Any:
    """The spelling of key ``k`` used in ``config`` (``-`` and ``_`` are the same)."""
    try:
        if k in config:
            return k
    except TypeError:  # an unhashable key is nobody's spelling
        return k
    if isinstance(k, str):
        alt = k.replace("_", "-") if "_" in k else k.replace("-", "_")
        if alt in config:
            return alt
    return k


def update(old: dict, new: Mapping, priority: str = "new", defaults: Mapping | None = None) -> dict:
    """Merge ``new`` into ``old`` in place, nested dicts key by key; return ``old``.

    ``priority="new"`` lets ``new`` win, ``"old"`` keeps values ``old``
    already has, and ``"new-defaults"`` lets ``new`` win only where ``old``
    still holds the value of ``defaults`` (the user did not change it).
    """
    for k, v in new.items():
        k = canonical_name(k, old)
        if isinstance(v, Mapping):
            if not isinstance(old.get(k), dict):
                old[k] = {}
            sub = defaults.get(k) if isinstance(defaults, Mapping) else None
            update(old[k], v, priority=priority, defaults=sub)
        elif (priority == "new" or k not in old
              or (priority == "new-defaults" and isinstance(defaults, Mapping)
                  and k in defaults and defaults[k] == old[k])):
            old[k] = v
    return old


def merge(*dicts: Mapping) -> dict:
    """A new dict: ``dicts`` merged left to right (later wins, nested dicts merged)."""
    out: dict = {}
    for d in dicts:
        update(out, d)
    return out


def expand_environment_variables(config: Any) -> Any:
    """``config`` with ``$VAR`` / ``${VAR}`` in every string expanded, at any depth."""
    if isinstance(config, Mapping):
        return {k: expand_environment_variables(v) for k, v in config.items()}
    if isinstance(config, str):
        return os.path.expandvars(config)
    if isinstance(config, (list, tuple, builtins.set)):
        return type(config)(expand_environment_variables(v) for v in config)
    return config


def _load_file(path: Any) -> dict | None:
    """The mapping in a YAML file; None when it cannot be read (no permission)."""
    import yaml

    try:
        with open(path) as f:
            text = f.read()
    except (OSError, UnicodeDecodeError):  # unreadable: skipped, like an absent file
        return None
    try:
        data = yaml.safe_load(text) or {}
    except yaml.YAMLError as e:
        raise ValueError(f"shoal config file {path} is malformed, original error message: {e}") from None
    if not isinstance(data, dict):
        raise ValueError(
            f"shoal config file {path} is malformed: it must have a dict (a mapping such as "
            f"'scheduler: threads') at the top level, got {type(data).__name__}"
        )
    return data


def _yaml_files(paths: Any) -> list:
    files: list = []
    for path in paths:
        if os.path.isdir(path):
            try:
                names = sorted(os.listdir(path))
            except OSError:  # unreadable folder: nothing to take from it
                continue
            files.extend(os.path.join(path, n) for n in names
                         if os.path.splitext(n)[1] in (".yaml", ".yml", ".json"))
        elif os.path.exists(path):
            files.append(path)
    return files


def collect_yaml(paths: list | None = None, return_paths: bool = False) -> list:
    """The dicts of the YAML files at ``paths`` (files, or folders of ``*.yaml``/``*.yml``/``*.json``).

    Files that cannot be read are skipped; a malformed one raises ValueError
    naming it.  ``return_paths=True`` gives ``(path, dict)`` pairs.
    """
    out = []
    for f in _yaml_files(paths if paths is not None else [*globals()["paths"], PATH]):
        data = _load_file(f)
        if data is not None:
            out.append((f, data) if return_paths else data)
    return out


def paths_containing_key(key: str, paths: list | None = None) -> list:
    """The YAML files (of ``paths``, as for ``collect_yaml``) that set dotted ``key``."""
    out = []
    for path, data in collect_yaml(paths, return_paths=True):
        try:
            get(key, config=data)
        except KeyError:
            continue
        out.append(path)
    return out


def serialize(data: Any) -> str:
    """``data`` as a string fit for an environment variable (see ``deserialize``)."""
    import base64
    import json

    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode()


def deserialize(data: str) -> Any:
    """The value ``serialize`` wrote."""
    import base64
    import json

    return json.loads(base64.urlsafe_b64decode(data.encode()).decode())


#: Holds ``serialize(config)`` of a parent process, read by ``collect_env`` in a child.
INHERIT_VARIABLE = "SHOAL_INTERNAL_INHERIT_CONFIG"

_SPECIAL_VALUES = {"none": None, "null": None, "true": True, "false": False}


def _parse_value(text: str) -> Any:
    special = text.lower()
    if special in _SPECIAL_VALUES:
        return _SPECIAL_VALUES[special]
    try:
        return ast.literal_eval(text)
    except (SyntaxError, ValueError):
        pass
    import yaml

    try:
        return yaml.safe_load(text)
    except yaml.YAMLError:
        return text


def collect_env(env: Mapping | None = None) -> dict:
    """Settings from ``SHOAL_*`` variables: ``__`` nests, values parsed as Python/YAML literals.

    ``SHOAL_INTERNAL_INHERIT_CONFIG`` (``serialize`` of a whole configuration,
    set for child processes) is read first; the other variables override it.
    """
    if env is None:
        env = os.environ
    out: dict = {}
    inherited = env.get(INHERIT_VARIABLE)
    if inherited:
        update(out, deserialize(inherited))
    flat: dict = {}
    for name, value in env.items():
        if not name.startswith("SHOAL_") or name in ("SHOAL_CONFIG", INHERIT_VARIABLE):
            continue
        flat[name[len("SHOAL_"):].lower().replace("__", ".")] = _parse_value(value)
    set(flat, config=out)
    return out


def ensure_file(source: Any, destination: Any = None, comment: bool = True) -> None:
    """Copy the YAML file ``source`` into the user's configuration folder, if not there yet.

    ``destination`` is a folder or a file path (default: the folder of
    ``PATH``).  An existing file is never overwritten.  With ``comment=True``
    every line is commented out, so the copy documents the defaults without
    setting anything.
    """
    import shutil

    if destination is None:
        destination = PATH
    destination = os.fspath(destination)
    if os.path.splitext(destination)[1] in (".yaml", ".yml"):
        folder, target = os.path.dirname(destination), destination
    else:
        folder = destination
        target = os.path.join(folder, os.path.basename(os.fspath(source)))
    if os.path.exists(target):
        return
    try:
        os.makedirs(folder or ".", exist_ok=True)
        tmp = f"{target}.tmp.{os.getpid()}"
        if comment:
            with open(source) as f:
                lines = f.readlines()
            with open(tmp, "w") as f:
                f.writelines("# " + ln if ln.strip() and not ln.lstrip().startswith("#") else ln
                             for ln in lines)
        else:
            shutil.copyfile(source, tmp)
        os.replace(tmp, target)  # atomic: two processes never leave half a file
    except OSError:  # a read-only home: nothing to write, nothing lost
        pass


def collect(paths: list | None = None, env: Mapping | None = None) -> dict:
    """The YAML files at ``paths`` then the environment ``env``, merged (later wins)."""
    return merge(*collect_yaml(paths), collect_env(env))


def refresh(config: dict | None = None, defaults: list | None = None, **kwargs: Any) -> None:
    """Rebuild ``config`` from ``defaults``, the YAML files and the environment.

    Keywords go to ``collect`` (``paths=``, ``env=``).
    """
    import copy

    target = globals()["config"] if config is None else config
    defs = globals()["defaults"] if defaults is None else defaults
    with _lock:
        new: dict = {}
        for d in defs:
            update(new, copy.deepcopy(d), priority="old")
        update(new, collect(**kwargs))
        target.clear()
        target.update(new)


def update_defaults(new: Mapping, config: dict | None = None, defaults: list | None = None) -> None:
    """Add a dict of defaults (a library's own keys) below what is already set.

    Values the user changed stay; values still at their old default take
    the new one.
    """
    target = globals()["config"] if config is None else config
    defs = globals()["defaults"] if defaults is None else defaults
    with _lock:
        current = merge(*defs)
        defs.append(new)
        update(target, new, priority="new-defaults", defaults=current)


def get(key: str, default: Any = _MISSING, config: Mapping | None = None, override_with: Any = None) -> Any:
    """Value at dotted ``key``; ``default`` if given and the key is missing.

    ``override_with``, when not None, is returned instead (a function's own
    argument beating the configuration).
    """
    if override_with is not None:
        return override_with
    d: Any = globals()["config"] if config is None else config
    for part in key.split("."):
        if isinstance(d, Mapping):
            part = canonical_name(part, d)
            if part in d:
                d = d[part]
                continue
        if default is not _MISSING:
            return default
        raise KeyError(
            f"no shoal config key {key!r}; pass a default, e.g. "
            f"shoal.config.get({key!r}, None)"
        )
    return d


def pop(key: str, default: Any = _MISSING, config: dict | None = None) -> Any:
    """Remove dotted ``key`` and return its value (``default`` if missing, else KeyError)."""
    d: Any = globals()["config"] if config is None else config
    parts = key.split(".")
    with _lock:
        for part in parts[:-1]:
            part = canonical_name(part, d)
            if not isinstance(d, dict) or not isinstance(d.get(part), dict):
                d = None
                break
            d = d[part]
        if isinstance(d, dict):
            last = canonical_name(parts[-1], d)
            if last in d:
                return d.pop(last)
    if default is not _MISSING:
        return default
    raise KeyError(f"no shoal config key {key!r} to pop; pass a default, e.g. pop({key!r}, None)")


def _copy_dicts(v: Any) -> Any:
    # nested dicts are copied so that later sets never edit the caller's dict
    if isinstance(v, dict):
        return {k: _copy_dicts(x) for k, x in v.items()}
    return v


class set:  # noqa: A001 - the public name users know
    """Set configuration values; usable as a context manager to undo them.

    >>> shoal.config.set(scheduler="threads")          # global
    >>> with shoal.config.set(num_workers=2): ...       # restored on exit

    Nested keys take dots: ``set({"distributed.worker.memory.target": 0.5})``.
    In keyword form ``__`` also separates levels.  ``config=`` sets values
    in another dict than the global configuration.
    """

    def __init__(self, arg: Mapping | None = None, config: dict | None = None,
                 lock: Any = _lock, **kwargs: Any):
        items: list = []
        if arg is not None:
            if not isinstance(arg, Mapping):
                raise TypeError(
                    "shoal.config.set takes a dict or keyword arguments, e.g. "
                    "config.set(scheduler='threads') or config.set({'scheduler': 'threads'})"
                )
            items.extend(arg.items())
        for k, v in kwargs.items():
            items.append((k.replace("__", "."), v))
        for k, v in items:
            if k == "scheduler" and v is not None:
                from shoal.core.schedulers import validate_scheduler_name

                validate_scheduler_name(v)
        self.config = globals()["config"] if config is None else config
        self._record: list = []
        if self.config is globals()["config"] and any(k in ("random_seed", "random-seed") for k, _ in items):
            _bump_seed_epoch()
        with lock:
            for k, v in items:
                self._assign(k.split("."), _copy_dicts(v), self.config, ())

    def _assign(self, keys: list, value: Any, d: dict, path: tuple, record: bool = True) -> None:
        key = canonical_name(keys[0], d)
        path = path + (key,)
        if len(keys) == 1:
            if record:
                self._record.append(("replace", path, d[key]) if key in d else ("insert", path, None))
            d[key] = value
            return
        if not isinstance(d.get(key), dict):
            if record:
                self._record.append(("replace", path, d[key]) if key in d else ("insert", path, None))
            d[key] = {}
            record = False  # restoring the parent restores everything below it
        self._assign(keys[1:], value, d[key], path, record)

    def __enter__(self) -> "set":
        return self

    def __exit__(self, *exc: Any) -> None:
        with _lock:
            for op, path, value in reversed(self._record):
                d = self.config
                if op == "replace":
                    for key in path[:-1]:
                        d = d.setdefault(key, {})
                    d[path[-1]] = value
                else:
                    for key in path[:-1]:
                        d = d.get(key)
                        if not isinstance(d, dict):
                            break
                    else:
                        d.pop(path[-1], None)
        self._record = []


_seed_epoch = 0


def _bump_seed_epoch() -> None:
    # setting a seed restarts the numbering of impure keys (see shoal.random)
    global _seed_epoch
    _seed_epoch += 1


def seed_epoch() -> int:
    """How many times a random seed has been set (part of impure keys)."""
    return _seed_epoch


refresh()
