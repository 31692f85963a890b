"""shoal.config: defaults, YAML file, SHOAL_* variables, set as setter and context."""
from __future__ import annotations

import pytest

import shoal
from shoal import config


def test_set_as_context_manager_restores():
    before = config.get("scheduler", None)
    with config.set(scheduler="threads", num_workers=3):
        assert config.get("scheduler") == "threads"
        assert config.get("num_workers") == 3
    assert config.get("scheduler", None) == before


def test_set_globally_then_undo():
    s = config.set(num_workers=5)
    try:
        assert config.get("num_workers") == 5
    finally:
        s.__exit__(None, None, None)
    assert config.get("num_workers", None) is None


def test_nested_keys_and_dashes():
    with config.set({"distributed.worker.memory.target": 0.5}):
        assert config.get("distributed.worker.memory.target") == 0.5
        assert config.get("distributed.worker.memory.spill") == 0.7
    assert config.get("distributed.worker.memory.target") == 0.6
    with config.set({"some-new.key-name": 1}):
        assert config.get("some_new.key_name") == 1
    assert config.get("some-new.key-name", "gone") == "gone"


def test_missing_key_teaches():
    with pytest.raises(KeyError, match="default"):
        config.get("no.such.key")


def test_unknown_scheduler_lists_valid_names():
    with pytest.raises(ValueError, match="'threads'"):
        config.set(scheduler="thread")
    with pytest.raises(ValueError, match="'processes'"):
        shoal.compute(shoal.delayed(abs)(-1), scheduler="bogus")


def test_scheduler_aliases():
    d = shoal.delayed(abs)(-2)
    for name in ("sync", "synchronous", "single-threaded", "threads", "threading",
                 "processes", "multiprocessing"):
        assert shoal.compute(d, scheduler=name) == (2,)


def test_compute_argument_beats_config():
    import threading

    def thread_name(_):
        return threading.current_thread().name

    d = shoal.delayed(thread_name)(0)
    with config.set(scheduler="threads"):
        assert d.compute(scheduler="sync") == threading.current_thread().name


def test_yaml_file_and_environment(tmp_path):
    path = tmp_path / "shoal.yaml"
    path.write_text("scheduler: processes\nnum_workers: 3\ndistributed:\n  comm:\n    timeout: 5\n")
    old_path = config.PATH
    try:
        config.PATH = str(path)
        config.refresh({"SHOAL_NUM_WORKERS": "7", "SHOAL_DISTRIBUTED__DASHBOARD__PORT": "9999"})
        assert config.get("scheduler") == "processes"
        assert config.get("num_workers") == 7  # environment beats the file
        assert config.get("distributed.comm.timeout") == 5
        assert config.get("distributed.dashboard.port") == 9999
    finally:
        config.PATH = old_path
        config.refresh()
    assert config.get("num_workers", None) is None


def test_bad_yaml_file_is_a_clear_error(tmp_path):
    path = tmp_path / "shoal.yaml"
    path.write_text("- just\n- a list\n")
    old_path = config.PATH
    try:
        config.PATH = str(path)
        with pytest.raises(ValueError, match="mapping"):
            config.refresh({})
    finally:
        config.PATH = old_path
        config.refresh()


def test_set_rejects_non_dict():
    with pytest.raises(TypeError, match="keyword"):
        config.set(["scheduler", "threads"])
