import numpy as np
import pytest
from scipy.stats import qmc

from skspectral.fft import bit_reversal_permutation
from skspectral.qmc import (
    DigitalNet,
    Lattice,
    default_generating_matrices,
    default_generating_vector,
    periodize,
    unperiodize,
)


def test_lattice_is_shifted_rank1_lattice_in_radical_inverse_order():
    eng = Lattice(5, seed=3)
    x = eng.random(64)
    z = default_generating_vector(5)
    rev = bit_reversal_permutation(6)
    # point i is frac(rev(i) z / 64 + shift), computed independently
    ref = (np.outer(rev, z) % 64) / 64.0 + eng.shift
    np.testing.assert_allclose(x, ref - np.floor(ref), atol=1e-15)
    assert isinstance(eng, qmc.QMCEngine)


def test_lattice_extensible_and_engine_interface():
    eng = Lattice(3, seed=1)
    a = eng.random(16)
    b = eng.random(16)
    eng.reset()
    np.testing.assert_array_equal(eng.random(32), np.vstack([a, b]))
    eng.reset().fast_forward(16)
    np.testing.assert_array_equal(eng.random(16), b)
    assert eng.num_generated == 32
    # the first 16 are a lattice of 16 points, the first 32 one of 32
    u = np.vstack([a, b]) - eng.shift
    u -= np.floor(u)
    assert np.allclose(np.rint(u * 32) / 32, u)


def test_lattice_lower_discrepancy_than_random():
    x = Lattice(4, seed=0).random(1024)
    r = np.random.default_rng(0).random((1024, 4))
    assert qmc.discrepancy(x) < 0.1 * qmc.discrepancy(r)


def test_net_matches_scipy_sobol_as_a_set():
    x = DigitalNet(6, randomize=None).random(256)
    s = qmc.Sobol(6, scramble=False).random(256)
    np.testing.assert_array_equal(np.unique(x, axis=0), np.unique(s, axis=0))


@pytest.mark.parametrize("randomize", ["ds", "lms_ds"])
def test_randomized_net_is_still_a_net(randomize):
    # each one-dimensional projection of 2**m points has one point per interval of 2**-m,
    # and two-dimensional elementary boxes of volume 2**-m with t = 0 for the first two dims
    x = DigitalNet(4, randomize=randomize, seed=5).random(512)
    for j in range(4):
        assert np.array_equal(np.sort(np.floor(x[:, j] * 512)), np.arange(512))
    for a in range(10):
        cells = np.floor(x[:, 0] * 2**a) * 2 ** (9 - a) + np.floor(x[:, 1] * 2 ** (9 - a))
        assert np.unique(cells).size == 512


def test_net_rejects_too_many_points():
    eng = DigitalNet(2, generating_matrices=default_generating_matrices(2)[:, :3])
    eng.random(8)
    with pytest.raises(ValueError, match="at most"):
        eng.random(1)


@pytest.mark.parametrize("kind", ["tent", "baker", "cosine"])
def test_periodizations_fold_and_inverse(kind):
    u = np.linspace(0, 1, 101)
    x = periodize(u, kind)
    np.testing.assert_allclose(x, periodize(1 - u, kind), atol=1e-14)
    v = unperiodize(x, kind)
    assert np.all((v >= 0) & (v <= 0.5))
    np.testing.assert_allclose(periodize(v, kind), x, atol=1e-12)


def test_box_and_periodization_remembered():
    eng = Lattice(2, l_bounds=[-1, 0], u_bounds=[1, 10], periodization="cosine", seed=0)
    x = eng.random(64)
    assert np.all(x[:, 0] >= -1) and np.all(x[:, 0] <= 1) and np.all(x[:, 1] <= 10)
    u = eng.to_unit(x)
    np.testing.assert_allclose(eng.from_unit(u), x, atol=1e-12)
    with pytest.raises(ValueError, match="outside the box"):
        eng.to_unit(np.array([[2.0, 1.0]]))


@pytest.mark.parametrize(
    "kwargs,match",
    [
        ({"d": 0}, "positive"),
        ({"d": 2, "periodization": "x"}, "periodization"),
        ({"d": 2, "generating_vector": [2, 3]}, "odd"),
        ({"d": 2, "l_bounds": [0, 1], "u_bounds": [1, 1]}, "u_bounds"),
    ],
)
def test_lattice_bad_parameters(kwargs, match):
    with pytest.raises(ValueError, match=match):
        Lattice(**kwargs)


def test_user_generating_vector_and_default_sizes():
    x = Lattice(2, generating_vector=[1, 5], randomize=False).random(8)
    np.testing.assert_allclose(np.sort(x[:, 1] * 8 % 8), np.arange(8))
    assert default_generating_vector(1000).shape == (1000,)
    assert default_generating_matrices(1000).shape == (1000, 32)
    with pytest.raises(ValueError):
        DigitalNet(2, randomize="owen")
