"""The kernel cache: compiled and loaded kernels give the same bits, and no stale code is loaded.

numba compiles each kernel module once and caches its machine code; a process that compiled the
code and one that loaded it must agree bit for bit, or a project's cached gradients would differ
from recomputed ones. Arithmetic that LLVM may contract into fused multiply-adds in more than one
way broke this twice: in the step's update and in element_stiffness (docs/solver.md, "No per-node
factors inside the domain"). It shows only with an empty cache, so this test makes one.

numba keys its disk cache on the kernel module's own file, but the compiled code also freezes what that
module imports from other specfwi modules (``element_blocks.BLOCK_SIZE``): a change there must give a new
kernel module, which numba compiles afresh.
"""

from __future__ import annotations

import os
import shutil
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


KERNEL_MODULE = textwrap.dedent("""
    from pathlib import Path
    from specfwi.solver.kernel_modules import kernels_for_order

    module = kernels_for_order(1)
    module._n_chunks(1000, 10)  # compiles (or loads) one cached function of the module
    print(Path(module.__file__).stem, module.B)
""")


def kernel_module_of_a_copy(package: Path, cache: Path) -> tuple[str, int]:
    """(name of the order-1 kernel module, its block size) from the specfwi copy in ``package``."""
    environment = {**os.environ, "SPECFWI_CACHE_DIR": str(cache / "specfwi"), "NUMBA_CACHE_DIR": str(cache / "numba"),
                   "PYTHONPATH": str(package)}
    finished = subprocess.run([sys.executable, "-c", KERNEL_MODULE], env=environment, cwd=package,
                              capture_output=True, text=True, timeout=300)
    assert finished.returncode == 0, finished.stderr[-3000:]
    name, block_size = finished.stdout.split()
    return name, int(block_size)


def test_a_changed_constant_that_the_kernels_import_gives_a_new_kernel_module_compiled_afresh(tmp_path):
    import specfwi

    package = tmp_path / "package"
    shutil.copytree(Path(specfwi.__file__).parent, package / "specfwi", ignore=shutil.ignore_patterns("__pycache__"))
    cache = tmp_path / "cache"
    original_name, original_block_size = kernel_module_of_a_copy(package, cache)
    compiled = {path.name for path in (cache / "numba").rglob("*.nbi")}
    assert any(original_name in name for name in compiled)

    element_blocks = package / "specfwi" / "solver" / "element_blocks.py"
    source = element_blocks.read_text()
    assert source.count("BLOCK_SIZE = 16  #") == 1
    element_blocks.write_text(source.replace("BLOCK_SIZE = 16  #", "BLOCK_SIZE = 8  #"))
    changed_name, changed_block_size = kernel_module_of_a_copy(package, cache)

    assert (original_block_size, changed_block_size) == (16, 8)
    assert changed_name != original_name
    assert (cache / "specfwi" / f"{changed_name}.py").exists() and (cache / "specfwi" / f"{original_name}.py").exists()
    newly_compiled = {path.name for path in (cache / "numba").rglob("*.nbi")} - compiled
    assert any(changed_name in name for name in newly_compiled)  # numba compiled the new module, loaded nothing stale


def test_the_kernel_digest_covers_every_specfwi_module_the_kernels_use():
    from specfwi.solver import kernel_modules, kernels

    dependencies = {module.__name__ for module in kernel_modules.kernel_dependencies()}
    used = {value.__name__ for value in vars(kernels).values() if isinstance(value, type(kernels))}
    used |= {getattr(value, "__module__", None) for value in vars(kernels).values()}
    used = {name for name in used if name and name.startswith("specfwi.") and name != kernels.__name__}
    assert {"specfwi.solver.element_blocks", "specfwi.solver.unrolled"} <= dependencies
    assert used <= dependencies


def test_the_generated_source_lies_beside_the_kernel_module(tmp_path, monkeypatch):
    from specfwi.solver import kernel_modules

    monkeypatch.setenv("SPECFWI_CACHE_DIR", str(tmp_path))
    module = kernel_modules.kernels_for_order.__wrapped__(2)
    generated = Path(module.__file__).with_name(f"{module.__name__}_unrolled.py").read_text()
    compile(generated, "generated", "exec")  # valid Python
    assert generated.count("def rows_part(") == 2 and generated.count("def column_part(") == 2
    assert "d2_2 * " in generated and "d3_" not in generated  # written out for N = 3
