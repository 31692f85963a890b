"""Parallel random numbers: independent, reproducible streams for every task.

How streams are derived
-----------------------
``task_rng()`` called inside a running task returns a ``numpy.random.Generator``
(PCG64) seeded by ``SeedSequence(entropy=seed, spawn_key=words(task key))``:

* ``seed`` is the run-wide seed: ``compute(..., seed=S)``, else
  ``config.set(random_seed=S)``;
* ``words(key)`` are four 32-bit words of a BLAKE2b digest of the key's
  ``repr``, the same in every process.

So a task's numbers depend only on the seed and the task's key: not on the
scheduler, the number of workers, the order of execution, or retries (the
stream restarts when a task is re-run).  Different keys give different
``spawn_key`` s, which SeedSequence maps to independent streams.  Without a
seed each task draws fresh OS entropy: streams are still independent, but
not reproducible.  Calls to ``task_rng()`` within one task continue one
stream.

Keys of ``delayed`` calls made with ``pure=False`` are random unless
``config.set(random_seed=...)`` was in force when the graph was built: then
they are numbered deterministically, so the same script gives the same keys,
and the same numbers, on every run.

``streams(seed, n)`` / ``default_rng(seed).spawn(n)`` give independent
Generators to pass into tasks by hand, and ``MT19937(seed)`` offers the
``jump``/``generator`` interface of the tutorial's ``randomgen`` example with
per-task semantics on every scheduler.
"""
from __future__ import annotations

import hashlib
import threading
from collections import defaultdict
from typing import Any, Hashable, Sequence

import numpy as np

from shoal import config
from shoal.core import context

__all__ = [
    "default_rng",
    "streams",
    "task_rng",
    "task_seed_sequence",
    "MT19937",
    "is_random_function",
]


def default_rng(seed: Any = None) -> np.random.Generator:
    """A PCG64 Generator; ``.spawn(n)`` gives n independent child Generators."""
    return np.random.default_rng(seed)


def streams(seed: Any, n: int) -> list[np.random.Generator]:
    """``n`` independent Generators from one seed (SeedSequence spawning)."""
    if n < 0:
        raise ValueError(f"streams(seed, n) needs n >= 0, got {n}")
    return [np.random.Generator(np.random.PCG64(s)) for s in np.random.SeedSequence(seed).spawn(n)]


def _key_words(key: Hashable) -> tuple[int, ...]:
    digest = hashlib.blake2b(repr(key).encode("utf-8", "surrogatepass"), digest_size=16).digest()
    return tuple(int.from_bytes(digest[i:i + 4], "little") for i in range(0, 16, 4))


def _entropy(seed: Any) -> Any:
    if isinstance(seed, (int, np.integer)):
        if seed < 0:
            raise ValueError(f"random seed must be a non-negative integer, got {seed}")
        return int(seed)
    if isinstance(seed, Sequence) and not isinstance(seed, (str, bytes)):
        return [int(s) for s in seed]
    if isinstance(seed, str):
        return int.from_bytes(hashlib.blake2b(seed.encode(), digest_size=16).digest(), "little")
    raise TypeError(
        f"random seed must be an int, a sequence of ints or a str, got {type(seed).__name__}; "
        "e.g. compute(..., seed=42) or config.set(random_seed=42)"
    )


def task_seed_sequence(key: Hashable | None = None, seed: Any = None) -> np.random.SeedSequence:
    """The SeedSequence a task with ``key`` gets under run-wide ``seed``."""
    if key is None:
        key = context.current_task_key()
    if seed is None:
        seed = context.current_seed()
    if seed is None:
        seed = config.get("random_seed", None)
    if seed is None:
        return np.random.SeedSequence()
    return np.random.SeedSequence(entropy=_entropy(seed), spawn_key=_key_words(key))


def task_rng() -> np.random.Generator:
    """The random Generator of the running task (see the module docs).

    Outside a task it returns a Generator for the key ``None`` under the
    configured seed (or fresh entropy), so code can be tried interactively.
    """
    key = context.current_task_key()
    seed = context.current_seed()
    if seed is None:
        seed = config.get("random_seed", None)
    cached = context.get_task_rng()
    if cached is not None and cached[0] == key and cached[1] == seed:
        return cached[2]
    gen = np.random.Generator(np.random.PCG64(task_seed_sequence(key, seed)))
    context.set_task_rng((key, seed, gen))
    return gen


