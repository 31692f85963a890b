"""The tutorial's bag sections (4.3 and 6.3) on generated wikistats files.

Every count is checked against plain Python over the same files.
"""
from __future__ import annotations

import re

import pytest

import shoal
import shoal.bag as db
from shoal.base import collections_to_graph
from shoal.bag.io import read_lines
from shoal.bag.pipeline import run_pipeline, run_shared


def find(line, regex = "Obama", language = "en"):
    vals = line.split(' ')
    if len(vals) < 6:
        return(False)
    tmp = re.search(regex, vals[3])
    if tmp is None or (language != None and vals[2] != language):
        return(False)
    else:
        return(True)


@pytest.mark.parametrize("sched", ["sync", "threads", "processes"])
def test_section_4_3_count_and_filter(wiki_dir, wiki_lines, sched):
    wiki = db.read_text(str(wiki_dir / "part-0000*gz"))
    assert wiki.npartitions == 4
    assert wiki.count().compute(scheduler=sched) == len(wiki_lines)
    expected = [ln for ln in wiki_lines if find(ln)]
    assert expected, "the generated data should contain English Obama pages"
    assert wiki.filter(find).count().compute(scheduler=sched) == len(expected)
    obama = wiki.filter(find).compute(scheduler=sched)
    assert obama == expected
    assert obama[0:5] == expected[0:5]


def test_default_scheduler_is_processes(wiki_dir, wiki_lines):
    assert db.Bag.__shoal_scheduler__ == "processes"
    wiki = db.read_text(str(wiki_dir / "part-0000*gz"))
    with shoal.config.set(scheduler=None):
        assert wiki.count().compute() == len(wiki_lines)


@pytest.mark.parametrize("sched", ["sync", "processes"])
def test_section_6_3_one_pass(wiki_dir, wiki_lines, sched):
    wiki = db.read_text(str(wiki_dir / "part-0000*gz"))
    total_cnt = wiki.count()
    obama = wiki.filter(find)
    obama_cnt = obama.count()
    (obama, obama_cnt, total_cnt) = db.compute(obama, obama_cnt, total_cnt, scheduler=sched)
    expected = [ln for ln in wiki_lines if find(ln)]
    assert total_cnt == len(wiki_lines)
    assert obama_cnt == len(expected)
    assert obama == expected


def _reads(graph):
    """How many times each file is read by the tasks of ``graph``."""
    counts: dict = {}
    for node in graph.values():
        if isinstance(node, shoal.core.task.Task) and node.func in (run_pipeline, run_shared):
            src_func, src_args = (node.args[2], node.args[3]) if node.func is run_pipeline else (
                node.args[1], node.args[2])
            if src_func is read_lines:
                counts[src_args[1]] = counts.get(src_args[1], 0) + 1
    return counts


def test_one_pass_reads_each_file_once(wiki_dir):
    wiki = db.read_text(str(wiki_dir / "part-0000*gz"))
    obama = wiki.filter(find)
    graph, _, _ = collections_to_graph([obama, obama.count(), wiki.count()])
    reads = _reads(graph)
    assert len(reads) == 4 and set(reads.values()) == {1}
    # without the bag optimisation every output reads on its own
    graph, _, _ = collections_to_graph([obama, obama.count(), wiki.count()], optimize_graph=False)
    assert set(_reads(graph).values()) == {3}


def test_filter_count_is_one_task_per_file(wiki_dir):
    wiki = db.read_text(str(wiki_dir / "part-0000*gz"))
    graph, _, keys = collections_to_graph([wiki.filter(find).count()], optimize_graph=False)
    pipelines = [n for n in graph.values() if getattr(n, "func", None) is run_pipeline]
    # read -> filter -> count: one task per file, plus the final sum
    assert len(graph) == 5 and len(pipelines) == 4
    assert _reads(graph) == {p: 1 for p in _reads(graph)}


def test_distributed_client(wiki_dir, wiki_lines, distributed_client):
    wiki = db.read_text(str(wiki_dir / "part-0000*gz"))
    obama = wiki.filter(find)
    expected = [ln for ln in wiki_lines if find(ln)]
    assert wiki.filter(find).count().compute(scheduler=distributed_client) == len(expected)
    o, oc, tc = db.compute(obama, obama.count(), wiki.count(), scheduler=distributed_client)
    assert (o, oc, tc) == (expected, len(expected), len(wiki_lines))
