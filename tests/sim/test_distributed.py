"""simulate(..., backend="dask"): the same runs on a dask.distributed cluster, bit-identical to local."""
import numpy as np
import pytest

import hdlimits as hd
from hdlimits.sim.distributed import chunk_runs

distributed = pytest.importorskip("distributed")


@pytest.fixture(scope="module")
def client():
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                       dashboard_address=None)
    cl = distributed.Client(cluster)
    yield cl
    cl.close()
    cluster.close()


def _case():
    prob = hd.Problem.power_law(d=60, alpha=1.0, beta=1.0, noise=hd.noise.gaussian(0.2), seed=1)
    return prob, np.linspace(0.0, 2.0, 5)


@pytest.mark.parametrize("opt", [hd.SGD(0.8), hd.ClippedSGD(0.8, clip=1.0)])
def test_dask_is_bit_identical_to_local(client, opt):
    prob, t = _case()
    loc = hd.simulate(prob, opt, t, runs=7, seed=5, workers=2, progress=False)
    dsk = hd.simulate(prob, opt, t, runs=7, seed=5, backend="dask", scheduler=client, progress=False)
    assert np.array_equal(loc.excess_risk_runs, dsk.excess_risk_runs)
    assert np.array_equal(loc.risk, dsk.risk) and loc.status.code == dsk.status.code
    assert dsk.info["backend"] == "dask" and dsk.seed == loc.seed


def test_dask_by_scheduler_address_and_rademacher(client):
    prob, t = _case()
    addr = client.scheduler.address
    loc = hd.simulate(prob, hd.SGD(0.5), t, runs=3, seed=2, data="rademacher", progress=False)
    dsk = hd.simulate(prob, hd.SGD(0.5), t, runs=3, seed=2, data="rademacher", backend="dask",
                      scheduler=addr, progress=False)
    assert np.array_equal(loc.excess_risk_runs, dsk.excess_risk_runs)


def test_dask_reports_progress(client, capsys):
    prob, t = _case()
    prog = []
    import hdlimits.sim.simulate as S
    orig = S.Progress

    class Spy(orig):
        def add(self, amount):
            prog.append(amount)
            super().add(amount)
    S.Progress = Spy
    try:
        hd.simulate(prob, hd.SGD(0.5), t, runs=5, seed=2, backend="dask", scheduler=client,
                    progress=False)
    finally:
        S.Progress = orig
    assert sum(prog) == 5 * round(2.0 * prob.d) and len(prog) >= 2


def test_chunks_cover_every_run_once():
    for runs, w in ((1, 4), (7, 2), (100, 3)):
        ch = chunk_runs(runs, w)
        assert [i for c in ch for i in c] == list(range(runs))


def test_bad_backend_and_scheduler():
    prob, t = _case()
    with pytest.raises(ValueError, match="backend"):
        hd.simulate(prob, hd.SGD(0.5), t, runs=2, backend="mpi")
    with pytest.raises(ValueError, match="scheduler"):
        hd.simulate(prob, hd.SGD(0.5), t, runs=2, scheduler="tcp://x:1")
    with pytest.raises(ValueError, match="scheduler"):
        hd.simulate(prob, hd.SGD(0.5), t, runs=2, backend="dask", scheduler=3)


def test_cli_simulate_scheduler_matches_local(client, tmp_path, capsys):
    from hdlimits import cli
    args = ["simulate", "--d", "50", "--t-max", "1", "--n-times", "3", "--runs", "3", "--seed", "4",
            "--no-progress", "--problem", "isotropic", "--lr", "0.5"]
    assert cli.main(args + ["--csv", str(tmp_path / "loc.csv")]) == 0
    assert cli.main(args + ["--csv", str(tmp_path / "dask.csv"),
                            "--scheduler", client.scheduler.address]) == 0
    capsys.readouterr()
    assert (tmp_path / "loc.csv").read_text() == (tmp_path / "dask.csv").read_text()
