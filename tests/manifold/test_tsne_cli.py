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


@pytest.mark.parametrize(
    "payload",
    [
        b"not an array at all",
        b"\x93NUMPY\x01\x00garbage",
        "object",
        "complex",
        "3d",
    ],
)
def test_bad_npy_same_message_as_reduce(tmp_path, payload, capsys):
    from skspectral import __main__ as main_cli

    src = tmp_path / "bad.npy"
    if payload == "object":
        np.save(src, np.array([{"a": 1}, None], dtype=object), allow_pickle=True)
    elif payload == "complex":
        np.save(src, np.ones((5, 2), dtype=complex))
    elif payload == "3d":
        np.save(src, np.ones((5, 2, 2)))
    else:
        src.write_bytes(payload)
    assert _run([str(src), "-o", str(tmp_path / "e.csv")]) == 2
    ours = capsys.readouterr().err.strip().splitlines()[-1]
    with pytest.raises(main_cli._InputError) as exc:
        main_cli._load_npy(str(src))
    assert str(exc.value) in ours
    assert not (tmp_path / "e.csv").exists()
