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
        config.refresh(env={"SHOAL_NUM_WORKERS": "7", "SHOAL_DISTRIBUTED__DASHBOARD__PORT": "9999"})
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
            config.refresh(env={})
    finally:
        config.PATH = old_path
        config.refresh()


def test_set_rejects_non_dict():
    with pytest.raises(TypeError, match="keyword"):
        config.set(["scheduler", "threads"])


def test_update_priorities_and_merge():
    old = {"x": 1, "y": {"a": 1}, "keep": [1]}
    config.update(old, {"x": 2, "y": {"b": 2}, "keep": {"now": "dict"}})
    assert old == {"x": 2, "y": {"a": 1, "b": 2}, "keep": {"now": "dict"}}
    old = {"x": 1, "y": {"a": 1}}
    config.update(old, {"x": 2, "y": {"a": 5, "c": 3}}, priority="old")
    assert old == {"x": 1, "y": {"a": 1, "c": 3}}
    assert config.merge({"a": None, "c": 0}, {"a": {"b": 1}}) == {"a": {"b": 1}, "c": 0}


def test_update_defaults_keeps_what_the_user_changed():
    defs = [{"lib": {"size": 1, "mode": "a"}}]
    cfg = {"lib": {"size": 1, "mode": "user"}}
    config.update_defaults({"lib": {"size": 2, "mode": "b", "new": True}}, config=cfg, defaults=defs)
    assert cfg == {"lib": {"size": 2, "mode": "user", "new": True}}
    assert len(defs) == 2


def test_get_set_pop_on_another_dict_with_either_spelling():
    d = {"x-y": {"a_b": 1}}
    assert config.get("x_y.a-b", config=d) == 1
    with config.set({"x_y.a-b": 2, "new_key": 3}, config=d):
        assert d == {"x-y": {"a_b": 2}, "new_key": 3}
    assert d == {"x-y": {"a_b": 1}}
    assert config.pop("x_y.a-b", config=d) == 1
    assert config.pop("x_y.a-b", "gone", config=d) == "gone"
    with pytest.raises(KeyError):
        config.pop("nothing", config=d)
    assert config.get("distributed.worker.memory.target", override_with=0.1) == 0.1


def test_nested_set_restores_inner_values_only():
    with config.set({"outer": {"x": 1}}):
        with config.set({"outer.y": 2}):
            assert config.get("outer") == {"x": 1, "y": 2}
        assert config.get("outer") == {"x": 1}
    assert config.get("outer", None) is None


def test_expand_environment_variables(monkeypatch):
    monkeypatch.setenv("SHOAL_TEST_DIR", "/data")
    data = {"a": "$SHOAL_TEST_DIR/x", "b": ["${SHOAL_TEST_DIR}", 1], "c": ("$SHOAL_TEST_DIR",)}
    assert config.expand_environment_variables(data) == {"a": "/data/x", "b": ["/data", 1], "c": ("/data",)}


def test_collect_reads_folders_and_environment(tmp_path):
    (tmp_path / "a.yaml").write_text("lib:\n  size: 1\n  name: first\n")
    (tmp_path / "b.yml").write_text("lib:\n  size: 2\n")
    (tmp_path / "ignored.txt").write_text("lib: nope\n")
    got = config.collect(paths=[str(tmp_path)], env={"SHOAL_LIB__NAME": "env", "OTHER": "1",
                                                    "SHOAL_LIB__FLAGS": "[1, 2]"})
    assert got == {"lib": {"size": 2, "name": "env", "flags": [1, 2]}}


def test_files_keys_serialization_and_inheritance(tmp_path):
    (tmp_path / "a.yaml").write_text("lib:\n  size: 1\n")
    (tmp_path / "b.yaml").write_text("other: 2\n")
    assert config.paths_containing_key("lib.size", paths=[str(tmp_path)]) == [str(tmp_path / "a.yaml")]
    pairs = config.collect_yaml(paths=[str(tmp_path)], return_paths=True)
    assert pairs == [(str(tmp_path / "a.yaml"), {"lib": {"size": 1}}), (str(tmp_path / "b.yaml"), {"other": 2})]
    (tmp_path / "bad.yaml").write_text("[1, 2]\n")
    with pytest.raises(ValueError, match="bad.yaml is malformed"):
        config.collect_yaml(paths=[str(tmp_path)])

    text = config.serialize({"lib": {"size": 5}})
    assert config.deserialize(text) == {"lib": {"size": 5}}
    env = {"SHOAL_INTERNAL_INHERIT_CONFIG": text, "SHOAL_LIB__NAME": "null", "SHOAL_FLAG": "TRUE"}
    assert config.collect_env(env) == {"lib": {"size": 5, "name": None}, "flag": True}


def test_ensure_file_copies_once_and_comments(tmp_path):
    src = tmp_path / "lib.yaml"
    src.write_text("lib:\n  size: 1\n")
    dest = tmp_path / "conf"
    config.ensure_file(src, dest, comment=False)
    assert (dest / "lib.yaml").read_text() == "lib:\n  size: 1\n"
    src.write_text("lib:\n  size: 2\n")
    config.ensure_file(src, dest, comment=False)  # never overwrites
    assert "size: 1" in (dest / "lib.yaml").read_text()
    config.ensure_file(src, tmp_path / "commented", comment=True)
    assert (tmp_path / "commented" / "lib.yaml").read_text() == "# lib:\n#   size: 2\n"
