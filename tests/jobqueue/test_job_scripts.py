"""Job scripts for SLURM, PBS and SGE, checked by their text; memory and walltime parsing."""
from __future__ import annotations

import shlex
import sys

import pytest

from shoal.jobqueue.job import PBSScript, SGEScript, SLURMScript, make_spec
from shoal.jobqueue.units import format_bytes, parse_interval, parse_memory, parse_walltime


def _spec(**kw):
    args = dict(cores=16, processes=16, memory="24 GB", queue="low", walltime="3:00:00")
    args.update(kw)
    return make_spec("SLURMCluster", **args)


def _worker_args(script: str) -> list[str]:
    last = script.strip().splitlines()[-1]
    assert last.startswith("exec ")
    return shlex.split(last[5:])


def _opt(args, name):
    return args[args.index(name) + 1]


def test_slurm_script_for_the_tutorial_cluster():
    spec = _spec(project="fc_acct", log_directory="/scratch/logs",
                 job_extra_directives=["--exclusive"], job_script_prologue=["module load python/3.11"])
    text = SLURMScript().script(spec, "tcp://10.1.2.3:8786")
    lines = text.splitlines()
    assert lines[0] == "#!/usr/bin/env bash"
    directives = [ln[len("#SBATCH "):] for ln in lines if ln.startswith("#SBATCH ")]
    assert directives == ["-J shoal-worker", "-p low", "-A fc_acct", "-n 1", "--cpus-per-task=16",
                          f"--mem={24 * 10**9 // 2**20}M", "-t 03:00:00",
                          "-o /scratch/logs/%x-%j.out", "-e /scratch/logs/%x-%j.err", "--exclusive"]
    # the prologue runs after the directives and before the workers
    assert lines.index("module load python/3.11") == len(lines) - 2
    args = _worker_args(text)
    assert args[:5] == [sys.executable, "-m", "shoal", "worker", "tcp://10.1.2.3:8786"]
    assert _opt(args, "--nworkers") == "16" and _opt(args, "--nthreads") == "1"
    assert parse_memory(_opt(args, "--memory-limit")) == 24 * 10**9 // 16
    assert _opt(args, "--name") == "shoal-worker-${SLURM_JOB_ID}"   # expanded by the job's shell
    assert float(_opt(args, "--death-timeout")) == 60


def test_threads_and_memory_split_over_processes_and_scheduler_file():
    spec = _spec(cores=8, processes=2, memory="10GiB", queue=None, walltime=None, name="sim",
                 python="/opt/py venv/bin/python", local_directory="/tmp/x y", interface="ib0")
    text = SLURMScript().script(spec, "/shared/sched.json")
    assert "#SBATCH -p" not in text and "#SBATCH -t" not in text and "#SBATCH -A" not in text
    assert "#SBATCH --cpus-per-task=8" in text and "#SBATCH --mem=10240M" in text
    args = _worker_args(text)
    assert args[0] == "/opt/py venv/bin/python"                       # quoted in the script
    assert args[4:6] == ["--scheduler-file", "/shared/sched.json"]
    assert _opt(args, "--nworkers") == "2" and _opt(args, "--nthreads") == "4"
    assert abs(parse_memory(_opt(args, "--memory-limit")) - 5 * 2**30) < 0.01 * 2**30
    assert _opt(args, "--local-directory") == "/tmp/x y"
    assert _opt(_worker_args(text), "--interface") == "ib0"     # the node looks up its own ib0 address
    assert _opt(args, "--name") == "sim-${SLURM_JOB_ID}"


def test_pbs_script():
    spec = _spec(account="proj1", log_directory="/logs")
    text = PBSScript().script(spec, "tcp://h:8786")
    directives = [ln[5:] for ln in text.splitlines() if ln.startswith("#PBS ")]
    assert directives == ["-N shoal-worker", "-q low", "-A proj1",
                          f"-l select=1:ncpus=16:mem={24 * 10**9 // 2**20}mb", "-l walltime=03:00:00",
                          "-o /logs/", "-e /logs/"]
    assert _opt(_worker_args(text), "--name") == "shoal-worker-${PBS_JOBID}"


def test_sge_script():
    spec = _spec(cores=4, processes=2, memory="8 GB", project="proj2")
    text = SGEScript().script(spec, "tcp://h:8786")
    directives = [ln[3:] for ln in text.splitlines() if ln.startswith("#$ ")]
    assert directives == ["-N shoal-worker", "-q low", "-P proj2", "-pe smp 4",
                          f"-l h_vmem={8 * 10**9 // 4 // 2**20}M,h_rt=03:00:00", "-cwd"]
    args = _worker_args(text)
    assert _opt(args, "--name") == "shoal-worker-${JOB_ID}" and _opt(args, "--nthreads") == "2"


