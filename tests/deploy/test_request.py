"""One-shot scheduler requests: the Cluster base asks without opening a Client."""
from __future__ import annotations

import pytest

from shoal.distributed import LocalCluster, Security
from shoal.distributed.deploy.cluster import Cluster
from shoal.distributed.deploy.request import request_sync


def test_base_scheduler_info_is_one_request_and_registers_no_client():
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None) as cluster:
        before = len(cluster.scheduler.state.clients)
        info = Cluster.scheduler_info(cluster)   # the generic path every deployment uses
        assert list(info["workers"]) == list(cluster.scheduler.state.workers)
        # asked while connected: no client counted then (a Client would be)
        assert info["clients"] == cluster.scheduler.snapshot()["clients"]
        assert len(cluster.scheduler.state.clients) == before
        # the connection is closed at once: the scheduler keeps no comm for it
        assert not cluster.scheduler.client_comms


def test_wrong_token_is_refused_clearly():
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None) as cluster:
        with pytest.raises(PermissionError):
            request_sync(cluster.scheduler_address, Security(token="not-the-token"), {"op": "snapshot"}, 5)


def test_nobody_listening_says_where():
    with pytest.raises(OSError, match="127.0.0.1:9"):
        request_sync("tcp://127.0.0.1:9", Security(token="x"), {"op": "snapshot"}, 0.5)
