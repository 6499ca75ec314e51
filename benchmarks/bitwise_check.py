"""Bit-for-bit check of a refactoring: S1's and S2's traces and gradients before and after a change.

Usage:
    python benchmarks/bitwise_check.py save BEFORE.npz      # on the commit before the change
    python benchmarks/bitwise_check.py compare BEFORE.npz   # on the commit after it

It runs S1 (forward and gradient of the L2 energy, default boundaries) and S2's first shot on its quick
mesh (5 Hz, 1 s; forward and gradient), in float64, and saves or compares every array. ``compare``
prints, per array, whether it is identical and else the largest difference, and exits 1 unless all are.
"""

from __future__ import annotations

import sys

import common
import numpy as np

import specfwi as sf


def results() -> dict[str, np.ndarray]:
    arrays = {}
    for scenario in (common.s1_scenario(), common.s2_scenario(quick=True)):
        event = scenario.events[0]
        options = dict(wavelet=scenario.wavelet, end_time_in_seconds=scenario.end_time_in_seconds, progress=False)
        arrays[f"{scenario.name}/traces"] = sf.simulate(scenario.mesh, event, **options).values
        gradient = sf.compute_gradient(scenario.mesh, event, misfit=common.ENERGY_MISFIT, **options)
        for name in ("VP", "RHO"):
            arrays[f"{scenario.name}/gradient/{name}"] = gradient.gradient.element_nodal_fields[name]
    return arrays


def main() -> int:
    if len(sys.argv) != 3 or sys.argv[1] not in ("save", "compare"):
        print(__doc__)
        return 2
    action, path = sys.argv[1:]
    current = results()
    if action == "save":
        np.savez(path, **current)
        print(f"saved {len(current)} arrays to {path}")
        return 0
    saved = np.load(path)
    identical = True
    for name, values in current.items():
        same = np.array_equal(values, saved[name])
        identical &= same
        print(f"{name}: {'identical' if same else f'differs by up to {np.abs(values - saved[name]).max():.3g}'}")
    return 0 if identical else 1


if __name__ == "__main__":
    sys.exit(main())
