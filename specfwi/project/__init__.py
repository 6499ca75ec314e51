"""The on-disk project: entity registry (SQLite), configurations, cached results and actions.

See docs/project.md for the folder layout, caching rules and executors.
"""

from .configurations import (
    EventConfiguration,
    MisfitConfiguration,
    SimulationConfiguration,
    UnstructuredMeshSimulationConfiguration,
)
from .inverse_problem import InverseProblemConfiguration
from .project import Project, ProjectSummary

__all__ = ["EventConfiguration", "InverseProblemConfiguration", "MisfitConfiguration", "Project", "ProjectSummary",
           "SimulationConfiguration", "UnstructuredMeshSimulationConfiguration"]
