"""The ``tsne`` sub-command (its parser and runner, called directly)."""

import argparse

import numpy as np
import pytest

from skspectral.manifold import _cli


def _run(argv):
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="command")
    _cli.add_parser(sub)
    return _cli.run(parser.parse_args(["tsne", *argv]))


@pytest.fixture
def data():
    from sklearn.datasets import load_digits

    return load_digits().data[:150]


def test_npy_to_csv_with_plot(tmp_path, data, capsys):
    src = tmp_path / "x.npy"
    np.save(src, data)
    out, png = tmp_path / "e.csv", tmp_path / "e.png"
    assert (
        _run(
            [
                str(src),
                "-o",
                str(out),
                "--plot",
                str(png),
                "--perplexity",
                "10",
                "--max-iter",
                "100",
                "--n-jobs",
                "1",
            ]
        )
        == 0
    )
    E = np.loadtxt(out, delimiter=",", skiprows=1)
    assert E.shape == (150, 2) and np.all(np.isfinite(E))
    assert out.read_text().splitlines()[0] == "tsne0,tsne1"
    assert png.stat().st_size > 1000
    err = capsys.readouterr().err
    assert "iteration 50" in err and "embedded 150 points" in err


def test_csv_with_header(tmp_path, data):
    src = tmp_path / "x.csv"
    np.savetxt(
        src, data[:60], delimiter=",", header=",".join(f"f{i}" for i in range(64)), comments=""
    )
    out = tmp_path / "e.csv"
    assert _run([str(src), "-o", str(out), "--perplexity", "5", "--max-iter", "50", "--quiet"]) == 0
    assert np.loadtxt(out, delimiter=",", skiprows=1).shape == (60, 2)


@pytest.mark.parametrize(
    "content, message",
    [
        ("1,2,3\n4,5\n6,7,8\n", "ragged"),
        ("1,2\n3,abc\n", "not a number"),
        ("", "empty"),
    ],
)
def test_bad_csv_exits_2(tmp_path, capsys, content, message):
    src = tmp_path / "bad.csv"
    src.write_text(content)
    assert _run([str(src), "-o", str(tmp_path / "o.csv")]) == 2
    assert message in capsys.readouterr().err


def test_bad_npy_exits_2(tmp_path, capsys):
    obj = tmp_path / "obj.npy"
    np.save(obj, np.array([{"a": 1}, None], dtype=object), allow_pickle=True)
    assert _run([str(obj), "-o", str(tmp_path / "o.csv")]) == 2
    assert "holds Python objects" in capsys.readouterr().err
    junk = tmp_path / "junk.npy"
    junk.write_bytes(b"not an npy file")
    assert _run([str(junk), "-o", str(tmp_path / "o.csv")]) == 2
    one_d = tmp_path / "v.npy"
    np.save(one_d, np.arange(5.0))
    assert _run([str(one_d), "-o", str(tmp_path / "o.csv")]) == 2
    assert "2-D" in capsys.readouterr().err
    nan = tmp_path / "nan.npy"
    np.save(nan, np.array([[1.0, np.nan], [2.0, 3.0]]))
    assert _run([str(nan), "-o", str(tmp_path / "o.csv")]) == 2
    assert _run([str(tmp_path / "missing.npy"), "-o", str(tmp_path / "o.csv")]) == 2
    assert "no such file" in capsys.readouterr().err


def test_bad_outputs_exit_2_before_any_work(tmp_path, data, capsys):
    src = tmp_path / "x.npy"
    np.save(src, data)
    assert _run([str(src), "-o", str(src)]) == 2
    assert "is the input file" in capsys.readouterr().err
    assert _run([str(src), "-o", str(tmp_path)]) == 2
    assert "is a folder" in capsys.readouterr().err
    assert _run([str(src), "-o", str(tmp_path / "missing" / "e.csv")]) == 2
    assert "does not exist" in capsys.readouterr().err
    npz = tmp_path / "x.npz"
    np.savez(npz, a=data)
    assert _run([str(npz), "-o", str(tmp_path / "e.csv")]) == 2
    assert ".npz archive" in capsys.readouterr().err


def test_bad_npy_files_get_the_same_message_as_reduce(tmp_path, capsys):
    """Both subcommands read .npy files through one reader, so they refuse alike."""
    from skspectral.__main__ import main

    bad = {
        "obj.npy": lambda f: np.save(f, np.array([{"a": 1}], dtype=object), allow_pickle=True),
        "junk.npy": lambda f: f.write_bytes(b"not an npy file"),
        "text.npy": lambda f: f.write_text("1,2\n3,4\n"),
        "v.npy": lambda f: np.save(f, np.arange(5.0)),
        "c.npy": lambda f: np.save(f, np.ones((3, 2), dtype=complex)),
        "s.npy": lambda f: np.save(f, np.array([["a", "b"]])),
        "empty.npy": lambda f: np.save(f, np.zeros((0, 3))),
        "inf.npy": lambda f: np.save(f, np.array([[1.0, np.inf], [2.0, 3.0]])),
        "missing.npy": lambda f: None,
    }
    for name, make in bad.items():
        src = tmp_path / name
        make(src)
        assert main(["tsne", str(src), "-o", str(tmp_path / "o.csv")]) == 2
        tsne_err = capsys.readouterr().err.strip()
        assert main(["reduce", str(src), str(tmp_path / "o.npy"), "-k", "1"]) == 2
        reduce_err = capsys.readouterr().err.strip()
        assert tsne_err.startswith("skspectral tsne: error: "), tsne_err
        assert reduce_err.startswith("skspectral reduce: error: "), reduce_err
        assert tsne_err.split(": error: ", 1)[1] == reduce_err.split(": error: ", 1)[1], name
        assert not (tmp_path / "o.csv").exists() and not (tmp_path / "o.npy").exists()
