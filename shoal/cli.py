"""The ``shoal`` command: ``shoal demo``, ``shoal scheduler``, ``shoal worker``, ``shoal ssh``.

Each sub-command lives in the module that owns it and is imported only when
called, so ``shoal --help`` stays fast.
"""
from __future__ import annotations

import importlib
import sys

from shoal import __version__

COMMANDS = {
    "demo": ("shoal.demo", "main", "run the tutorial's workloads on generated data"),
    "scheduler": ("shoal.distributed.cli", "scheduler_main", "start a scheduler"),
    "worker": ("shoal.distributed.cli", "worker_main", "start worker processes"),
    "ssh": ("shoal.distributed.deploy.ssh_cli", "main", "start a scheduler and workers over SSH"),
}


def _usage() -> str:
    lines = ["usage: shoal [--help] [--version] COMMAND [ARGS...]", "", "commands:"]
    for name, (_, _, text) in COMMANDS.items():
        lines.append(f"  {name:<10} {text}")
    lines.append("")
    lines.append("Run `shoal COMMAND --help` for the options of a command.")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help", "help"):
        print(_usage())
        return 0
    if argv[0] in ("-V", "--version", "version"):
        print(f"shoal {__version__}")
        return 0
    name = argv[0]
    if name not in COMMANDS:
        print(f"shoal: unknown command {name!r}\n\n{_usage()}", file=sys.stderr)
        return 2
    module, func, _ = COMMANDS[name]
    entry = getattr(importlib.import_module(module), func)
    return int(entry(argv[1:]) or 0)


if __name__ == "__main__":
    sys.exit(main())
