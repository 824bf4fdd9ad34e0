"""Where a sweep's units run: a local Dask cluster, an existing scheduler, or batch jobs.

Three scales, one set of options (``ClusterOptions``):

* default: a ``LocalCluster`` of worker processes with one thread each, as many as the machine has
  cores and memory for (each worker gets a memory limit that fits the largest model of the sweep),
  CPU-only even on a GPU host (``CUDA_VISIBLE_DEVICES`` empty; ``device_for``);
  ``gpus=G`` starts G workers instead, each seeing one GPU (``CUDA_VISIBLE_DEVICES``) and holding
  the Dask worker resource ``GPU=1``;
* ``scheduler``: the address of a running Dask scheduler (its workers, its settings);
* ``cluster`` slurm | pbs | sge | lsf: dask-jobqueue submits ``jobs`` batch jobs of ``cores`` cores
  and ``memory`` each (one single-threaded worker process per core; with ``gpus=1`` one worker per
  job holding the job's GPU). ``job_script`` shows what would be submitted, without submitting.

A worker that dies (killed, out of memory) has its unit started again elsewhere up to ``retries``
times (the scheduler's ``allowed_failures``); after that the unit is reported as failed.

Workers keep glibc's own malloc tuning: Dask's nanny sets ``MALLOC_TRIM_THRESHOLD_=65536`` in every
worker by default, which fixes the mmap threshold at 128 KiB, so each of torch's activation buffers
is mapped and unmapped anew; measured here it made mobilenet_v2's extraction 1.7x slower (11.1 s
against 6.4 s on one thread). Local clusters drop it through Dask's config (``WORKER_CONFIG``);
batch jobs through ``DASK_CONFIG`` pointing at ``dask-config/`` in this package, unless the user
has set ``DASK_CONFIG`` already.
"""
from __future__ import annotations

import contextlib
import copy
import dataclasses
import logging
import math
import os
import re
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import InvalidInput

