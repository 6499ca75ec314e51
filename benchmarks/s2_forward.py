"""S2 (scale): wall time and peak memory of one forward simulation (first shot, 200 receivers).

python benchmarks/s2_forward.py [--repeats 3] [--quick] [--dtype float64] [--max-frequency 20] [--elements-per-wavelength 2]
"""

from common import s2_scenario
from measurement import benchmark_parser, measure_forward, print_measurement, run_in_fresh_process, scenario_options

if __name__ == "__main__":
    arguments = benchmark_parser(__doc__.splitlines()[0], default_repeats=3, dtype_option=True, mesh_options=True).parse_args()
    print_measurement(run_in_fresh_process(measure_forward, s2_scenario, scenario_options(arguments),
                                           repeats=arguments.repeats, dtype=arguments.dtype))
