"""Batch encoding and decoding of many files into one output folder, as archives run them.

`run_batch(inputs, out_dir, options)` lists the inputs (files, folders, globs), plans one output per
input, and runs them on an engine: "local" (this process, one file after another; the default, no Ray
needed) or "ray" (an actor pool on a Ray cluster, `ray_engine`). Either way the output folder gets a
fixity manifest (`manifest`) and is locked against a second batch (`lock`), outputs are written
atomically, inputs whose recorded output is intact are kept, each file's work is budgeted (`budget`), a
bad input is recorded as failed without stopping the job (unless failures exceed max_failures), and the
returned BatchReport sums up what this run did.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Generator
from pathlib import Path
from typing import Any, Literal

from tqdm import tqdm

from ..io.image_input import IMAGE_SUFFIXES
from .jobs import BatchOptions, FileJob
from .local import run_local
from .lock import batch_lock
from .manifest import MANIFEST_NAME, append, check_output, read, recorded_outputs
from .paths import TADM_SUFFIXES, expand_inputs, plan_outputs, remove_dead_temporaries
from .ray_engine import RayOptions, map_on_ray, run_ray
from .report import BatchReport

Engine = Literal["local", "ray"]
__all__ = [
    "BatchOptions",
    "BatchReport",
    "Engine",
    "RayOptions",
    "audit",
    "batch_lock",
    "plan_jobs",
    "run_batch",
    "run_jobs",
]


def run_batch(
    inputs: list[str | Path],
    out_dir: str | Path,
    options: BatchOptions,
    *,
    engine: Engine = "local",
    ray: RayOptions | None = None,
    max_failures: int | None = None,
    quiet: bool = True,
    on_failure: Callable[[dict[str, Any]], None] | None = None,
) -> BatchReport:
    """Encode or decode (options.operation) every input into out_dir with a manifest; see the module."""
    out_dir = Path(out_dir)
    with batch_lock(out_dir):
        jobs = plan_jobs([str(path) for path in inputs], out_dir, options)
        return run_jobs(
            jobs,
            options,
            manifest=out_dir / MANIFEST_NAME,
            engine=engine,
            ray=ray,
            max_failures=max_failures,
            quiet=quiet,
            on_failure=on_failure,
        )


def plan_jobs(inputs: list[str], out_dir: Path, options: BatchOptions) -> list[FileJob]:
    """The jobs for inputs (files, folders searched for the operation's input types, globs), each with
    the manifest's latest record of its input; creates out_dir."""
    suffixes = IMAGE_SUFFIXES if options.operation == "encode" else TADM_SUFFIXES
    pairs = plan_outputs(expand_inputs(inputs, suffixes), out_dir, options.output_suffix)
    out_dir.mkdir(parents=True, exist_ok=True)
    done = read(out_dir / MANIFEST_NAME)
    return [FileJob(source, target, done.get(str(source))) for source, target in pairs]


def run_jobs(
    jobs: list[FileJob],
    options: BatchOptions,
    *,
    manifest: Path | None,
    engine: Engine = "local",
    ray: RayOptions | None = None,
    max_failures: int | None = None,
    quiet: bool = True,
    on_failure: Callable[[dict[str, Any]], None] | None = None,
) -> BatchReport:
    """Run planned jobs on the engine with one progress bar over files; append each record to the
    manifest (when given) as it arrives; stop once failures exceed max_failures."""
    start = time.perf_counter()
    report = BatchReport(options.operation, manifest.parent if manifest else None, engine)
    records = _records(jobs, options, engine, ray, quiet)
    bar = tqdm(total=len(jobs), desc=f"{options.operation} files", unit="file", disable=quiet or len(jobs) < 2)
    try:
        for record in records:
            bar.update()
            if record is None:
                report.kept += 1
                continue
            if manifest is not None:
                append(manifest, record)
            report.records.append(record)
            if record["status"] == "failed":
                if on_failure is not None:
                    on_failure(record)
                if max_failures is not None and len(report.failed) > max_failures:
                    report.stopped_early = True
                    break
    finally:
        records.close()
        bar.close()
        if engine == "ray":  # temporaries of workers that died on this machine
            remove_dead_temporaries([job.target for job in jobs])
    report.seconds = time.perf_counter() - start
    return report


def _records(
    jobs: list[FileJob], options: BatchOptions, engine: Engine, ray: RayOptions | None, quiet: bool
) -> Generator[dict[str, Any] | None]:
    if engine == "local":
        return run_local(jobs, options, quiet)
    if engine == "ray":
        return run_ray(jobs, options, ray or RayOptions())
    raise ValueError(f"engine must be 'local' or 'ray', got {engine!r}")


def audit(manifest: str | Path, *, engine: Engine = "local", ray: RayOptions | None = None) -> list[str]:
    """The fixity audit: what is wrong with the outputs the manifest records as done (missing, changed,
    or failing the container's CRC checks); empty when all is well. The Ray engine checks files in
    parallel on the cluster, for large manifests."""
    manifest = Path(manifest)
    if not manifest.is_file():
        return [f"{manifest}: no such manifest"]
    records, problems = recorded_outputs(manifest)
    found = (
        map_on_ray(check_output, records, ray or RayOptions())
        if engine == "ray" and records
        else map(check_output, records)
    )
    return problems + [problem for problem in found if problem]