class MT19937:
    """Mersenne Twister with the tutorial's ``randomgen`` interface.

    ``rng.jump(i)`` advances by ``i`` jumps of 2**128 draws and ``rng.generator``
    gives a Generator at that point.  Jumps are counted per running task, so
    when one object is shared by every task (the tutorial passes it to each
    ``delayed`` call) task ``i`` sees exactly ``i`` jumps on every scheduler:
    with threads or sync the tasks do not accumulate each other's jumps.
    """

    def __init__(self, seed: Any = None):
        self._seed = seed
        self._jumps: dict = defaultdict(int)
        self._lock = threading.Lock()

    def jump(self, iter: int = 1) -> "MT19937":  # noqa: A002 - randomgen's name
        if iter < 0:
            raise ValueError(f"jump(iter) needs iter >= 0, got {iter}")
        with self._lock:
            self._jumps[context.current_task_key()] += int(iter)
        return self

    def jumped(self, jumps: int = 1) -> np.random.MT19937:
        """A numpy MT19937 bit generator ``jumps`` jumps ahead (no mutation)."""
        return np.random.MT19937(self._seed).jumped(jumps)

    @property
    def bit_generator(self) -> np.random.MT19937:
        n = self._jumps.get(context.current_task_key(), 0)
        bg = np.random.MT19937(self._seed)
        return bg.jumped(n) if n else bg

    @property
    def generator(self) -> np.random.Generator:
        return np.random.Generator(self.bit_generator)

    def __getstate__(self) -> dict:
        return {"seed": self._seed, "jumps": dict(self._jumps)}

    def __setstate__(self, state: dict) -> None:
        self._seed = state["seed"]
        self._jumps = defaultdict(int, state["jumps"])
        self._lock = threading.Lock()

    def __shoal_tokenize__(self) -> Any:
        return ("MT19937", self._seed, sorted(map(repr, self._jumps.items())))

    def __repr__(self) -> str:
        return f"shoal.random.MT19937(seed={self._seed!r})"


_RANDOM_NAMES = frozenset({
    "task_rng", "default_rng", "random", "rand", "randn", "randint", "normal", "uniform",
    "choice", "shuffle", "permutation", "standard_normal", "poisson", "binomial",
    "exponential", "gauss", "randrange", "sample",
})
_RANDOM_MODULES = ("numpy.random", "random", "shoal.random", "shoal.array.random")


def _code_uses_random(code: Any, globals_: dict, depth: int = 0, seen: set | None = None) -> bool:
    names = set(code.co_names)
    if "task_rng" in names:
        return True
    if "random" in names and names & _RANDOM_NAMES - {"random"}:
        return True
    if {"random", "rng", "default_rng"} & names and ("np" in names or "numpy" in names):
        return True
    if depth >= 3:
        return False
    seen = set() if seen is None else seen
    for c in code.co_consts:  # nested functions and comprehensions
        if hasattr(c, "co_names") and _code_uses_random(c, globals_, depth + 1, seen):
            return True
    for name in names:  # helpers it calls, e.g. a wrapper around calc_mean
        target = globals_.get(name)
        inner = getattr(target, "__code__", None)
        if inner is None or id(inner) in seen:
            continue
        seen.add(id(inner))
        mod = getattr(target, "__module__", "") or ""
        if mod.startswith(_RANDOM_MODULES):
            return True
        if _code_uses_random(inner, getattr(target, "__globals__", {}), depth + 1, seen):
            return True
    return False


def is_random_function(func: Any) -> bool:
    """Heuristic: does ``func`` draw random numbers?

    True for functions of numpy.random, Python's random, shoal.random and
    shoal.array.random, and for Python functions whose code calls
    ``task_rng`` or ``np.random``-style draws, directly or through module-level
    helpers they call (a few levels deep).  Used by ``Client.map`` and
    ``submit`` to avoid returning a cached result for a random function.
    """
    import functools

    while isinstance(func, functools.partial):
        func = func.func
    func = getattr(func, "__wrapped__", func)
    mod = getattr(func, "__module__", None) or ""
    if mod.startswith(_RANDOM_MODULES) or mod in ("numpy.random.mtrand", "_random"):
        return True
    owner = getattr(func, "__self__", None)
    import random as _pyrandom

    if isinstance(owner, (np.random.Generator, np.random.RandomState, np.random.BitGenerator,
                          _pyrandom.Random)):
        return True
    code = getattr(func, "__code__", None)
    return code is not None and _code_uses_random(code, getattr(func, "__globals__", {}))
