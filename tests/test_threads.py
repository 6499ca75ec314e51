"""The kernels' thread count (specfwi.solver.threads, sf.config.threads): the choice from the free cores,
the user's count kept exactly, and results that do not depend on it."""

from __future__ import annotations

import numba
import numpy as np
import pytest

import specfwi as sf
from specfwi.errors import SpecfwiError
from specfwi.solver import setup as solver_setup
from specfwi.solver import threads as solver_threads
from specfwi.solver.kernel_modules import kernels_for_order
from specfwi.solver.threads import CoreLoad, KernelThreads, kernel_threads, threads_for_load

OPTIONS = dict(wavelet=sf.Ricker(center_frequency=8.0), end_time_in_seconds=0.5, time_step_in_seconds=2e-3,
               progress=False)  # 250 steps: several kernel calls of STEPS_PER_CALL steps
MOST_THREADS = numba.config.NUMBA_NUM_THREADS


def small_event() -> sf.Event:
    return sf.Event(event_name="small", sources=sf.ScalarPoint2D(x=210.0, y=-255.0, f=1.0),
                    receivers=sf.ArrayPoint2D(x=np.array([350.0, 480.0]), y=-62.0, fields=["phi"]))


def load(*, online: int = 2, allowed: int = 2, others: int = 0, busy: float = 0.0) -> CoreLoad:
    return CoreLoad(n_online_cores=online, n_allowed_cores=allowed, n_other_runnable_tasks=others,
                    other_busy_cores=busy)


@pytest.fixture
def automatic(monkeypatch):
    """The automatic choice, whatever this test process's environment and configuration say."""
    monkeypatch.delenv(solver_threads.THREADS_VARIABLE, raising=False)
    monkeypatch.setattr(sf.config, "threads", None)


@pytest.mark.parametrize("machine, most, expected", [
    (load(), 2, 2),  # quiet: every core
    (load(others=1), 2, 1),  # a busy process takes one of two cores
    (load(others=5), 2, 1),  # at least one thread, however busy
    (load(online=8, allowed=8, others=3), 8, 5),
    (load(online=8, allowed=2, others=3), 8, 2),  # the affinity bounds the count; others fit elsewhere
    (load(online=8, allowed=2, others=7), 8, 1),
    (load(online=8, allowed=8), 3, 3),  # never above the count in effect when the run starts
    (load(busy=0.2), 2, 2),  # a little CPU time of others leaves the core free
    (load(busy=0.3), 2, 1),  # more than a quarter of a core takes it, even if nothing runs now
    (load(online=8, allowed=8, busy=1.2), 8, 7),
    (load(online=8, allowed=8, busy=1.3), 8, 6),
    (load(online=8, allowed=8, others=4, busy=1.3), 8, 4),  # the larger of the two readings
    (load(busy=7.0), 2, 1),
    (None, 3, 3),  # no /proc: numba's count
])
def test_one_thread_per_free_core(machine, most, expected):
    assert threads_for_load(machine, most) == expected


def test_the_count_follows_the_load_at_each_recheck_and_is_restored(automatic, monkeypatch):
    readings = [load(online=MOST_THREADS, allowed=MOST_THREADS, others=MOST_THREADS - 1),
                load(online=MOST_THREADS, allowed=MOST_THREADS)]
    before = numba.get_num_threads()
    monkeypatch.setattr(solver_threads, "RECHECK_INTERVAL_IN_SECONDS", 0.0)
    with kernel_threads(read_load=lambda: readings.pop(0)) as chosen:
        assert numba.get_num_threads() == chosen.threads == 1  # the other cores are taken
        assert chosen.recheck() == numba.get_num_threads() == before  # the machine is quiet again
    assert numba.get_num_threads() == before


def test_no_reading_within_the_recheck_interval(automatic, monkeypatch):
    readings = []

    def read():
        readings.append(1)
        return load(online=MOST_THREADS, allowed=MOST_THREADS)

    monkeypatch.setattr(solver_threads, "RECHECK_INTERVAL_IN_SECONDS", float("inf"))
    chosen = KernelThreads(read_load=read)
    for _ in range(3):
        chosen.recheck()
    chosen.restore()
    assert len(readings) == 1


def test_nested_runs_share_the_outer_count(automatic):
    with kernel_threads(read_load=lambda: load(online=MOST_THREADS, allowed=MOST_THREADS,
                                               others=MOST_THREADS)) as outer:
        with kernel_threads(read_load=lambda: pytest.fail("a nested run reads the load again")) as inner:
            assert inner is outer and numba.get_num_threads() == 1


