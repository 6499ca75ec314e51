"""sf.SolverOptions: checked on construction, the configurations' solver options (with unchanged hashes), and the
public functions' keywords, which build it and give the results of the options object itself."""

from __future__ import annotations

import dataclasses
import inspect

import numpy as np
import pytest

import specfwi as sf
from specfwi.errors import InvalidParameterError
from specfwi.gradient import compute_gradient_with_options
from specfwi.project.hashing import hash_json
from specfwi.solver import SolverOptions, simulate_with_options
from specfwi.solver.options import DEFAULT_CHECKPOINT_MEMORY_IN_MEGABYTES

BAD_OPTIONS = [
    ({"time_step_in_seconds": -1e-3}, r"'time_step_in_seconds' must be a finite time > 0 s, or None .*got -0\.001"),
    ({"time_step_in_seconds": True}, r"'time_step_in_seconds' must be .*got True"),
    ({"absorbing_boundaries": 3}, r"'absorbing_boundaries' must be True .*'stacey', False, or side-set names, got 3"),
    ({"absorbing_boundaries": []}, r"'absorbing_boundaries' must be .*side-set names, got \[\]"),
    ({"absorbing_boundaries": None}, r"'absorbing_boundaries' must be .*got None"),
    ({"free_surface": 2.0}, r"'free_surface' must be True \(the top side, 'y1'\), False, or side-set names, got 2\.0"),
    ({"free_surface": ["y1", ""]}, r"'free_surface' must be .*side-set names, got \['y1', ''\]"),
    ({"free_surface": None}, r"'free_surface' must be .*got None"),
    ({"dtype": "float16"}, r"'dtype' must be one of \('float64', 'float32'\).*got 'float16'"),
    ({"checkpoint_memory_in_megabytes": 0.0}, r"'checkpoint_memory_in_megabytes' must be a finite number of megabytes"),
    ({"checkpoint_memory_in_megabytes": "640"}, r"'checkpoint_memory_in_megabytes' must be .*got '640'"),
    ({"wavefield_compression": 3}, r"'wavefield_compression' must be None or an sf.WavefieldCompression.*got 3"),
    ({"progress": "yes"}, r"'progress' must be None .*True or False, got 'yes'"),
]


@pytest.mark.parametrize("options, message", BAD_OPTIONS, ids=[str(options) for options, _ in BAD_OPTIONS])
def test_bad_options_are_refused_on_construction_naming_parameter_value_and_what_is_allowed(options, message):
    with pytest.raises(InvalidParameterError, match=message):
        SolverOptions(**options)
    with pytest.raises(InvalidParameterError, match=message):  # also when a checked value is changed
        dataclasses.replace(SolverOptions(), **options)


def test_options_are_frozen_values_kept_in_one_spelling():
    options = SolverOptions(absorbing_boundaries="x0", free_surface=["y1"], dtype=np.float32, progress=np.False_)
    assert options == SolverOptions(absorbing_boundaries=("x0",), free_surface=("y1",), dtype="float32", progress=False)
    assert (options.absorbing_boundaries, options.free_surface, options.dtype) == (("x0",), ("y1",), "float32")
    assert options.progress is False and SolverOptions(absorbing_boundaries=np.True_).absorbing_boundaries is True
    assert len({options, SolverOptions(absorbing_boundaries=["x0"], free_surface="y1", dtype="float32",
                                       progress=False)}) == 1
    with pytest.raises(dataclasses.FrozenInstanceError):
        options.dtype = "float64"
    default = SolverOptions()
    assert (default.time_step_in_seconds, default.absorbing_boundaries, default.free_surface, default.dtype,
            default.checkpoint_memory_in_megabytes, default.wavefield_compression, default.progress) == (
        None, True, False, "float64", DEFAULT_CHECKPOINT_MEMORY_IN_MEGABYTES, None, None)
    assert sf.SolverOptions is SolverOptions


# ---------------------------------------------------------------------------- configurations

EVENTS_WITH_STEP = sf.EventConfiguration(sf.Ricker(center_frequency=10.0), 0.25, time_step_in_seconds=0.002)
EVENTS = sf.EventConfiguration(sf.Ricker(center_frequency=10.0), 0.25)
PARAMETERS = sf.AbsorbingBoundaryParameters(reference_velocity=2000.0, number_of_wavelengths=0.5,
                                            reference_frequency=8.0)


