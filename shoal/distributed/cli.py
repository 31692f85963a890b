"""``shoal scheduler`` and ``shoal worker``: start a cluster by hand (or from srun).

    shoal scheduler --port 8786 --scheduler-file ~/sched.json &
    srun shoal worker tcp://$SCHED:8786 --nthreads 4 &        # token: see below
    shoal worker --scheduler-file ~/sched.json --nworkers 2

The scheduler makes a random token and writes it (mode 0600) to
``--token-file`` (default ``~/.shoal/token``) and into ``--scheduler-file``.
Workers and clients read it from ``--scheduler-file``, the ``SHOAL_TOKEN``
environment variable, or the token file, in that order.  Logs are
timestamped on stderr; SIGTERM and SIGINT shut down cleanly.

Addresses: both listen on every interface unless ``--host`` or
``--interface`` says otherwise, and advertise an address other hosts can
reach (the interface of the default route for the scheduler, the one that
leads to the scheduler for a worker) unless ``--contact-address`` is given.
The scheduler prints its address and its dashboard URL (with the token).
"""
from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import tempfile
import signal
import sys
import threading

from shoal.distributed.comm.addressing import listen_host
from shoal.distributed.comm.security import Security, new_token
from shoal.distributed.utils import setup_logging
from shoal.utils import parse_bytes

logger = logging.getLogger("shoal.distributed.cli")

DEFAULT_TOKEN_FILE = "~/.shoal/token"


def _write_private(path: str, text: str) -> None:
    path = os.path.expanduser(path)
    d = os.path.dirname(path)
    if d:
        os.makedirs(d, exist_ok=True)
    # a fresh file only we can read (mkstemp: O_EXCL, mode 0600, never a planted
    # symlink), renamed over the target in one step
    fd, tmp = tempfile.mkstemp(dir=d or ".", prefix=os.path.basename(path) + ".", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def _tls_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--tls-ca-file", default=None)
    p.add_argument("--tls-cert", default=None)
    p.add_argument("--tls-key", default=None)


def _address_args(p: argparse.ArgumentParser, what: str) -> None:
    p.add_argument("--host", default=None,
                   help=f"address the {what} listens on (default: every interface)")
    p.add_argument("--interface", default=None,
                   help="network interface to listen on and advertise, e.g. eth0 or ib0")
    p.add_argument("--contact-address", default=None,
                   help="address to advertise to others (host, host:port or tcp://host:port), "
                        "when it differs from the one listened on (NAT, a DNS name)")


def scheduler_main(argv: list[str] | None = None) -> int:
    """``shoal scheduler``: run a scheduler until SIGINT/SIGTERM; the exit status."""
    p = argparse.ArgumentParser(prog="shoal scheduler", description="Start a shoal scheduler.")
    _address_args(p, "scheduler")
    p.add_argument("--port", type=int, default=8786)
    p.add_argument("--dashboard-address", default=":8787",
                   help="[host]:port of the dashboard (default: the scheduler's interface, port 8787); "
                        "'none' to disable")
    p.add_argument("--scheduler-file", default=None, help="write address and token here (JSON, mode 0600)")
    p.add_argument("--token-file", default=DEFAULT_TOKEN_FILE)
    p.add_argument("--worker-ttl", type=float, default=None, help="seconds of silence before a worker is removed")
    p.add_argument("--log-level", default="INFO")
    _tls_args(p)
    a = p.parse_args(argv)
    setup_logging(a.log_level)
    try:
        host = listen_host(a.host, a.interface)
    except ValueError as e:
        p.error(str(e))
    token = os.environ.get("SHOAL_TOKEN") or new_token()
    sec = Security(a.tls_ca_file, a.tls_cert, a.tls_key, token)
    scheme = "tls" if a.tls_cert else "tcp"
    dash = None if str(a.dashboard_address).lower() in ("none", "") else a.dashboard_address
    return asyncio.run(_run_scheduler(f"{scheme}://{host}:{a.port}", sec, a, dash))


async def _run_scheduler(address: str, sec: Security, a: argparse.Namespace, dash: str | None) -> int:
    from shoal.distributed.scheduler.server import SchedulerServer

    s = SchedulerServer(address, sec, worker_ttl=a.worker_ttl, dashboard_address=dash,
                        contact_address=a.contact_address)
    try:
        await s.start()
    except OSError as e:
        logger.error("cannot listen on %s: %s (is another scheduler running? try --port 0)", address, e)
        return 1
    shown = s.address
    _write_private(a.token_file, sec.token + "\n")
    logger.info("token written to %s (mode 0600)", os.path.expanduser(a.token_file))
    if a.scheduler_file:
        _write_private(a.scheduler_file, json.dumps({"address": shown, "token": sec.token,
                                                     "dashboard": s.dashboard_link}))
        logger.info("scheduler file written to %s", a.scheduler_file)
    logger.info("scheduler listening at %s", shown)
    # the two lines a user needs, on stdout so they survive any log level
    print(f"Scheduler at:  {shown}", flush=True)
    if s.dashboard_link:
        print(f"Dashboard at:  {s.dashboard_link}", flush=True)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, lambda: loop.create_task(s.close()))
    await s.stopped.wait()
    logger.info("scheduler stopped")
    return 0


