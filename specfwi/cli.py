"""The ``specfwi`` command: run the demo, inspect and repair projects, compute misfits and gradients, invert,
plot.

``specfwi --help`` lists the subcommands and ``specfwi SUBCOMMAND --help`` their options.
User errors (bad arguments, a damaged or read-only project, an unreachable scheduler, an output
file that exists or has an unknown format, files that cannot be read or written) print one line
(``specfwi: error: ...``) and exit with status 2, before any computation where they can be known
then; only bugs show tracebacks.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from .errors import InvalidParameterError, SpecfwiError, invalid
from .version import __version__

logger = logging.getLogger(__name__)

EXIT_ERROR = 2
EXIT_INTERRUPTED = 130
SCHEDULER_CONNECT_TIMEOUT_IN_SECONDS = 5.0


class _Parser(argparse.ArgumentParser):
    """argparse with its errors on one line, like every other error of the command."""

    def error(self, message: str):
        self.exit(EXIT_ERROR, f"specfwi: error: {message} (see '{self.prog} --help')\n")


# ---------------------------------------------------------------------------- helpers

def _open_project(path: str):
    from .project import Project

    return Project(path)


class _ExecutorOnFirstUse:
    """A DaskExecutor created when the first job is submitted: nothing connects when every result is cached."""

    def __init__(self, scheduler: str | None, n_workers: int | None):
        self._scheduler, self._n_workers = scheduler, n_workers
        self._executor = None

    def submit(self, function, *arguments):
        if self._executor is None:
            from .execution import DaskExecutor

            self._executor = DaskExecutor(self._scheduler, n_workers=self._n_workers,
                                          connect_timeout_in_seconds=SCHEDULER_CONNECT_TIMEOUT_IN_SECONDS)
        return self._executor.submit(function, *arguments)

    def close(self) -> None:
        if self._executor is not None:
            self._executor.close()


@contextlib.contextmanager
def _executor(arguments: argparse.Namespace):
    """The executor the options ask for: None (this process), or a DaskExecutor made on first use, closed after."""
    if arguments.scheduler is None and arguments.workers is None:
        yield None
        return
    if arguments.workers is not None and arguments.workers < 1:
        raise invalid("--workers", arguments.workers, "a positive number of worker processes")
    executor = _ExecutorOnFirstUse(arguments.scheduler, arguments.workers)
    try:
        yield executor
    finally:
        executor.close()


def _check_output(arguments: argparse.Namespace) -> Path:
    """The image file of ``--output``, checked before any computation: a known format, a writable folder, and
    no existing file unless ``--overwrite``."""
    from matplotlib.figure import Figure

    output_path = Path(arguments.output)
    formats = Figure().canvas.get_supported_filetypes()
    if output_path.suffix.lstrip(".").lower() not in formats:
        raise invalid("--output", arguments.output, f"an image file name ending in one of "
                      f"{sorted('.' + name for name in formats)}")
    if output_path.exists() and not arguments.overwrite:
        raise InvalidParameterError(f"'--output' names an existing file, {arguments.output!r}; choose another name "
                                    f"or pass --overwrite")
    folder = output_path.parent
    if not folder.is_dir() or not os.access(folder, os.W_OK):
        raise invalid("--output", arguments.output, "a file in an existing, writable folder")
    return output_path


def _save_figure(ax, output_path: Path) -> None:
    from .project.storage import atomic_path

    with atomic_path(output_path) as temporary:
        ax.figure.savefig(temporary, format=output_path.suffix.lstrip(".").lower(), dpi=150, bbox_inches="tight")
    print(f"wrote {output_path}")


def _use_file_backend():
    import matplotlib

    matplotlib.use("Agg")


# ---------------------------------------------------------------------------- subcommands

def _demo(arguments: argparse.Namespace) -> None:
    from . import demo

    _use_file_backend()
    summary = demo.run_demo(arguments.output, max_frequency_in_hertz=arguments.max_frequency)
    print(json.dumps(summary, indent=2, default=str))


def _info(arguments: argparse.Namespace) -> None:
    from .project.entities import TRIAL_MARK

    project = _open_project(arguments.project)
    summary = project.summary()
    print(f"project: {summary.path}")
    observed = [f"{name} (event {event})" for name, event in summary.observed_data]
    for label, names in [*((f"{kind.replace('_', ' ')}s", names) for kind, names in summary.entities.items()),
                         ("observed data", observed)]:
        shown = [name for name in names if TRIAL_MARK not in name]
        trials = f" (and {len(names) - len(shown)} trial models of inversions)" if len(shown) < len(names) else ""
        print(f"{label} ({len(shown)}): {', '.join(shown) if shown else '-'}{trials}")
    for name in summary.entities.get("simulation_configuration", []):
        if TRIAL_MARK in name:
            continue
        try:
            estimate = project.simulations.estimate(name, gradient=True)
        except SpecfwiError as error:
            estimate = f"no estimate ({error})"
        print(f"  {name}, one event's gradient: {estimate}")
    names = project.inversions.list()
    print(f"inversions ({len(names)}):" + ("" if names else " -"))
    for name in names:
        status = project.inversions.status(name)
        misfit = "-" if status.misfit is None else f"{status.misfit:.6g}"
        print(f"  {name}: {status.state}, {status.n_completed_iterations} of {status.n_requested_iterations} "
              f"iteration(s) complete, {status.n_evaluations} evaluation(s), misfit {misfit}"
              + (f" ({status.message})" if status.message else ""))
    print(f"cached results ({len(summary.results)}):")
    for record in summary.results:
        labels = ", ".join(f"{label} {value}" for label, value in (
            ("simulation", record.simulation_configuration), ("misfit", record.misfit_configuration),
            ("event", record.event)) if value)
        value = "" if record.value is None else f" = {record.value:.6g}"
        path = "" if record.path is None else f"  [{record.path}]"
        print(f"  {record.action}: {labels}{value}{path}")


def _misfit(arguments: argparse.Namespace) -> None:
    project = _open_project(arguments.project)
    with _executor(arguments) as executor:
        misfits = project.actions.inversion.compute_misfits(arguments.simulation, arguments.misfit, arguments.events,
                                                            executor=executor)
    for event, value in misfits.items():
        print(f"{event}\t{value:.10g}")
    print(f"total\t{sum(misfits.values()):.10g}")


def _gradient(arguments: argparse.Namespace) -> None:
    project = _open_project(arguments.project)
    with _executor(arguments) as executor:
        gradients = project.actions.inversion.compute_gradients(arguments.simulation, arguments.misfit,
                                                                arguments.events, executor=executor)
    for event, path in gradients.items():
        print(f"{event}\t{path}")


def _repair(arguments: argparse.Namespace) -> None:
    from .project import Project

    print(Project.repair(arguments.project))


def _invert(arguments: argparse.Namespace) -> None:
    project = _open_project(arguments.project)
    with _executor(arguments) as executor:
        status = project.inversions.iterate(arguments.inversion, n_iterations=arguments.iterations,
                                            executor=executor)
    misfits = project.inversions.misfits(arguments.inversion).sum("event")
    for iteration, value in zip(misfits["iteration"].values, misfits.values):
        print(f"{iteration}\t{value:.10g}")
    print(f"{status.state}: {status.n_completed_iterations} iteration(s), {status.n_evaluations} evaluation(s)"
          + (f"; {status.message}" if status.message else ""))


def _plot_gradient(arguments: argparse.Namespace) -> None:
    from .plot.color_scale import check_clip

    output_path = _check_output(arguments)
    check_clip(arguments.clip)
    project = _open_project(arguments.project)
    gradients = project.actions.inversion.compute_gradients(arguments.simulation, arguments.misfit, [arguments.event])
    _use_file_backend()
    from . import plot
    from .mesh import UnstructuredMesh

    ax = plot.gradient(UnstructuredMesh.from_h5(gradients[arguments.event]), arguments.parameter, clip=arguments.clip)
    _save_figure(ax, output_path)


def _plot_waveforms(arguments: argparse.Namespace) -> None:
    output_path = _check_output(arguments)
    project = _open_project(arguments.project)
    traces = project.waveforms.get(arguments.simulation, arguments.event)
    _use_file_backend()
    from . import plot

    _save_figure(plot.traces(traces), output_path)


# ---------------------------------------------------------------------------- parser

def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="specfwi", description="Spectral-element wave simulation and full-waveform inversion (2D acoustic).")
    parser.add_argument("--version", action="version", version=f"specfwi {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress (INFO messages) to stderr")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND", parser_class=_Parser)

    demo = commands.add_parser("demo", help="run the demo workflow (model, simulation, gradient, mapping)",
                               description="Run the demo workflow and print its summary.")
    demo.add_argument("--output", default="specfwi_demo", metavar="DIR",
                      help="folder for the demo project and figures (default: %(default)s)")
    demo.add_argument("--max-frequency", type=float, default=12.5, metavar="HZ",
                      help="highest frequency the mesh resolves; the Ricker's centre frequency is 1/2.5 of it "
                           "(default: the seed's %(default)s Hz)")
    demo.set_defaults(handler=_demo)

    info = commands.add_parser("info", help="list a project's entities and cached results",
                               description="List a project's entities by kind and its cached results.")
    info.add_argument("project", metavar="PROJECT", help="project folder")
    info.set_defaults(handler=_info)

    repair = commands.add_parser("repair", help="rebuild a project's damaged registry from its files",
                                 description="Rebuild a project's damaged or lost registry from its entity copies and "
                                             "result files; keeps the damaged file and says what it could not rebuild.")
    repair.add_argument("project", metavar="PROJECT", help="project folder")
    repair.set_defaults(handler=_repair)

    def add_command(name: str, help_text: str, handler, *, misfit: bool) -> argparse.ArgumentParser:
        command = commands.add_parser(name, help=help_text, description=help_text[0].upper() + help_text[1:] + ".")
        command.add_argument("project", metavar="PROJECT", help="project folder")
        command.add_argument("--simulation", required=True, metavar="S", help="simulation configuration name")
        if misfit:
            command.add_argument("--misfit", required=True, metavar="M", help="misfit configuration name")
        command.set_defaults(handler=handler)
        return command

    for name, help_text, handler in (
            ("misfit", "compute the misfit of each event, reusing cached results "
                       "(prints tab-separated event and value)", _misfit),
            ("gradient", "compute the raw gradient of each event, reusing cached results "
                         "(prints tab-separated event and HDF5 file)", _gradient)):
        command = add_command(name, help_text, handler, misfit=True)
        command.add_argument("--events", nargs="+", metavar="E", help="event names (default: every event)")
        where = command.add_mutually_exclusive_group()
        where.add_argument("--scheduler", metavar="ADDRESS",
                           help="run the events on a Dask cluster, e.g. tcp://host:8786 (default: this process)")
        where.add_argument("--workers", type=int, metavar="N",
                           help="run the events on a local Dask cluster of N worker processes")

    invert = commands.add_parser("invert", help="iterate an inversion of the project (prints the total misfit per "
                                 "iteration)", description="Continue the inversion until N iterations are complete "
                                 "in total (nothing if they are); prints tab-separated iteration and total misfit.")
    invert.add_argument("project", metavar="PROJECT", help="project folder")
    invert.add_argument("--inversion", required=True, metavar="NAME", help="inverse problem configuration name")
    invert.add_argument("--iterations", required=True, type=int, metavar="N", help="iterations complete in total")
    where = invert.add_mutually_exclusive_group()
    where.add_argument("--scheduler", metavar="ADDRESS", help="run the events on a Dask cluster")
    where.add_argument("--workers", type=int, metavar="N", help="run the events on a local Dask cluster of N workers")
    invert.set_defaults(handler=_invert)

    plot_gradient = add_command("plot-gradient", "plot one event's raw gradient (computed if missing) to an image file",
                                _plot_gradient, misfit=True)
    plot_gradient.add_argument("--event", required=True, metavar="E", help="event name")
    plot_gradient.add_argument("--parameter", default="VP", choices=["VP", "RHO"],
                               help="gradient component (default: %(default)s)")
    plot_gradient.add_argument("--clip", type=float, metavar="FRACTION",
                               help="saturate colours at this fraction of max|gradient|, in (0, 1]")
    plot_gradient.add_argument("--output", required=True, metavar="FILE", help="image file (.png, .pdf, .svg)")
    plot_gradient.add_argument("--overwrite", action="store_true", help="replace the output file if it exists")

    plot_waveforms = add_command("plot-waveforms", "plot one event's synthetic traces (simulated if missing) to an "
                                 "image file", _plot_waveforms, misfit=False)
    plot_waveforms.add_argument("--event", required=True, metavar="E", help="event name")
    plot_waveforms.add_argument("--output", required=True, metavar="FILE", help="image file (.png, .pdf, .svg)")
    plot_waveforms.add_argument("--overwrite", action="store_true", help="replace the output file if it exists")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line ``argv`` (default: ``sys.argv[1:]``); returns the exit status."""
    arguments = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if arguments.verbose else logging.WARNING,
                        format="[%(asctime)s] %(levelname)s: %(message)s")
    try:
        arguments.handler(arguments)
    except (SpecfwiError, OSError) as error:  # OSError: files the user named or holds (permissions, disk full)
        print(f"specfwi: error: {error}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("specfwi: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    return 0