def configurations() -> dict[str, sf.SimulationConfiguration]:
    common = dict(max_frequency_in_hertz=10.0, elements_per_wavelength=1.5, volume_models="m")
    return {
        "sim": sf.SimulationConfiguration("sim", **common, event_configuration=EVENTS_WITH_STEP),
        "sim2": sf.SimulationConfiguration("sim2", **{**common, "volume_models": ["m", "n"]},
                                           event_configuration=EVENTS, tensor_order=3,
                                           absorbing_boundaries=PARAMETERS, free_surface=True),
        "sim3": sf.SimulationConfiguration("sim3", **common, event_configuration=EVENTS,
                                           absorbing_boundaries=("x0", "x1")),
        "sim4": sf.SimulationConfiguration("sim4", **common, event_configuration=EVENTS, absorbing_boundaries="stacey",
                                           free_surface=True),
    }


def test_configurations_give_their_solver_options_and_rebuild_to_the_same():
    expected = {"sim": SolverOptions(time_step_in_seconds=0.002),
                "sim2": SolverOptions(free_surface=True),  # layers with chosen parameters are the mesh's: True
                "sim3": SolverOptions(),  # so are layers on chosen sides
                "sim4": SolverOptions(absorbing_boundaries="stacey", free_surface=True)}
    for name, configuration in configurations().items():
        assert configuration.solver_options() == expected[name], name
        rebuilt = sf.SimulationConfiguration.from_dict(configuration.to_dict())
        assert rebuilt == configuration and rebuilt.solver_options() == expected[name], name
    assert EVENTS_WITH_STEP.solver_options() == SolverOptions(time_step_in_seconds=0.002)
    mesh = sf.mesh.rectangle((0.0, 600.0), (-400.0, 0.0), 3, 2, tensor_order=2)
    for parameter in ("VP", "RHO"):
        mesh.attach_field(parameter, np.full((mesh.n_elements, mesh.n_gll), 1500.0))
    own = sf.UnstructuredMeshSimulationConfiguration("own", mesh, EVENTS_WITH_STEP, absorbing_boundaries=["x0"])
    rebuilt = sf.UnstructuredMeshSimulationConfiguration.from_dict(own.to_dict(), unstructured_mesh=mesh)
    assert own.solver_options() == rebuilt.solver_options() == SolverOptions(time_step_in_seconds=0.002,
                                                                             absorbing_boundaries=("x0",))


RICKER = {"amplitude": 1.0, "center_frequency": 10.0, "time_shift_in_seconds": 0.12, "type": "Ricker"}


def stored(name: str, absorbing_boundaries, free_surface: bool, time_step_in_seconds, **fields) -> dict:
    """A SimulationConfiguration's stored description, spelled out independently of the code that writes it."""
    return {"type": "SimulationConfiguration", "name": name, "absorbing_boundaries": absorbing_boundaries,
            "free_surface": free_surface, "max_frequency_in_hertz": 10.0, "elements_per_wavelength": 1.5,
            "volume_models": ["m"], "tensor_order": 4,
            "event_configuration": {"type": "EventConfiguration", "wavelet": RICKER, "end_time_in_seconds": 0.25,
                                    "start_time_in_seconds": None, "time_step_in_seconds": time_step_in_seconds},
            **fields}


# The hashes that main's code (commit e80b286, before SolverOptions) computed for these configurations: stored
# projects and cached results keep their keys.
STORED = {
    "sim": (stored("sim", True, False, 0.002),
            "3f18133125d6330f6aad702458fcf5144d556bed75028bd8001b91ff8e87a770"),
    "sim2": (stored("sim2", {"reference_velocity": 2000.0, "number_of_wavelengths": 0.5, "reference_frequency": 8.0},
                    True, None, volume_models=["m", "n"], tensor_order=3),
             "911879f5a3c79b7aaf3dce2806280b2dbfcf729d81eff3ad6502ca288c7cf3b9"),
    "sim3": (stored("sim3", ["x0", "x1"], False, None),
             "3e8816901b6078c83c16ab2f29c193509d54953d6b8c6f69c6f2f8cf7f2c5734"),
    "sim4": (stored("sim4", "stacey", True, None),
             "050ab8226e9e218aca4074967e222f34500488059e3ae474ada820c4a90ada67"),
}


@pytest.mark.parametrize("name", list(STORED))
def test_configurations_store_and_hash_as_before(name):
    description, hash_before = STORED[name]
    configuration = configurations()[name]
    assert configuration.to_dict() == description
    assert hash_json(configuration.to_dict()) == hash_json(description) == hash_before


# ---------------------------------------------------------------------------- public functions

SOLVER_KEYWORDS = {"start_time_in_seconds", "time_step_in_seconds", "absorbing_boundaries", "free_surface",
                   "progress", "dtype"}
