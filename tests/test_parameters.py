"""One home per concept: parameter and field names, and the one check of material values."""

from __future__ import annotations

import numpy as np
import pytest

import specfwi as sf
from specfwi.errors import InvalidParameterError, ModelError
from specfwi.parameters import MODEL_VARIABLES, PARAMETERS, RECEIVER_FIELDS, check_finite_values


def test_every_layer_takes_the_names_from_one_place():
    from specfwi.acquisition import receivers
    from specfwi.mapping.parameters import KNOWN_PARAMETERS
    from specfwi.project import configurations

    assert sf.physics.PARAMETERS is PARAMETERS and configurations.PARAMETERS is PARAMETERS
    assert receivers.RECEIVER_FIELDS is RECEIVER_FIELDS is configurations.RECEIVER_FIELDS
    assert sorted(KNOWN_PARAMETERS) == sorted(PARAMETERS)
    assert MODEL_VARIABLES == ("vp", "rho")


def test_check_finite_values_names_the_parameter_the_count_and_the_minimum():
    values = np.array([[1.0, 2.0], [3.0, 4.0]])
    assert check_finite_values("VP", values, positive=True) is not None
    with pytest.raises(ModelError, match=r"'VP' must be finite everywhere, got '2 non-finite values'"):
        check_finite_values("VP", np.array([np.nan, np.inf, 1.0]))
    with pytest.raises(ModelError, match=r"'RHO' must be > 0 everywhere \(it divides\), got 'a minimum of -1.0'"):
        check_finite_values("RHO", np.array([-1.0, 2.0]), positive=True, positive_because="it divides")
    check_finite_values("RHO", np.array([-1.0, 2.0]))  # only finiteness asked
    with pytest.raises(InvalidParameterError):
        check_finite_values("x", [np.nan], error=InvalidParameterError)


def test_a_user_mesh_with_a_non_positive_parameter_is_refused_by_the_shared_check(model_mesh):
    event_configuration = sf.EventConfiguration(wavelet=sf.Ricker(center_frequency=5.0), end_time_in_seconds=0.1)
    bad = model_mesh.copy()
    bad.element_nodal_fields["RHO"][0, 0] = 0.0
    with pytest.raises(ModelError, match=r"'unstructured_mesh\[RHO\]' must be > 0 everywhere"):
        sf.UnstructuredMeshSimulationConfiguration("mine", bad, event_configuration)
    del bad.element_nodal_fields["VP"]
    with pytest.raises(ModelError, match=r"missing \['VP'\]"):
        sf.UnstructuredMeshSimulationConfiguration("mine", bad, event_configuration)
