"""Advertised addresses, the scheduler's start-up lines, and rate-limited refusal logs."""
from __future__ import annotations

import asyncio
import json
import logging
import socket
import subprocess
import sys
import urllib.request

import pytest

from shoal.distributed.comm.addressing import (advertised_host, default_route_interface, interface_address,
                                               listen_host, routable_address)
from shoal.distributed.comm.security import Security
from shoal.distributed.comm.tcp import RefusalLog, listen
from tests.conftest import IN_CI, stop_process

PY = sys.executable


def test_default_route_is_read_from_the_routing_table(tmp_path):
    table = tmp_path / "route"
    table.write_text(
        "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n"
        "wlan0\t00000000\t0101A8C0\t0003\t0\t0\t600\t00000000\t0\t0\t0\n"
        "eth1\t0000A8C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n"
        "eth9\t00000000\t0101A8C0\t0002\t0\t0\t1\t00000000\t0\t0\t0\n"      # not up
        "eth0\t00000000\t010200C0\t0003\t0\t0\t100\t00000000\t0\t0\t0\n")
    assert default_route_interface(str(table)) == "eth0"     # the lowest metric among usable routes
    assert default_route_interface(str(tmp_path / "missing")) is None


def test_advertised_host_prefers_what_the_user_said():
    assert advertised_host("10.1.2.3") == "10.1.2.3"
    assert advertised_host("", None, "sched.example.org") == "sched.example.org"
    assert advertised_host("", "lo") == "127.0.0.1"
    assert advertised_host("0.0.0.0") == routable_address()
    assert listen_host(None, "lo") == "127.0.0.1" and listen_host(None, None) == ""
    with pytest.raises(ValueError, match="no IPv4 address on interface 'nope0'; interfaces here: .*lo"):
        interface_address("nope0")


@pytest.fixture
def network():
    """Skip (locally) or fail (CI) on a machine whose only interface is loopback."""
    import psutil

    if not any(a.family == socket.AF_INET and not a.address.startswith("127.")
               for addrs in psutil.net_if_addrs().values() for a in addrs):
        msg = "this machine has no network interface besides loopback"
        if IN_CI:
            pytest.fail(msg + "; CI=true requires one", pytrace=False)
        pytest.skip(msg)


def test_routable_address_is_never_loopback_when_a_network_exists(network):
    assert not routable_address().startswith("127.")


def test_scheduler_prints_a_routable_address_and_its_dashboard_url(network, tmp_path):
    sf = str(tmp_path / "sched.json")
    proc = subprocess.Popen([PY, "-m", "shoal", "scheduler", "--port", "0", "--dashboard-address", ":0",
                             "--scheduler-file", sf, "--token-file", str(tmp_path / "token")],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        first = proc.stdout.readline().strip()
        second = proc.stdout.readline().strip()
        info = json.load(open(sf))
        assert first == f"Scheduler at:  {info['address']}"
        host = info["address"].split("://")[1].rsplit(":", 1)[0]
        assert not host.startswith("127."), info["address"]   # other hosts could not use it
        assert second.startswith(f"Dashboard at:  http://{host}:") and f"token={info['token']}" in second
        url = second.split(None, 2)[2]
        # listening on every interface: reachable on loopback too, token still required
        port = url.split(":")[2].split("/")[0]
        with urllib.request.urlopen(url, timeout=10) as r:
            assert r.status == 200
        with pytest.raises(urllib.error.HTTPError):
            urllib.request.urlopen(f"http://127.0.0.1:{port}/status", timeout=10)
    finally:
        stop_process(proc)


def test_refusal_log_keeps_one_line_per_peer_per_interval(caplog):
    log = RefusalLog("scheduler", interval=10.0)
    with caplog.at_level(logging.WARNING, logger="shoal.distributed.comm"):
        logged = [log.refused(f"10.0.0.5:{40000 + i}", "bad token", now=100.0 + i * 0.01) for i in range(550)]
        assert log.refused("10.0.0.6:1", "bad token", now=101.0)       # another peer: its own line
        assert log.refused("10.0.0.5:2", "bad token", now=111.0)       # next interval: one line with the count
    assert sum(logged) == 1
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 3
    assert "and 549 more refused from 10.0.0.5" in lines[2]


def test_a_flood_of_bad_connections_logs_a_few_lines(caplog):
    async def flood() -> None:
        lst = await listen("tcp://127.0.0.1:0", lambda c: None, Security(token="t"), name="scheduler")
        try:
            for _ in range(120):
                r, w = await asyncio.open_connection("127.0.0.1", lst.port)
                w.write(b"\xff" * 64)          # not a handshake
                await w.drain()
                await r.read()                 # the server closes it
                w.close()
        finally:
            lst.close()

    with caplog.at_level(logging.WARNING, logger="shoal.distributed.comm"):
        asyncio.run(flood())
    refused = [r for r in caplog.records if "refused connection" in r.getMessage()]
    assert 1 <= len(refused) <= 2, [r.getMessage() for r in refused]


def test_local_cluster_interface_and_contact_address():
    from shoal.distributed import Client, LocalCluster

    with LocalCluster(n_workers=1, processes=False, interface="lo", contact_address="localhost",
                      dashboard_address=None) as cluster:
        port = cluster.scheduler.listener.port
        assert cluster.scheduler.listener.host == "127.0.0.1"        # bound to lo's address
        assert cluster.scheduler_address == f"tcp://localhost:{port}"  # handed out as asked
        with Client(cluster, set_as_default=False) as c:
            assert c.submit(sum, [1, 2]).result(10) == 3
    with pytest.raises(ValueError, match="no IPv4 address on interface 'nope0'"):
        LocalCluster(n_workers=0, processes=False, interface="nope0")
