import subprocess
import sys

import numpy as np
import pytest

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


def test_unreadable_input_file_exits_2(tmp_path, capsys):
    assert main(["reduce", str(tmp_path / "missing.npy"), str(tmp_path / "o.npy"), "-k", "4"]) == 2
    assert "cannot read input file" in capsys.readouterr().err
    bad = tmp_path / "bad.npy"
    bad.write_text("not an array")
    assert main(["reduce", str(bad), str(tmp_path / "o.npy"), "-k", "4"]) == 2
    assert "cannot read input file" in capsys.readouterr().err
    vec = tmp_path / "vec.npy"
    np.save(vec, np.ones(5))
    assert main(["reduce", str(vec), str(tmp_path / "o.npy"), "-k", "4"]) == 2
    assert "2-D" in capsys.readouterr().err


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
