"""The web dashboard, served by the scheduler from its own event loop.

``serve(scheduler_server, address=":8787")`` starts it (the scheduler calls
this when ``dashboard_address`` is not None); see ``server`` for the design
and ``snapshot`` for the data it reads.
"""
from __future__ import annotations

from shoal.distributed.dashboard.server import DEFAULT_PORT, Dashboard, serve

__all__ = ["serve", "Dashboard", "DEFAULT_PORT"]
