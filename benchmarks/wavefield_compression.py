"""Wavefield compression: accuracy and cost of the approximate gradient against the exact one (S2).

Usage: python benchmarks/wavefield_compression.py [--intervals 2 4 8] [--full]

S2's first shot (its 5 Hz mesh and 1 s unless ``--full``), the L2 energy misfit, float64: the exact gradient
(checkpointed, default budget) and the gradient with sf.WavefieldCompression(k) for each k. Prints, per k,
the angle between the VP gradients and their relative L2 difference, the median wall time of 3 runs and
the forward states kept.
"""

from __future__ import annotations

import argparse
import math

import common
import numpy as np

import specfwi as sf


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--intervals", type=int, nargs="*", default=[2, 4, 8])
    parser.add_argument("--full", action="store_true", help="S2 at its own resolution and 4 s (minutes)")
    arguments = parser.parse_args()
    scenario = common.s2_scenario(quick=not arguments.full)
    event = scenario.events[0]
    options = dict(wavelet=scenario.wavelet, end_time_in_seconds=scenario.end_time_in_seconds,
                   misfit=common.ENERGY_MISFIT, progress=False)
    timing, exact = common.time_repeats(lambda: sf.compute_gradient(scenario.mesh, event, **options), 3)
    reference = exact.gradient.element_nodal_fields["VP"]
    n_steps = exact.traces.sizes["time"] - 1
    print(f"S2 first shot ({scenario.mesh_options}, {scenario.end_time_in_seconds:g} s): "
          f"{scenario.mesh.n_global_nodes} nodes, {n_steps} steps")
    print("| k | angle to the exact gradient | relative L2 difference | wall time / exact | states kept |")
    print("|---|---|---|---|---|")
    print(f"| exact | 0 | 0 | 1.00 ({timing.median:.2f} s) | checkpointed |")
    for interval in arguments.intervals:
        compression = sf.WavefieldCompression(forward_wavefield_sampling_interval=interval)
        run_timing, result = common.time_repeats(
            lambda: sf.compute_gradient(scenario.mesh, event, wavefield_compression=compression, **options), 3)
        values = result.gradient.element_nodal_fields["VP"]
        cosine = float(np.sum(values * reference) / (np.linalg.norm(values) * np.linalg.norm(reference)))
        angle = math.degrees(math.acos(min(1.0, cosine)))
        difference = float(np.linalg.norm(values - reference) / np.linalg.norm(reference))
        print(f"| {interval} | {angle:.3g} deg | {difference:.2e} | {run_timing.median / timing.median:.2f} | "
              f"{math.ceil(n_steps / interval) + 1} of {n_steps + 1} |")


if __name__ == "__main__":
    main()
