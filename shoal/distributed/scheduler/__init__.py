"""Scheduler side: the pure state machine and its IO server."""
