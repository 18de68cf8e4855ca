"""The one benchmark runner every ``benchmarks/bench_*.py`` uses.

Ours and the anchor run *alternately* in one process (warm-up first, then ``repeats`` rounds of
ours / anchor), so a noisy shared machine slows both alike; the reported figure is the median of
the per-round ratios ``anchor / ours`` (above 1: we are faster). A function faster than about
20 ms is timed over enough back-to-back calls to make each sample last that long. Each run
prints a table and the machine it ran on, and writes the same as JSON under
``benchmarks/results/``.

Usage::

    bench = Benchmark("bench_fft", "what this measures")
    bench.compare("fwht n=2^20", ours=lambda: fwht(x), anchor=lambda: qmcpy.fwht(x),
                  anchor_name="qmcpy.fwht", repeats=7)
    bench.record("recall@10 k=64", srht=0.41, gaussian=0.39)   # quality rows, free-form
    bench.finish()
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"


def machine() -> dict:
    """A short description of the machine and the library versions that matter for speed."""
    info = {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "processor": _cpu_model(),
        "cpus": os.cpu_count(),
    }
    for mod in ("numpy", "scipy", "numba", "sklearn"):
        try:
            info[mod] = __import__(mod).__version__
        except ImportError:  # pragma: no cover
            pass
    try:
        from threadpoolctl import threadpool_info

        info["blas"] = sorted(
            {f"{p['internal_api']}:{p['num_threads']}" for p in threadpool_info()}
        )
    except ImportError:  # pragma: no cover
        pass
    return info


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:  # pragma: no cover
        pass
    return platform.processor() or "unknown"


def _time_once(fn, number: int = 1) -> float:
    """Seconds per call of ``fn``, over ``number`` back-to-back calls."""
    gc.collect()
    t0 = time.perf_counter()
    for _ in range(number):
        fn()
    return (time.perf_counter() - t0) / number


def _calls_per_sample(fn, target: float = 0.02) -> int:
    """How many calls make one timing sample last about ``target`` seconds (fast functions are
    timed over many calls, so timer and scheduler noise stay small against them)."""
    number = 1
    while True:
        t0 = time.perf_counter()
        for _ in range(number):
            fn()
        if time.perf_counter() - t0 >= target or number >= 1 << 16:
            return number
        number *= 4


class Benchmark:
    """Collects timed comparisons and free-form result rows; prints and saves them."""

    def __init__(self, name: str, description: str = "", argv=None):
        parser = argparse.ArgumentParser(
            prog=f"python -m benchmarks.{name}", description=description
        )
        parser.add_argument("--quick", action="store_true", help="smaller sizes, fewer repeats")
        parser.add_argument("--repeats", type=int, default=None, help="rounds per comparison")
        self.args, _ = parser.parse_known_args(sys.argv[1:] if argv is None else argv)
        self.name = name
        self.description = description
        self.timings: list[dict] = []
        self.rows: list[dict] = []
        print(f"# {name}: {description}")
        print("# machine: " + json.dumps(machine()))

    @property
    def quick(self) -> bool:
        return bool(self.args.quick)

    def compare(self, case, ours, anchor, anchor_name, repeats=5, warmup=1, **extra) -> dict:
        """Time ``ours`` and ``anchor`` alternately; record medians and the median ratio."""
        repeats = self.args.repeats or (min(repeats, 3) if self.quick else repeats)
        for _ in range(warmup):
            ours()
            anchor()
        n_ours, n_anchor = _calls_per_sample(ours), _calls_per_sample(anchor)
        t_ours, t_anchor, ratios = [], [], []
        for i in range(repeats):
            # alternate who goes first so neither always runs on a warmer cache
            if i % 2 == 0:
                a = _time_once(ours, n_ours)
                b = _time_once(anchor, n_anchor)
            else:
                b = _time_once(anchor, n_anchor)
                a = _time_once(ours, n_ours)
            t_ours.append(a)
            t_anchor.append(b)
            ratios.append(b / a if a > 0 else float("inf"))
        row = {
            "case": case,
            "anchor": anchor_name,
            "ours_s": statistics.median(t_ours),
            "anchor_s": statistics.median(t_anchor),
            "ratio": statistics.median(ratios),
            "repeats": repeats,
            **extra,
        }
        self.timings.append(row)
        print(
            f"{case:<44} ours {row['ours_s']:>10.6f} s   {anchor_name:<28} "
            f"{row['anchor_s']:>10.6f} s   anchor/ours {row['ratio']:>6.2f}x",
            flush=True,
        )
        return row

    def time(self, fn, repeats=5, warmup=1) -> float:
        """Median seconds of ``fn`` alone (for figures that have no anchor)."""
        repeats = self.args.repeats or (min(repeats, 3) if self.quick else repeats)
        for _ in range(warmup):
            fn()
        return statistics.median(_time_once(fn) for _ in range(repeats))

    def record(self, case, **values) -> dict:
        """A free-form result row (quality figures, sizes, ...)."""
        row = {"case": case, **values}
        self.rows.append(row)
        shown = "  ".join(f"{k}={_fmt(v)}" for k, v in values.items())
        print(f"{case:<44} {shown}", flush=True)
        return row

    def finish(self) -> Path:
        """Print the markdown tables and write ``benchmarks/results/<name>.json``."""
        if self.timings:
            print("\n| case | ours (s) | anchor | anchor (s) | anchor / ours |")
            print("|---|---:|---|---:|---:|")
            for r in self.timings:
                print(
                    f"| {r['case']} | {r['ours_s']:.3g} | {r['anchor']} | "
                    f"{r['anchor_s']:.3g} | {r['ratio']:.2f}x |"
                )
        if self.rows:
            keys = [k for k in self.rows[0] if k != "case"]
            for r in self.rows[1:]:
                keys += [k for k in r if k != "case" and k not in keys]
            print("\n| case | " + " | ".join(keys) + " |")
            print("|---|" + "---:|" * len(keys))
            for r in self.rows:
                print(f"| {r['case']} | " + " | ".join(_fmt(r.get(k, "")) for k in keys) + " |")
        RESULTS.mkdir(exist_ok=True)
        path = RESULTS / f"{self.name}.json"
        payload = {
            "name": self.name,
            "description": self.description,
            "machine": machine(),
            "quick": self.quick,
            "timings": self.timings,
            "rows": self.rows,
        }
        path.write_text(json.dumps(payload, indent=2, default=str))
        print(f"\n# written: {path}")
        return path


def _fmt(v) -> str:
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v)