def worker_main(argv: list[str] | None = None) -> int:
    """``shoal worker``: run worker processes for a scheduler until stopped; the exit status."""
    p = argparse.ArgumentParser(prog="shoal worker", description="Start shoal worker processes.")
    p.add_argument("address", nargs="?", default=None, help="scheduler address, e.g. tcp://host:8786")
    p.add_argument("--scheduler-file", default=None)
    p.add_argument("--nthreads", type=int, default=None)
    p.add_argument("--nworkers", "--nprocs", type=int, default=1)
    p.add_argument("--memory-limit", default="auto")
    p.add_argument("--name", default=None)
    p.add_argument("--local-directory", default=None)
    p.add_argument("--death-timeout", type=float, default=60.0,
                   help="exit if the scheduler cannot be reached for this many seconds")
    _address_args(p, "worker")
    p.add_argument("--dashboard-address", default=None,
                   help="accepted for compatibility: workers serve no pages of their own; each "
                        "worker has a page on the scheduler's dashboard (/info/worker/ADDRESS)")
    p.add_argument("--resources", default=None, help="e.g. 'GPU=2,MEM=10e9'")
    p.add_argument("--token-file", default=DEFAULT_TOKEN_FILE)
    p.add_argument("--log-level", default="INFO")
    _tls_args(p)
    a = p.parse_args(argv)
    setup_logging(a.log_level)
    address, token = a.address, None
    if a.scheduler_file:
        with open(os.path.expanduser(a.scheduler_file)) as f:
            info = json.load(f)
        address = address or info["address"]
        token = info.get("token")
    if address is None:
        p.error("give the scheduler ADDRESS or --scheduler-file F")
    if "://" not in address:
        address = "tcp://" + address
    token = token or os.environ.get("SHOAL_TOKEN")
    tf = os.path.expanduser(a.token_file)
    if token is None and os.path.exists(tf):
        token = Security.from_file(tf).token
    if not token:
        logger.error("no token: use --scheduler-file, set SHOAL_TOKEN, or put it in %s", tf)
        return 2
    sec = Security(a.tls_ca_file, a.tls_cert, a.tls_key, token)
    import psutil

    from shoal.distributed.worker.nanny import Nanny

    cpus = os.cpu_count() or 1
    nthreads = a.nthreads or max(1, cpus // a.nworkers)
    if a.memory_limit == "auto":
        mem = psutil.virtual_memory().total // a.nworkers
    else:
        mem = parse_bytes(a.memory_limit)
    resources = None
    if a.resources:
        resources = {k: float(v) for k, v in (kv.split("=") for kv in a.resources.split(","))}
    try:
        host = listen_host(a.host, a.interface)
    except ValueError as e:
        p.error(str(e))
    if not host and ("127.0.0.1" in address or "localhost" in address):
        host = "127.0.0.1"   # a scheduler on loopback: stay there too
    if a.dashboard_address not in (None, "none", "None"):
        logger.info("--dashboard-address: workers serve no pages of their own; see /info/worker/ADDRESS "
                    "on the scheduler's dashboard")
    nannies = []
    for i in range(a.nworkers):
        name = a.name if a.nworkers == 1 else (f"{a.name}-{i}" if a.name else None)
        nannies.append(Nanny(address, sec, nthreads=nthreads, name=name, memory_limit=mem,
                             local_directory=a.local_directory, host=host, death_timeout=a.death_timeout,
                             resources=resources, contact_address=a.contact_address).start())
    logger.info("started %d worker process(es) for %s", len(nannies), address)
    stop = threading.Event()

    def on_signal(signum, frame):
        logger.info("signal %d: stopping workers", signum)
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    while not stop.is_set() and not all(n.done.is_set() for n in nannies):
        stop.wait(0.2)
    for n in nannies:
        n.close()
    codes = [n.proc.returncode for n in nannies if n.proc is not None]
    logger.info("workers stopped (exit codes %s)", codes)
    return 0 if all(c in (0, None, -15) for c in codes) else 1


if __name__ == "__main__":
    sys.exit(scheduler_main())
