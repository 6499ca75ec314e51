"""S2 (scale): wall time and peak memory of the energy-misfit gradient for one shot and summed over all 8 shots.

Each case runs in its own fresh process. No full warm-up run (it would double a run of minutes): a tiny
run compiles the kernels first, so no timed run includes compilation.

python benchmarks/s2_gradient.py [--repeats 1] [--quick] [--dtype float64] [--max-frequency 20] [--elements-per-wavelength 2]
"""

from common import s2_scenario
from measurement import benchmark_parser, measure_gradient, print_measurement, run_in_fresh_process, scenario_options

if __name__ == "__main__":
    arguments = benchmark_parser(__doc__.splitlines()[0], default_repeats=1, mesh_options=True,
                                 dtype_option=True).parse_args()
    for n_events in (1, 8):
        print_measurement(run_in_fresh_process(measure_gradient, s2_scenario, scenario_options(arguments),
                                               n_events=n_events, repeats=arguments.repeats, warm_up=False,
                                               dtype=arguments.dtype))
