"""Ways to start a scheduler and workers: LocalCluster and the generic Cluster base."""
from shoal.distributed.deploy.cluster import Cluster

__all__ = ["Cluster", "LocalCluster"]


def __getattr__(name):
    if name == "LocalCluster":
        from shoal.distributed.deploy.local import LocalCluster

        return LocalCluster
    raise AttributeError(name)
