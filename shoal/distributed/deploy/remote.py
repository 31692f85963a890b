"""Processes on other hosts that cannot outlive their SSH connection.

Left alone, remote schedulers and workers would keep running when the
client closes or the connection drops, and users would clean up with
``ps | grep``.  Here every remote command runs under a small *guard* that ties its life to
the SSH session:

    local RemoteProcess                       remote host
    ───────────────────                       ───────────
    ssh -T host 'PY -u -c <bootstrap>'  ──►   bootstrap reads ONE line from stdin:
      stdin line 1: guard source (JSON)          the guard's source, and runs it
      stdin line 2: {"argv", "env", "cwd"}  ──►  guard starts argv in a new session
      stdin: "\\n" every `heartbeat` s     ──►  (env carries the token: never argv)
      stdin closed / ssh killed / link lost ──►  EOF or no heartbeat for `timeout`
                                                 -> SIGTERM to the whole process tree,
                                                    SIGKILL after `grace` s, exit

The guard is a child subreaper (``prctl(PR_SET_CHILD_SUBREAPER)``), so
processes that the command starts (nannies, worker processes) stay its
descendants even when their parent dies first, and it kills them all:
nothing is left behind, whichever way the session ends.  It forwards the
command's exit status as its own.  It needs only the standard library, so
any Python 3 on the remote host can run it.
"""
from __future__ import annotations

import json
import os
import shlex
import subprocess
import threading
import time
from typing import Any, Callable, Iterable, Mapping, Sequence

__all__ = ["GUARD_SOURCE", "SSHOptions", "RemoteProcess"]

GUARD_SOURCE = r'''
import ctypes, json, os, signal, subprocess, sys, threading, time
cfg = json.loads(sys.stdin.readline())
try:
    ctypes.CDLL(None).prctl(36, 1, 0, 0, 0)          # PR_SET_CHILD_SUBREAPER
except Exception:
    pass
env = dict(os.environ); env.update(cfg.get("env") or {})
child = subprocess.Popen(cfg["argv"], env=env, cwd=cfg.get("cwd") or None,
                         stdin=subprocess.DEVNULL, start_new_session=True)
timeout = float(cfg.get("timeout") or 0); grace = float(cfg.get("grace") or 5)
last = [time.monotonic()]; why = []

def descendants():
    kids = {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open("/proc/%s/stat" % d) as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            except Exception:
                continue
            kids.setdefault(ppid, []).append(int(d))
    out, todo = [], [os.getpid()]
    while todo:
        for k in kids.get(todo.pop(), []):
            out.append(k); todo.append(k)
    return out

def kill_all(sig):
    try:
        os.killpg(child.pid, sig)         # the command's own process group
    except Exception:
        pass
    for pid in descendants():             # and anything that left it (setsid, double fork)
        try: os.kill(pid, sig)
        except Exception: pass

def stop(reason):
    if why: return
    why.append(reason)
    end = time.monotonic() + grace
    while time.monotonic() < end:        # again each turn: a process may be forking right now
        kill_all(signal.SIGTERM); reap()
        if not descendants(): break
        time.sleep(0.05)
    kill_all(signal.SIGKILL)

def reap():
    # Reap adopted orphans one by one; never the command itself (its Popen does that,
    # and would read a stolen exit status as 0).
    for d in os.listdir("/proc"):
        if not d.isdigit() or int(d) == child.pid:
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                rest = f.read().rsplit(")", 1)[1].split()
        except Exception:
            continue
        if rest[0] == "Z" and int(rest[1]) == os.getpid():
            try: os.waitpid(int(d), os.WNOHANG)
            except Exception: pass

def watch_stdin():
    while True:
        line = sys.stdin.readline()
        if not line:
            stop("ssh session closed"); return
        last[0] = time.monotonic()

def watch_heartbeat():
    while not why:
        time.sleep(min(1.0, timeout / 4))
        if time.monotonic() - last[0] > timeout:
            stop("no heartbeat for %ss" % timeout); return

for s in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
    signal.signal(s, lambda *a: threading.Thread(target=stop, args=("signal",), daemon=True).start())
threading.Thread(target=watch_stdin, daemon=True).start()
if timeout > 0:
    threading.Thread(target=watch_heartbeat, daemon=True).start()
def say(text):
    try:
        sys.stdout.write(text + "\n"); sys.stdout.flush()
    except Exception:                     # the session may already be gone
        pass

rc = 1
try:
    say("shoal-guard: started pid %d" % child.pid)
    rc = child.wait()
finally:                                  # whatever happened above, leave nothing behind
    if not why:
        stop("command exited")
    quiet = 0
    while quiet < 3:                      # nothing left for three scans in a row
        kill_all(signal.SIGKILL); reap()
        quiet = 0 if descendants() else quiet + 1
        time.sleep(0.02)
say("shoal-guard: exit %s (%s)" % (rc, why[0] if why else ""))
os._exit(rc if rc >= 0 else 128 - rc)
'''

