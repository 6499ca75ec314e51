"""Import time of specfwi's public names against that of its heavy dependencies alone.

Each case runs in a fresh process, the cases alternating, and prints the median wall time and CPU time
(``time.process_time``, less sensitive to a busy machine) of ``--repeats`` rounds. The target: the
public names within 0.2 s of the dependencies' own import time.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
from pathlib import Path

REPOSITORY_ROOT = Path(__file__).resolve().parent.parent
TIMED = "import time; wall, cpu = time.perf_counter(), time.process_time(); {}; " \
        "print(time.perf_counter() - wall, time.process_time() - cpu)"
CASES = {
    "numpy, xarray, scipy.sparse, h5py, numba": "import numpy, xarray, scipy.sparse, h5py, numba",
    "specfwi: Project, simulate, Mapping": "import specfwi as sf; sf.Project; sf.simulate; sf.Mapping",
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    arguments = parser.parse_args()
    times: dict[str, list[tuple[float, float]]] = {name: [] for name in CASES}
    for _ in range(arguments.repeats):
        for name, statement in CASES.items():
            output = subprocess.run([sys.executable, "-c", TIMED.format(statement)], cwd=REPOSITORY_ROOT,
                                    capture_output=True, text=True, check=True).stdout.split()
            times[name].append((float(output[0]), float(output[1])))
    for name, values in times.items():
        wall, cpu = (statistics.median(value[i] for value in values) for i in (0, 1))
        print(f"{name:42s} wall {wall:.3f} s   cpu {cpu:.3f} s   (median of {arguments.repeats})")


if __name__ == "__main__":
    main()
