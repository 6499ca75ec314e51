"""S1 (the seed tutorial): wall time and peak memory of the energy-misfit gradient w.r.t. VP and RHO.

python benchmarks/s1_gradient.py [--repeats 5] [--quick] [--dtype float64]
"""

from common import s1_scenario
from measurement import benchmark_parser, measure_gradient, print_measurement, run_in_fresh_process, scenario_options

if __name__ == "__main__":
    arguments = benchmark_parser(__doc__.splitlines()[0], default_repeats=5, dtype_option=True).parse_args()
    print_measurement(run_in_fresh_process(measure_gradient, s1_scenario, scenario_options(arguments), n_events=1,
                                           repeats=arguments.repeats, warm_up=True, ratio_to_forward=True,
                                           dtype=arguments.dtype))
