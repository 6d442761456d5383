"""Batch analysis's cluster: a LocalCluster of worker processes on loopback, or the Dask scheduler it is
given (app/batch.py submits the recordings to it)."""

from __future__ import annotations

import os
import signal
import threading
from dataclasses import dataclass

from .batch_inputs import BatchError


@dataclass(frozen=True)
class ClusterSettings:
    scheduler: str | None = None  # an existing cluster's address; None: a LocalCluster on loopback
    workers: int | None = None  # local cluster: worker processes (None: half the cores, at least one)
    threads_per_worker: int = 1
    dashboard: bool = False
    connect_timeout_s: float = 5.0


def default_workers() -> int:
    """One worker process per two cores: one exact replay keeps about two cores busy (face, voice and
    speech recognition run side by side)."""
    return max(1, (os.cpu_count() or 2) // 2)


def connect(cluster: ClusterSettings, note=lambda text: None):
    """(a Client, the LocalCluster it owns or None). BatchError, in one line, when the scheduler at
    `cluster.scheduler` does not answer within the connect timeout."""
    import dask
    from distributed import Client, LocalCluster

    _quiet_dask_logs()
    if cluster.scheduler:
        try:
            client = Client(cluster.scheduler, timeout=cluster.connect_timeout_s, set_as_default=False)
        except (OSError, TimeoutError, ValueError) as error:
            raise BatchError(
                f"no Dask scheduler answers at {cluster.scheduler} within {cluster.connect_timeout_s:g} s "
                f"({type(error).__name__}); start one (dask scheduler, dask-jobqueue) or leave out --scheduler "
                "to run on this machine"
            ) from None
        if not client.scheduler_info().get("workers"):
            note(f"the scheduler at {cluster.scheduler} has no workers yet: the recordings wait for them")
        if cluster.dashboard:
            note(f"dashboard: {client.dashboard_link}")
        return client, None
    workers = cluster.workers or default_workers()
    # Ctrl-C in a terminal reaches the whole process group; the worker processes ignore it (they inherit the
    # ignored signal) so that this process alone decides: cancel, close the cluster, keep what is done.
    ignoring = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN) if ignoring else None
    # One retry on a worker's death (a crash in native code can be chance); the same death twice fails it.
    try:
        with dask.config.set({"distributed.scheduler.allowed-failures": 1}):
            local = LocalCluster(
                n_workers=workers,
                threads_per_worker=cluster.threads_per_worker,
                processes=True,  # the engine runs native code with threads of its own: a process per worker
                host="127.0.0.1",  # loopback only: nothing of a local batch is reachable from the network
                dashboard_address="127.0.0.1:0" if cluster.dashboard else None,
                silence_logs=40,  # logging.ERROR: the progress bar and our notes are what the user reads
            )
    except (OSError, RuntimeError, TimeoutError) as error:
        raise BatchError(f"could not start {workers} Dask worker processes on this machine: {error}") from None
    finally:
        if ignoring:
            signal.signal(signal.SIGINT, previous)
    client = Client(local, set_as_default=False)
    if cluster.dashboard:
        note(f"dashboard: {client.dashboard_link}")
    return client, local


def _quiet_dask_logs() -> None:
    import logging

    for name in ("distributed", "tornado"):
        logging.getLogger(name).setLevel(logging.CRITICAL)


def close_cluster(client, local) -> None:
    if client is not None:
        client.close(timeout=10)
    if local is not None:
        local.close(timeout=10)  # the nannies end worker processes still busy in a replay
