"""Imports cost what is used: the public names load no plotting, signal processing or cluster code.

scipy.signal (through the cross-correlation misfit), matplotlib and dask each take a large share of
a second to import; they are imported inside the functions that use them. A subprocess starts from
an empty ``sys.modules``.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

HEAVY_MODULES = ("scipy.signal", "scipy.interpolate", "scipy.spatial", "matplotlib", "dask", "distributed")

IMPORT_PUBLIC_NAMES = textwrap.dedent("""
    import json, sys
    import specfwi as sf
    sf.Project; sf.simulate; sf.Mapping; sf.compute_gradient; sf.Ricker; sf.MisfitConfiguration; sf.get_misfit
    print(json.dumps(sorted(sys.modules)))
""")


def test_the_public_names_do_not_import_plotting_signal_processing_or_dask():
    finished = subprocess.run([sys.executable, "-c", IMPORT_PUBLIC_NAMES], capture_output=True, text=True, timeout=120)
    assert finished.returncode == 0, finished.stderr[-3000:]
    loaded = set(json.loads(finished.stdout))
    assert "specfwi.project.project" in loaded and "specfwi.solver.simulate" in loaded  # the names did load
    assert sorted(name for name in HEAVY_MODULES if name in loaded) == []
