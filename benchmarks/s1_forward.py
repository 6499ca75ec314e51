"""S1 (the seed tutorial): wall time and peak memory of one forward simulation.

python benchmarks/s1_forward.py [--repeats 5] [--quick] [--dtype float64]
"""

from common import s1_scenario
from measurement import benchmark_parser, measure_forward, print_measurement, run_in_fresh_process, scenario_options

if __name__ == "__main__":
    arguments = benchmark_parser(__doc__.splitlines()[0], default_repeats=5, dtype_option=True).parse_args()
    print_measurement(run_in_fresh_process(measure_forward, s1_scenario, scenario_options(arguments),
                                           repeats=arguments.repeats, dtype=arguments.dtype))
