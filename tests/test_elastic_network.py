"""Elastic network with active nodes (methods.md §5.9.2): the truth against the
specification's numbers, an independent Hessian, the movie layout, and the node
scoring of dissipation maps."""
import numpy as np
import pytest

import stochinfer as si
from stochinfer.ep.cneep import upsample_map
from stochinfer.movies import elastic_network_layout, node_map, score_node_map


@pytest.fixture(scope="module")
def model():
    return si.models.ElasticNetwork()


def test_truth_matches_the_specification(model):
    assert model.dim == 50 and len(model.free_nodes) == 25
    assert model.ep_rate() == pytest.approx(16.399, abs=5e-4)
    assert model.snapshot_ep_rate(0.01, method="exact") == pytest.approx(15.915, abs=5e-4)
    assert model.snapshot_ep_rate(0.01, substeps=1) == pytest.approx(16.552, abs=5e-4)
    assert model.snapshot_ep_rate(0.01, substeps=10) == pytest.approx(15.976, abs=5e-4)
    rates = -np.linalg.eigvals(model.A).real
    assert rates.min() == pytest.approx(0.426, abs=5e-4) and rates.max() == pytest.approx(5.57, abs=5e-3)
    std = np.sqrt(np.diag(model.stationary_covariance()))
    hot = [model.free_nodes.index(h) for h in model.hot]
    assert np.all(np.abs(std[np.ravel([[2 * j, 2 * j + 1] for j in hot])] - 0.21) < 0.01)
    cold = np.delete(std.reshape(25, 2), hot, axis=0)
    assert 0.05 < cold.mean() < 0.09  # "≈ 0.07a"


def test_hessian_from_an_independent_energy(model):
    """H from finite differences of U = (k/2) Σ_bonds [ê·(u_l − u_j)]² on the full lattice."""
    n = 7
    pos = {(p, q): np.array([p + (q % 2) / 2, q * np.sqrt(3) / 2]) for q in range(n) for p in range(n)}
    bonds = [(a, b) for a in pos for b in pos if a < b and abs(np.linalg.norm(pos[a] - pos[b]) - 1) < 1e-9]
    assert len(bonds) == 3 * n * n - 4 * n + 1  # interior and rim bonds of a 7 × 7 triangular patch

    def energy(u):
        disp = {node: np.zeros(2) for node in pos}
        for j, node in enumerate(model.free_nodes):
            disp[node] = u[2 * j:2 * j + 2]
        return 0.5 * sum(((pos[b] - pos[a]) @ (disp[b] - disp[a])) ** 2 for a, b in bonds)

    h = 1e-3
    H = np.zeros((50, 50))
    for i in range(50):
        for j in range(i, 50):
            e = np.zeros(50)
            f = np.zeros(50)
            e[i] = h
            f[j] = h
            H[i, j] = H[j, i] = (energy(e + f) - energy(e - f) - energy(f - e) + energy(-e - f)) / (4 * h * h)
    np.testing.assert_allclose(-model.A, H, atol=1e-9)


def test_node_maps_match_the_specification(model):
    v, s = model.node_ep_rates(), model.node_heat_rates()
    assert v.sum() == pytest.approx(model.ep_rate(), rel=1e-10)
    assert s.sum() == pytest.approx(model.ep_rate(), rel=1e-8)
    hot = [model.free_nodes.index(h) for h in model.hot]
    np.testing.assert_allclose(v[hot], 2.0, atol=0.03)
    np.testing.assert_allclose(s[hot], -0.91, atol=0.01)
    assert np.all(v >= 0)


def test_layout_puts_nodes_on_their_rest_pixels(model):
    layout = elastic_network_layout(model)
    assert (layout.height, layout.width, layout.n_spots, layout.dim) == (56, 64, 49, 50)
    # bounding box of the lattice centred: columns 5.5 … 57.5 (6.5 spacings), rows symmetric about 27.5
    assert layout.base[:, 1].min() == pytest.approx(5.5) and layout.base[:, 1].max() == pytest.approx(57.5)
    assert layout.base[:, 0].min() + layout.base[:, 0].max() == pytest.approx(55.0)
    u = np.zeros(50)
    u[0], u[1] = 0.5, 0.25  # node (1, 1): right by 4 px, up by 2 px
    c = layout.centres(u)
    np.testing.assert_allclose(c[0] - layout.base[0], [-2.0, 4.0])
    np.testing.assert_allclose(c[1:], layout.base[1:])


