"""``shoal ssh``: a scheduler and workers on other hosts, stopped together.

    shoal ssh --scheduler $SCHED host1 host1 host2 host2
    shoal ssh --scheduler $SCHED --hostfile .hosts          # `srun hostname > .hosts` works

One worker per host entry (a repeated host gets more), ``--nworkers``
processes each.  The command stays in the foreground; it stops every remote
process it started when it gets Ctrl-C or SIGTERM, when the last client
disconnects (``--keep-alive`` turns that off), or when the scheduler dies.
If this command is killed outright (SIGKILL), the remote guards notice the
missing heartbeats and stop everything after ``--heartbeat-timeout`` s.

Clients on this machine connect with ``Client("tcp://$SCHED:8786")``: the
token is the user's default token (``~/.shoal/token``, or SHOAL_TOKEN), or
use ``--scheduler-file F`` and ``Client(scheduler_file=F)``.
"""
from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
from typing import Sequence


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="shoal ssh", description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("hosts", nargs="*", help="worker hosts, one worker per entry")
    p.add_argument("--scheduler", required=True, help="host that runs the scheduler")
    p.add_argument("--hostfile", help="file of worker hosts (whitespace separated, # comments)")
    p.add_argument("--nthreads", type=int, default=None, help="threads per worker process")
    p.add_argument("--nworkers", "--nprocs", type=int, default=1, help="worker processes per host entry")
    p.add_argument("--memory-limit", default=None, help="per worker process, e.g. '4 GB'")
    p.add_argument("--local-directory", default=None)
    p.add_argument("--remote-python", default=sys.executable,
                   help="python on the remote hosts, with shoal installed (default: this one's path)")
    p.add_argument("--scheduler-port", type=int, default=8786)
    p.add_argument("--dashboard-address", default=":8787", help="'none' to disable")
    p.add_argument("--scheduler-file", default=None, help="write address and token here (mode 0600)")
    p.add_argument("--ssh-port", type=int, default=None)
    p.add_argument("--ssh-username", default=None)
    p.add_argument("--ssh-identity", default=None, help="private key file (ssh -i)")
    p.add_argument("--ssh-config", default=None, help="ssh client config file (ssh -F)")
    p.add_argument("--ssh-option", action="append", default=[], metavar="KEY=VALUE",
                   help="passed as ssh -o KEY=VALUE (repeatable)")
    p.add_argument("--keep-alive", action="store_true",
                   help="keep running after the last client disconnects")
    p.add_argument("--heartbeat-timeout", type=float, default=30.0,
                   help="remote processes stop after this long without word from this command")
    p.add_argument("--log-level", default="INFO")
    return p


def read_hostfile(path: str) -> list[str]:
    """Host names in a file, separated by white space; ``#`` starts a comment."""
    hosts: list[str] = []
    with open(path) as f:
        for line in f:
            hosts += line.split("#", 1)[0].split()
    return hosts


def main(argv: Sequence[str] | None = None) -> int:
    """``shoal ssh``: a scheduler and workers on the given hosts over SSH, kept until the cluster ends or is interrupted."""
    p = _parser()
    a = p.parse_args(list(sys.argv[1:] if argv is None else argv))
    hosts = list(a.hosts)
    if a.hostfile:
        if hosts:
            p.error("give worker hosts either on the command line or with --hostfile, not both")
        hosts = read_hostfile(a.hostfile)
    if not hosts:
        p.error("no worker hosts: list them (shoal ssh --scheduler S h1 h1 h2) or use --hostfile FILE")
    for opt in a.ssh_option:
        if "=" not in opt:
            p.error(f"--ssh-option {opt!r} must look like KEY=VALUE, e.g. --ssh-option StrictHostKeyChecking=yes")

    from shoal.distributed.deploy.ssh import SSHCluster
    from shoal.distributed.utils import setup_logging

    setup_logging(a.log_level)
    connect = {"port": a.ssh_port, "username": a.ssh_username, "identity_file": a.ssh_identity,
               "config_file": a.ssh_config, "options": dict(o.split("=", 1) for o in a.ssh_option)}
    connect = {k: v for k, v in connect.items() if v}
    worker = {"nthreads": a.nthreads, "nworkers": a.nworkers, "memory_limit": a.memory_limit,
              "local_directory": a.local_directory}
    worker = {k: v for k, v in worker.items() if v is not None}
    sched = {"port": a.scheduler_port, "dashboard_address": a.dashboard_address}

    def show(name: str, line: str) -> None:
        print(f"[{name}] {line}", file=sys.stderr, flush=True)

    def interrupt(signum, frame):
        raise KeyboardInterrupt

    # While starting, a signal interrupts the start-up (SSHCluster stops what it began).
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, interrupt)
    try:
        cluster = SSHCluster([a.scheduler, *hosts], connect_options=connect, worker_options=worker,
                             scheduler_options=sched, remote_python=a.remote_python,
                             close_when_clients_leave=not a.keep_alive,
                             heartbeat_timeout=a.heartbeat_timeout, on_output=show)
    except KeyboardInterrupt:
        print("shoal ssh: interrupted while starting; every remote process stopped", file=sys.stderr)
        return 130
    except Exception as e:
        print(f"shoal ssh: could not start the cluster: {e}", file=sys.stderr)
        return 1
    # Once running, a signal asks the main loop below to stop everything in order.
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, lambda signum, frame: stop.set())
    try:
        if a.scheduler_file:
            path = os.path.expanduser(a.scheduler_file)
            fd = os.open(path + ".tmp", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as f:
                json.dump({"address": cluster.scheduler_address, "token": cluster.security.token}, f)
            os.replace(path + ".tmp", path)
        n = len(hosts) * a.nworkers
        print(f"shoal ssh: scheduler at {cluster.scheduler_address}, {n} worker process(es) on "
              f"{len(set(hosts))} host(s); Ctrl-C stops them all", file=sys.stderr, flush=True)
        while not stop.wait(0.2):
            if cluster.closed:
                print("shoal ssh: cluster stopped (clients left or scheduler gone)", file=sys.stderr)
                break
    finally:
        cluster.close()
        if a.scheduler_file:
            try:
                os.unlink(os.path.expanduser(a.scheduler_file))
            except OSError:
                pass
    print("shoal ssh: every remote process stopped", file=sys.stderr, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
