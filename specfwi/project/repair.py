"""Rebuilding a damaged or lost registry from a project's files (``sf.Project.repair``, ``specfwi repair``).

What can come back:

- every entity added by this version of specfwi, from its copy in ``entities/``;
- volume models without a copy (projects written before copies existed), under the
  name ``recovered_<hash>`` since their names lived only in the registry;
- every result file that can be read (``meshes/``, ``waveforms/``, ``gradients/``),
  registered under the content hash in its name, with the names of the configurations
  and event that lead to it where the rebuilt entities do. Results are found by the
  hash of their inputs, so adding the same entities again finds them too. Their
  checksums are taken from the files as they are now.

What cannot: misfit values (they are recomputed from the cached traces, without a
simulation), observed data and user meshes without a copy, and unreadable files.
The damaged registry is never deleted: it is renamed to
``specfwi_project.sqlite.damaged-<UTC time>`` beside the new one.
"""

from __future__ import annotations

import itertools
import logging
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import ProjectError, SpecfwiError
from ..mesh import UnstructuredMesh
from .entities import (
    MISFIT_CONFIGURATION,
    SIMULATION_CONFIGURATION,
    VOLUME_MODEL,
    read_entity_copies,
)
from .hashing import hash_json, hash_xarray
from .project import REGISTRY_FILE_NAME, Project
from .registry import DamagedRegistryError, Registry, ResultRecord
from .storage import read_xarray_h5

logger = logging.getLogger(__name__)

#: Result folders and the action of their files; the reader checks a file is complete.
RESULT_FOLDERS = {"meshes": ("mesh", UnstructuredMesh.from_h5), "waveforms": ("waveforms", read_xarray_h5),
                  "gradients": ("gradient", UnstructuredMesh.from_h5)}
READ_ERRORS = (OSError, KeyError, ValueError, RuntimeError)


@dataclass
class RepairReport:
    """What :func:`repair_project` did: the damaged registry's new name, what it rebuilt and what it could not."""

    path: Path
    damaged_registry: Path | None = None
    rebuilt: list[str] = field(default_factory=list)
    not_rebuilt: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        if self.damaged_registry is None and not self.rebuilt:
            return f"the registry of {self.path} is readable: nothing to repair"
        lines = [f"repaired the registry of {self.path}"]
        if self.damaged_registry is not None:
            lines.append(f"the damaged registry was kept as {self.damaged_registry}")
        lines += [f"rebuilt: {item}" for item in self.rebuilt]
        lines += [f"could not rebuild: {item}" for item in self.not_rebuilt]
        return "\n".join(lines)


def repair_project(path: Path) -> RepairReport:
    """Rebuild the registry of the project folder ``path`` if it is damaged or missing (see the module docstring).

    A readable registry is left as it is. Raises ProjectError where ``path`` holds no project files.
    """
    path = Path(path).resolve()
    registry_path = path / REGISTRY_FILE_NAME
    report = RepairReport(path)
    if registry_path.is_file():
        try:
            Registry(registry_path)
            return report
        except DamagedRegistryError as error:
            logger.warning("%s; rebuilding it.", error)
            report.damaged_registry = _move_aside(registry_path)
    elif not any((path / folder).is_dir() for folder in ("models", "entities", *RESULT_FOLDERS)):
        raise ProjectError(f"{str(path)!r} holds no specfwi project files to repair a project from")
    registry = Registry(registry_path, create=True)
    referenced = _restore_entities(path, registry, report)
    _restore_results(Project(path), referenced, report)
    logger.info("%s", report)
    return report


def _move_aside(registry_path: Path) -> Path:
    """Rename the registry (and its WAL files) to ``<name>.damaged-<UTC time>``; returns the new name."""
    suffix = ".damaged-" + time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    for candidate in (registry_path.with_name(registry_path.name + extra) for extra in ("-wal", "-shm", "")):
        if candidate.exists():
            os.replace(candidate, candidate.with_name(candidate.name + suffix))
    return registry_path.with_name(registry_path.name + suffix)


def _restore_entities(path: Path, registry: Registry, report: RepairReport) -> set[str]:
    """Register the entities of the copies, then models without one; returns the files entities refer to."""
    referenced = set()
    for copy in read_entity_copies(path):
        kind, name = copy["kind"], copy["name"]
        try:
            registry.add_entity(kind, name, copy["content_hash"], copy["payload"])
        except ProjectError as error:
            report.not_rebuilt.append(f"{kind} {name!r} ({error})")
            continue
        report.rebuilt.append(f"{kind.replace('_', ' ')} {name!r}")
        referenced.add(copy["payload"].get("file"))
    for model_file in sorted((path / "models").glob("*.h5")):
        relative = f"models/{model_file.name}"
        if relative in referenced:
            continue
        try:
            data = read_xarray_h5(model_file)
        except READ_ERRORS as error:
            report.not_rebuilt.append(f"{relative} (cannot be read: {error})")
            continue
        if hash_xarray(data) != model_file.stem:
            report.not_rebuilt.append(f"{relative} (its content does not match its name: damaged)")
            continue
        name = f"recovered_{model_file.stem[:12]}"
        payload = {"name": name, "data_hash": model_file.stem, "file": relative}
        registry.add_entity(VOLUME_MODEL, name, hash_json(payload), payload)
        referenced.add(relative)
        report.rebuilt.append(f"volume model {relative} as {name!r} (its name was lost)")
    for orphan in sorted((path / "observed").glob("*.h5")):
        if f"observed/{orphan.name}" not in referenced:
            report.not_rebuilt.append(f"observed/{orphan.name} (its name and event were lost: import it again "
                                      f"with p.waveforms.add_observed)")
    return referenced


def _result_names(project: Project) -> dict[tuple[str, str], tuple[str, str, str]]:
    """(action, key) -> (simulation configuration, misfit configuration, event) for the rebuilt entities."""
    names = {}
    events = project.events.list()
    misfits = project.registry.list_entities(MISFIT_CONFIGURATION)
    for simulation in project.registry.list_entities(SIMULATION_CONFIGURATION):
        try:
            names[("mesh", project.simulations.mesh_key(simulation))] = (simulation, "", "")
            for event in events:
                names[("waveforms", project.waveforms.key(simulation, event))] = (simulation, "", event)
            for misfit, event in itertools.product(misfits, events):
                configuration = project.store.get_misfit_configuration(misfit)
                key = project.actions.inversion.result_key("gradient", simulation, configuration, event)
                names[("gradient", key)] = (simulation, misfit, event)
        except SpecfwiError as error:
            logger.info("Some results of %r keep no names: %s", simulation, error)
    return names


def _restore_results(project: Project, referenced: set[str], report: RepairReport) -> None:
    names = _result_names(project)
    for folder, (action, read) in RESULT_FOLDERS.items():
        for result_file in sorted((project.path / folder).glob("*.h5")):
            relative = f"{folder}/{result_file.name}"
            if relative in referenced:
                continue
            try:
                read(result_file)
            except READ_ERRORS as error:
                report.not_rebuilt.append(f"{relative} (cannot be read, it will be computed again: {error})")
                continue
            key = result_file.stem
            simulation, misfit, event = names.get((action, key), ("", "", ""))
            project.add_result(ResultRecord(action, key, simulation, misfit, event, relative, None))
            report.rebuilt.append(f"{action} {relative}" + (f" ({', '.join(filter(None, (simulation, misfit, event)))})"
                                                            if simulation else " (by content hash only)"))
    report.not_rebuilt.append("misfit values (computed again from the cached traces when asked, without a simulation)")
