"""The wikistats generator: format, determinism, glob compatibility."""
from __future__ import annotations

import gzip
import glob
import hashlib
from collections import Counter

import shoal.datasets
from shoal.datasets.wikistats import LANGUAGES


def _digest(paths):
    return [hashlib.sha256(open(p, "rb").read()).hexdigest() for p in paths]


def test_format_and_content(tmp_path):
    paths = shoal.datasets.wikistats(str(tmp_path), n_files=3, lines_per_file=4000, seed=1)
    assert [p.rsplit("/", 1)[1] for p in paths] == ["part-00000.gz", "part-00001.gz", "part-00002.gz"]
    # the tutorial's glob finds them
    assert sorted(glob.glob(str(tmp_path / "part-0000*gz"))) == paths
    langs = Counter()
    obama = 0
    for p in paths:
        with gzip.open(p, "rt", encoding="utf-8") as f:
            lines = f.read().splitlines()
        assert len(lines) == 4000
        for ln in lines:
            date, time, lang, page, count, nbytes = ln.split(" ")
            assert len(date) == 8 and date.isdigit() and len(time) == 6 and time.isdigit()
            assert page and int(count) >= 1 and int(nbytes) >= int(count)
            langs[lang] += 1
            obama += "Obama" in page and lang == "en"
    codes = {c for c, _ in LANGUAGES}
    assert set(langs) <= codes and len(langs) > 15
    # English is the largest language, a third of the lines or so
    assert langs.most_common(1)[0][0] == "en" and 0.25 < langs["en"] / 12000 < 0.45
    assert obama > 0


def test_deterministic_for_a_seed(tmp_path):
    a = shoal.datasets.wikistats(str(tmp_path / "a"), n_files=2, lines_per_file=1000, seed=5)
    b = shoal.datasets.wikistats(str(tmp_path / "b"), n_files=2, lines_per_file=1000, seed=5)
    c = shoal.datasets.wikistats(str(tmp_path / "c"), n_files=2, lines_per_file=1000, seed=6)
    assert _digest(a) == _digest(b)
    assert _digest(a) != _digest(c)
