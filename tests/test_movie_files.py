"""Movies kept on disk (path=): the frames of the in-memory movies, memory-mapped
read-only, chunk by chunk; CNEEP trains on them as on arrays; a disk without room
is refused before simulating."""
import shutil

import numpy as np
import pytest

import stochinfer as si
from stochinfer.movies import dataset as movie_dataset


def test_frames_on_disk_are_the_in_memory_frames(tmp_path, monkeypatch):
    monkeypatch.setattr(movie_dataset, "CHUNK_BYTES", 20_000)  # several chunks of movies
    kw = dict(seed=4, read_noise=0.05)
    mem = si.movies.bead_spring_movies(5, 30, **kw)
    disk = si.movies.bead_spring_movies(5, 30, path=str(tmp_path / "m.npy"), **kw)
    assert isinstance(disk.frames, np.memmap) and not disk.frames.flags.writeable
    np.testing.assert_array_equal(disk.frames, mem.frames)
    np.testing.assert_array_equal(disk.states, mem.states)
    assert disk.settings["frames_file"] == str(tmp_path / "m.npy")
    np.testing.assert_array_equal(np.load(tmp_path / "m.npy"), mem.frames)  # an ordinary .npy
    blurred = si.movies.elastic_network_movies(2, 12, seed=1, motion_blur=True, path=str(tmp_path / "e.npy"))
    np.testing.assert_array_equal(blurred.frames, si.movies.elastic_network_movies(2, 12, seed=1,
                                                                                   motion_blur=True).frames)


def test_cneep_trains_on_memory_mapped_frames_as_on_arrays(tmp_path):
    disk = si.movies.bead_spring_movies(6, 60, seed=2, path=str(tmp_path / "m.npy"))
    mem = si.movies.Movies(np.array(disk.frames), disk.dt, disk.states, disk.model, disk.partial, disk.settings)
    kw = dict(n_channel=4, n_iter=30, eval_every=15, batch=32, progress=False, n_threads=1)
    a, b = si.CNEEP(**kw).fit(disk, seed=0), si.CNEEP(**kw).fit(mem, seed=0)
    assert a.rate == b.rate and np.array_equal(a.delta_s, b.delta_s)


def test_a_disk_without_room_or_a_missing_folder_is_refused(tmp_path, monkeypatch):
    with pytest.raises(ValueError, match="does not exist"):
        si.movies.bead_spring_movies(2, 10, path=str(tmp_path / "nowhere" / "m.npy"))
    with pytest.raises(TypeError, match="path must be a file name"):
        si.movies.bead_spring_movies(2, 10, path=3)

    class Usage:
        free = 1000
    monkeypatch.setattr(shutil, "disk_usage", lambda folder: Usage())
    with pytest.raises(si.OutputTooLargeError, match="has only 0.00 GiB free"):
        si.movies.bead_spring_movies(2, 10, path=str(tmp_path / "m.npy"))
    assert not (tmp_path / "m.npy").exists()  # refused before anything was written


def test_the_command_line_memory_maps_movie_files(tmp_path):
    from stochinfer.cli import _load_states

    si.movies.bead_spring_movies(2, 10, seed=0, path=str(tmp_path / "m.npy"))
    assert isinstance(_load_states(str(tmp_path / "m.npy"), mmap=True), np.memmap)
    assert not isinstance(_load_states(str(tmp_path / "m.npy")), np.memmap)  # other methods: in memory


def test_a_path_reused_leaves_earlier_movies_whole(tmp_path, monkeypatch):
    first = si.movies.bead_spring_movies(3, 50, seed=0, path=str(tmp_path / "m.npy"))
    kept = np.array(first.frames)
    second = si.movies.bead_spring_movies(1, 10, seed=1, path=str(tmp_path / "m.npy"))  # smaller, same file name
    np.testing.assert_array_equal(first.frames, kept)  # still mapped to the old file (it crashed with SIGBUS)
    assert np.load(tmp_path / "m.npy").shape == second.frames.shape

    def fail(*args, **kwargs):
        raise KeyboardInterrupt
    monkeypatch.setattr(movie_dataset, "CHUNK_BYTES", 1)
    calls = []
    real = movie_dataset.render
    monkeypatch.setattr(movie_dataset, "render", lambda *a, **k: calls.append(1) or (real(*a, **k) if len(calls) < 2
                                                                                        else fail()))
    with pytest.raises(KeyboardInterrupt):
        si.movies.bead_spring_movies(3, 10, seed=2, path=str(tmp_path / "n.npy"))
    assert not list(tmp_path.glob("n.npy*"))  # no half-written file


def test_paths_that_are_folders_and_failures_at_the_end_leave_no_file(tmp_path, monkeypatch):
    (tmp_path / "dir.npy").mkdir()
    with pytest.raises(ValueError, match="is a folder"):
        si.movies.bead_spring_movies(2, 10, path=str(tmp_path / "dir.npy"))

    def interrupted(self):
        raise KeyboardInterrupt
    monkeypatch.setattr(np.memmap, "flush", interrupted)
    with pytest.raises(KeyboardInterrupt):
        si.movies.bead_spring_movies(2, 10, path=str(tmp_path / "m.npy"))
    assert not list(tmp_path.glob("m.npy*"))


def test_simulated_movies_refuse_frame_selections_and_keep_positions():
    with pytest.raises(ValueError, match="render every frame"):
        si.movies.bead_spring_movies(2, 6, frames=[[0, 1], [1, 2]])
    # underdamped models: the states are the positions the frames draw (simulate().x)
    vdp = si.models.VanDerPol()
    layout = si.movies.SpotLayout(20, 20, [[9.5, 9.5]], [[[0.0], [1.0]]])
    mv = movie_dataset.simulated_movies(vdp, layout, 2, 12, 0.01, 10, 0, None, {})
    assert mv.states.shape == (2, 12, 1)
    np.testing.assert_array_equal(mv.states, si.simulate(vdp, 2, 11, 0.01, substeps=10, seed=0).x)
    pm = si.models.PythonModel(lambda x, t: -x, dim=1, diffusion=[[1.0]])  # no built-in burn-in
    assert movie_dataset.simulated_movies(pm, layout, 2, 5, 0.01, 2, 0, None, {}).frames.shape == (2, 5, 20, 20)
