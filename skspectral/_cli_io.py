"""Reading and writing the command line's files: one set of checks for every subcommand.

Every function raises :class:`InputError` with a one-line message that names the file and the
reason; the command line prints it and exits with status 2.
"""

from __future__ import annotations

import os
from pathlib import Path

NPY_MAGIC = b"\x93NUMPY"
ZIP_MAGICS = (b"PK\x03\x04", b"PK\x05\x06")  # a .npz is a zip archive (empty one: the second)


class InputError(Exception):
    """A problem with what the user gave; reported in one line, exit status 2."""


def check_output(path: str) -> Path:
    """The output path, refused if it names a folder or lies in a folder that does not exist."""
    out = Path(path)
    if out.is_dir():
        raise InputError(f"output {path!r} is a folder; give a file name")
    parent = out.parent
    if not parent.exists():
        raise InputError(f"cannot write {path!r}: the folder {str(parent)!r} does not exist")
    if not parent.is_dir():
        raise InputError(f"cannot write {path!r}: {str(parent)!r} is not a folder")
    return out


def load_npy(path: str):
    """A 2-D, non-empty, finite numeric array from a ``.npy`` file; never unpickles."""
    import numpy as np

    p = Path(path)
    if p.is_dir():
        raise InputError(f"input {path!r} is a folder, not a .npy file")
    if not p.exists():
        raise InputError(f"cannot read input file {path!r}: no such file")
    try:
        with open(p, "rb") as fh:
            head = fh.read(len(NPY_MAGIC))
            if head[:4] in ZIP_MAGICS:
                raise InputError(
                    f"input {path!r} is a .npz archive (zip), not a .npy file; save the "
                    "array to reduce with numpy.save and pass that file"
                )
            if head != NPY_MAGIC:
                raise InputError(
                    f"input {path!r} is not a NumPy .npy file (it does not begin with the "
                    ".npy magic string)"
                )
            fh.seek(0)
            try:
                version = np.lib.format.read_magic(fh)
                if version == (1, 0):
                    shape, _, dtype = np.lib.format.read_array_header_1_0(fh)
                else:  # 2.0 and 3.0 share the header layout
                    shape, _, dtype = np.lib.format.read_array_header_2_0(fh)
            except (ValueError, EOFError) as exc:
                raise InputError(f"input {path!r} has a damaged .npy header: {exc}") from None
            check_header(path, shape, dtype)
            fh.seek(0)
            try:
                X = np.load(fh, allow_pickle=False)
            except (ValueError, EOFError) as exc:
                raise InputError(f"cannot read input file {path!r}: {exc}") from None
            except MemoryError:
                raise InputError(f"input {path!r}, shape {shape}, does not fit in memory") from None
    except OSError as exc:
        raise InputError(f"cannot read input file {path!r}: {exc.strerror or exc}") from None
    if X.dtype.kind == "f":
        n_nan = int(np.count_nonzero(np.isnan(X)))
        n_inf = int(np.count_nonzero(np.isinf(X)))
        if n_nan or n_inf:
            raise InputError(
                f"input {path!r} holds {n_nan} NaN and {n_inf} infinite value(s); "
                "every value must be finite"
            )
    return X


def check_header(path: str, shape, dtype) -> None:
    if dtype.hasobject:
        raise InputError(
            f"input {path!r} holds Python objects (dtype {dtype}); only numeric arrays are read"
        )
    if dtype.kind == "c":
        raise InputError(f"input {path!r} is complex ({dtype}); only real numbers are supported")
    if dtype.kind not in "biuf":
        raise InputError(
            f"input {path!r} is not numeric (dtype {dtype}); save a float or integer array"
        )
    if len(shape) != 2:
        raise InputError(
            f"input {path!r} must be a 2-D array (n_samples, n_features), got shape {shape}"
        )
    if 0 in shape:
        raise InputError(f"input {path!r} is empty: shape {shape}")


def same_file(a: str, b: Path) -> bool:
    if not b.exists():
        return False
    try:
        return os.path.samefile(a, b)
    except OSError:
        return Path(a).resolve() == b.resolve()
