"""Seeing the work: task-graph pictures, progress bars and profilers."""
from __future__ import annotations

from shoal.diagnostics.graphviz import draw, to_graphviz

__all__ = ["draw", "to_graphviz"]
