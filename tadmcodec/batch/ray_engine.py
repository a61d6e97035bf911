"""The Ray engine: the files spread over a Ray cluster with Ray Data, as batch inference is run there.

Paths (not pixels) go through the object store, one block per file; an actor pool of workers, each
loading the model once, does the files (jobs.FileCoder, the local engine's code) and writes outputs
straight into the output folder, which every worker must mount at the same path. Workers return
their records to the driver, which alone appends to the manifest. A worker that dies is restarted
and its files retried, `retries` times at most; a retried file's output is rewritten atomically
(an identical output left by the dead attempt is accepted, jobs.FileCoder).
"""

from __future__ import annotations

import json
import logging
import os
import warnings
from collections.abc import Callable, Generator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import TadmError
from .jobs import BatchOptions, FileCoder, FileJob

if TYPE_CHECKING:
    import ray.data

MAX_BLOCKS = 100_000  # one block per file up to this many files: progress and retries per file
FORWARDED_ENVIRONMENT = ("TADMCODEC_MODEL_PATH", "XDG_DATA_HOME")  # where workers look for models


@dataclass(frozen=True)
class RayOptions:
    """address: a running cluster ("auto", "HOST:6379"; default: RAY_ADDRESS, else a local one for this
    job); workers: actors (default: the cluster's CPUs / threads, or GPUs / gpus_per_worker);
    gpus_per_worker: a fraction shares a GPU; retries: restarts of a dead worker and retries of its files."""

    address: str | None = None
    workers: int | None = None
    gpus_per_worker: float = 0.0
    retries: int = 3


class _Worker:
    """One actor of the pool: a FileCoder with its model loaded at start."""

    def __init__(self, options: BatchOptions) -> None:
        self.coder = FileCoder(options)
        self.coder.warm_up()

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        records = []
        for source, target, previous in zip(batch["source"], batch["target"], batch["previous"], strict=True):
            job = FileJob(Path(source), Path(target), json.loads(previous) if previous else None)
            records.append(json.dumps(self.coder(job)))
        return {"record": np.array(records, dtype=object)}


def connect(address: str | None) -> bool:
    """Join (or start) the cluster unless this process already has; True when this call connected."""
    try:
        import ray
        import ray.data
    except ImportError as err:
        raise TadmError(f"the Ray engine needs Ray Data: pip install 'tadmcodec[ray]' ({err})") from None
    started = not ray.is_initialized()
    if started:
        try:
            ray.init(address=address, logging_level="ERROR", log_to_driver=False, configure_logging=False)
        except (ConnectionError, RuntimeError, ValueError) as err:
            raise TadmError(f"cannot join the Ray cluster at {address or 'RAY_ADDRESS'}: {err}") from None
    context = ray.data.DataContext.get_current()
    context.enable_progress_bars = False  # the driver shows one bar over files
    context.print_on_execution_start = False
    context.enable_auto_log_stats = False
    for handler in logging.getLogger("ray.data").handlers:  # its console chatter; its log files keep all
        if isinstance(handler, logging.StreamHandler):
            handler.setLevel(logging.ERROR)
    return started


def run_ray(jobs: list[FileJob], options: BatchOptions, ray_options: RayOptions) -> Generator[dict[str, Any] | None]:
    """Each job's record as workers finish them (None for an output the manifest keeps)."""
    threads = options.threads or 1
    gpus = ray_options.gpus_per_worker
    if gpus > 0 and options.coding.device is None:
        options = replace(options, coding=replace(options.coding, device="cuda"))
    options = replace(options, threads=threads)
    started = connect(ray_options.address)
    import ray

    try:
        workers = ray_options.workers or _default_workers(ray.cluster_resources(), threads, gpus)
        items = [
            {
                "source": str(job.source),
                "target": str(job.target),
                "previous": json.dumps(job.previous) if job.previous else "",
            }
            for job in jobs
        ]
        with warnings.catch_warnings():  # bounded retries have no named parameter yet (Ray 2.60)
            warnings.simplefilter("ignore", DeprecationWarning)
            dataset = _map_files(items, options, threads, gpus, min(workers, len(items)), ray_options.retries)
        for row in dataset.iter_rows():
            yield json.loads(row["record"])
    except ray.exceptions.RayError as err:  # retries spent: what finished is in the manifest; rerun resumes
        raise TadmError(f"the Ray job failed: {str(err).splitlines()[0]}") from None
    finally:
        if started:
            ray.shutdown()


def _map_files(
    items: list[dict[str, str]], options: BatchOptions, threads: int, gpus: float, workers: int, retries: int
) -> ray.data.Dataset:
    """The dataset of records: an actor pool of _Worker over one block per file."""
    import ray

    environment = {name: os.environ[name] for name in FORWARDED_ENVIRONMENT if name in os.environ}
    return ray.data.from_items(items, override_num_blocks=min(len(items), MAX_BLOCKS)).map_batches(
        _Worker,
        fn_constructor_kwargs={"options": options},
        batch_size=1,
        batch_format="numpy",
        compute=ray.data.ActorPoolStrategy(size=workers),
        num_cpus=threads,
        num_gpus=gpus,
        max_restarts=retries,
        max_task_retries=retries,
        runtime_env={"env_vars": environment},
    )


def _default_workers(resources: dict[str, float], threads: int, gpus: float) -> int:
    if gpus > 0:
        return max(1, int(resources.get("GPU", 0) / gpus))
    return max(1, int(resources.get("CPU", 1) // threads))


def map_on_ray(
    function: Callable[[dict[str, Any]], Any], records: list[dict[str, Any]], ray_options: RayOptions
) -> list[Any]:
    """function(record) for every record, as Ray tasks (no model, so no actors), in any order."""
    started = connect(ray_options.address)
    import ray

    try:
        rows = [{"record": json.dumps(record)} for record in records]
        dataset = ray.data.from_items(rows).map(lambda row: {"result": json.dumps(function(json.loads(row["record"])))})
        return [json.loads(row["result"]) for row in dataset.iter_rows()]
    finally:
        if started:
            ray.shutdown()
