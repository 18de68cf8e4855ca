"""Lattice / digital-net kernel regression against fastgps 1.1 (+ QMCPy 2.4) and sklearn's GP.

Parts (``--part NAME``, default all; ``--quick``: smaller n, fewer test points):

``speed``
    n = 2^14, d = 8, periodic target, the same lattice points: fit including hyper-parameter
    optimization (fastgps: a fresh ``FastGPLattice`` + ``add_y_next`` + ``fit()``, its default
    Rprop schedule with early stopping; ours: ``fit`` with L-BFGS-B on the marginal likelihood,
    from scratch, design recognition included), then the posterior mean at 10,000 uniform
    points (ours: one ``predict`` call; fastgps: ``post_mean`` over batches, since it builds an
    (N, n, d) tensor and 10,000 points at once are killed for memory; the batch size is the
    fastest of a few, probed first). Same kernel family (product Bernoulli SI kernel,
    alpha = 2), float64 torch on 2 threads.
``lattice``
    accuracy at n = 2^14 in d = 4 and 8: test RMSE on uniform points of a smooth periodic target
    (both on fastgps's lattice points) and of the Genz oscillatory target (fastgps with its
    baker transform; ours with the cosine fold and the analytic kernel, on its own lattice).
``net``
    accuracy of the digital-net regressors at n = 2^14 in d = 4 and 8, on the SAME points (QMCPy's
    LMS + digital shift Sobol' net; ours is told its generating matrices and shift, 32 bits):
    periodic and Genz oscillatory targets, no periodization, DSI kernels of order 1 (identical
    kernels) and 2.
``scale``
    n = 2^20, d = 8: fit (with hyper-parameter optimization) and predict 10,000 points.
``curve``
    Genz oscillatory, d = 4, test RMSE against n: ours (lattice with the cosine fold + analytic
    kernel, lattice with the tent fold + Bernoulli kernel, digital net order 2) for
    n = 2^8 ... 2^16 and sklearn's exact ``GaussianProcessRegressor`` (constant x anisotropic
    RBF, and constant x anisotropic Matern 5/2; its L-BFGS-B optimizer, no restart, uniform
    random points) for n = 128 ... 2048, each with its fit wall time; then the sklearn GP at
    the largest n it fits in our fit's wall time at n = 2^14.

Run: ``python -m benchmarks.bench_lattice --part speed`` (needs torch, fastgps, qmcpy).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time

import numpy as np

from benchmarks._runner import Benchmark
from skspectral.kernel_regression import DigitalNetKernelRegressor, LatticeKernelRegressor
from skspectral.qmc import DigitalNet, Lattice

PARTS = ("speed", "lattice", "net", "scale", "curve")


def f_periodic(x):
    d = x.shape[1]
    return np.exp(np.sum(np.sin(2 * np.pi * x) / (np.arange(1, d + 1) + 1.0), axis=1))


def genz_oscillatory(x):
    d = x.shape[1]
    a = 4.5 / d * np.ones(d)  # sum of coefficients 4.5
    return np.cos(2 * np.pi * 0.25 + x @ a)


TARGETS = {"periodic": f_periodic, "genz-osc": genz_oscillatory}


def rmse(a, b):
    return float(np.sqrt(np.mean((np.asarray(a) - np.asarray(b)) ** 2)))


def _torch():
    import torch

    torch.set_default_dtype(torch.float64)
    return torch


def _fastgps_lattice(d, n, f, ptransform=None, seed=7):
    """A fastgps lattice GP with ``n`` points and their targets (not fitted)."""
    import fastgps
    import qmcpy as qp

    torch = _torch()
    lat = qp.Lattice(d, seed=seed, order="RADICAL INVERSE")
    g = fastgps.FastGPLattice(
        qp.KernelShiftInvar(d, alpha=2, torchify=True), lat, ptransform=ptransform
    )
    X = g.get_x_next(n).numpy().copy()
    y = f(X)
    g.add_y_next(torch.from_numpy(y))
    return g, X, y


def _timed(fn, *args, **kwargs):
    """``fn(*args, **kwargs)`` and its wall time in seconds."""
    t0 = time.perf_counter()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - t0


def _fastgps_predict(g, X, batch):
    torch = _torch()
    return np.concatenate(
        [g.post_mean(torch.from_numpy(X[i : i + batch])).numpy() for i in range(0, len(X), batch)]
    )


def _ratio_rows(bench, case, t_ours, t_anchor):
    ratios = [b / a for a, b in zip(t_ours, t_anchor, strict=True)]
    return bench.record(
        case,
        ours_s=statistics.median(t_ours),
        fastgps_s=statistics.median(t_anchor),
        ratio=statistics.median(ratios),
        rounds=len(ratios),
        ours_rounds_s=[round(t, 4) for t in t_ours],
        fastgps_rounds_s=[round(t, 2) for t in t_anchor],
    )


def _warm(cls, D):
    """Compile the numba kernels (every smoothness) before anything is timed."""
    X = D(2, seed=0).random(64)
    for a in (1, 2):
        cls(smoothness=a).fit(X, X[:, 0]).predict(X[:3])
    if cls is LatticeKernelRegressor:
        cls(decay=0.1).fit(X, X[:, 0]).predict(X[:3])


# ------------------------------------------------------------------------------- parts ---
def speed(bench):
    import fastgps
    import qmcpy as qp

    torch = _torch()
    m = 12 if bench.quick else 14
    n, d = 2**m, 8
    n_test = 2000 if bench.quick else 10000
    _, X, y = _fastgps_lattice(d, n, f_periodic)
    Xt = np.random.default_rng(0).random((n_test, d))

    def anchor_fit():
        lat = qp.Lattice(d, seed=7, order="RADICAL INVERSE")
        g = fastgps.FastGPLattice(qp.KernelShiftInvar(d, alpha=2, torchify=True), lat)
        g.get_x_next(n)
        g.add_y_next(torch.from_numpy(y))
        g.fit(verbose=0)
        return g

    def ours_fit():
        return LatticeKernelRegressor(smoothness=2, n_jobs=-1).fit(X, y)

    ours_fit()  # compile
    bench.compare(
        f"fit incl. hyper-params n=2^{m} d={d}",
        ours_fit,
        anchor_fit,
        "fastgps FastGPLattice.fit",
        repeats=3,
        warmup=0,
    )
    reg = ours_fit()
    assert reg.fast_path_
    g = anchor_fit()

    # fastgps's fastest batch size, probed on the first 250 points
    probe = {}
    for batch in (10, 50, 250):
        t0 = time.perf_counter()
        _fastgps_predict(g, Xt[:250], batch)
        probe[batch] = time.perf_counter() - t0
    batch = min(probe, key=probe.get)
    bench.record(
        "fastgps post_mean batch probe (250 pts)", **{f"batch_{b}_s": t for b, t in probe.items()}
    )
    reg.predict(Xt[:10])  # compile
    t_ours, t_anchor = [], []
    preds = {}

    def ours_pred():
        preds["ours"] = reg.predict(Xt)

    def anchor_pred():
        preds["fastgps"] = _fastgps_predict(g, Xt, batch)

    for rnd in range(2):  # alternately, each going first once
        for fn, times in ((ours_pred, t_ours), (anchor_pred, t_anchor))[:: 1 - 2 * rnd]:
            t0 = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t0)
    _ratio_rows(
        bench, f"predict {n_test} pts from n=2^{m} d={d} (fastgps batch {batch})", t_ours, t_anchor
    )
    truth = f_periodic(Xt)
    bench.record(
        f"periodic d={d} n=2^{m} test RMSE ({n_test} pts)",
        ours=rmse(preds["ours"], truth),
        fastgps=rmse(preds["fastgps"], truth),
        max_abs_diff_of_means=float(np.abs(preds["ours"] - preds["fastgps"]).max()),
    )


def lattice(bench):
    m = 12 if bench.quick else 14
    n = 2**m
    rng = np.random.default_rng(1)
    _warm(LatticeKernelRegressor, Lattice)
    for d in (4, 8):
        Xa = rng.random((1000, d))
        for name, f in TARGETS.items():
            ptf = "BAKER" if name == "genz-osc" else None
            g, Xg, yg = _fastgps_lattice(d, n, f, ptransform=ptf)
            _, t_anchor = _timed(g.fit, verbose=0)
            e_anchor = rmse(_fastgps_predict(g, Xa, 50), f(Xa))
            if ptf is None:  # the same points
                Xo, des, kw = Xg, None, {"smoothness": 2}
            else:
                des = Lattice(d, periodization="cosine", seed=1)
                Xo, kw = des.random(n), {"decay": "auto"}
            r, t_ours = _timed(LatticeKernelRegressor(design=des, n_jobs=-1, **kw).fit, Xo, f(Xo))
            assert r.fast_path_
            bench.record(
                f"lattice {name} d={d} n=2^{m} test RMSE",
                ours=rmse(r.predict(Xa), f(Xa)),
                fastgps=e_anchor,
                ours_fit_s=t_ours,
                fastgps_fit_s=t_anchor,
                ours_treatment="cosine fold + analytic kernel" if ptf else "none",
                fastgps_treatment="baker" if ptf else "none",
            )


def net(bench):
    import fastgps
    import qmcpy as qp

    torch = _torch()
    m = 12 if bench.quick else 14
    n = 2**m
    rng = np.random.default_rng(2)
    _warm(DigitalNetKernelRegressor, DigitalNet)
    for d in (4, 8):
        Xa = rng.random((1000, d))
        for name, f in TARGETS.items():
            for alpha in (1, 2):
                seq = qp.DigitalNetB2(d, seed=7, order="RADICAL INVERSE")  # LMS + DS
                g = fastgps.FastGPDigitalNetB2(
                    qp.KernelDigShiftInvar(d, alpha=alpha, torchify=True), seq
                )
                X = g.get_x_next(n).numpy().copy()
                y = f(X)
                g.add_y_next(torch.from_numpy(y))
                _, t_anchor = _timed(g.fit, verbose=0)
                e_anchor = rmse(_fastgps_predict(g, Xa, 50), f(Xa))
                # the same net, to 32 bits: QMCPy's scrambled matrices and shift
                des = DigitalNet(d, generating_matrices=seq.gen_mats[0] >> np.uint64(31))
                des.shift_int = seq.rshift[0] >> np.uint64(31)
                reg = DigitalNetKernelRegressor(design=des, smoothness=alpha, n_jobs=-1)
                r, t_ours = _timed(reg.fit, X, y)
                assert r.fast_path_
                bench.record(
                    f"net {name} d={d} n=2^{m} order {alpha} test RMSE",
                    ours=rmse(r.predict(Xa), f(Xa)),
                    fastgps=e_anchor,
                    ours_fit_s=t_ours,
                    fastgps_fit_s=t_anchor,
                )


def scale(bench):
    m = 16 if bench.quick else 20
    d = 8
    des = Lattice(d, seed=3)
    Xb = des.random(2**m)
    yb = f_periodic(Xb)
    LatticeKernelRegressor(design=des, smoothness=2, n_jobs=-1).fit(Xb[:256], yb[:256])
    rb, t_fit = _timed(LatticeKernelRegressor(design=des, smoothness=2, n_jobs=-1).fit, Xb, yb)
    assert rb.fast_path_
    Xt = np.random.default_rng(3).random((10000, d))
    rb.predict(Xt[:10])
    pb, t_pred = _timed(rb.predict, Xt)
    bench.record(
        f"scale n=2^{m} d={d}",
        fit_s=t_fit,
        predict_10000_s=t_pred,
        iterations=rb.n_iter_,
        test_rmse=rmse(pb, f_periodic(Xt)),
    )


def curve(bench):
    from sklearn.gaussian_process import GaussianProcessRegressor
    from sklearn.gaussian_process.kernels import RBF, ConstantKernel, Matern

    d = 4
    rng = np.random.default_rng(4)
    Xa = rng.random((2000, d))
    ya = genz_oscillatory(Xa)
    ms = range(8, 13 if bench.quick else 17, 2)
    fit_time_14 = None
    ours = (
        ("lattice cosine+analytic", Lattice, "cosine", LatticeKernelRegressor, {"decay": "auto"}),
        ("lattice tent+Bernoulli2", Lattice, "tent", LatticeKernelRegressor, {"smoothness": 2}),
        ("net order 2", DigitalNet, None, DigitalNetKernelRegressor, {"smoothness": 2}),
    )
    for m in ms:
        for name, D, fold, cls, kw in ours:
            des = D(d, periodization=fold, seed=m)
            Xo = des.random(2**m)
            cls(design=des, n_jobs=-1, **kw).fit(Xo[:64], genz_oscillatory(Xo[:64]))  # compile
            r, t_fit = _timed(cls(design=des, n_jobs=-1, **kw).fit, Xo, genz_oscillatory(Xo))
            assert r.fast_path_
            if m == (12 if bench.quick else 14) and name.startswith("lattice cosine"):
                fit_time_14 = t_fit
            bench.record(
                f"genz-osc d=4 {name} n=2^{m}",
                n=2**m,
                fit_s=t_fit,
                test_rmse=rmse(r.predict(Xa), ya),
            )
    kernels = {
        "RBF": lambda: ConstantKernel(1.0) * RBF(np.ones(d), length_scale_bounds=(1e-3, 1e3)),
        "Matern52": lambda: (
            ConstantKernel(1.0) * Matern(np.ones(d), length_scale_bounds=(1e-3, 1e3), nu=2.5)
        ),
    }
    sizes = (128, 256, 512) if bench.quick else (128, 256, 384, 512, 768, 1024, 1536, 2048)
    sk = {k: [] for k in kernels}
    for kname, make in kernels.items():
        for n_sk in sizes:
            Xs = rng.random((n_sk, d))
            gp = GaussianProcessRegressor(
                make(), alpha=1e-10, normalize_y=True, n_restarts_optimizer=0, random_state=0
            )
            _, t_fit = _timed(gp.fit, Xs, genz_oscillatory(Xs))
            e = rmse(gp.predict(Xa), ya)
            sk[kname].append((n_sk, t_fit, e))
            bench.record(
                f"genz-osc d=4 sklearn GP {kname} n={n_sk}", n=n_sk, fit_s=t_fit, test_rmse=e
            )
            if t_fit > 60:
                break
    for kname, rows in sk.items():
        within = [r for r in rows if r[1] <= fit_time_14]
        if within:
            n_sk, t_fit, e = max(within)
            bench.record(
                f"equal time: sklearn GP {kname} within ours' fit time at n=2^14",
                ours_fit_s=fit_time_14,
                sklearn_n=n_sk,
                sklearn_fit_s=t_fit,
                sklearn_rmse=e,
            )


def main(argv=None):
    parser = argparse.ArgumentParser()
    parser.add_argument("--part", choices=(*PARTS, "all"), default="all")
    args, _ = parser.parse_known_args(sys.argv[1:] if argv is None else argv)
    parts = PARTS if args.part == "all" else (args.part,)
    suffix = "" if args.part == "all" else f"_{args.part}"
    bench = Benchmark(
        f"bench_lattice{suffix}", "lattice kernel regression vs fastgps / sklearn GP", argv=argv
    )
    import torch

    print(f"# torch {torch.__version__}, {torch.get_num_threads()} threads", flush=True)
    for part in parts:
        globals()[part](bench)
    bench.finish()


if __name__ == "__main__":
    main()
