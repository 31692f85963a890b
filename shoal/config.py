"""Configuration: ``shoal.config.get/set`` with a YAML file and ``SHOAL_*`` variables.

Lookup order, later wins:

1. built-in defaults (``DEFAULTS`` below);
2. the YAML file ``~/.config/shoal/shoal.yaml`` (or ``$SHOAL_CONFIG``);
3. environment variables ``SHOAL_<KEY>``, where ``__`` separates nested keys
   and ``_`` stands for ``-`` or ``_`` (``SHOAL_NUM_WORKERS=4``,
   ``SHOAL_DISTRIBUTED__COMM__TIMEOUT=30s``); values are parsed as YAML
   scalars so numbers and booleans arrive typed;
4. ``config.set(...)``, either globally or as a context manager.

Keys are dotted paths (``"distributed.worker.memory.target"``); ``-`` and
``_`` are interchangeable in keys, as users type both.
"""
from __future__ import annotations

import os
import threading
from typing import Any

__all__ = ["get", "set", "refresh", "config", "DEFAULTS", "PATH"]

DEFAULTS: dict[str, Any] = {
    "scheduler": None,
    "num_workers": None,
    "random_seed": None,
    "optimization": {"fuse": {"active": True}},
    "processes": {"batch_target_seconds": 0.02},
    "array": {"chunk_size": "128MiB", "random": {"bit_generator": "SFC64"}},
    "dataframe": {"shuffle": {"method": "auto", "memory_fraction": 0.25, "compression": "lz4"}},
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

PATH = os.environ.get(
    "SHOAL_CONFIG",
    os.path.join(os.path.expanduser("~"), ".config", "shoal", "shoal.yaml"),
)

_lock = threading.RLock()
config: dict[str, Any] = {}


def _norm(key: str) -> str:
    return key.replace("-", "_").lower()


def _merge(dst: dict, src: dict) -> None:
    for k, v in src.items():
        k = _norm(str(k))
        if isinstance(v, dict) and isinstance(dst.get(k), dict):
            _merge(dst[k], v)
        elif isinstance(v, dict):
            dst[k] = {}
            _merge(dst[k], v)
        else:
            dst[k] = v


def _parse_scalar(text: str) -> Any:
    import yaml

    try:
        return yaml.safe_load(text)
    except yaml.YAMLError:
        return text


def _load_file(path: str) -> dict:
    if not os.path.exists(path):
        return {}
    import yaml

    with open(path) as f:
        try:
            data = yaml.safe_load(f) or {}
        except yaml.YAMLError as e:
            raise ValueError(f"shoal config file {path} is not valid YAML: {e}") from None
    if not isinstance(data, dict):
        raise ValueError(
            f"shoal config file {path} must hold a mapping such as 'scheduler: threads', "
            f"got {type(data).__name__}"
        )
    return data


def _from_env(environ) -> dict:
    out: dict = {}
    for name, value in environ.items():
        if not name.startswith("SHOAL_") or name == "SHOAL_CONFIG":
            continue
        parts = [_norm(p) for p in name[len("SHOAL_"):].split("__")]
        d = out
        for p in parts[:-1]:
            d = d.setdefault(p, {})
        d[parts[-1]] = _parse_scalar(value)
    return out


def refresh(environ=None) -> None:
    """Rebuild the configuration from defaults, file and environment."""
    import copy

    with _lock:
        new: dict = {}
        _merge(new, copy.deepcopy(DEFAULTS))
        _merge(new, _load_file(PATH))
        _merge(new, _from_env(os.environ if environ is None else environ))
        config.clear()
        config.update(new)


_MISSING = object()


def get(key: str, default: Any = _MISSING) -> Any:
    """Value at dotted ``key``; ``default`` if given and the key is missing."""
    d: Any = config
    for part in _norm(key).split("."):
        if isinstance(d, dict) and part in d:
            d = d[part]
        else:
            if default is not _MISSING:
                return default
            raise KeyError(
                f"no shoal config key {key!r}; pass a default, e.g. "
                f"shoal.config.get({key!r}, None)"
            )
    return d


def _set_path(key: str, value: Any, undo: list) -> None:
    parts = _norm(key).split(".")
    d = config
    for i, p in enumerate(parts[:-1]):
        if not isinstance(d.get(p), dict):
            undo.append((parts[: i + 1], d.get(p, _MISSING)))
            d[p] = {}
        d = d[p]
    undo.append((parts, d.get(parts[-1], _MISSING)))
    d[parts[-1]] = value


def _restore(undo: list) -> None:
    for parts, old in reversed(undo):
        d = config
        for p in parts[:-1]:
            d = d[p]
        if old is _MISSING:
            d.pop(parts[-1], None)
        else:
            d[parts[-1]] = old


class set:  # noqa: A001 - the public name users know
    """Set configuration values; usable as a context manager to undo them.

    >>> shoal.config.set(scheduler="threads")          # global
    >>> with shoal.config.set(num_workers=2): ...       # restored on exit

    Nested keys take dots: ``set({"distributed.worker.memory.target": 0.5})``.
    In keyword form ``__`` also separates levels.
    """

    def __init__(self, arg: dict | None = None, **kwargs: Any):
        items: dict = {}
        if arg is not None:
            if not isinstance(arg, dict):
                raise TypeError(
                    "shoal.config.set takes a dict or keyword arguments, e.g. "
                    "config.set(scheduler='threads') or config.set({'scheduler': 'threads'})"
                )
            items.update(arg)
        for k, v in kwargs.items():
            items[k.replace("__", ".")] = v
        from shoal.core.schedulers import validate_scheduler_name

        if "scheduler" in items and items["scheduler"] is not None:
            validate_scheduler_name(items["scheduler"])
        self._undo: list = []
        if "random_seed" in items:
            _bump_seed_epoch()
        with _lock:
            for k, v in items.items():
                _set_path(k, v, self._undo)

    def __enter__(self) -> "set":
        return self

    def __exit__(self, *exc) -> None:
        with _lock:
            _restore(self._undo)
        self._undo = []


_seed_epoch = 0


def _bump_seed_epoch() -> None:
    # setting a seed restarts the numbering of impure keys (see shoal.random)
    global _seed_epoch
    _seed_epoch += 1


def seed_epoch() -> int:
    return _seed_epoch


refresh()
