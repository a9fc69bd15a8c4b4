"""Sweeps on Dask distributed: a local cluster of two worker processes (loopback only) gives the
records of a single process, through a cluster object and through a scheduler address."""

from __future__ import annotations

import pytest
from cli_runs import ok
from sweep_files import outcome, records

import circuitc
from circuitc.sweep import run_sweep

distributed = pytest.importorskip("distributed")


@pytest.fixture(scope="module")
def cluster():
    with distributed.LocalCluster(n_workers=2, processes=True, threads_per_worker=1, host="127.0.0.1",
                                  dashboard_address=None, resources={"MEMORY": 4e9}) as c:
        yield c


def test_a_dask_cluster_gives_the_records_of_a_single_process(tiny, cluster):
    alone = run_sweep(tiny / "grid.toml", tiny / "one", workers=1)
    result = run_sweep(tiny / "grid.toml", tiny / "dask", client=cluster, memory_resource="MEMORY")
    assert result.executor.startswith("Dask at tcp://127.0.0.1:") and result.counts.ran == 16
    assert [outcome(r) for r in result.records] == [outcome(r) for r in alone.records]
    assert records(tiny / "dask").keys() == records(tiny / "one").keys()


def test_a_scheduler_address_on_the_command_line(tiny, cluster, capsys):
    out = ok(capsys, "sweep", tiny / "grid.toml", "-o", tiny / "cli", "--scheduler", cluster.scheduler_address)
    assert out.startswith("| D | z | construction | T | status |")
    alone = run_sweep(tiny / "grid.toml", tiny / "one", workers=1)
    assert {k: outcome(r) for k, r in records(tiny / "cli").items()} == {k: outcome(r) for k, r in
                                                                         records(tiny / "one").items()}
    assert len(alone.records) == 16


def test_a_resource_no_worker_has_is_refused_before_anything_waits_forever(tiny, cluster):
    with pytest.raises(circuitc.CircuitError, match="no worker of the cluster declares the resource 'GPU_MEMORY'"):
        run_sweep(tiny / "grid.toml", tiny / "never", client=cluster, memory_resource="GPU_MEMORY")
