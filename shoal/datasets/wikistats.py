"""Synthetic Wikipedia page-count logs in the format the tutorial reads.

Each line is ``date time language page count bytes``, space separated::

    20081022 230000 en Barack_Obama 997 123091092

Files are gzipped and named ``part-00000.gz``, ``part-00001.gz``, ... so the
tutorial's glob ``part-0000*gz`` matches them.  The content is drawn with
numpy from a seeded ``Generator``: languages follow a skewed mix close to
the real logs (English about a third of the lines), titles follow a Zipf-like
popularity over a pool of made-up titles (percent-encoded for languages with
non-Latin scripts, as in the real dumps), and a small share of the lines are
pages about Obama in several languages, so ``find(line)`` has something to
find.  The same seed always gives byte-identical files.

Speed: the random draws are vectorised; lines are formatted by one
``str.join`` over pre-built pieces and written with a fast gzip level.
"""
from __future__ import annotations

import gzip
import os
from typing import List

import numpy as np

__all__ = ["wikistats", "LANGUAGES"]

#: (language code, share of lines); the tail mimics the many small projects.
LANGUAGES = [
    ("en", 0.34), ("de", 0.08), ("ja", 0.07), ("fr", 0.06), ("es", 0.06), ("ru", 0.05),
    ("it", 0.04), ("pl", 0.04), ("pt", 0.035), ("nl", 0.03), ("zh", 0.03), ("sv", 0.02),
    ("commons.m", 0.02), ("en.d", 0.015), ("fr.b", 0.01), ("ar", 0.01), ("tr", 0.01),
    ("ko", 0.01), ("fi", 0.01), ("cs", 0.01), ("he", 0.008), ("no", 0.008), ("hu", 0.008),
    ("uk", 0.008), ("da", 0.006), ("ro", 0.006), ("id", 0.006), ("ca", 0.006), ("fa", 0.005),
    ("vi", 0.005), ("en.q", 0.004), ("de.b", 0.004), ("simple", 0.004), ("eo", 0.003),
]

_NON_LATIN = {"ja", "ru", "zh", "ar", "ko", "he", "uk", "fa"}

_OBAMA_TITLES = [
    "Barack_Obama", "Michelle_Obama", "Barack_Obama,_Sr.", "Presidency_of_Barack_Obama",
    "Obama_(surname)", "Talk:Barack_Obama", "Barack_Obama_presidential_campaign,_2008",
    "Obama_Day", "Malia_Obama", "Special:Search/Obama", "Obamacare", "Obama,_Fukui",
]

_SYLLABLES = [
    "al", "an", "ar", "ba", "be", "bo", "ca", "ce", "co", "da", "de", "di", "el", "en", "er",
    "fa", "fe", "ga", "ge", "ha", "he", "in", "is", "ka", "ke", "la", "le", "li", "lo", "ma",
    "me", "mi", "mo", "na", "ne", "ni", "no", "or", "pa", "pe", "ra", "re", "ri", "ro", "sa",
    "se", "si", "so", "ta", "te", "ti", "to", "un", "va", "ve", "za", "ton", "berg", "son",
    "ville", "ia", "ium", "stan", "land", "ford", "ham",
]

_PREFIXES = ["", "", "", "", "", "", "Talk:", "User:", "File:", "Category:", "Special:Search/",
             "Template:", "Wikipedia:"]


def _make_titles(rng: np.random.Generator, n: int, non_latin: bool) -> List[str]:
    """A pool of ``n`` distinct-looking page titles."""
    syl = np.array(_SYLLABLES)
    nwords = rng.integers(1, 4, size=n)
    nsyl = rng.integers(2, 5, size=(n, 3))
    picks = rng.integers(0, len(syl), size=(n, 3, 4))
    prefix = rng.integers(0, len(_PREFIXES), size=n)
    titles = []
    if non_latin:
        hexbytes = rng.integers(0x80, 0xC0, size=(n, 6))
        leads = rng.integers(0xE3, 0xEA, size=n)
    for i in range(n):
        if non_latin:
            b = hexbytes[i]
            # a percent-encoded 2-character UTF-8 title, as the real dumps carry
            title = (f"%{leads[i]:02X}%{b[0]:02X}%{b[1]:02X}"
                     f"%{leads[i]:02X}%{b[2]:02X}%{b[3]:02X}")
        else:
            words = []
            for w in range(nwords[i]):
                s = "".join(syl[picks[i, w, : nsyl[i, w]]])
                words.append(s.capitalize())
            title = "_".join(words)
        titles.append(_PREFIXES[prefix[i]] + title)
    return titles


