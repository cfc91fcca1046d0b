"""Philox4x32-10 known answers and the statistics of the normals every backend uses."""
import numpy as np
import pytest

from stochinfer import _core


@pytest.mark.parametrize("ctr,key,expected", [
    ((0, 0, 0, 0), (0, 0), (0x6627E8D5, 0xE169C58D, 0xBC57AC4C, 0x9B00DBD8)),
    ((0xFFFFFFFF,) * 4, (0xFFFFFFFF,) * 2, (0x408F276D, 0x41C83B0E, 0xA20BC7C6, 0x6D5451FD)),
    ((0x243F6A88, 0x85A308D3, 0x13198A2E, 0x03707344), (0xA4093822, 0x299F31D0),
     (0xD16CFE09, 0x94FDCCEB, 0x5001E420, 0x24126EA1)),
])
def test_philox_known_answers(ctr, key, expected):
    # Random123 tests/kat_vectors, "philox4x32 10"
    assert _core.philox4x32_10(*ctr, *key) == expected


def test_normal_moments():
    z = np.concatenate([_core.normals(3, "integrator_noise", 0, 20000, step, 8).ravel() for step in range(25)])
    z = z.astype(np.float64)
    n = z.size  # 4e6
    assert abs(z.mean()) < 4 / np.sqrt(n)
    assert abs(z.var() - 1) < 4 * np.sqrt(2 / n)
    assert abs(np.mean(z**4) - 3) < 4 * np.sqrt(96 / n)
    assert abs(np.mean(z**3)) < 4 * np.sqrt(15 / n)
    # tail mass beyond 3 sigma: 0.0026998
    p = np.mean(np.abs(z) > 3)
    assert abs(p - 0.0026998) < 4 * np.sqrt(0.0027 / n)


def test_normals_independent_across_components_steps_trajectories():
    a = _core.normals(11, "integrator_noise", 0, 100000, 5, 6).astype(np.float64)
    b = _core.normals(11, "integrator_noise", 0, 100000, 6, 6).astype(np.float64)
    n = a.shape[0]
    se = 4 / np.sqrt(n)
    c = np.corrcoef(a.T)
    assert np.all(np.abs(c[np.triu_indices(6, 1)]) < se)             # components within a step
    assert np.all(np.abs(np.sum(a * b, axis=0) / n) < se)              # consecutive steps
    assert abs(np.mean(a[1:, 0] * a[:-1, 0])) < se                      # neighbouring trajectories
    other_purpose = _core.normals(11, "initial_state", 0, 100000, 5, 6).astype(np.float64)
    assert np.all(np.abs(np.sum(a * other_purpose, axis=0) / n) < se)  # streams do not overlap


def test_normals_are_a_function_of_the_key():
    full = _core.normals(5, "integrator_noise", 0, 10, 42, 9)
    part = _core.normals(5, "integrator_noise", 4, 3, 42, 9)
    np.testing.assert_array_equal(full[4:7], part)
    assert not np.array_equal(full, _core.normals(6, "integrator_noise", 0, 10, 42, 9))


def test_uniforms_open_interval_and_flat():
    u = _core.uniforms(1, "user", 0, 200000, 0, 4).astype(np.float64).ravel()
    assert u.min() > 0 and u.max() < 1
    hist, _ = np.histogram(u, bins=20, range=(0, 1))
    expected = u.size / 20
    chi2 = np.sum((hist - expected) ** 2 / expected)
    assert chi2 < 45  # chi2(19) 99.9th percentile is 43.8
