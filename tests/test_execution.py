"""Tests of specfwi.execution and of executors given to a project's actions."""

from __future__ import annotations

import numpy as np
import pytest
from dask.distributed import Client, LocalCluster
from test_project import tiny_project

import specfwi as sf
from specfwi.errors import SpecfwiError
from specfwi.execution import DaskExecutor


@pytest.fixture(scope="module")
def client():
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, \
            Client(cluster) as dask_client:
        yield dask_client


def gradient_fields(path: str) -> dict[str, np.ndarray]:
    return sf.UnstructuredMesh.from_h5(path).element_nodal_fields


def test_dask_workers_give_the_serial_results(tmp_path, client):
    serial = tiny_project(tmp_path / "serial", n_events=2)
    parallel = tiny_project(tmp_path / "parallel", n_events=2)
    expected = serial.actions.inversion.compute_gradients("sim", "energy")
    gradients = parallel.actions.inversion.compute_gradients("sim", "energy", executor=client)
    assert sorted(gradients) == sorted(expected) == ["event_0", "event_1"]
    for event in expected:
        for parameter in ("VP", "RHO"):
            np.testing.assert_array_equal(gradient_fields(gradients[event])[parameter],
                                          gradient_fields(expected[event])[parameter])
    assert parallel.actions.inversion.compute_misfits("sim", "energy") == \
        serial.actions.inversion.compute_misfits("sim", "energy")


def test_dask_executor_wraps_a_client_and_polls_without_waiting(tmp_path, client):
    project = tiny_project(tmp_path / "p", n_events=2)
    executor = DaskExecutor(client)
    misfits = {}
    while len(misfits) < 2:
        misfits = project.actions.inversion.compute_misfits("sim", "energy", executor=executor, wait=False)
    serial = tiny_project(tmp_path / "serial", n_events=2).actions.inversion.compute_misfits("sim", "energy")
    assert misfits == serial
    executor.close()
    assert client.status == "running"  # a client given to the executor stays open


@pytest.mark.parametrize("arguments, parameter", [((42,), "scheduler"), ((None,), "n_workers")])
def test_dask_executor_validates_its_arguments(arguments, parameter):
    options = {"n_workers": 0} if parameter == "n_workers" else {}
    with pytest.raises(SpecfwiError, match=f"'{parameter}'"):
        DaskExecutor(*arguments, **options)