def wikistats(path: str, n_files: int = 4, lines_per_file: int = 100_000, seed: int = 0,
              obama_share: float = 0.002, compresslevel: int = 1,
              start: str = "20081022") -> List[str]:
    """Write ``n_files`` gzipped page-count logs under ``path``; return their paths.

    >>> files = shoal.datasets.wikistats("/tmp/wiki", n_files=4, lines_per_file=500_000)
    >>> wiki = db.read_text("/tmp/wiki/part-0000*gz")

    ``obama_share`` is the fraction of lines about an Obama page (in any
    language); the same ``seed`` gives identical files.
    """
    if n_files < 0 or lines_per_file < 0:
        raise ValueError(f"n_files and lines_per_file must be >= 0, got {n_files} and {lines_per_file}")
    os.makedirs(path, exist_ok=True)
    rng = np.random.default_rng(seed)
    codes = [c for c, _ in LANGUAGES]
    weights = np.array([w for _, w in LANGUAGES])
    weights = weights / weights.sum()
    latin_pool = _make_titles(rng, 20_000, non_latin=False)
    other_pool = _make_titles(rng, 5_000, non_latin=True)
    lang_is_latin = np.array([c not in _NON_LATIN for c in codes])
    y, m, d = int(start[:4]), int(start[4:6]), int(start[6:8])
    day0 = np.datetime64(f"{y:04d}-{m:02d}-{d:02d}")
    out = []
    for k in range(n_files):
        n = lines_per_file
        lang = rng.choice(len(codes), size=n, p=weights)
        # Zipf-like popularity: a few titles are very common, most are rare
        zl = np.minimum(rng.zipf(1.3, size=n) - 1, len(latin_pool) - 1)
        zo = np.minimum(rng.zipf(1.3, size=n) - 1, len(other_pool) - 1)
        is_obama = rng.random(n) < obama_share
        obama_pick = rng.integers(0, len(_OBAMA_TITLES), size=n)
        count = np.minimum(rng.zipf(1.8, size=n), 50_000)
        pagesize = rng.integers(2_000, 150_000, size=n)
        nbytes = count * pagesize
        # each file holds one hour of logs, as the dated dumps do
        hour = k % 24
        day = np.datetime_as_string(day0 + k // 24).replace("-", "")
        stamp = f"{day} {hour:02d}0000 "
        lang_s = [codes[i] for i in lang.tolist()]
        latin = lang_is_latin[lang]
        zl_l, zo_l = zl.tolist(), zo.tolist()
        ob_l, obp_l, lat_l = is_obama.tolist(), obama_pick.tolist(), latin.tolist()
        titles = [
            _OBAMA_TITLES[obp_l[i]] if ob_l[i]
            else (latin_pool[zl_l[i]] if lat_l[i] else other_pool[zo_l[i]])
            for i in range(n)
        ]
        cnt_s = count.tolist()
        byt_s = nbytes.tolist()
        text = "".join([
            f"{stamp}{lg} {t} {c} {b}\n" for lg, t, c, b in zip(lang_s, titles, cnt_s, byt_s)
        ])
        fn = os.path.join(path, f"part-{k:05d}.gz")
        with open(fn, "wb") as f:
            # mtime=0 keeps the bytes identical for a seed
            with gzip.GzipFile(fileobj=f, mode="wb", compresslevel=compresslevel, mtime=0,
                               filename="") as g:
                g.write(text.encode("utf-8"))
        out.append(fn)
    return out

