"""The fast-transform core against QMCPy's transforms and plain ``scipy.fft.fft``.

Cases, for n = 2^10 ... 2^22 (real float64 input, one slice, one thread):

* ``fwht`` against ``qmcpy.fwht`` (QMCPy's NumPy implementation);
* ``fftbr`` / ``ifftbr`` against ``qmcpy.fftbr`` / ``qmcpy.ifftbr``;
* ``fftbr`` / ``ifftbr`` against ``scipy.fft.fft`` / ``ifft`` of the same length: the floor, since
  the bit-reversed FFT is that FFT plus a permutation.

Run: ``python -m benchmarks.bench_fft`` (``--quick``: n up to 2^18, fewer rounds).
"""

from __future__ import annotations

import numpy as np
import scipy.fft

from benchmarks._runner import Benchmark
from skspectral.fft import fftbr, fwht, ifftbr


def main(argv=None):
    bench = Benchmark(
        "bench_fft", "fwht / fftbr / ifftbr vs QMCPy and the scipy.fft floor", argv=argv
    )
    try:
        import qmcpy
    except ImportError:  # pragma: no cover
        qmcpy = None
        print("# qmcpy not installed (pip install '.[bench]'): QMCPy columns skipped")

    exponents = range(10, 19, 2) if bench.quick else range(10, 23, 2)
    rng = np.random.default_rng(0)
    for m in exponents:
        n = 2**m
        x = rng.normal(size=n)
        y = scipy.fft.fft(x)
        repeats = 9 if m <= 18 else 5
        label = f"n=2^{m}"
        if qmcpy is not None:
            bench.compare(
                f"fwht {label}",
                lambda x=x: fwht(x),
                lambda x=x: qmcpy.fwht(x),
                "qmcpy.fwht",
                repeats=repeats,
                n=n,
            )
            bench.compare(
                f"fftbr {label}",
                lambda x=x: fftbr(x),
                lambda x=x: qmcpy.fftbr(x),
                "qmcpy.fftbr",
                repeats=repeats,
                n=n,
            )
            bench.compare(
                f"ifftbr {label}",
                lambda y=y: ifftbr(y),
                lambda y=y: qmcpy.ifftbr(y),
                "qmcpy.ifftbr",
                repeats=repeats,
                n=n,
            )
        bench.compare(
            f"fftbr {label} (floor)",
            lambda x=x: fftbr(x),
            lambda x=x: scipy.fft.fft(x),
            "scipy.fft.fft",
            repeats=repeats,
            n=n,
        )
        bench.compare(
            f"ifftbr {label} (floor)",
            lambda y=y: ifftbr(y),
            lambda y=y: scipy.fft.ifft(y),
            "scipy.fft.ifft",
            repeats=repeats,
            n=n,
        )
    bench.finish()


if __name__ == "__main__":
    main()
