"""``python -m skspectral demo``: every estimator on bundled real data, beside scikit-learn.

Each capability contributes one *section*: a function that runs ours and the scikit-learn
baseline on the same data and returns result rows (and optionally draws one plot panel). New
estimators add a section to ``SECTIONS``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np


@dataclass
class Row:
    task: str
    method: str
    library: str
    score_name: str
    score: float
    seconds: float


@dataclass
class Section:
    title: str
    rows: list = field(default_factory=list)
    plot: object = None  # callable(ax) drawing this section's panel, or None


def _timed(fn):
    t0 = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t0


def embedding_reduction(quick: bool = False) -> Section:
    """Reduce real sentence embeddings; score: recall@10 of exact cosine neighbours."""
    from sklearn.decomposition import PCA
    from sklearn.random_projection import GaussianRandomProjection, SparseRandomProjection

    from skspectral.datasets import load_tweet_embeddings
    from skspectral.random_projection import (
        FFTEmbeddingReducer,
        SubsampledRandomizedHadamard,
        recall_at_k,
    )

    X = load_tweet_embeddings()
    ks = [32, 64] if quick else [16, 32, 64, 128]
    methods = {
        "SRHT (fast JL)": ("skspectral", lambda k: SubsampledRandomizedHadamard(k, random_state=0)),
        "FFT magnitude (paper)": ("skspectral", lambda k: FFTEmbeddingReducer(k, mode="magnitude")),
        "FFT dct": ("skspectral", lambda k: FFTEmbeddingReducer(k, mode="dct")),
        "FFT dct, energy-selected": (
            "skspectral",
            lambda k: FFTEmbeddingReducer(k, mode="dct", select="energy"),
        ),
        "GaussianRandomProjection": (
            "scikit-learn",
            lambda k: GaussianRandomProjection(k, random_state=0),
        ),
        "SparseRandomProjection": (
            "scikit-learn",
            lambda k: SparseRandomProjection(k, random_state=0),
        ),
        "PCA": ("scikit-learn", lambda k: PCA(k, random_state=0)),
    }
    section = Section(
        f"Embedding reduction: {X.shape[0]} MiniLM tweet embeddings (384-d), "
        "recall@10 of 1,000 queries' exact cosine neighbours"
    )
    curves = {}
    for name, (library, make) in methods.items():
        curves[name] = []
        for k in ks:
            est = make(k)

            X_k, seconds = _timed(lambda est=est: est.fit_transform(X))
            recall = recall_at_k(X, X_k, k=10, n_queries=1000, random_state=0)
            curves[name].append(recall)
            if k == 64:
                section.rows.append(
                    Row("reduce 384 -> 64", name, library, "recall@10", recall, seconds)
                )

    def plot(ax):
        for name, values in curves.items():
            style = "-o" if methods[name][0] == "skspectral" else "--s"
            ax.plot(ks, values, style, label=name)
        ax.set_xscale("log", base=2)
        ax.set_xlabel("output dimension k")
        ax.set_ylabel("recall@10 (exact cosine neighbours)")
        ax.set_title("Embedding reduction, 384-d MiniLM")
        ax.legend(fontsize=7)
        ax.grid(alpha=0.3)

    section.plot = plot
    return section


def reduction_throughput(quick: bool = False) -> Section:
    """Transform time of SRHT against a dense Gaussian random projection, wide float32 data."""
    from sklearn.random_projection import GaussianRandomProjection

    from skspectral.random_projection import SubsampledRandomizedHadamard

    n, d, k = (20_000, 2048, 128) if quick else (50_000, 4096, 256)
    X = np.random.default_rng(0).normal(size=(n, d)).astype(np.float32)
    section = Section(f"Transform throughput: {n} x {d} float32 -> {k}")
    ours = SubsampledRandomizedHadamard(k, random_state=0, n_jobs=-1).fit(X[:10])
    theirs = GaussianRandomProjection(k, random_state=0).fit(X[:10])
    ours.transform(X[:100])  # compile once, outside the timing
    times = {}
    for est, name, library in (
        (ours, "SRHT", "skspectral"),
        (theirs, "GaussianRandomProjection", "scikit-learn"),
    ):
        Y, seconds = _timed(lambda est=est: est.transform(X))
        Xs, Ys = X[:200].astype(np.float64), Y[:200].astype(np.float64)
        # score: how well squared norms are kept (mean relative error)
        err = float(np.mean(np.abs((Ys**2).sum(1) / (Xs**2).sum(1) - 1.0)))
        section.rows.append(Row(f"{d} -> {k}", name, library, "norm rel. err", err, seconds))
        times[name] = seconds

    def plot(ax):
        names = list(times)
        ax.bar(names, [n / times[m] / 1e3 for m in names], color=["C0", "C7"])
        ax.set_ylabel("thousand rows per second")
        ax.set_title(f"Transform {d} -> {k}, float32")
        ax.grid(alpha=0.3, axis="y")

    section.plot = plot
    return section


def _from(module: str, title: str):
    """A section that lives in an estimator's package, imported only when the demo runs it."""

    def make(quick: bool = False) -> Section:
        import importlib

        return importlib.import_module(module).section(quick=quick)

    make.__doc__ = title
    make.__name__ = module.rsplit(".", 1)[-1]
    return make


SECTIONS = [
    embedding_reduction,
    reduction_throughput,
    _from(
        "skspectral.kernel_approximation._demo_section",
        "Random Fourier features: kernel error on tweet embeddings, beside RBFSampler",
    ),
    _from("skspectral.manifold._demo_section", "t-SNE of digits, beside scikit-learn's TSNE"),
    _from(
        "skspectral.preprocessing._demo_kdi",
        "Kernel density integral transformation beside QuantileTransformer and scalers",
    ),
    _from(
        "skspectral.preprocessing._demo_power",
        "Power transform: Box-Cox beside scikit-learn's, and adversarial inputs",
    ),
    _from(
        "skspectral.kernel_regression._demo_section",
        "Lattice kernel regression of a smooth simulator beside GaussianProcessRegressor",
    ),
]


def format_table(sections) -> str:
    lines = []
    header = f"{'task':<22} {'method':<28} {'library':<13} {'score':>22} {'time (s)':>9}"
    for s in sections:
        lines += ["", s.title, header, "-" * len(header)]
        for r in s.rows:
            score = f"{r.score_name} {r.score:.3f}"
            lines.append(
                f"{r.task:<22} {r.method:<28} {r.library:<13} {score:>22} {r.seconds:>9.3f}"
            )
    return "\n".join(lines)


def run_demo(output="skspectral_demo.png", quick=False):
    """Run every section, print the table, write the figure to ``output`` (None: no figure)."""
    t0 = time.perf_counter()
    sections = []
    for make in SECTIONS:
        print(f"running: {make.__doc__.splitlines()[0]}", flush=True)
        sections.append(make(quick=quick))
    print(format_table(sections))
    print(f"\ntotal {time.perf_counter() - t0:.1f} s")
    if output is not None:
        _write_figure(sections, output)
    return sections


def _write_figure(sections, output):
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib is not installed: no figure written (pip install 'skspectral[demo]')")
        return
    panels = [s for s in sections if s.plot is not None]
    fig, axes = plt.subplots(1, len(panels), figsize=(6 * len(panels), 4.5), squeeze=False)
    for ax, s in zip(axes[0], panels, strict=True):
        s.plot(ax)
    fig.tight_layout()
    fig.savefig(output, dpi=110)
    plt.close(fig)
    print(f"figure written: {output}")
