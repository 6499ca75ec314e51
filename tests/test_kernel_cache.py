"""Kernels compiled in a process and kernels loaded from numba's disk cache give the same bits.

numba compiles each kernel module once and caches its machine code; a process that compiled the
code and one that loaded it must agree bit for bit, or a project's cached gradients would differ
from recomputed ones. Arithmetic that LLVM may contract into fused multiply-adds in more than one
way broke this twice: in the step's update and in element_stiffness (docs/solver.md, "No per-node
factors inside the domain"). It shows only with an empty cache, so this test makes one.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

COMPUTE = textwrap.dedent("""
    import sys
    import numpy as np
    import specfwi as sf
    from specfwi.solver.setup import NODE_GRID_MIN_NODES

    def gradient(n_x, n_y):
        mesh = sf.mesh.rectangle((0.0, 1000.0), (-500.0, 0.0), n_x, n_y, tensor_order=int(sys.argv[2]))
        x, y = mesh.get_element_nodes()[..., 0], mesh.get_element_nodes()[..., 1]
        mesh.attach_field("VP", 1500.0 - 0.8 * y + 80.0 * np.sin(x / 110.0))
        mesh.attach_field("RHO", 1000.0 - 0.5 * y)
        event = sf.Event(event_name="e", sources=sf.ScalarPoint2D(x=310.0, y=-240.0, f=1.0),
                         receivers=sf.ArrayPoint2D(x=np.linspace(100.0, 900.0, 5), y=-30.0, fields=["phi"]))
        result = sf.compute_gradient(mesh, event, wavelet=sf.Ricker(center_frequency=15.0),
                                     misfit="L2_energy_no_observed_data", end_time_in_seconds=0.3,
                                     free_surface=True, progress=False)
        return mesh.n_global_nodes, [result.traces.values, *(result.gradient.element_nodal_fields[name]
                                                             for name in ("VP", "RHO"))]

    blocks_nodes, on_blocks = gradient(6, 3)
    grid_nodes, on_grid = gradient(80, 40)
    assert blocks_nodes < NODE_GRID_MIN_NODES <= grid_nodes  # one run on each layout
    np.savez(sys.argv[1], *on_blocks, *on_grid)
""")


def run_in_new_process(output: Path, cache: Path, tensor_order: int) -> None:
    environment = {**os.environ, "SPECFWI_CACHE_DIR": str(cache / "specfwi"), "NUMBA_CACHE_DIR": str(cache / "numba")}
    finished = subprocess.run([sys.executable, "-c", COMPUTE, str(output), str(tensor_order)], env=environment,
                              capture_output=True, text=True, timeout=900)
    assert finished.returncode == 0, finished.stderr[-3000:]


@pytest.mark.slow
@pytest.mark.parametrize("tensor_order", [2, 4])  # 4: the default; each order compiles for about 90 s
def test_a_process_that_compiled_the_kernels_and_one_that_loaded_them_agree_bit_for_bit(tmp_path, tensor_order):
    cache = tmp_path / "cache"
    run_in_new_process(tmp_path / "compiled.npz", cache, tensor_order)
    cached_files = list((cache / "numba").rglob("*.nbc"))
    assert cached_files, "the first process left no compiled code in the cache"
    run_in_new_process(tmp_path / "loaded.npz", cache, tensor_order)
    assert sorted((cache / "numba").rglob("*.nbc")) == sorted(cached_files)  # the second one compiled nothing
    compiled, loaded = np.load(tmp_path / "compiled.npz"), np.load(tmp_path / "loaded.npz")
    assert len(compiled.files) == 6
    for name in compiled.files:
        assert np.abs(compiled[name]).max() > 0.0
        np.testing.assert_array_equal(compiled[name], loaded[name])
