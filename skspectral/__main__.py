"""The command line: ``python -m skspectral`` (or the ``skspectral`` console script).

Subcommands
-----------
demo    run every estimator on bundled real data beside its scikit-learn baseline, print a
        results table and write a PNG (offline, about a minute on 2 cores)
info    versions, thread counts and the list of estimators
reduce  reduce the dimension of embedding vectors stored in a ``.npy`` file
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

EXIT_USAGE = 2


class _Parser(argparse.ArgumentParser):
    """argparse that exits with status 2 and a one-line hint on bad arguments."""

    def error(self, message):
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


def _build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="skspectral",
        description="Fast spectral (Fourier / Walsh-Hadamard) estimators with a scikit-learn API.",
    )
    sub = parser.add_subparsers(dest="command", metavar="{demo,info,reduce}", parser_class=_Parser)

    demo = sub.add_parser(
        "demo",
        help="run every estimator on bundled real data beside scikit-learn and plot the results",
        description="Run every estimator on bundled real data beside its scikit-learn "
        "baseline; print a table and write a PNG. Offline.",
    )
    demo.add_argument(
        "-o", "--output", default="skspectral_demo.png", help="PNG to write (default: %(default)s)"
    )
    demo.add_argument("--no-plot", action="store_true", help="print the table only")
    demo.add_argument("--quick", action="store_true", help="fewer sizes, for a smoke test")

    sub.add_parser("info", help="versions, threads and the list of estimators")

    reduce = sub.add_parser(
        "reduce",
        help="reduce embedding vectors in a .npy file",
        description="Reduce the dimension of the rows of a 2-D .npy array of embeddings and "
        "write the result as .npy.",
    )
    reduce.add_argument("input", help="input .npy file, shape (n_samples, n_features)")
    reduce.add_argument("output", help="output .npy file")
    reduce.add_argument("-k", "--n-components", type=int, required=True, help="output dimension")
    reduce.add_argument(
        "--method",
        choices=["srht", "fft-magnitude", "fft-fourier", "fft-dct"],
        default="srht",
        help="srht: subsampled randomized Hadamard transform (default); fft-*: "
        "FFTEmbeddingReducer in that mode",
    )
    reduce.add_argument("--random-state", type=int, default=0)
    reduce.add_argument("--normalize", action="store_true", help="unit-normalize the outputs")
    return parser


def _cmd_info(args) -> int:
    import numba
    import numpy
    import scipy
    import sklearn

    import skspectral
    from skspectral.utils import all_estimators

    print(f"skspectral {skspectral.__version__}")
    for mod in (numpy, scipy, sklearn, numba):
        print(f"{mod.__name__:<10} {mod.__version__}")
    print(f"numba threads available: {numba.config.NUMBA_NUM_THREADS}")
    print("estimators:")
    for name, cls in all_estimators():
        print(f"  {cls.__module__.rsplit('._', 1)[0]}.{name}")
    return 0


def _load_npy(path: str):
    import numpy as np

    p = Path(path)
    if not p.is_file():
        raise _InputError(f"cannot read input file {path!r}: no such file")
    try:
        X = np.load(p, allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise _InputError(f"cannot read input file {path!r} as a .npy array: {exc}") from exc
    if X.ndim != 2:
        raise _InputError(f"input {path!r} must be a 2-D array, got shape {X.shape}")
    return X


class _InputError(Exception):
    pass


def _cmd_reduce(args) -> int:
    import numpy as np

    from skspectral.random_projection import FFTEmbeddingReducer, SubsampledRandomizedHadamard

    X = _load_npy(args.input)
    if args.method == "srht":
        est = SubsampledRandomizedHadamard(
            n_components=args.n_components,
            random_state=args.random_state,
            normalize=args.normalize,
        )
    else:
        est = FFTEmbeddingReducer(
            n_components=args.n_components,
            mode=args.method.removeprefix("fft-"),
            normalize=args.normalize,
        )
    try:
        Y = est.fit_transform(X)
    except ValueError as exc:
        raise _InputError(str(exc)) from exc
    np.save(args.output, Y)
    print(f"{args.input}: {X.shape} -> {args.output}: {Y.shape} {Y.dtype} ({type(est).__name__})")
    return 0


def _cmd_demo(args) -> int:
    from skspectral._demo import run_demo

    run_demo(output=None if args.no_plot else args.output, quick=args.quick)
    return 0


def main(argv=None) -> int:
    """Entry point of ``python -m skspectral``; returns the exit status."""
    parser = _build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return EXIT_USAGE
    commands = {"demo": _cmd_demo, "info": _cmd_info, "reduce": _cmd_reduce}
    try:
        return commands[args.command](args)
    except _InputError as exc:
        print(f"skspectral {args.command}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