def test_reading_the_load_of_this_machine():
    machine = solver_threads.read_core_load()
    if machine is None:
        pytest.skip("no /proc on this platform")
    assert 1 <= machine.n_allowed_cores <= machine.n_online_cores and machine.n_other_runnable_tasks >= 0
    assert 0.0 <= machine.other_busy_cores


def threads_seen_by_the_kernels(monkeypatch, run) -> set[int]:
    """numba's thread count in every forward and adjoint kernel call of ``run()``."""
    kernels = kernels_for_order(4)
    seen = set()
    for name in ("forward_steps", "adjoint_steps"):
        def recording(*arguments, kernel=getattr(kernels, name)):
            seen.add(numba.get_num_threads())
            return kernel(*arguments)

        monkeypatch.setattr(kernels, name, recording)
    run()
    return seen


def test_configured_threads_are_used_exactly_whatever_the_load(model_mesh, monkeypatch):
    monkeypatch.setattr(solver_threads, "read_core_load", lambda: pytest.fail("a fixed count reads no load"))
    monkeypatch.setattr(sf.config, "threads", 1)
    seen = threads_seen_by_the_kernels(monkeypatch, lambda: sf.compute_gradient(
        model_mesh, small_event(), misfit="L2_energy_no_observed_data", **OPTIONS))
    assert seen == {1}


def test_numba_num_threads_in_the_environment_is_kept(model_mesh, monkeypatch):
    monkeypatch.setenv(solver_threads.THREADS_VARIABLE, str(MOST_THREADS))
    monkeypatch.setattr(sf.config, "threads", None)
    monkeypatch.setattr(solver_threads, "read_core_load", lambda: pytest.fail("a fixed count reads no load"))
    before = numba.get_num_threads()
    seen = threads_seen_by_the_kernels(monkeypatch, lambda: sf.simulate(model_mesh, small_event(), **OPTIONS))
    assert seen == {before} and numba.get_num_threads() == before


def test_a_busy_machine_runs_the_kernels_on_the_free_cores(model_mesh, automatic, monkeypatch):
    busy = load(online=MOST_THREADS, allowed=MOST_THREADS, others=MOST_THREADS - 1)
    monkeypatch.setattr(solver_threads, "read_core_load", lambda: busy)
    seen = threads_seen_by_the_kernels(monkeypatch, lambda: sf.compute_gradient(
        model_mesh, small_event(), misfit="L2_energy_no_observed_data", **OPTIONS))
    assert seen == {1}


@pytest.mark.skipif(MOST_THREADS < 2, reason="needs numba with at least 2 threads")
@pytest.mark.parametrize("node_grid", [False, True])
def test_traces_and_gradients_are_the_same_on_one_and_two_threads(model_mesh, monkeypatch, node_grid):
    if node_grid:  # the small mesh takes the node grid too
        monkeypatch.setattr(solver_setup, "NODE_GRID_MIN_NODES", 0)
    results = []
    for threads in (1, 2):
        monkeypatch.setattr(sf.config, "threads", threads)
        results.append(sf.compute_gradient(model_mesh, small_event(), misfit="L2_energy_no_observed_data",
                                           **OPTIONS))
    one, two = results
    np.testing.assert_array_equal(one.traces.values, two.traces.values)
    for name in ("VP", "RHO"):
        np.testing.assert_array_equal(one.gradient.element_nodal_fields[name], two.gradient.element_nodal_fields[name])


@pytest.mark.parametrize("value", [0, -1, 1.5, "2", True, MOST_THREADS + 1])
def test_a_bad_thread_count_is_refused_when_set(value):
    before = sf.config.threads
    with pytest.raises(SpecfwiError, match="sf.config.threads"):
        sf.config.threads = value
    assert sf.config.threads == before


def test_an_unknown_setting_is_refused():
    with pytest.raises(SpecfwiError, match="threads"):
        sf.config.thread = 1


def test_a_lowered_count_is_not_raised(model_mesh, automatic, monkeypatch):
    """As on a Dask worker (specfwi.project.jobs sets one thread): a quiet machine does not add threads."""
    quiet = load(online=MOST_THREADS, allowed=MOST_THREADS)
    monkeypatch.setattr(solver_threads, "read_core_load", lambda: quiet)
    before = numba.get_num_threads()
    numba.set_num_threads(1)
    try:
        seen = threads_seen_by_the_kernels(monkeypatch, lambda: sf.simulate(model_mesh, small_event(), **OPTIONS))
        assert seen == {1} and numba.get_num_threads() == 1
    finally:
        numba.set_num_threads(before)
