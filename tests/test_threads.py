"""Kernels share the cores: passive waiting always, cores // jobs threads each."""

import shutil

from book_kit.notebook import runner


def test_each_of_n_kernels_gets_its_share_of_the_cores(monkeypatch):
    monkeypatch.setattr(runner, "available_cores", lambda: 8)
    assert runner.thread_settings(jobs=1) == {"OMP_WAIT_POLICY": "PASSIVE", "OMP_NUM_THREADS": "8",
                                             "TF_NUM_INTRAOP_THREADS": "8"}
    assert runner.thread_settings(jobs=3)["OMP_NUM_THREADS"] == "2"
    assert runner.thread_settings(jobs=16)["OMP_NUM_THREADS"] == "1"  # never 0


def test_jobs_come_from_the_environment_by_default(monkeypatch):
    monkeypatch.setattr(runner, "available_cores", lambda: 4)
    monkeypatch.setenv(runner.JOBS_VARIABLE, "2")
    assert runner.thread_settings()["OMP_NUM_THREADS"] == "2"
    monkeypatch.delenv(runner.JOBS_VARIABLE)
    assert runner.thread_settings()["OMP_NUM_THREADS"] == "4"


def test_kernel_env_keeps_settings_the_caller_chose_and_can_leave_defaults(monkeypatch):
    monkeypatch.setattr(runner, "available_cores", lambda: 2)
    chosen = runner.kernel_env({"OMP_NUM_THREADS": "1", "PATH": "/usr/bin"}, jobs=1)
    untouched = runner.kernel_env({"PATH": "/usr/bin"}, share_cores=False)
    try:
        assert chosen["OMP_NUM_THREADS"] == "1" and chosen["OMP_WAIT_POLICY"] == "PASSIVE"
        assert "OMP_WAIT_POLICY" not in untouched and "OMP_NUM_THREADS" not in untouched
    finally:
        for env in (chosen, untouched):
            shutil.rmtree(env["IPYTHONDIR"], ignore_errors=True)
