"""Fixtures for the bag tests: small wikistats files made once per session."""
from __future__ import annotations

import gzip

import pytest

from shoal.datasets import wikistats


@pytest.fixture(scope="session")
def wiki_dir(tmp_path_factory):
    """4 gzipped files x 3,000 lines in the tutorial's format."""
    d = tmp_path_factory.mktemp("wikistats")
    wikistats(str(d), n_files=4, lines_per_file=3000, seed=7, obama_share=0.02)
    return d


@pytest.fixture(scope="session")
def wiki_lines(wiki_dir):
    """Every line of ``wiki_dir``'s files, read by plain Python, in file order."""
    out = []
    for p in sorted(wiki_dir.glob("part-*.gz")):
        with gzip.open(p, "rt", encoding="utf-8") as f:
            out.extend(f.readlines())
    return out