BATCH_SYSTEMS = ("slurm", "pbs", "sge", "lsf")
GPU_DIRECTIVES = {"slurm": "--gres=gpu:1", "sge": "-l gpu=1", "lsf": '-gpu "num=1"'}  # pbs: in resource_spec
GIB = 2**30
# Peak resident memory of one unit (demo data, batch 16, one thread), measured: squeezenet1_1 1.2 GiB,
# resnext101_32x8d 2.4 GiB, vgg19 2.1 GiB on their own. A worker runs model after model and glibc's heap
# stays fragmented between them (freed memory is trimmed after each group, see worker.py, but not
# defragmented): resnext101_32x8d right after vgg19 peaked at 5.5-5.7 GiB, in a worker and in a plain
# process alike. So a worker gets 6 GiB: every study model fits, in the worst sequence measured.
MIN_WORKER_BYTES = 6 * GIB
BASE_WORKER_BYTES = 3 * GIB // 2  # interpreter, torch, targets, a batch's activations
BYTES_PER_PARAMETER = 16  # weights and their copies, for models larger than the study's
DEFAULT_RETRIES = 2
SCHEDULER_TIMEOUT_S = 5.0
# Unset Dask's MALLOC_TRIM_THRESHOLD_ in workers (see the module docstring); dask-config/ says the same.
WORKER_CONFIG = {"distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None}
WORKER_CONFIG_DIR = Path(__file__).with_name("dask-config")
QUIET_WORKER = "mouse_rsa.sweep.quiet_worker"  # local workers leave Ctrl-C to the client
CPU_ONLY = {"CUDA_VISIBLE_DEVICES": ""}  # local workers without --gpus see no GPU (GPU workers set their own)


@dataclass(frozen=True)
class ClusterOptions:
    """How to get Dask workers for a sweep (see the module docstring for the three scales).

    ``workers``/``memory_limit`` size the local cluster (default: from the machine and the models);
    ``scheduler`` connects to a running cluster; ``cluster`` names a batch system, with ``jobs``,
    ``cores``, ``memory`` (per job, e.g. "32GB"; default: ``cores`` × what the largest model needs),
    ``walltime``, ``queue`` and ``job_extra`` (extra directive lines, e.g. "--account=lab").
    ``gpus``: local, the number of GPU workers; batch, 1 to give each job (one worker) a GPU.
    ``retries``: how many times a unit whose worker died is started again.
    ``dashboard_address``: where the scheduler serves its dashboard (None: no dashboard).
    """

    workers: int | None = None
    memory_limit: str | None = None
    scheduler: str | None = None
    cluster: str | None = None
    jobs: int = 1
    cores: int = 1
    memory: str | None = None
    walltime: str | None = None
    queue: str | None = None
    job_extra: tuple[str, ...] = ()
    gpus: int = 0
    retries: int = DEFAULT_RETRIES
    dashboard_address: str | None = ":8787"

    def __post_init__(self) -> None:
        for name in ("jobs", "cores", "gpus", "retries", "workers"):
            value = getattr(self, name)
            low = 1 if name in ("jobs", "cores", "workers") else 0
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < low):
                raise InvalidInput(f"{name} must be an integer of at least {low}, not {value!r}", argument=name)
        _check_sizes(self)
        if self.scheduler is not None and self.cluster is not None:
            raise InvalidInput("give scheduler (a running cluster) or cluster (a batch system), not both",
                               argument="scheduler")
        if self.cluster is not None:
            _check_batch(self)
        elif self.gpus and self.workers is not None:
            raise InvalidInput("on a local cluster gpus sets the number of workers (one GPU each); drop workers",
                               argument="workers")

    @property
    def resources(self) -> dict[str, float] | None:
        """The Dask resources each unit asks for: one GPU when GPUs were requested."""
        return {"GPU": 1} if self.gpus else None

    def device_for(self, device: str) -> str:
        """The device a unit asking for ``device`` runs on with these workers, as its key records it: without
        ``gpus`` workers are CPU-only (``auto`` is ``cpu``; a CUDA device is an error), with ``gpus`` each
        worker sees its one GPU as ``cuda`` (``auto`` is ``cuda``)."""
        if not self.gpus:
            if device.startswith("cuda"):
                raise InvalidInput(f"device {device} needs GPU workers: give --gpus N (one GPU per worker) or "
                                   "--device cpu", argument="device")
            return "cpu"
        if device not in ("auto", "cuda", "cuda:0", "cpu"):
            raise InvalidInput(f"with --gpus each worker sees its one GPU as cuda, so device {device} is never "
                               "visible: use --device auto or cuda", argument="device")
        return "cuda" if device == "auto" else device

    @property
    def unit_threads(self) -> int | None:
        """CPU threads a unit may use: all of its worker's when the worker holds a GPU, else None (one)."""
        if not self.gpus or self.scheduler is not None:
            return None
        if self.cluster is not None:
            return self.cores
        return max(1, _cpu_count() // self.gpus)


WALLTIME = re.compile(r"(\d+-)?\d+(:\d{1,2}){0,2}")  # minutes, [D-]HH:MM[:SS], as batch systems take it
MIN_WORKER_MEMORY = 2**30  # below this no study model runs


def _byte_size(name: str, value: str) -> int:
    """``value`` (e.g. "32GB", "8GiB") in bytes, or InvalidInput naming ``name``."""
    from dask.utils import parse_bytes

    try:
        size = int(parse_bytes(value))
    except (ValueError, TypeError) as err:
        raise InvalidInput(f"{name} must be a size such as 8GB or 16GiB, not {value!r}", argument=name) from err
    if size < MIN_WORKER_MEMORY:
        raise InvalidInput(f"{name}={value} is less than the 1 GiB a worker needs; give a size such as 8GB",
                           argument=name)
    return size


def _check_sizes(options: ClusterOptions) -> None:
    """Memory and walltime in the forms Dask and the batch systems take, and not zero (checked before any work)."""
    if options.memory is not None:
        _byte_size("memory", options.memory)
    if options.memory_limit is not None and options.memory_limit != "auto":
        _byte_size("memory_limit", options.memory_limit)
    walltime = options.walltime
    if walltime is not None:
        if not WALLTIME.fullmatch(str(walltime)):
            raise InvalidInput(f"walltime must be HH:MM:SS (or D-HH:MM:SS, or minutes), not {walltime!r}",
                               argument="walltime")
        if not any(int(part) for part in re.split(r"[-:]", walltime)):
            raise InvalidInput(f"walltime={walltime} is zero; give the time a job may run, e.g. 04:00:00",
                               argument="walltime")


def check_scheduler(options: ClusterOptions) -> None:
    """InvalidInput, at once, when ``options.scheduler`` is not an address or nothing answers there."""
    if options.scheduler is None:
        return
    from distributed.comm.addressing import get_address_host_port

    address = options.scheduler
    try:
        host, port = get_address_host_port(address)
    except ValueError as err:
        raise InvalidInput(f"scheduler {address!r} is not an address like tcp://host:8786 ({err})",
                           argument="scheduler") from err
    except NotImplementedError:  # a transport without host and port (inproc, ucx): Dask checks it itself
        return
    try:
        with socket.create_connection((host, port), timeout=SCHEDULER_TIMEOUT_S):
            pass
    except OSError as err:
        raise InvalidInput(f"nothing answers at scheduler {address} ({err.strerror or type(err).__name__}); start "
                           "one with `dask scheduler`, or leave the option out for a cluster on this machine",
                           argument="scheduler") from err


def _check_batch(options: ClusterOptions) -> None:
    if options.cluster not in BATCH_SYSTEMS:
        raise InvalidInput(f"cluster must be one of {', '.join(BATCH_SYSTEMS)}, not {options.cluster!r}",
                           argument="cluster")
    if options.gpus > 1:
        raise InvalidInput("each batch job runs one worker with one GPU: use gpus=1 and jobs=N for N GPUs",
                           argument="gpus")
    if options.workers is not None or options.memory_limit is not None:
        raise InvalidInput("workers and memory_limit size the local cluster; batch jobs take cores and memory",
                           argument="workers")


def worker_memory(n_params: list[float]) -> int:
    """Bytes one worker needs to run a unit of the largest of models with ``n_params`` parameters."""
    largest = max((p for p in n_params if not math.isnan(p)), default=0.0)  # NaN: not catalogued
    return max(MIN_WORKER_BYTES, int(BASE_WORKER_BYTES + BYTES_PER_PARAMETER * largest))


def _cpu_count() -> int:
    from dask.system import CPU_COUNT

    return int(CPU_COUNT)


def local_cluster(options: ClusterOptions, need: int) -> Any:
    """A LocalCluster of single-threaded worker processes that each fit ``need`` bytes (see module)."""
    from distributed import LocalCluster
    from distributed.system import MEMORY_LIMIT

    cores = _cpu_count()
    n_workers = options.gpus or options.workers or max(1, min(cores, MEMORY_LIMIT // need))
    threads = max(1, cores // options.gpus) if options.gpus else 1
    cluster = LocalCluster(n_workers=0 if options.gpus else n_workers, threads_per_worker=threads,
                           processes=True, memory_limit=options.memory_limit or MEMORY_LIMIT // n_workers,
                           dashboard_address=options.dashboard_address, silence_logs=logging.ERROR,
                           preload=[QUIET_WORKER], env=CPU_ONLY,
                           scheduler_kwargs={"allowed_failures": options.retries})
    if options.gpus:
        _add_gpu_workers(cluster, options.gpus)
    return cluster


def _add_gpu_workers(cluster: Any, gpus: int) -> None:
    """Start ``gpus`` workers on ``cluster``, worker i seeing only GPU i and holding resource GPU=1."""
    for i in range(gpus):
        spec = copy.deepcopy(cluster.new_spec)
        spec["options"].update(env={"CUDA_VISIBLE_DEVICES": str(i)}, resources={"GPU": 1})
        cluster.worker_spec[f"gpu-{i}"] = spec
    cluster.scale(gpus)


def batch_cluster(options: ClusterOptions, need: int) -> Any:
    """A dask-jobqueue cluster for ``options.cluster``; no job is submitted until it is scaled."""
    import dask_jobqueue
    from dask.utils import format_bytes, parse_bytes

    kind = str(options.cluster)
    cls = {"slurm": dask_jobqueue.SLURMCluster, "pbs": dask_jobqueue.PBSCluster,
           "sge": dask_jobqueue.SGECluster, "lsf": dask_jobqueue.LSFCluster}[kind]
    processes = 1 if options.gpus else options.cores
    memory = options.memory or format_bytes(processes * need).replace(" ", "")
    kwargs: dict[str, Any] = {"cores": options.cores, "memory": memory, "processes": processes,
                              "job_extra_directives": list(options.job_extra),
                              "scheduler_options": {"allowed_failures": options.retries,
                                                    "dashboard": options.dashboard_address is not None,
                                                    "dashboard_address": options.dashboard_address}}
    if "DASK_CONFIG" not in os.environ:
        kwargs["job_script_prologue"] = [f"export DASK_CONFIG={WORKER_CONFIG_DIR}"]
    kwargs.update({k: v for k, v in (("walltime", options.walltime), ("queue", options.queue)) if v is not None})
    if options.gpus:
        kwargs["worker_extra_args"] = ["--resources", "GPU=1"]
        if kind == "pbs":
            from dask_jobqueue.pbs import pbs_format_bytes_ceil

            kwargs["resource_spec"] = (f"select=1:ncpus={options.cores}:"
                                       f"mem={pbs_format_bytes_ceil(parse_bytes(memory))}:ngpus=1")
        else:
            kwargs["job_extra_directives"].insert(0, GPU_DIRECTIVES[kind])
    return cls(**kwargs)


def job_script(options: ClusterOptions, need: int) -> str:
    """The batch script each job of ``options`` would run (nothing is submitted; no batch system needed)."""
    if options.cluster is None:
        raise InvalidInput("a job script needs a batch system: set cluster to slurm, pbs, sge or lsf",
                           argument="cluster")
    cluster = batch_cluster(dataclasses.replace(options, dashboard_address=":0"), need)
    try:
        return str(cluster.job_script())
    finally:
        cluster.close()


@contextlib.contextmanager
def open_client(options: ClusterOptions, need: int) -> Iterator[Any]:
    """A Dask client on the cluster ``options`` describe, workers requested; closed (jobs cancelled) on exit.

    ``need`` is the memory in bytes one worker needs (``worker_memory``).
    """
    import dask
    from distributed import Client

    if options.scheduler is not None:
        with Client(options.scheduler, timeout=f"{SCHEDULER_TIMEOUT_S}s") as client:
            yield client
        return
    with dask.config.set(WORKER_CONFIG):
        cluster = batch_cluster(options, need) if options.cluster else local_cluster(options, need)
        try:
            if options.cluster:
                cluster.scale(jobs=options.jobs)
            with Client(cluster) as client:
                yield client
        except KeyboardInterrupt:  # Ctrl-C or SIGTERM: closing half-busy workers logs tracebacks that say nothing
            logging.getLogger("distributed").setLevel(logging.CRITICAL)
            raise
        finally:
            cluster.close()


def describe(client: Any) -> str:
    """One line: the scheduler, its workers now, and the dashboard link (or how to get one)."""
    info = client.scheduler_info()
    workers = info.get("workers", {})
    threads = sum(w.get("nthreads", 0) for w in workers.values())
    memory = sum(w.get("memory_limit", 0) or 0 for w in workers.values())
    link = client.dashboard_link if "dashboard" in info.get("services", {}) else None
    where = f"dashboard {link}" if link else "no dashboard (install bokeh>=3.1 to get one)"
    return (f"Dask scheduler {info.get('address', '?')}: {len(workers)} workers, {threads} threads, "
            f"{math.floor(memory / GIB)} GiB; {where}")