@pytest.mark.parametrize("text, expected", [
    ("24 GB", 24 * 10**9), ("24GB", 24 * 10**9), ("1.5GiB", int(1.5 * 2**30)), ("500MB", 500 * 10**6),
    ("100 kB", 100_000), ("2 TiB", 2 * 2**40), ("4G", 4 * 10**9), ("123", 123), (4e9, 4 * 10**9),
])
def test_parse_memory(text, expected):
    assert parse_memory(text) == expected
    assert abs(parse_memory(format_bytes(expected)) - expected) <= expected * 0.01


@pytest.mark.parametrize("bad", ["24 GBs", "lots", "", "GB", "-3GB", "0 GB", "1,5 GB"])
def test_bad_memory_is_a_clear_error(bad):
    with pytest.raises(ValueError, match=r"memory=.*e\.g\. memory='24 GB'"):
        _spec(memory=bad)


@pytest.mark.parametrize("text, seconds", [
    ("3:00:00", 10800), ("30", 1800), ("10:30", 630), ("1-00:00:00", 86400), ("2-12", 2 * 86400 + 12 * 3600),
    (90, 5400),
])
def test_parse_walltime(text, seconds):
    assert parse_walltime(text) == seconds


def test_argument_errors_show_the_fix():
    with pytest.raises(TypeError, match=r"needs memory=.*SLURMCluster\(cores=16, memory='24 GB'\)"):
        make_spec("SLURMCluster", cores=16)
    with pytest.raises(TypeError, match="needs cores="):
        make_spec("SLURMCluster", memory="1GB")
    with pytest.raises(ValueError, match=r"processes=16 is more than cores=4"):
        make_spec("SLURMCluster", cores=4, processes=16, memory="1GB")
    with pytest.raises(ValueError, match="project= is another name for account="):
        make_spec("SLURMCluster", cores=1, memory="1GB", account="a", project="b")
    with pytest.raises(ValueError, match="walltime="):
        make_spec("SLURMCluster", cores=1, memory="1GB", walltime="3 hours")
    assert make_spec("SLURMCluster", cores=1, memory="1GB", project="b").account == "b"


def test_cluster_classes_write_their_system_script():
    from shoal.jobqueue import PBSCluster, SGECluster, SLURMCluster

    kw = dict(cores=4, processes=2, memory="8 GB", queue="low", walltime="1:00:00", project="p1",
              scheduler_address="tcp://10.9.8.7:8786")
    for cls, prefix, jobvar in ((SLURMCluster, "#SBATCH", "SLURM_JOB_ID"), (PBSCluster, "#PBS", "PBS_JOBID"),
                                (SGECluster, "#$", "JOB_ID")):
        cluster = cls(**kw)
        try:
            text = cluster.job_script()
            assert f"{prefix} " in text and "tcp://10.9.8.7:8786" in text
            assert _opt(_worker_args(text), "--name") == f"shoal-worker-${{{jobvar}}}"
            assert cluster.processes == 2 and cluster.threads_per_worker == 2
        finally:
            cluster.close()


def test_token_stays_out_of_the_script_and_worker_names_map_to_jobs():
    from shoal.jobqueue import SLURMCluster

    cluster = SLURMCluster(cores=2, processes=2, memory="1GB", name="sim")
    try:
        assert cluster.security.token and cluster.security.token not in cluster.job_script()
        assert cluster.scheduler_address in cluster.job_script()       # the in-process scheduler
        cluster.workers.update({"41": "41", "4": "4"})                 # as if two jobs were queued
        assert cluster.job_of_worker("sim-41-1") == "41"
        assert cluster.job_of_worker("sim-4-0") == "4" and cluster.job_of_worker("sim-4") == "4"
        assert cluster.job_of_worker("sim-5-0") is None and cluster.job_of_worker("other-41-0") is None
        cluster.workers.clear()
    finally:
        cluster.close()


def test_parse_interval():
    assert parse_interval(1.5) == 1.5 and parse_interval("500ms") == 0.5 and parse_interval("2s") == 2.0
    assert parse_interval("1m") == 60.0 and parse_interval("3") == 3.0
    with pytest.raises(ValueError, match=r"interval='soon' is not a time interval"):
        parse_interval("soon")
    with pytest.raises(ValueError, match="more than zero"):
        parse_interval(0)