PUBLIC_KEYWORDS = {
    sf.simulate: {"wavelet", "end_time_in_seconds"} | SOLVER_KEYWORDS,
    sf.solver.simulate_wavefield: {"wavelet", "end_time_in_seconds", "snapshot_times_in_seconds"} | SOLVER_KEYWORDS,
    sf.compute_misfit: {"wavelet", "misfit", "end_time_in_seconds", "observed", "window", "bandpass"} | SOLVER_KEYWORDS,
    sf.compute_gradient: ({"wavelet", "misfit", "end_time_in_seconds", "observed", "window", "bandpass",
                           "checkpoint_memory_in_megabytes", "wavefield_compression"} | SOLVER_KEYWORDS),
}


def test_the_public_functions_keep_their_keyword_arguments():
    for function, names in PUBLIC_KEYWORDS.items():
        parameters = list(inspect.signature(function).parameters.values())
        assert [parameter.name for parameter in parameters[:2]] == ["mesh", "event"]
        assert {parameter.name for parameter in parameters[2:]} == names, function.__name__
        assert all(parameter.kind is parameter.KEYWORD_ONLY for parameter in parameters[2:]), function.__name__


EVENT = sf.Event(event_name="e", sources=sf.ScalarPoint2D(x=210.0, y=-255.0, f=1.0),
                 receivers=sf.ArrayPoint2D(x=[350.0, 450.0], y=[-62.0, -100.0], fields=["phi"]))
TIME_WINDOW = dict(wavelet=sf.Ricker(center_frequency=8.0), end_time_in_seconds=0.15, start_time_in_seconds=-0.1)
KEYWORDS = dict(time_step_in_seconds=1e-3, absorbing_boundaries=["x0", "x1"], free_surface=True, dtype="float32",
                progress=False)


def test_the_keywords_of_simulate_and_of_the_misfit_reach_the_solver(model_mesh):
    traces = sf.simulate(model_mesh, EVENT, **TIME_WINDOW, **KEYWORDS)
    same = simulate_with_options(model_mesh, EVENT, **TIME_WINDOW, options=SolverOptions(**KEYWORDS))
    np.testing.assert_array_equal(traces.values, same.values)
    assert traces.attrs["time_step_in_seconds"] == 1e-3 and traces["time"].values[0] == -0.1
    default = sf.simulate(model_mesh, EVENT, **TIME_WINDOW, time_step_in_seconds=1e-3, progress=False)
    assert not np.array_equal(traces.values, default.values)  # the options were not ignored
    misfit = sf.compute_misfit(model_mesh, EVENT, misfit="L2", observed=default, **TIME_WINDOW, **KEYWORDS)
    assert misfit == sf.misfit.get_misfit("L2")(same, default).value > 0.0
    snapshots = sf.solver.simulate_wavefield(model_mesh, EVENT, snapshot_times_in_seconds=[0.05], **TIME_WINDOW,
                                             **KEYWORDS)
    assert snapshots.dtype == np.float64 and np.abs(snapshots.values).max() > 0.0


def test_the_keywords_of_compute_gradient_reach_the_solver(model_mesh):
    checkpoints = dict(checkpoint_memory_in_megabytes=0.5, **KEYWORDS)  # recomputes segments
    compressed = dict(wavefield_compression=sf.WavefieldCompression(forward_wavefield_sampling_interval=4), **KEYWORDS)
    for options in (checkpoints, compressed):
        result = sf.compute_gradient(model_mesh, EVENT, misfit="L2_energy_no_observed_data", **TIME_WINDOW, **options)
        same = compute_gradient_with_options(model_mesh, EVENT, misfit="L2_energy_no_observed_data", **TIME_WINDOW,
                                             options=SolverOptions(**options))
        assert result.misfit == same.misfit
        for parameter in ("VP", "RHO"):
            np.testing.assert_array_equal(result.gradient.element_nodal_fields[parameter],
                                          same.gradient.element_nodal_fields[parameter])
    exact = sf.compute_gradient(model_mesh, EVENT, misfit="L2_energy_no_observed_data", **TIME_WINDOW, **KEYWORDS)
    assert not np.array_equal(exact.gradient.element_nodal_fields["VP"], result.gradient.element_nodal_fields["VP"])
    with pytest.raises(InvalidParameterError, match="checkpoint_memory_in_megabytes"):
        sf.compute_gradient(model_mesh, EVENT, misfit="L2_energy_no_observed_data", **TIME_WINDOW,
                            checkpoint_memory_in_megabytes=-1.0)
