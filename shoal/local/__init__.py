"""Local schedulers: sync, threads and processes over one shared engine."""
