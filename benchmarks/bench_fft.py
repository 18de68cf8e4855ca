"""The fast-transform core against QMCPy's transforms and plain ``scipy.fft.fft``.

Cases, for n = 2^10 ... 2^22 (real float64 input, one slice, one thread):

* ``fwht`` against ``qmcpy.fwht`` (QMCPy's NumPy implementation);
* ``fftbr`` / ``ifftbr`` against ``qmcpy.fftbr`` / ``qmcpy.ifftbr``;
* ``fftbr`` / ``ifftbr`` against ``scipy.fft.fft`` / ``ifft`` of the same length: the floor, since
  the bit-reversed FFT is that FFT plus a permutation. Three floors: the plain call with its
  default scaling, the call with ``norm="ortho"`` (the same numbers as ``fftbr``, only in another
  order), and ``fftbr`` / ``ifftbr`` on complex input against the plain call on that input.

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
        # (name, ours, anchor, anchor name, input)
        z = x + 1j * rng.normal(size=n)

        def fft_ortho(v):
            return scipy.fft.fft(v, norm="ortho")

        cases = [
            ("fftbr {} (floor)", fftbr, scipy.fft.fft, "scipy.fft.fft", x),
            ("fftbr {} (floor, same scaling)", fftbr, fft_ortho, "scipy.fft.fft ortho", x),
            ("fftbr {} complex (floor)", fftbr, scipy.fft.fft, "scipy.fft.fft", z),
            ("ifftbr {} (floor)", ifftbr, scipy.fft.ifft, "scipy.fft.ifft", y),
        ]
        if qmcpy is not None:
            cases = [
                ("fwht {}", fwht, qmcpy.fwht, "qmcpy.fwht", x),
                ("fftbr {}", fftbr, qmcpy.fftbr, "qmcpy.fftbr", x),
                ("ifftbr {}", ifftbr, qmcpy.ifftbr, "qmcpy.ifftbr", y),
                *cases,
            ]
        for name, ours, anchor, anchor_name, data in cases:
            bench.compare(
                name.format(f"n=2^{m}"),
                lambda f=ours, d=data: f(d),
                lambda f=anchor, d=data: f(d),
                anchor_name,
                repeats=9 if m <= 18 else 5,
                n=n,
            )
    bench.finish()


if __name__ == "__main__":
    main()
