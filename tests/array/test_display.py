"""The notebook view of an Array: parsed as HTML, not compared as text."""
from html.parser import HTMLParser

import numpy as np

import shoal.array as da


class _Cells(HTMLParser):
    def __init__(self):
        super().__init__()
        self.rows, self.lines, self.svgs, self._row, self._in_cell = [], 0, 0, None, False

    def handle_starttag(self, tag, attrs):
        if tag == "tr":
            self._row = []
        elif tag in ("td", "th") and self._row is not None:
            self._row.append("")
            self._in_cell = True
        elif tag == "line":
            self.lines += 1
        elif tag == "svg":
            self.svgs += 1

    def handle_endtag(self, tag):
        if tag in ("td", "th"):
            self._in_cell = False
        elif tag == "tr" and self._row is not None:
            self.rows.append(self._row)
            self._row = None

    def handle_data(self, data):
        if self._in_cell and self._row:
            self._row[-1] += data


def parse(x):
    p = _Cells()
    p.feed(x._repr_html_())
    table = {r[0]: r[1:] for r in p.rows if r and r[0]}
    return table, p


def test_html_shows_shape_chunks_bytes_and_block_grid():
    x = da.ones((10, 20), chunks=(3, 7))
    table, p = parse(x)
    assert table["Shape"] == ["(10, 20)", "(3, 7)"]
    assert table["Bytes"] == ["1.56 kiB", "168 B"]
    assert table["Blocks"][0].startswith("12 blocks (4 x 3)")
    assert table["Data type"][0].startswith("float64")
    assert p.svgs == 1 and p.lines == 4 + 3       # one line per row block and per column block


def test_html_for_unknown_chunks_and_0d():
    x = da.from_array(np.arange(10), chunks=5)
    table, p = parse(x[x > 3])
    assert table["Bytes"][0] == "unknown"
    assert p.svgs == 0                           # no picture of blocks whose lengths are unknown
    table, p = parse(da.ones((), chunks=()).sum())
    assert table["Shape"][0] == "()"
