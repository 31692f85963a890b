"""How a Client is set up: its token, and whether a call is pure (cached by its inputs)."""
from __future__ import annotations

import os
import warnings
from typing import Any

from shoal import config
from shoal.distributed.comm.security import Security, resolve_security
from shoal.utils import funcname


def _default_token_file() -> str:
    return os.path.expanduser(config.get("distributed.security.token-file", "~/.shoal/token"))


def _security_for(address: str, security: Any) -> Security:
    sec = resolve_security(security)
    if sec is None or not sec.token:
        path = _default_token_file()
        if os.path.exists(path):
            tok = Security.from_file(path).token
            sec = sec.with_token(tok) if sec is not None else Security(token=tok)
    if sec is None or not sec.token:
        raise PermissionError(
            f"no token to connect to {address}: pass security=Security(token=...), set SHOAL_TOKEN, "
            "or start the scheduler with --scheduler-file F and use Client(scheduler_file=F)"
        )
    return sec


_warned_random: set = set()


def _choose_pure(func: Any, pure: bool | None) -> bool:
    """``pure`` as given, else the configured default (True) unless ``func`` draws
    random numbers: caching such a call would silently return the first draw
    again, so it runs as impure and the user is told once how to say so."""
    if pure is not None:
        return pure
    pure = config.get("distributed.client.pure", True)
    if pure:
        from shoal.random import is_random_function

        if is_random_function(func):
            name = funcname(func)
            if name not in _warned_random:
                _warned_random.add(name)
                warnings.warn(
                    f"{name} draws random numbers, so identical calls are not cached: each one "
                    f"runs. Say so to silence this: client.map({name}, ..., pure=False) or "
                    f"client.submit({name}, ..., pure=False) (pure=True caches the first result).",
                    UserWarning, stacklevel=3)
            return False
    return pure