# Read one line (the guard's source, JSON-quoted) and run it; stays tiny so
# that it fits any shell quoting.
_BOOTSTRAP = "import sys,json;exec(json.loads(sys.stdin.readline()))"


class SSHOptions:
    """How to reach hosts: turns ``connect_options`` into ``ssh`` arguments.

    Keys: ``port``, ``username``, ``config_file`` (ssh -F), ``identity_file``
    (or ``client_keys``: a path or list of paths), ``known_hosts`` (a file),
    ``options`` (dict or list of ``Key=Value`` passed as ``-o``).  The
    system ``ssh`` client does the work, so ~/.ssh/config, agents and jump
    hosts keep working as the user set them up.
    """

    KNOWN = {"port", "username", "config_file", "identity_file", "client_keys", "known_hosts", "options"}

    def __init__(self, connect_options: Mapping[str, Any] | None = None, ssh: str = "ssh"):
        opts = dict(connect_options or {})
        unknown = set(opts) - self.KNOWN
        if unknown:
            raise TypeError(f"connect_options has unknown keys {sorted(unknown)}; known keys are "
                            f"{sorted(self.KNOWN)}, e.g. connect_options={{'port': 2222, 'username': 'me'}}")
        self.options = opts
        self.ssh = ssh

    def argv(self, host: str) -> list[str]:
        o = self.options
        args = [self.ssh, "-T", "-o", "BatchMode=yes", "-o", "ServerAliveInterval=5",
                "-o", "ServerAliveCountMax=3"]
        if o.get("config_file"):
            args += ["-F", str(o["config_file"])]
        if o.get("port"):
            args += ["-p", str(o["port"])]
        if o.get("username"):
            args += ["-l", str(o["username"])]
        keys = o.get("identity_file") or o.get("client_keys")
        for k in [keys] if isinstance(keys, (str, os.PathLike)) else (keys or []):
            args += ["-i", str(k)]
        if o.get("known_hosts"):
            args += ["-o", f"UserKnownHostsFile={o['known_hosts']}"]
        extra = o.get("options") or {}
        items = extra.items() if isinstance(extra, Mapping) else (e.split("=", 1) for e in extra)
        for k, v in items:
            args += ["-o", f"{k}={v}"]
        return args + [host]


