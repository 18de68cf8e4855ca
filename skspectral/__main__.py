"""The command line: ``python -m skspectral`` (or the ``skspectral`` console script).

Subcommands
-----------
demo    run every estimator on bundled real data beside its scikit-learn baseline, print a
        results table and write a PNG (offline, a few minutes on 2 cores)
info    versions, thread counts and the list of estimators
reduce  reduce the dimension of embedding vectors stored in a ``.npy`` file
tsne    embed the rows of a ``.npy`` or ``.csv`` file in 2-D with t-SNE (FIt-SNE)

Every error a user can cause (a bad argument, an unreadable or unsuitable input, an output that
cannot be written) ends in a one-line message on stderr and exit status 2, never a traceback.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from skspectral import __version__
from skspectral._cli_io import InputError as _InputError
from skspectral._cli_io import check_output as _check_output
from skspectral._cli_io import load_npy as _load_npy
from skspectral._cli_io import same_file as _same_file

EXIT_USAGE = 2
_SEED_MAX = 2**32 - 1


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _seed(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if not 0 <= value <= _SEED_MAX:
        raise argparse.ArgumentTypeError(f"must be between 0 and 2**32 - 1, got {value}")
    return value


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
    parser.add_argument("--version", action="version", version=f"skspectral {__version__}")
    sub = parser.add_subparsers(
        dest="command", metavar="{demo,info,reduce,tsne}", parser_class=_Parser
    )

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
        description="Reduce the dimension of the rows of a 2-D numeric .npy array of embeddings "
        "and write the result in .npy format to exactly the output path given (no suffix is "
        "added). The input is read without unpickling; the output folder must exist.",
    )
    reduce.add_argument("input", help="input .npy file, shape (n_samples, n_features)")
    reduce.add_argument("output", help="output file, written in .npy format under this very name")
    reduce.add_argument(
        "-k",
        "--n-components",
        type=_positive_int,
        required=True,
        metavar="K",
        help="output dimension, at least 1 and at most what the method allows for the input "
        "(srht: n_features padded to a power of two; fft-magnitude: n_features // 2 + 1; "
        "fft-fourier, fft-dct: n_features)",
    )
    reduce.add_argument(
        "--method",
        choices=["srht", "fft-magnitude", "fft-fourier", "fft-dct"],
        default="srht",
        help="srht: subsampled randomized Hadamard transform (default); fft-*: "
        "FFTEmbeddingReducer in that mode",
    )
    reduce.add_argument(
        "--random-state",
        type=_seed,
        default=0,
        help="seed of the random map, 0 to 2**32 - 1 (srht only; default: %(default)s)",
    )
    reduce.add_argument("--normalize", action="store_true", help="unit-normalize the outputs")
    reduce.add_argument(
        "--force",
        action="store_true",
        help="allow the output to be the input file itself (same path, symlink or hard link) "
        "and overwrite it; refused without this flag",
    )
    from skspectral.manifold import _cli as tsne_cli  # argparse only: no numba at start-up

    tsne_cli.add_parser(sub)
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


def _write_npy(out: Path, Y, replace: bool) -> None:
    """``numpy.save`` into exactly ``out``.

    Over the input (``replace``), through a temporary file and a rename, so that a failed write
    leaves the input whole; a symlink keeps pointing at the (new) data, a hard link to the input
    becomes a file of its own.
    """
    import numpy as np

    try:
        if not replace:
            with open(out, "wb") as fh:
                np.save(fh, Y, allow_pickle=False)
            return
        target = out.resolve()  # a symlink stays a symlink; its target gets the new data
        tmp = target.with_name(f".{target.name}.skspectral-tmp")
        try:
            with open(tmp, "wb") as fh:
                np.save(fh, Y, allow_pickle=False)
            os.chmod(tmp, target.stat().st_mode & 0o7777)
            os.replace(tmp, target)
        finally:
            tmp.unlink(missing_ok=True)
    except OSError as exc:
        raise _InputError(f"cannot write {str(out)!r}: {exc.strerror or exc}") from None


def _cmd_reduce(args) -> int:
    import numpy as np

    from skspectral.random_projection import FFTEmbeddingReducer, SubsampledRandomizedHadamard

    out = _check_output(args.output)
    overwrite_input = _same_file(args.input, out) if Path(args.input).is_file() else False
    if overwrite_input and not args.force:
        raise _InputError(
            f"output {args.output!r} is the input file {args.input!r}; refusing to overwrite it "
            "(give another output, or --force to replace the input)"
        )
    X = _load_npy(args.input)
    k = args.n_components
    if args.method == "srht":
        est = SubsampledRandomizedHadamard(
            n_components=k, random_state=args.random_state, normalize=args.normalize
        )
    else:
        est = FFTEmbeddingReducer(
            n_components=k, mode=args.method.removeprefix("fft-"), normalize=args.normalize
        )
    # the estimator's own bound (its hook), so that the message names -k and the method; any
    # other refusal by the estimator still ends below as a one-line ValueError message
    limit_of = getattr(est, "_limit", None)
    limit, why = limit_of(X.shape[1]) if limit_of is not None else (None, "")
    if limit is not None and k > limit:
        raise _InputError(
            f"-k {k} is too large for --method {args.method} on {X.shape[1]} features: "
            f"at most {limit} ({why})"
        )
    try:
        Y = est.fit_transform(X)
    except ValueError as exc:
        raise _InputError(f"{type(est).__name__} failed: {exc}") from None
    if not np.all(np.isfinite(Y)):
        raise _InputError(
            f"the reduced array holds NaN or infinity (input values too large for --method "
            f"{args.method}?); nothing written"
        )
    _write_npy(out, Y, replace=overwrite_input)
    print(f"{args.input}: {X.shape} -> {args.output}: {Y.shape} {Y.dtype} ({type(est).__name__})")
    return 0


def _cmd_demo(args) -> int:
    from skspectral._demo import run_demo

    if not args.no_plot:
        _check_output(args.output)
    run_demo(output=None if args.no_plot else args.output, quick=args.quick)
    return 0


def _cmd_tsne(args) -> int:
    from skspectral.manifold import _cli as tsne_cli

    return tsne_cli.run(args)


def main(argv=None) -> int:
    """Entry point of ``python -m skspectral``; returns the exit status."""
    parser = _build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return EXIT_USAGE
    commands = {"demo": _cmd_demo, "info": _cmd_info, "reduce": _cmd_reduce, "tsne": _cmd_tsne}
    try:
        return commands[args.command](args)
    except _InputError as exc:
        print(f"skspectral {args.command}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