def test_scoring_a_map_drawn_from_the_truth(model):
    """A map that puts each free node's σ_j on the pixel of its rest position scores as the
    truth: all of σ, positive mass near the hot nodes 98.6% (methods.md §5.9.2), correlation 1."""
    layout = elastic_network_layout(model)
    pix = np.zeros((56, 64))
    for j, (r, c) in enumerate(layout.base[:25]):
        pix[int(round(r)), int(round(c))] += model.node_ep_rates()[j]
    sc = score_node_map(pix, model)
    assert sc["total"] == pytest.approx(model.ep_rate())
    assert sc["positive_mass_near_hot"] == pytest.approx(0.986, abs=5e-4)
    assert sc["correlation_with_node_ep"] == pytest.approx(1.0)
    # a coarse map spread over its cells keeps its total
    coarse = np.arange(14 * 16, dtype=float).reshape(14, 16)
    sums = node_map(upsample_map(coarse, (56, 64)), model)
    assert sums["free"].sum() + sums["pinned"].sum() == pytest.approx(coarse.sum())


def test_bad_arguments(model):
    with pytest.raises(ValueError, match="hot node"):
        si.models.ElasticNetwork(hot=((0, 0),))
    with pytest.raises(TypeError, match="ElasticNetwork"):
        elastic_network_layout(si.models.BeadSpring(2))
    with pytest.raises(ValueError, match="t_hot must be > 0"):
        si.models.ElasticNetwork(t_hot=0)


def test_saved_trajectories_rebuild_the_model(tmp_path):
    m = si.models.ElasticNetwork(hot=[(3, 3)], t_hot=0.2)
    si.simulate(m, 2, 5, 0.01, seed=0).save(tmp_path / "t.npz")
    back = si.Trajectories.load(tmp_path / "t.npz").model
    assert isinstance(back, si.models.ElasticNetwork) and back.hot == ((3, 3),)
    assert back.ep_rate() == pytest.approx(m.ep_rate(), rel=1e-12)


def test_scoring_downsampled_and_cropped_maps(model):
    layout = elastic_network_layout(model)
    pix = np.zeros((56, 64))
    for j, (r, c) in enumerate(layout.base[:25]):
        pix[int(round(r)), int(round(c))] += model.node_ep_rates()[j]
    coarse = pix.reshape(28, 2, 32, 2).sum(axis=(1, 3))  # a map of a movie rendered with downsample=2
    sc = score_node_map(si.ep.upsample_map(coarse, (28, 32)), model, downsample=2)
    assert sc["correlation_with_node_ep"] > 0.99 and sc["total"] == pytest.approx(model.ep_rate())
    crop = pix[8:48, 8:56]  # a field of view (row 8, col 8, 40 × 48)
    sc = score_node_map(crop, model, crop=(8, 8, 40, 48))
    assert sc["correlation_with_node_ep"] == pytest.approx(1.0)


def test_maps_of_the_wrong_size_are_refused(model):
    with pytest.raises(ValueError, match="upsample the CNEEP map"):
        score_node_map(np.zeros((14, 16)), model)  # the raw CNEEP map, not upsampled
    with pytest.raises(ValueError, match="28 × 32 frames"):
        score_node_map(np.zeros((56, 64)), model, downsample=2)


def test_map_helpers_refuse_shapes_that_would_lose_ep():
    with pytest.raises(ValueError, match=r"frame_shape \(2, 4\) must be at least the map's \(5, 10\)"):
        si.ep.upsample_map(np.ones((5, 10)), (2, 4))
    with pytest.raises(ValueError, match="hmap must be a map"):
        si.ep.upsample_map(np.ones(5), (20, 40))
    with pytest.raises(ValueError, match=r"crop must be \(row, col, height, width\)"):
        si.movies.node_map(np.zeros((40, 48)), si.models.ElasticNetwork(), crop=(8, 8, 40))
    with pytest.raises(ValueError, match="must lie inside"):
        si.movies.node_map(np.zeros((40, 48)), si.models.ElasticNetwork(), crop=(30, 30, 40, 48))


def test_a_crop_of_the_whole_frame_is_not_partial():
    assert not si.movies.bead_spring_movies(2, 5, seed=0, crop=(0, 0, 20, 40)).partial
    assert si.movies.bead_spring_movies(2, 5, seed=0, crop=(0, 0, 20, 20)).partial
