"""Entry point of one worker process (started by a nanny).

    python -m shoal.distributed.worker.main --scheduler tcp://h:p [--nthreads N] ...

The token comes from the ``SHOAL_TOKEN`` environment variable (never argv,
which other users can read with ``ps``).  Exit codes: 0 when told to close,
75 to ask the nanny for a restart, 1 when the scheduler vanished.
``--lifeline-fd`` is a pipe from the nanny: when it reads EOF the parent
process is dead, and the worker exits within half a second.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import sys
from typing import Callable

from shoal.distributed.comm.security import Security
from shoal.distributed.utils import setup_logging
from shoal.distributed.worker import server


def main(argv: list[str] | None = None) -> int:
    """One worker process (started by a nanny or the CLI): serve until told to stop; the exit status."""
    p = argparse.ArgumentParser(prog="shoal-worker-process")
    p.add_argument("--scheduler", required=True)
    p.add_argument("--nthreads", type=int, default=1)
    p.add_argument("--name", default=None)
    p.add_argument("--memory-limit", type=int, default=0)
    p.add_argument("--local-directory", default=None)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--contact-address", default=None)
    p.add_argument("--death-timeout", type=float, default=None)
    p.add_argument("--resources", default=None, help="JSON dict, e.g. '{\"GPU\": 1}'")
    p.add_argument("--tls-ca-file", default=None)
    p.add_argument("--tls-cert", default=None)
    p.add_argument("--tls-key", default=None)
    p.add_argument("--log-level", default="WARNING")
    p.add_argument("--lifeline-fd", type=int, default=None,
                   help="read end of a pipe held open by the parent: EOF means the parent died")
    a = p.parse_args(argv)
    setup_logging(a.log_level)
    sec = Security.from_env() or Security()
    if a.tls_cert:
        sec = Security(a.tls_ca_file, a.tls_cert, a.tls_key, sec.token)
    prof = os.environ.get("SHOAL_WORKER_PROFILE")  # developer aid: yappi stats per worker
    if prof:
        import yappi

        yappi.set_clock_type(os.environ.get("SHOAL_WORKER_PROFILE_CLOCK", "cpu"))
        yappi.start()
    try:
        return asyncio.run(_amain(a, sec))
    finally:
        if prof:
            yappi.stop()
            yappi.get_func_stats().save(f"{prof}.{os.getpid()}", type="pstat")


async def _amain(a: argparse.Namespace, sec: Security) -> int:
    loop = asyncio.get_running_loop()
    w = server.WorkerServer(
        a.scheduler, sec, nthreads=a.nthreads, name=a.name, memory_limit=a.memory_limit,
        local_directory=a.local_directory, host=a.host, death_timeout=a.death_timeout,
        resources=json.loads(a.resources) if a.resources else None, contact_address=a.contact_address,
    )
    server._reseed_numpy()
    starting = loop.create_task(w.start())

    def stop() -> None:
        if not starting.done():
            starting.cancel()  # still connecting: stop trying, now
        loop.create_task(w.close(0))

    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop)
    if a.lifeline_fd is not None:
        _watch_lifeline(loop, a.lifeline_fd, stop)
    try:
        await starting
    except asyncio.CancelledError:
        await w.close(0)
        return 0
    except Exception as e:
        print(f"shoal worker: could not start: {e}", file=sys.stderr)
        return server.SCHEDULER_GONE_EXIT_CODE
    await w.finished.wait()
    await asyncio.sleep(0.05)
    return w.exit_code


def _watch_lifeline(loop: asyncio.AbstractEventLoop, fd: int, stop: "Callable[[], None]") -> None:
    """Exit as soon as the parent process is gone (its end of the pipe closed)."""
    import threading

    def readable() -> None:
        try:
            data = os.read(fd, 64)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if data:
            return
        loop.remove_reader(fd)
        print("shoal worker: the process that started this worker is gone: exiting", file=sys.stderr)
        stop()
        # a task thread may hold the GIL or never return: do not outlive the parent by more than this
        t = threading.Timer(0.5, os._exit, (0,))
        t.daemon = True
        t.start()

    os.set_blocking(fd, False)
    loop.add_reader(fd, readable)


if __name__ == "__main__":
    sys.exit(main())
