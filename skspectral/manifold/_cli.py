"""``python -m skspectral tsne INPUT -o OUT.csv [--plot OUT.png] [--perplexity P] ...``.

``add_parser(subparsers)`` adds the sub-command to the command line's parser and
``run(args)`` runs it, returning the exit code: 0 on success, 2 (with a one-line message on
stderr) when the input cannot be read as a 2-D array of finite numbers.
"""

from __future__ import annotations

import csv
import sys
import time
from pathlib import Path

import numpy as np

EXIT_OK = 0
EXIT_INPUT = 2


class InputError(ValueError):
    """The input file cannot be used; the message says why."""


def add_parser(subparsers):
    """Add the ``tsne`` sub-command to an ``argparse`` sub-parsers object; return its parser."""
    p = subparsers.add_parser(
        "tsne",
        help="embed the rows of a .npy or .csv file in 2-D with t-SNE (FIt-SNE)",
        description="Embed the rows of a 2-D numeric array (.npy, or .csv with an optional "
        "header row) with t-SNE and write the coordinates as CSV.",
    )
    p.add_argument("input", help="input .npy or .csv file, shape (n_samples, n_features)")
    p.add_argument("-o", "--output", required=True, help="output CSV of the embedding")
    p.add_argument("--plot", default=None, help="also write a scatter plot (PNG)")
    p.add_argument("--perplexity", type=float, default=30.0, help="default: %(default)s")
    p.add_argument("--n-components", type=int, default=2, choices=[1, 2])
    p.add_argument("--max-iter", type=int, default=750, help="default: %(default)s")
    p.add_argument(
        "--pca",
        type=int,
        default=50,
        help="reduce to this many principal components first when the input is "
        "wider (0: never; default: %(default)s)",
    )
    p.add_argument("--metric", default="euclidean")
    p.add_argument("--random-state", type=int, default=0)
    p.add_argument("--n-jobs", type=int, default=-1, help="threads (default: all)")
    p.add_argument("--quiet", action="store_true", help="no progress lines")
    return p


def read_matrix(path) -> np.ndarray:
    """A 2-D float array from a ``.npy`` file (no pickles) or a ``.csv`` file (a header row of
    names is skipped); :class:`InputError` with the reason otherwise."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"cannot read {path}: no such file")
    if path.suffix.lower() == ".npz":
        raise InputError(f"{path} is an .npz archive; give one array as .npy or .csv")
    if path.suffix.lower() == ".npy":
        # the package's one .npy reader (magic string, header, dtype checked before any data
        # is read; never unpickles), so that every sub-command refuses a bad file alike
        from .. import __main__ as cli

        try:
            X = cli._load_npy(str(path))
        except cli._InputError as exc:
            raise InputError(str(exc)) from None
    else:
        X = _read_csv(path)
    if X.ndim != 2:
        raise InputError(f"{path} must hold a 2-D array (rows x features), got shape {X.shape}")
    if X.shape[0] < 2 or X.shape[1] < 1:
        raise InputError(f"{path} must have at least 2 rows and 1 column, got shape {X.shape}")
    X = X.astype(np.float64, copy=False)
    if not np.all(np.isfinite(X)):
        raise InputError(f"{path} contains NaN or infinite values")
    return X


def _read_csv(path) -> np.ndarray:
    try:
        with open(path, newline="") as f:
            rows = [r for r in csv.reader(f) if r and any(c.strip() for c in r)]
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read {path}: {exc}") from None
    if not rows:
        raise InputError(f"{path} is empty")

    def numeric(row):
        try:
            return [float(c) for c in row]
        except ValueError:
            return None

    if numeric(rows[0]) is None:  # a header row
        rows = rows[1:]
    width = len(rows[0]) if rows else 0
    out = []
    for i, row in enumerate(rows):
        if len(row) != width:
            raise InputError(
                f"{path} is ragged: row {i + 1} has {len(row)} fields, the first has {width}"
            )
        values = numeric(row)
        if values is None:
            raise InputError(f"{path}: row {i + 1} has a field that is not a number")
        out.append(values)
    return np.array(out, dtype=np.float64).reshape(len(out), width)


def check_output(path, source) -> Path:
    """The output path, or :class:`InputError` when it cannot be written."""
    out = Path(path)
    if out.exists() and out.resolve() == Path(source).resolve():
        raise InputError(f"the output {out} is the input file; give another path")
    if out.is_dir():
        raise InputError(f"the output {out} is a folder; give a file name")
    if not out.parent.is_dir():
        raise InputError(f"cannot write {out}: the folder {out.parent} does not exist")
    return out


def run(args) -> int:
    """Run the ``tsne`` sub-command; the exit code."""
    try:
        out = check_output(args.output, args.input)
        if args.plot:
            check_output(args.plot, args.input)
        X = read_matrix(args.input)
    except InputError as exc:
        print(f"skspectral tsne: error: {exc}", file=sys.stderr)
        return EXIT_INPUT
    from .._backend import effective_n_jobs
    from ._tsne import TSNE

    t0 = time.perf_counter()
    if args.pca and X.shape[1] > args.pca and X.shape[0] > args.pca:
        from sklearn.decomposition import PCA

        X = PCA(args.pca, random_state=args.random_state).fit_transform(X)
    if args.n_components not in (1, 2):
        print("skspectral tsne: error: --n-components must be 1 or 2", file=sys.stderr)
        return EXIT_INPUT
    quiet = args.quiet

    def progress(iteration, kl, embedding):
        if not quiet:
            print(
                f"  iteration {iteration}: KL {kl:.4f}, {time.perf_counter() - t0:.1f} s",
                file=sys.stderr,
                flush=True,
            )
        return False

    try:
        tsne = TSNE(
            args.n_components,
            perplexity=args.perplexity,
            max_iter=args.max_iter,
            metric=args.metric,
            random_state=args.random_state,
            n_jobs=effective_n_jobs(args.n_jobs),
            callbacks=progress,
            callbacks_every_iters=50,
        )
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            Y = tsne.fit_transform(X)
    except ValueError as exc:
        print(f"skspectral tsne: error: {exc}", file=sys.stderr)
        return EXIT_INPUT
    header = ",".join(f"tsne{i}" for i in range(Y.shape[1]))
    try:
        np.savetxt(out, Y, delimiter=",", header=header, comments="", fmt="%.8g")
        if args.plot:
            _plot(Y, args.plot)
    except OSError as exc:
        print(f"skspectral tsne: error: cannot write the output: {exc}", file=sys.stderr)
        return EXIT_INPUT
    if not quiet:
        print(
            f"embedded {Y.shape[0]} points in {time.perf_counter() - t0:.1f} s "
            f"(KL {tsne.kl_divergence_:.4f}); wrote {out}",
            file=sys.stderr,
        )
    return EXIT_OK


def _plot(Y, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 6))
    y2 = Y[:, 1] if Y.shape[1] > 1 else np.zeros(len(Y))
    ax.scatter(Y[:, 0], y2, s=max(0.5, min(8.0, 2e4 / len(Y))), alpha=0.6, linewidths=0)
    ax.set_title(f"t-SNE of {len(Y)} points")
    ax.set_xticks([])
    ax.set_yticks([])
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
