import os
import subprocess
import sys

import numpy as np
import pytest

import skspectral
from skspectral.__main__ import main


def test_help_lists_subcommands(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    for cmd in ("demo", "info", "reduce"):
        assert cmd in out


def test_no_subcommand_prints_help_and_returns_2(capsys):
    assert main([]) == 2
    assert "usage" in capsys.readouterr().out


@pytest.mark.parametrize(
    "argv",
    [["nonsense"], ["demo", "--bogus"], ["reduce", "a.npy"], ["reduce", "a", "b", "-k", "x"]],
)
def test_bad_arguments_exit_2(argv, capsys):
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2
    assert "error" in capsys.readouterr().err


def _reduce(capsys, *argv):
    """``main(["reduce", *argv])``: (status, stdout, stderr)."""
    code = main(["reduce", *map(str, argv)])
    out, err = capsys.readouterr()
    return code, out, err


def _one_line_error(err):
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("skspectral reduce: error: "), err
    assert "Traceback" not in err
    return lines[0]


@pytest.fixture
def src(tmp_path):
    path = tmp_path / "x.npy"
    np.save(path, np.random.default_rng(0).normal(size=(20, 16)))
    return path


def test_missing_input_file_exits_2(tmp_path, capsys):
    code, _, err = _reduce(capsys, tmp_path / "missing.npy", tmp_path / "o.npy", "-k", "4")
    assert code == 2 and "no such file" in _one_line_error(err)
    code, _, err = _reduce(capsys, tmp_path, tmp_path / "o.npy", "-k", "4")
    assert code == 2 and "is a folder" in _one_line_error(err)


def test_npz_input_is_named_as_such(tmp_path, capsys):
    npz = tmp_path / "x.npz"
    np.savez(npz, a=np.ones((4, 8)))
    code, _, err = _reduce(capsys, npz, tmp_path / "o.npy", "-k", "2")
    assert code == 2 and ".npz archive" in _one_line_error(err)
    assert not (tmp_path / "o.npy").exists()


def test_text_file_named_npy_is_not_called_pickled(tmp_path, capsys):
    bad = tmp_path / "bad.npy"
    bad.write_text("not an array")
    code, _, err = _reduce(capsys, bad, tmp_path / "o.npy", "-k", "4")
    line = _one_line_error(err)
    assert code == 2 and "not a NumPy .npy file" in line
    assert "pickle" not in line.lower() and "allow_pickle" not in line


def test_object_array_is_never_unpickled(tmp_path, src, capsys, monkeypatch):
    obj = tmp_path / "obj.npy"
    np.save(obj, np.array([[{"a": 1}, None]], dtype=object), allow_pickle=True)
    real_load, calls = np.load, []

    def load(*args, **kwargs):
        calls.append(kwargs.get("allow_pickle"))
        return real_load(*args, **kwargs)

    monkeypatch.setattr(np, "load", load)
    assert _reduce(capsys, src, tmp_path / "y.npy", "-k", "2")[0] == 0
    assert calls == [False]
    code, _, err = _reduce(capsys, obj, tmp_path / "o.npy", "-k", "1")
    line = _one_line_error(err)
    assert code == 2 and "Python objects" in line
    assert "unsafe" not in line and "allow_pickle" not in line


def test_damaged_npy_files_exit_2(tmp_path, src, capsys):
    data = src.read_bytes()
    truncated, header = tmp_path / "truncated.npy", tmp_path / "header.npy"
    truncated.write_bytes(data[:200])
    header.write_bytes(data[:6] + b"\x01\x00garbage")
    for path in (truncated, header):
        code, _, err = _reduce(capsys, path, tmp_path / "o.npy", "-k", "2")
        assert code == 2 and str(path) in _one_line_error(err)


@pytest.mark.parametrize(
    "array, words",
    [
        (np.ones(5), "2-D"),
        (np.float64(3.0), "2-D"),
        (np.ones((2, 3, 4)), "2-D"),
        (np.empty((0, 8)), "empty"),
        (np.empty((3, 0)), "empty"),
        (np.array([["a", "b"]]), "not numeric"),
        (np.array([[b"a", b"b"]]), "not numeric"),
        (np.ones((2, 2), dtype="datetime64[s]"), "not numeric"),
        (np.zeros((2, 2), dtype=[("a", "f8")]), "not numeric"),
        (np.ones((2, 4), dtype=complex), "complex"),
        (np.array([[1.0, np.nan], [0.0, 1.0]]), "1 NaN and 0 infinite"),
        (np.array([[1.0, np.inf], [-np.inf, 1.0]], dtype=np.float32), "0 NaN and 2 infinite"),
    ],
)
def test_unsuitable_arrays_exit_2_with_a_clear_message(tmp_path, capsys, array, words):
    path = tmp_path / "in.npy"
    np.save(path, array)
    code, _, err = _reduce(capsys, path, tmp_path / "o.npy", "-k", "1")
    assert code == 2 and words in _one_line_error(err)
    assert not (tmp_path / "o.npy").exists()


def test_integer_and_fortran_input_are_reduced(tmp_path, capsys):
    path = tmp_path / "int.npy"
    np.save(path, np.asfortranarray(np.arange(64).reshape(4, 16)))
    code, _, _ = _reduce(capsys, path, tmp_path / "o.npy", "-k", "2")
    assert code == 0 and np.load(tmp_path / "o.npy").shape == (4, 2)


def test_output_into_a_missing_folder_exits_2(tmp_path, src, capsys):
    out = tmp_path / "nope" / "y.npy"
    code, _, err = _reduce(capsys, src, out, "-k", "2")
    assert code == 2 and "does not exist" in _one_line_error(err)
    assert not out.parent.exists()


def test_output_that_is_a_folder_exits_2(tmp_path, src, capsys):
    code, _, err = _reduce(capsys, src, tmp_path, "-k", "2")
    assert code == 2 and "is a folder" in _one_line_error(err)
    assert not (tmp_path.parent / f"{tmp_path.name}.npy").exists()


def test_unwritable_output_exits_2(tmp_path, src, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("")
    code, _, err = _reduce(capsys, src, blocker / "y.npy", "-k", "2")
    assert code == 2 and "not a folder" in _one_line_error(err)


@pytest.mark.parametrize("name", ["y", "y.bin", "y.npy.tmp"])
def test_output_is_written_to_exactly_the_path_given(tmp_path, src, capsys, name):
    out = tmp_path / name
    code, stdout, _ = _reduce(capsys, src, out, "-k", "4")
    assert code == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["x.npy", name])
    assert np.load(out, allow_pickle=False).shape == (20, 4)
    assert f"-> {out}:" in stdout


def _same_path_spellings(tmp_path, src):
    link = tmp_path / "link.npy"
    link.symlink_to(src)
    hard = tmp_path / "hard.npy"
    os.link(src, hard)
    return [src, tmp_path / "." / "x.npy", tmp_path / ".." / tmp_path.name / "x.npy", link, hard]


def test_output_equal_to_input_is_refused(tmp_path, src, capsys):
    before = src.read_bytes()
    for out in _same_path_spellings(tmp_path, src):
        code, _, err = _reduce(capsys, src, out, "-k", "2")
        assert code == 2 and "--force" in _one_line_error(err), out
        assert src.read_bytes() == before
    code, _, err = _reduce(capsys, tmp_path / "link.npy", src, "-k", "2")
    assert code == 2 and "is the input file" in _one_line_error(err)


def test_force_replaces_the_input(tmp_path, src, capsys):
    link = tmp_path / "link.npy"
    link.symlink_to(src)
    mode = 0o640
    src.chmod(mode)
    code, _, _ = _reduce(capsys, src, link, "-k", "2", "--force")
    assert code == 0 and link.is_symlink()
    assert np.load(src).shape == (20, 2)
    assert src.stat().st_mode & 0o777 == mode
    assert sorted(p.name for p in tmp_path.iterdir()) == ["link.npy", "x.npy"]


@pytest.mark.parametrize("k", ["0", "-3"])
def test_k_below_one_is_refused_without_offering_auto(tmp_path, src, capsys, k):
    with pytest.raises(SystemExit) as exc:
        main(["reduce", str(src), str(tmp_path / "o.npy"), "-k", k])
    err = capsys.readouterr().err
    assert exc.value.code == 2 and "at least 1" in err and "auto" not in err


@pytest.mark.parametrize(
    "method, limit", [("srht", 16), ("fft-magnitude", 9), ("fft-fourier", 16), ("fft-dct", 16)]
)
def test_k_above_the_method_limit_names_the_limit(tmp_path, src, capsys, method, limit):
    out = tmp_path / "o.npy"
    code, _, err = _reduce(capsys, src, out, "-k", limit + 1, "--method", method)
    line = _one_line_error(err)
    assert code == 2 and f"at most {limit}" in line and "auto" not in line
    assert not out.exists()
    code, _, _ = _reduce(capsys, src, out, "-k", limit, "--method", method)
    assert code == 0 and np.load(out).shape == (20, limit)


def test_bad_random_state_exits_2(tmp_path, src, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["reduce", str(src), str(tmp_path / "o.npy"), "-k", "2", "--random-state", "-1"])
    assert exc.value.code == 2 and "--random-state" in capsys.readouterr().err


def test_non_finite_result_is_not_written(tmp_path, capsys):
    path, out = tmp_path / "big.npy", tmp_path / "o.npy"
    np.save(path, np.full((4, 16), 1e308))
    for method in ("srht", "fft-magnitude", "fft-fourier", "fft-dct"):
        code, _, err = _reduce(capsys, path, out, "-k", "2", "--method", method)
        assert code == 2 and _one_line_error(err), method
        assert not out.exists()


def test_version(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--version"])
    assert exc.value.code == 0
    assert capsys.readouterr().out.strip() == f"skspectral {skspectral.__version__}"


def test_demo_checks_its_output_folder_before_running(tmp_path, capsys, monkeypatch):
    import skspectral._demo

    monkeypatch.setattr(skspectral._demo, "run_demo", lambda **kw: pytest.fail("demo ran"))
    assert main(["demo", "-o", str(tmp_path / "nope" / "d.png")]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_reduce_writes_the_reduced_array(tmp_path):
    X = np.random.default_rng(0).normal(size=(50, 32)).astype(np.float32)
    src, dst = tmp_path / "x.npy", tmp_path / "y.npy"
    np.save(src, X)
    assert main(["reduce", str(src), str(dst), "-k", "8", "--normalize"]) == 0
    Y = np.load(dst)
    assert Y.shape == (50, 8) and Y.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(Y, axis=1), 1.0, rtol=1e-5)


def test_reduce_reports_an_impossible_size_as_an_input_error(tmp_path, capsys):
    src = tmp_path / "x.npy"
    np.save(src, np.ones((5, 8)))
    assert (
        main(["reduce", str(src), str(tmp_path / "y.npy"), "-k", "8", "--method", "fft-magnitude"])
        == 2
    )
    assert "error" in capsys.readouterr().err


def test_info_lists_estimators(capsys):
    assert main(["info"]) == 0
    assert "SubsampledRandomizedHadamard" in capsys.readouterr().out


def test_module_entry_point_runs():
    out = subprocess.run(
        [sys.executable, "-m", "skspectral", "--help"], capture_output=True, text=True
    )
    assert out.returncode == 0 and "demo" in out.stdout


@pytest.mark.parametrize(
    "argv, words",
    [
        (["--version"], None),
        (["reduce", "{d}/x.npz", "{d}/y.npy", "-k", "2"], ".npz archive"),
        (["reduce", "{d}/x.npy", "{d}/nope/y.npy", "-k", "2"], "does not exist"),
    ],
)
def test_module_entry_point_errors_are_one_line(tmp_path, argv, words):
    np.save(tmp_path / "x.npy", np.ones((4, 8)))
    np.savez(tmp_path / "x.npz", a=np.ones((4, 8)))
    argv = [a.format(d=tmp_path) for a in argv]
    out = subprocess.run(
        [sys.executable, "-m", "skspectral", *argv], capture_output=True, text=True
    )
    if words is None:
        assert out.returncode == 0 and out.stdout.strip() == f"skspectral {skspectral.__version__}"
    else:
        assert out.returncode == 2 and "Traceback" not in out.stderr
        assert len(out.stderr.strip().splitlines()) == 1 and words in out.stderr
