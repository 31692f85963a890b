"""Jupyter progress widget for ``shoal.distributed.progress`` (needs ipywidgets).

One bar per task group plus a header with the overall count and elapsed
time.  A daemon thread polls the tracker and updates the widgets' values
(ipywidgets syncs them to the browser), so ``progress(...)`` returns at once
and the notebook stays usable while the computation runs.
"""
from __future__ import annotations

import threading
import time
from typing import Any

import ipywidgets as widgets

from shoal.diagnostics.progress import format_time

__all__ = ["ProgressWidget"]


class ProgressWidget:
    def __init__(self, tracker: Any, dt: float = 0.2):
        self.tracker = tracker
        self.dt = dt
        done, total = tracker.snapshot()
        self.header = widgets.HTML()
        self.bars: dict[str, Any] = {}
        self.labels: dict[str, Any] = {}
        rows = []
        for g, n in total.items():
            bar = widgets.IntProgress(value=0, min=0, max=max(n, 1), bar_style="info",
                                      layout=widgets.Layout(width="60%"))
            lab = widgets.HTML(f"{g}: 0 / {n}")
            self.bars[g], self.labels[g] = bar, lab
            rows.append(widgets.HBox([widgets.HTML(f"<code>{g}</code>",
                                                   layout=widgets.Layout(width="20%")), bar, lab]))
        self.box = widgets.VBox([self.header, *rows])
        self.status = "Running"
        self.refresh()

    def refresh(self) -> None:
        done, total = self.tracker.snapshot()
        n_done, n_total = sum(done.values()), sum(total.values())
        elapsed = time.monotonic() - self.tracker.t0
        self.header.value = (f"<b>{self.status}</b>: {n_done} / {n_total} tasks, "
                             f"{format_time(elapsed)}")
        for g, bar in self.bars.items():
            bar.value = done.get(g, 0)
            self.labels[g].value = f"{done.get(g, 0)} / {total[g]}"
            if self.status == "Errored":
                bar.bar_style = "danger"
            elif done.get(g, 0) >= total[g]:
                bar.bar_style = "success"

    def _loop(self) -> None:
        try:
            while True:
                finished = self.tracker.update()
                if finished:
                    self.status = "Errored" if self.tracker.errored else "Completed"
                    break
                self.refresh()
                time.sleep(self.dt)
        finally:
            self.refresh()
            self.tracker.close()

    def start(self) -> threading.Thread:
        t = threading.Thread(target=self._loop, name="shoal-progress-widget", daemon=True)
        t.start()
        return t

    def show(self) -> threading.Thread:
        from IPython.display import display

        display(self.box)
        return self.start()