class RemoteProcess:
    """One command on ``host`` under the guard; output lines are collected.

    ``env`` is sent over the SSH channel (not the command line), so it may
    carry secrets such as SHOAL_TOKEN.  ``stop()`` closes the session, which
    makes the guard kill the command's whole process tree; it then waits for
    the ssh client to exit.
    """

    def __init__(self, host: str, argv: Sequence[str], *, ssh: SSHOptions | None = None,
                 python: str = "python3", env: Mapping[str, str] | None = None, cwd: str | None = None,
                 heartbeat: float = 2.0, timeout: float = 30.0, grace: float = 5.0,
                 name: str | None = None, on_line: Callable[[str, str], None] | None = None):
        self.host = host
        self.argv = list(argv)
        self.name = name or f"{host}:{self.argv[0]}"
        self.ssh = ssh or SSHOptions()
        self.python = python
        self.heartbeat = heartbeat
        self.lines: list[str] = []
        self._cond = threading.Condition()
        self._on_line = on_line
        remote = f"exec {shlex.quote(python)} -u -c {shlex.quote(_BOOTSTRAP)}"
        self.proc = subprocess.Popen(self.ssh.argv(host) + [remote], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     start_new_session=True)  # Ctrl-C reaches us, not ssh: we stop it in order
        cfg = {"argv": self.argv, "env": dict(env or {}), "cwd": cwd,
               "timeout": timeout if heartbeat else 0, "grace": grace}
        self._write(json.dumps(GUARD_SOURCE) + "\n" + json.dumps(cfg) + "\n")
        self._reader = threading.Thread(target=self._read, name=f"ssh-out-{host}", daemon=True)
        self._reader.start()
        self._stopped = threading.Event()
        if heartbeat:
            threading.Thread(target=self._beat, name=f"ssh-beat-{host}", daemon=True).start()

    def _write(self, data: str) -> bool:
        try:
            assert self.proc.stdin is not None
            self.proc.stdin.write(data.encode())
            self.proc.stdin.flush()
            return True
        except (BrokenPipeError, OSError, ValueError):
            return False

    def _beat(self) -> None:
        while not self._stopped.wait(self.heartbeat):
            if self.proc.poll() is not None or not self._write("\n"):
                return

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for raw in self.proc.stdout:
            line = raw.decode(errors="replace").rstrip("\n")
            with self._cond:
                self.lines.append(line)
                self._cond.notify_all()
            if self._on_line is not None:
                try:
                    self._on_line(self.name, line)
                except Exception:
                    pass
        with self._cond:
            self._cond.notify_all()

    def wait_for(self, predicate: Callable[[str], Any], timeout: float) -> Any:
        """First truthy ``predicate(line)`` among output lines; TimeoutError/RuntimeError otherwise."""
        end = time.monotonic() + timeout
        seen = 0
        with self._cond:
            while True:
                for line in self.lines[seen:]:
                    r = predicate(line)
                    if r:
                        return r
                seen = len(self.lines)
                if self.proc.poll() is not None and not self._reader.is_alive():
                    raise RuntimeError(f"{self.name} exited with status {self.proc.returncode} before it "
                                       f"was ready; its output:\n" + "\n".join(self.lines[-30:]))
                left = end - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"{self.name} not ready after {timeout}s; its output:\n"
                                       + "\n".join(self.lines[-30:]))
                self._cond.wait(min(left, 0.2))

    @property
    def alive(self) -> bool:
        return self.proc.poll() is None

    def _close_session(self) -> None:
        # end of stdin is the guard's signal to kill the command's process tree
        self._stopped.set()
        try:
            if self.proc.stdin:
                self.proc.stdin.close()
        except OSError:
            pass

    def stop(self, timeout: float = 15.0) -> int | None:
        """Close the session (the guard kills everything), wait for ssh to exit."""
        self._close_session()
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            # ssh itself hangs (dead link): killing it ends the session from our side;
            # the guard's heartbeat timeout cleans up the remote side.
            self.proc.kill()
            return self.proc.wait(5)

    def __repr__(self) -> str:
        return f"<RemoteProcess {self.name} {'running' if self.alive else 'exited'}>"


def stop_all(procs: Iterable[RemoteProcess], timeout: float = 15.0) -> None:
    """Close every session at once, then wait for each (parallel teardown)."""
    procs = list(procs)
    for p in procs:
        p._close_session()
    for p in procs:
        p.stop(timeout)
