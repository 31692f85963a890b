"""The pure parts of the p2p shuffle: which run is live (scheduler) and one worker's shard files."""
from __future__ import annotations

import pytest

from shoal.distributed.shuffle.runs import ShuffleRuns
from shoal.distributed.shuffle.storage import Incomplete, RunStore

KEYS = {"transfer": "s-transfer", "barrier": "s-barrier", "output": "s"}


def test_runs_start_complete_drop_and_restart():
    runs = ShuffleRuns()
    r1, new = runs.get("s", 3, 4, KEYS, ["tcp://b:1", "tcp://a:1"])
    assert new and r1.workers == ("tcp://a:1", "tcp://b:1")
    assert [r1.owner(j) for j in range(4)] == ["tcp://a:1", "tcp://b:1"] * 2
    assert r1.transfer_key(2) == ("s-transfer", 2) and r1.output_key(1) == ("s", 1)
    assert runs.get("s", 3, 4, KEYS, ["tcp://c:1"]) == (r1, False)  # live: the same run
    with pytest.raises(ValueError, match="3 inputs and 4 outputs"):
        runs.get("s", 5, 4, KEYS, ["tcp://a:1"])
    for i in range(3):
        assert runs.mark_done("s", r1.id, i)
    assert r1.complete
    with pytest.raises(ValueError, match="input 7"):
        runs.mark_done("s", r1.id, 7)
    # a worker of the run leaves: dropped (noted as complete before), a new run over who is left
    assert runs.worker_removed("tcp://c:1") == []
    assert runs.worker_removed("tcp://b:1") == [r1] and r1.dropped and r1.complete_before_drop
    assert not r1.complete
    assert not runs.mark_done("s", r1.id, 0)  # a late report to the dropped run is refused
    r2, new = runs.get("s", 3, 4, KEYS, ["tcp://a:1"])
    assert new and r2.id != r1.id and r2.workers == ("tcp://a:1",) and r2.done == set()
    assert runs.drop("s", r1.id) is None  # only the live run, when named, is dropped
    assert runs.drop("s", r2.id) is r2
    with pytest.raises(RuntimeError, match="no workers"):
        runs.get("s", 3, 4, KEYS, [])


def test_store_replaces_resent_messages_and_reads_in_input_order(tmp_path):
    st = RunStore(str(tmp_path / "run"))
    st.write(1, 0, [(0, b"1a"), (2, b"1c")], b"META", None)
    st.write(0, 0, [(2, b"0c")], b"META", 1)
    with pytest.raises(Incomplete, match=r"inputs \[1\]"):
        st.read(2, 2)  # input 1 has not sent its last message
    st.write(1, 1, [(2, b"1c2")], None, 2)
    assert st.read(2, 2) == [b"0c", b"1c", b"1c2"]
    st.write(1, 0, [(0, b"1a"), (2, b"1c")], None, None)  # sent again: replaced, not added
    assert st.read(2, 2) == [b"0c", b"1c", b"1c2"]
    assert st.read(1, 2) == [] and st.meta == b"META"
    (tmp_path / "run" / "in-0-0").write_bytes(b"garbage!" * 4)
    with pytest.raises(ValueError, match="damaged"):
        st.read(2, 2)
    st.remove()
    with pytest.raises(Incomplete, match="gone"):
        st.read(2, 2)
