"""The command line on the files users write by hand: every reading gives the same states
as the library, and bad files give a one-line error with exit status 2, never a traceback."""
import json
import os
import re

import numpy as np
import pytest

import stochinfer as si
from stochinfer.cli import main

DT = 0.01


@pytest.fixture(scope="module")
def chain():
    m = si.models.BeadSpring(n_beads=2, t_cold=1.0, t_hot=10.0)
    return si.simulate(m, n_traj=1, n_steps=2000, dt=DT, substeps=10, seed=0)


def _rate(capsys) -> str:
    out = capsys.readouterr().out
    return next(line for line in out.splitlines() if "TUR EP rate" in line)


def test_one_trajectory_reads_the_same_from_npy_and_npz_with_dt(tmp_path, chain, capsys):
    x = chain.x[0]  # (L, dim): one trajectory, as for arrays passed to the library
    np.save(tmp_path / "x.npy", x)
    np.savez(tmp_path / "x.npz", x=x, dt=DT)
    assert main(["ep", str(tmp_path / "x.npy"), "--dt", str(DT), "--method", "tur"]) == 0
    from_npy = _rate(capsys)
    assert main(["ep", str(tmp_path / "x.npz"), "--method", "tur"]) == 0
    assert _rate(capsys) == from_npy
    assert si.Trajectories.load(tmp_path / "x.npz").x.shape == (1, 2001, 2)
    with open(tmp_path / "x_upper.NPY", "wb") as fh:  # an .npy under another name is still an .npy
        np.save(fh, x)
    assert main(["ep", str(tmp_path / "x_upper.NPY"), "--dt", str(DT), "--method", "tur"]) == 0
    assert _rate(capsys) == from_npy


def test_damaged_and_foreign_files_give_one_line_errors(tmp_path, chain, capsys):
    chain.save(tmp_path / "good.npz")
    raw = (tmp_path / "good.npz").read_bytes()
    (tmp_path / "trunc.npz").write_bytes(raw[: len(raw) // 2])
    (tmp_path / "data.csv").write_text("1,2\n3,4\n")
    for name in ("trunc.npz", "data.csv"):
        for command in ("ep", "infer"):
            assert main([command, str(tmp_path / name), "--dt", str(DT)]) == 2
            assert "not a readable .npy or .npz file" in capsys.readouterr().err


def test_json_has_no_nan_and_baselines_refuse_plot(tmp_path, capsys):
    np.save(tmp_path / "short.npy", np.array([[0, 1]]))  # one jump of one token path: no jackknife, stderr nan
    out = tmp_path / "short.json"
    assert main(["ep", str(tmp_path / "short.npy"), "--method", "plugin", "--json", str(out)]) == 0

    def refuse(constant):
        raise ValueError(constant)
    result = json.loads(out.read_text(), parse_constant=refuse)  # strict JSON: NaN written as null
    assert result["stderr"] is None
    capsys.readouterr()
    for method in ("plugin", "tur"):
        assert main(["ep", str(tmp_path / "short.npy"), "--method", method, "--plot", "p.png"]) == 2
        assert "--plot draws the training curve and per-transition EP of NEEP, RNEEP and CNEEP" in capsys.readouterr().err


def test_scalar_paths_and_underdamped_files(tmp_path, capsys):
    paths = np.cumsum(np.random.default_rng(1).standard_normal((50, 400)), axis=1)
    np.save(tmp_path / "paths.npy", paths)
    with pytest.warns(UserWarning, match="command line: --scalar-paths"):
        assert main(["ep", str(tmp_path / "paths.npy"), "--dt", str(DT), "--method", "plugin"]) == 2
    assert "cells exceeds" in capsys.readouterr().err  # 400 coordinates: refused, not a crash
    assert main(["ep", str(tmp_path / "paths.npy"), "--dt", str(DT), "--method", "tur", "--scalar-paths"]) == 0
    assert "shape (50, 400, 1)" in capsys.readouterr().out
    vdp = si.simulate(si.models.VanDerPol(), n_traj=2, n_steps=500, dt=DT, seed=0)
    vdp.save(tmp_path / "vdp.npz")
    assert main(["ep", str(tmp_path / "vdp.npz"), "--method", "tur"]) == 2
    assert "--positions-only" in capsys.readouterr().err
    assert main(["ep", str(tmp_path / "vdp.npz"), "--method", "tur", "--positions-only"]) == 0
    out = capsys.readouterr().out
    assert "shape (2, 501, 1)" in out and "lower bound" in out  # the velocities are hidden
    assert main(["ep", str(tmp_path / "vdp.npz"), "--method", "tur", "--scalar-paths"]) == 2
    assert "scalar_paths reads a 2-D float 'x'" in capsys.readouterr().err
    np.savez(tmp_path / "paths.npz", x=paths, dt=DT)  # the same scalar paths with their dt
    assert main(["ep", str(tmp_path / "paths.npz"), "--method", "tur", "--scalar-paths"]) == 0
    assert "shape (50, 400, 1)" in capsys.readouterr().out


def test_movies_through_cneep(tmp_path, capsys):
    mv = si.movies.bead_spring_movies(4, 60, seed=2)
    np.save(tmp_path / "movie.npy", mv.frames)
    args = ["ep", str(tmp_path / "movie.npy"), "--dt", "0.01", "--method", "cneep", "--n-iter", "20",
            "--hidden", "4", "--json", str(tmp_path / "r.json"), "--save-model", str(tmp_path / "c.npz")]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "CNEEP EP rate estimate" in out
    saved = json.loads((tmp_path / "r.json").read_text())
    assert np.shape(saved["dissipation_map"]) == (5, 10)
    assert si.CNEEP.load(tmp_path / "c.npz").map_shape == (5, 10)
    # a movie without --method cneep, and cneep on trajectories, are refused with the fix
    assert main(["ep", str(tmp_path / "movie.npy"), "--dt", "0.01"]) == 2
    assert "Pass --method cneep" in capsys.readouterr().err
    si.simulate(si.models.BeadSpring(2), 3, 10, 0.01).save(tmp_path / "traj.npz")
    assert main(["ep", str(tmp_path / "traj.npz"), "--method", "cneep"]) == 2
    assert "reads movies" in capsys.readouterr().err
    np.save(tmp_path / "one.npy", mv.frames[0])  # one movie (n_frames, height, width), as in Python
    assert main(["ep", str(tmp_path / "one.npy"), "--dt", "0.01", "--method", "cneep", "--n-iter", "5",
                 "--hidden", "4"]) == 0
    capsys.readouterr()
    assert main(["ep", str(tmp_path / "one.npy"), "--dt", "0.01"]) == 2
    assert "Pass --method cneep" in capsys.readouterr().err
    assert main(["ep", str(tmp_path / "movie.npy"), "--method", "cneep"]) == 2
    assert "--dt is required" in capsys.readouterr().err


def test_rneep_on_the_command_line(tmp_path, capsys):
    rat = si.models.FlashingRatchet(2.0)
    np.save(tmp_path / "tok.npy", rat.sample(10, 600, seed=1, observe="position"))
    assert main(["ep", str(tmp_path / "tok.npy"), "--method", "rneep", "--window", "8", "--hidden", "8",
                 "--n-iter", "20", "--save-model", str(tmp_path / "r.npz")]) == 0
    out = capsys.readouterr().out
    assert "RNEEP EP rate lower bound" in out and si.RNEEP.load(str(tmp_path / "r.npz")).window == 8
    assert main(["ep", str(tmp_path / "tok.npy"), "--method", "plugin", "--window", "8"]) == 0
    assert "--window applies to --method rneep only" in capsys.readouterr().err  # notes on stderr


def test_flags_and_output_paths_are_checked_before_training(tmp_path, chain, capsys, monkeypatch):
    """Errors name the flags as typed, and come before training (a typo in an output folder
    used to surface only after it, and lost the other outputs)."""
    path = str(tmp_path / "chain.npz")
    chain.save(path)
    cases = [(["ep", path, "--json", str(tmp_path / "nodir" / "r.json")], "--json .* the folder .* does not exist"),
             (["ep", path, "--save-model", str(tmp_path / "nodir" / "m.npz")], "--save-model .* does not exist"),
             (["ep", path, "--hidden", "0"], "--hidden must be >= 1, got 0"),
             (["ep", path, "--method", "cneep", "--layers", "0"], "--layers must be >= 1"),
             (["ep", path, "--n-iter", "0"], "--n-iter must be >= 1"),
             (["ep", path, "--lr", "-1"], "--lr must be a finite number > 0"),
             (["ep", path, "--dt", "0.5", "--method", "tur"], "--dt 0.5 does not match the recording interval 0.01"),
             (["infer", path, "--t0", "5"], "--t0 needs --time-dependent"),
             (["infer", path, "--plot", str(tmp_path / "p.png"), "--no-plot"], "--plot and --no-plot contradict"),
             (["infer", path, "--save", str(tmp_path / "nodir" / "f.npz")], "--save .* does not exist"),
             # (session 25) the library's own checks, reworded with the flag ("seed must be >= 0" before)
             (["ep", path, "--seed", "-1", "--method", "tur"], "error: --seed must be >= 0"),
             (["ep", path, "--se=-1", "--method", "tur"], "error: --seed must be >= 0"),  # as argparse abbreviates
             (["infer", path, "--seed", "-1"], "error: --seed must be >= 0"),
             (["infer", path, "--time-dependent", "--period", "-1"], "error: --period must be a finite number > 0"),
             (["infer", path, "--time-dependent", "--period", "1", "--time-harmonics", "0"],
              "error: --time-harmonics must be >= 1"),
             (["infer", path, "--noiseless", "7"], r"error: --noiseless must list coordinates in \[0, 2\)")]
    for argv, message in cases:
        assert main(argv) == 2, argv
        err = capsys.readouterr().err
        assert re.search(message, err), (argv, err)
    # only a typed flag is named: a damaged input file called 'seed' keeps its name
    (tmp_path / "seed").write_text("garbage")
    monkeypatch.chdir(tmp_path)
    assert main(["ep", "seed", "--dt", "0.01", "--method", "tur", "--seed", "1"]) == 2
    assert capsys.readouterr().err.startswith("error: seed: not a readable")
    assert main(["ep", path, "--method", "tur", "--positions-only"]) == 0
    assert "--positions-only applies to underdamped Trajectories files; ignored" in capsys.readouterr().err


def test_the_json_file_is_written_atomically_with_the_usual_permissions(tmp_path, chain, capsys):
    path = str(tmp_path / "chain.npz")
    chain.save(path)
    out = tmp_path / "r.json"
    old = os.umask(0o022)
    try:
        assert main(["ep", path, "--method", "tur", "--json", str(out)]) == 0
    finally:
        os.umask(old)
    assert json.loads(out.read_text())["method"] == "tur"
    assert out.stat().st_mode & 0o777 == 0o644 and (tmp_path / "chain.npz").stat().st_mode & 0o777 == 0o644
    assert sorted(p.name for p in tmp_path.iterdir()) == ["chain.npz", "r.json"]  # no temporary left


def test_trajectories_settings_round_trip_as_numbers():
    import tempfile
    tr = si.Trajectories(data=np.zeros((1, 3, 1)), dt=0.1, t0=0.0, model=None,
                         settings={"seed": np.int64(3), "gamma": np.float32(0.5), "arr": np.arange(2), "x": np.nan})
    with tempfile.TemporaryDirectory() as d:
        tr.save(os.path.join(d, "t.npz"))
        back = si.Trajectories.load(os.path.join(d, "t.npz"))
    assert back.settings == {"seed": 3, "gamma": 0.5, "arr": [0, 1], "x": None}


def test_a_figure_asked_for_and_not_drawn_is_an_error(tmp_path, chain, capsys, monkeypatch):
    from stochinfer.ep.result import EPResult

    def disk_full(self, path=None):
        raise OSError("No space left on device")
    monkeypatch.setattr(EPResult, "plot", disk_full)
    path = str(tmp_path / "chain.npz")
    chain.save(path)
    out = tmp_path / "r.json"
    assert main(["ep", path, "--n-iter", "20", "--hidden", "8", "--plot", str(tmp_path / "fig.png"),
                 "--json", str(out)]) == 2
    assert "error: no plot: No space left on device" in capsys.readouterr().err
    assert out.exists()  # written before the figure
    (tmp_path / "fig.png").mkdir()  # a folder where the figure should go: refused before training
    assert main(["ep", path, "--n-iter", "20", "--plot", str(tmp_path / "fig.png")]) == 2
    assert "that is a folder" in capsys.readouterr().err


def test_atomic_writes_go_through_links_keep_modes_and_write_special_files_directly(tmp_path):
    from stochinfer._io import atomic_write
    real = tmp_path / "real.json"
    real.write_text("old")
    real.chmod(0o600)
    link = tmp_path / "link.json"
    link.symlink_to(real)
    atomic_write(str(link), lambda fh: fh.write("new"), mode="w")
    assert link.is_symlink() and real.read_text() == "new" and real.stat().st_mode & 0o777 == 0o600
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)  # a reader, so opening for writing does not block
    try:
        atomic_write(str(fifo), lambda fh: fh.write("through"), mode="w")
        assert os.read(reader, 100) == b"through"
    finally:
        os.close(reader)
    assert fifo.is_fifo()  # not replaced by a regular file
    with pytest.raises(IsADirectoryError):
        atomic_write(str(tmp_path), lambda fh: fh.write("x"), mode="w")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["link.json", "pipe", "real.json"]
    # an operating-system error names the path asked for (a full disk named none; a folder that
    # takes no files named the hidden temporary file)
    if os.path.exists("/dev/full"):
        with pytest.raises(OSError, match="cannot save /dev/full: No space left"):
            atomic_write("/dev/full", lambda fh: fh.write(b"x" * 100_000))
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        if not os.access(locked, os.W_OK):  # (root writes anyway)
            with pytest.raises(PermissionError, match=f"cannot save {locked / 'f.json'}: Permission denied"):
                atomic_write(str(locked / "f.json"), lambda fh: fh.write("x"), mode="w")
    finally:
        locked.chmod(0o700)


def test_figures_are_saved_atomically_in_the_format_their_name_asks(tmp_path, monkeypatch):
    pytest.importorskip("matplotlib")
    import matplotlib
    matplotlib.use("Agg")
    from matplotlib.figure import Figure
    from stochinfer._io import save_figure
    fig = Figure()
    fig.add_subplot().plot([0, 1], [1, 0])
    assert save_figure(fig, tmp_path / "f") == str(tmp_path / "f.png")  # matplotlib's default, named as it names it
    assert (tmp_path / "f.png").read_bytes().startswith(b"\x89PNG")
    save_figure(fig, tmp_path / "f.PDF")
    assert (tmp_path / "f.PDF").read_bytes().startswith(b"%PDF")
    with pytest.raises(ValueError, match=r"cannot write \.xyz figures"):
        save_figure(fig, tmp_path / "f.xyz")
    old = (tmp_path / "f.png").read_bytes()

    def interrupted(self, fh, **kwargs):
        fh.write(b"partial")
        raise KeyboardInterrupt
    monkeypatch.setattr(Figure, "savefig", interrupted)
    with pytest.raises(KeyboardInterrupt):
        save_figure(fig, tmp_path / "f.png")
    assert (tmp_path / "f.png").read_bytes() == old  # the old figure, whole
    assert sorted(p.name for p in tmp_path.iterdir()) == ["f.PDF", "f.png"]  # no temporary left


def test_flags_a_method_ignores_are_notes_not_errors(tmp_path, chain, capsys):
    path = str(tmp_path / "chain.npz")
    chain.save(path)
    assert main(["ep", path, "--method", "tur", "--hidden", "0", "--window", "1"]) == 0
    err = capsys.readouterr().err
    assert "--hidden applies to --method neep, rneep or cneep only" in err and "--window applies to --method rneep" in err
    assert main(["ep", path, "--method", "tur", "--json", str(tmp_path)]) == 2
    assert "that is a folder" in capsys.readouterr().err


def test_outputs_never_replace_the_input_and_messages_name_the_files_written(tmp_path, chain, capsys):
    """(review, session 24) --save-model c.npz on input c.npz replaced the data with the model;
    "saved to m" was printed for m.npz; a folder named m.npz passed the check as "m"."""
    path = str(tmp_path / "c.npz")
    chain.save(path)
    before = (tmp_path / "c.npz").read_bytes()
    for flag, value in (("--save-model", path), ("--save-model", path[:-4]), ("--json", path)):
        assert main(["ep", path, "--n-iter", "5", "--hidden", "4", flag, value]) == 2
        assert "that is the input file" in capsys.readouterr().err
    assert main(["infer", path, "--save", path[:-4]]) == 2
    assert "that is the input file" in capsys.readouterr().err
    assert main(["ep", path, "--n-iter", "5", "--hidden", "4", "--json", str(tmp_path / "o.x"),
                 "--plot", str(tmp_path / "o.x")]) == 2
    assert "--plot and --json both write" in capsys.readouterr().err
    assert (tmp_path / "c.npz").read_bytes() == before
    os.mkdir(tmp_path / "adir.npz")
    assert main(["ep", path, "--n-iter", "5", "--hidden", "4", "--save-model", str(tmp_path / "adir")]) == 2
    assert "adir.npz: that is a folder" in capsys.readouterr().err
    assert main(["ep", path, "--n-iter", "5", "--hidden", "4", "--save-model", str(tmp_path / "m")]) == 0
    assert f"saved to {tmp_path / 'm.npz'}" in capsys.readouterr().out and (tmp_path / "m.npz").exists()
    import importlib.util
    if importlib.util.find_spec("matplotlib") is None:  # the test extras install it; a bare pytest may lack it
        pytest.skip("matplotlib is not installed: the --plot checks need it")
    assert main(["ep", path, "--n-iter", "5", "--hidden", "4", "--plot", str(tmp_path / "p.xyz")]) == 2
    assert "matplotlib cannot write .xyz figures" in capsys.readouterr().err
    assert main(["ep", path, "--n-iter", "5", "--hidden", "4", "--plot", str(tmp_path / "p")]) == 0
    assert f"plot saved to {tmp_path / 'p.png'}" in capsys.readouterr().out and (tmp_path / "p.png").exists()


def test_a_diverging_training_is_a_one_line_error(tmp_path, chain, capsys):
    path = str(tmp_path / "c.npz")
    chain.save(path)
    assert main(["ep", path, "--n-iter", "200", "--hidden", "8", "--lr", "1e30"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "Traceback" not in err and "learning rate" in err


def test_a_mangled_array_header_is_a_damaged_file_not_a_tokenizer_error(tmp_path, chain, capsys):
    """numpy parses .npy headers with Python's tokenizer: a header missing its closing brace
    raised tokenize.TokenError through every loader."""
    np.save(tmp_path / "x.npy", chain.x)
    raw = bytearray((tmp_path / "x.npy").read_bytes())
    brace = raw.index(b"}")
    raw[brace:brace + 1] = b" "
    (tmp_path / "bad.npy").write_bytes(bytes(raw))
    assert main(["infer", str(tmp_path / "bad.npy"), "--dt", str(DT), "--no-plot"]) == 2
    assert "not a readable .npy or .npz file" in capsys.readouterr().err
    import zipfile
    with zipfile.ZipFile(tmp_path / "bad.npz", "w") as z:
        z.writestr("x.npy", bytes(raw))
        z.writestr("dt.npy", _npy_bytes(np.array(DT)))
    with pytest.raises(ValueError, match="damaged trajectories file"):
        si.Trajectories.load(tmp_path / "bad.npz")
    assert main(["ep", str(tmp_path / "bad.npz"), "--method", "tur"]) == 2
    assert "damaged" in capsys.readouterr().err


def _npy_bytes(a: np.ndarray) -> bytes:
    import io
    buf = io.BytesIO()
    np.save(buf, a)
    return buf.getvalue()


def test_trajectories_files_need_a_valid_dt_and_token_paths_load_as_paths(tmp_path, chain, capsys):
    """(review, session 24) a file without dt loaded with dt = nan, which every estimator then
    refused ("dt=0.01 does not match ... dt=nan"); integer token paths read from an .npz
    reached the estimators as (n, L, 1) and were refused."""
    np.savez(tmp_path / "nodt.npz", x=chain.x)
    with pytest.raises(ValueError, match="no recording interval 'dt' in the file; pass dt="):
        si.Trajectories.load(tmp_path / "nodt.npz")
    assert si.Trajectories.load(tmp_path / "nodt.npz", dt=DT).dt == DT
    with pytest.raises(ValueError, match="does not match"):
        si.Trajectories.load(_saved(chain, tmp_path / "ok.npz"), dt=0.5)
    # a dt stored as float32 (0.01 reads back as 0.0099999998) still names 0.01
    np.savez(tmp_path / "f32.npz", x=chain.x, dt=np.float32(DT))
    assert main(["ep", str(tmp_path / "f32.npz"), "--dt", str(DT), "--method", "tur"]) == 0
    capsys.readouterr()
    for bad in (np.nan, -0.01, 0.0):
        np.savez(tmp_path / "baddt.npz", x=chain.x, dt=bad)
        with pytest.raises(ValueError, match="is not a positive number"):
            si.Trajectories.load(tmp_path / "baddt.npz")
        assert main(["ep", str(tmp_path / "baddt.npz"), "--method", "tur"]) == 2
        assert "baddt.npz: the stored recording interval" in capsys.readouterr().err
    np.savez(tmp_path / "v99.npz", x=chain.x, dt=DT, format_version=99)
    with pytest.raises(ValueError, match="upgrade stochinfer"):
        si.Trajectories.load(tmp_path / "v99.npz")
    np.savez(tmp_path / "u.npz", x=chain.x[..., :1], dt=DT, settings=json.dumps({"underdamped": "false"}))
    with pytest.raises(ValueError, match="underdamped='false'"):
        si.Trajectories.load(tmp_path / "u.npz")
    tokens = si.models.FlashingRatchet().sample(3, 2000, seed=0)
    np.savez(tmp_path / "tok.npz", x=tokens, dt=1.0)
    np.save(tmp_path / "tok.npy", tokens)
    assert main(["ep", str(tmp_path / "tok.npz"), "--method", "plugin"]) == 0
    from_npz = [line for line in capsys.readouterr().out.splitlines() if "EP rate" in line]
    assert main(["ep", str(tmp_path / "tok.npy"), "--method", "plugin"]) == 0
    assert from_npz and from_npz == [line for line in capsys.readouterr().out.splitlines() if "EP rate" in line]


def _saved(traj, path) -> str:
    traj.save(path)
    return str(path)


def test_an_interrupted_training_exits_130_after_writing_its_outputs(tmp_path, chain, capsys):
    """(review, session 24) Ctrl-C kept the best model, wrote the outputs and exited 0: a
    script could not tell a partial run from a finished one."""
    from conftest import sigint_after
    path = str(tmp_path / "c.npz")
    chain.save(path)
    with sigint_after(2.0), pytest.warns(UserWarning, match="interrupted"):
        status = main(["ep", path, "--n-iter", "2000000", "--hidden", "16", "--json", str(tmp_path / "r.json")])
    assert status == 130 and (tmp_path / "r.json").exists()
    assert "training was interrupted (Ctrl-C)" in capsys.readouterr().err


def test_warnings_print_as_one_line_without_python_source(tmp_path, chain):
    """(review, session 24) warnings showed Python's '<frozen runpy>:88:' or 'cli.py:128:' and a
    source line. In a subprocess: pytest records warnings in-process, and main() then leaves
    them to it."""
    import subprocess
    import sys
    path = str(tmp_path / "c.npz")
    chain.save(path)
    run = subprocess.run([sys.executable, "-m", "stochinfer", "ep", path, "--method", "tur"],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    lines = run.stderr.splitlines()
    assert lines and all(line.startswith("warning: ") for line in lines), lines
    assert any("tur_bound" in line for line in lines) and ".py:" not in run.stderr


@pytest.mark.parametrize("kwargs,error,match", [
    (dict(data=[[[0.0]] * 5] * 2, dt=0.01), TypeError, "data must be a numpy array"),
    (dict(data=np.zeros((5, 1)), dt=0.01), ValueError, r"data must be a numeric array .* shape \(5, 1\)"),
    (dict(data=np.zeros((2, 5, 1), complex), dt=0.01), ValueError, "data must be a numeric array .*complex128"),
    (dict(data=np.zeros((2, 5, 1)), dt=-0.01), ValueError, "dt must be > 0"),
    (dict(data=np.zeros((2, 5, 1)), dt=0.01, t0=float("nan")), ValueError, "t0 must be finite"),
    (dict(data=np.zeros((2, 5, 1)), dt=0.01, t0=float("inf")), ValueError, "t0 must be finite"),
    (dict(data=np.zeros((2, 5, 1)), dt=0.01, t0="0"), TypeError, "t0 must be a real number"),
    (dict(data=np.zeros((2, 5, 1)), dt=0.01, settings=None), TypeError, "settings must be a dict"),
    (dict(data=np.zeros((2, 5, 1)), dt=0.01, settings={"underdamped": True}), ValueError, "an even last axis"),
])
def test_trajectories_check_their_arguments(kwargs, error, match):
    """(review, session 26) Trajectories took anything: t0=nan reached infer_langevin as a LAPACK
    message, dt < 0 was saved to a file load() refuses, a list failed with AttributeError."""
    with pytest.raises(error, match=match):
        si.Trajectories(**kwargs)


def test_an_npz_of_several_arrays_is_read_as_tracks(tmp_path, capsys):
    """Tracks of different lengths (np.savez(FILE, *tracks)) reach the estimators as the same
    list the library takes, in the order written (arr_2 before arr_10); 1-D float arrays are
    scalar tracks; mixed or malformed arrays are one-line errors naming the array."""
    m = si.models.BeadSpring(n_beads=2, t_cold=1.0, t_hot=10.0)
    x = si.simulate(m, n_traj=11, n_steps=1500, dt=DT, substeps=10, seed=3).x
    tracks = [x[k, : 400 + 100 * k] for k in range(11)]
    np.savez(tmp_path / "tracks.npz", *tracks)
    assert main(["ep", str(tmp_path / "tracks.npz"), "--dt", str(DT), "--method", "tur"]) == 0
    out = capsys.readouterr().out
    assert "11 tracks of 400–1400 points (dim 2)" in out
    lib = si.entropy_production(tracks, DT, method="tur")
    assert f"{lib.rate:.5g}" in _rate_line(out)
    from stochinfer.cli import _load_states  # in the order written (np.savez names them arr_0, arr_1, ...)
    read = _load_states(str(tmp_path / "tracks.npz"))
    assert isinstance(read, list) and all(np.array_equal(a, b) for a, b in zip(read, tracks))
    np.savez(tmp_path / "scalar.npz", *[t[:, 0] for t in tracks[:3]])
    assert [a.shape for a in _load_states(str(tmp_path / "scalar.npz"))] == [(400, 1), (500, 1), (600, 1)]
    np.savez(tmp_path / "tok.npz", np.tile([0, 1, 2], 200), np.tile([0, 2, 1, 0, 1, 2], 50))
    assert main(["ep", str(tmp_path / "tok.npz"), "--method", "plugin"]) == 0
    assert "2 tracks of 300–600 points (tokens)" in capsys.readouterr().out
    assert main(["ep", str(tmp_path / "tracks.npz"), "--method", "tur"]) == 2
    assert "--dt is required for plain arrays and tracks" in capsys.readouterr().err
    assert main(["ep", str(tmp_path / "tracks.npz"), "--dt", str(DT), "--method", "cneep"]) == 2
    assert "holds 11 tracks of 400–1400 points" in capsys.readouterr().err
    for name, arrays, match in (("mixed", [tracks[0], np.arange(5)], "must all be states of one dimension or all token"),
                                ("dims", [tracks[0], tracks[1][:, :1]], "found dim 1, dim 2"),
                                ("cube", [tracks[0], x[:2]], "array 'arr_1' is float64 of shape"),
                                ("xonly", {"x": x, "t": np.arange(3)}, "holds x and ['t']: a trajectories file "
                                                                       "holds x with dt and t0 beside it")):
        path = tmp_path / f"{name}.npz"
        np.savez(path, **arrays) if isinstance(arrays, dict) else np.savez(path, *arrays)
        for command in ("ep", "infer"):
            assert main([command, str(path), "--dt", str(DT)]) == 2
            assert match in capsys.readouterr().err


def test_infer_on_an_npz_of_tracks_prints_how_they_were_cut(tmp_path, capsys):
    m = si.models.Nonlinear()
    x = si.simulate(m, n_traj=3, n_steps=3000, dt=DT, substeps=10, seed=1).x
    np.savez(tmp_path / "tracks.npz", x[0], x[1, :2000], x[2, :1200])
    assert main(["infer", str(tmp_path / "tracks.npz"), "--dt", str(DT), "--no-plot", "--hidden", "16"]) == 0
    out = capsys.readouterr().out
    assert "3 tracks of 1200–3001 points (dim 2)" in out
    assert re.search(r"note: 3 tracks of 1200-3001 points cut into \d+ pieces", out)


def _rate_line(out: str) -> str:
    return next(line for line in out.splitlines() if "TUR EP rate" in line)


def test_pickled_and_integer_arrays_in_an_npz_of_tracks(tmp_path, capsys):
    """(review, session 29) A pickled object array read as 'a damaged .npz file'; 2-D integer
    arrays passed as tracks and were described as token paths."""
    boxed = np.empty(2, dtype=object)
    boxed[:] = [np.zeros((5, 1)), np.zeros((7, 1))]
    np.savez(tmp_path / "obj.npz", tracks=boxed)
    np.savez(tmp_path / "obj2.npz", boxed, np.zeros((9, 1)))
    np.savez(tmp_path / "int2d.npz", np.zeros((50, 2), dtype=int), np.zeros((60, 2), dtype=int))
    for name, match in (("obj", "array 'tracks' holds Python objects"), ("obj2", "array 'arr_0' holds Python objects"),
                        ("int2d", "array 'arr_0' is int64 of shape (50, 2)")):
        assert main(["infer", str(tmp_path / f"{name}.npz"), "--dt", str(DT)]) == 2
        assert match in capsys.readouterr().err


def test_an_npz_of_driven_tracks_carries_their_start_times(tmp_path, capsys):
    """An array named t0 in an .npz of tracks gives each track's start time to --time-dependent
    fits (--t0 is one time for all); without --time-dependent, or beside --t0, it is an error."""
    m = si.models.LinearOU(-np.eye(1), 0.5 * np.eye(1))
    x = si.simulate(m, n_traj=6, n_steps=600, dt=DT, seed=2).x
    tracks = [x[k, : 300 + 50 * k] for k in range(6)]
    starts = np.array([5.0, 12.0, 20.0, 31.0, 40.0, 55.0])
    np.savez(tmp_path / "driven.npz", *tracks, t0=starts)
    fit_path = tmp_path / "fit.npz"
    assert main(["infer", str(tmp_path / "driven.npz"), "--dt", str(DT), "--time-dependent", "--no-plot",
                 "--save", str(fit_path)]) == 0
    assert "6 tracks of 300–550 points (dim 1)" in capsys.readouterr().out
    t_range = si.LangevinFit.load(str(fit_path)).norm["t_range"]
    assert t_range[0] == pytest.approx(5.0) and t_range[1] < 55.0 + 550 * DT  # the tracks' own times
    assert main(["infer", str(tmp_path / "driven.npz"), "--dt", str(DT), "--no-plot"]) == 2
    assert "holds start times (t0) for driven tracks: pass --time-dependent" in capsys.readouterr().err
    assert main(["infer", str(tmp_path / "driven.npz"), "--dt", str(DT), "--time-dependent", "--t0", "1"]) == 2
    assert "--t0 and the t0 stored in" in capsys.readouterr().err
    np.savez(tmp_path / "bad_t0.npz", *tracks, t0=starts[:3])
    assert main(["infer", str(tmp_path / "bad_t0.npz"), "--dt", str(DT), "--time-dependent"]) == 2
    assert "t0 must hold one finite start time per track (6)" in capsys.readouterr().err
    assert main(["ep", str(tmp_path / "driven.npz"), "--dt", str(DT), "--method", "tur"]) == 0
    assert "start times (t0) are for driven fits" in capsys.readouterr().err


def test_npz_tracks_review_findings(tmp_path, capsys):
    """(review, session 29) Named tracks were put in natural order of their names while t0
    followed the file's order, pairing start times with the wrong tracks; a dt stored beside
    tracks was refused as a broken Trajectories file; (L, 0) tracks failed late; an object
    array of equal tracks was refused."""
    from stochinfer.cli import _load_states
    a, b = np.zeros((300, 1)), np.ones((500, 1))
    np.savez(tmp_path / "named.npz", run_b=a, run_a=b, t0=np.array([200.0, 100.0]))
    read = _load_states(str(tmp_path / "named.npz"))
    assert [len(t) for t in read] == [300, 500] and read.t0.tolist() == [200.0, 100.0]
    x = si.simulate(si.models.LinearOU(-np.eye(1), 0.5 * np.eye(1)), n_traj=2, n_steps=900, dt=DT, seed=1).x
    np.savez(tmp_path / "with_dt.npz", x[0, :600], x[1], dt=DT)
    assert main(["ep", str(tmp_path / "with_dt.npz"), "--method", "tur"]) == 0
    assert "dt = 0.01" in capsys.readouterr().out
    assert main(["ep", str(tmp_path / "with_dt.npz"), "--dt", "0.02", "--method", "tur"]) == 2
    assert "does not match the recording interval 0.01" in capsys.readouterr().err
    np.savez(tmp_path / "empty_dim.npz", np.zeros((20, 0)), np.zeros((30, 0)))
    assert main(["infer", str(tmp_path / "empty_dim.npz"), "--dt", str(DT)]) == 2
    assert "array 'arr_0' is float64 of shape (20, 0)" in capsys.readouterr().err
    boxed = np.empty(2, dtype=object)
    boxed[:] = [x[0], x[1]]  # equal lengths: stacked, as the list would be
    from stochinfer.ep.data import as_ep_data
    np.testing.assert_array_equal(as_ep_data(boxed, DT).data, as_ep_data([x[0], x[1]], DT).data)


def test_one_array_of_trajectories_with_start_times(tmp_path, capsys):
    """An .npz with one (n_traj, L, dim) array and t0 (one start time per trajectory), as the
    library's t0= takes it (review, session 29: refused as not tracks)."""
    from stochinfer.cli import _load_states
    x = si.simulate(si.models.LinearOU(-np.eye(1), 0.5 * np.eye(1)), n_traj=5, n_steps=400, dt=DT, seed=4).x
    np.savez(tmp_path / "runs.npz", runs=x, t0=np.arange(5) * 10.0, dt=DT)
    read = _load_states(str(tmp_path / "runs.npz"))
    assert len(read) == 5 and read.t0.tolist() == [0.0, 10.0, 20.0, 30.0, 40.0] and read.dt == DT
    np.testing.assert_array_equal(np.stack(read), x)
    fit_path = tmp_path / "fit.npz"
    assert main(["infer", str(tmp_path / "runs.npz"), "--time-dependent", "--no-plot", "--hidden", "16",
                 "--save", str(fit_path)]) == 0
    assert "5 tracks of 401 points (dim 1)" in capsys.readouterr().out
    assert si.LangevinFit.load(str(fit_path)).norm["t_range"][1] > 40.0  # the last trajectory's own times


def test_an_npz_of_only_t0_and_dt_is_a_clear_error(tmp_path, capsys):
    """(review of the change, session 29) an .npz with t0 and dt but no tracks failed with an
    IndexError traceback."""
    np.savez(tmp_path / "only.npz", t0=np.arange(3.0), dt=DT)
    for command in ("ep", "infer"):
        assert main([command, str(tmp_path / "only.npz")]) == 2
        assert "holds t0 and dt but no trajectories or tracks" in capsys.readouterr().err


def test_npz_layouts_by_name_saved_models_and_outputs_review_session_31(tmp_path, chain, capsys, monkeypatch):
    """(review, session 31) A file of one array named x was refused even with --dt; x with
    one start time per trajectory was 'damaged'; token paths named other than x beside dt, and
    one array beside a scalar t0 (as Trajectories.save writes it), were refused; a pickled
    .npy, a saved model and a path without .npz gave unhelpful errors; --json dir/ wrote a file
    named dir; the default figure could replace --json; Ctrl-C before the first validation
    printed a traceback."""
    from stochinfer.cli import _load_states
    x = chain.x
    np.savez(tmp_path / "xonly.npz", x=x)
    assert main(["ep", str(tmp_path / "xonly.npz"), "--dt", str(DT), "--method", "tur"]) == 0
    rate = _rate(capsys)
    assert main(["ep", str(tmp_path / "xonly.npz"), "--method", "tur"]) == 2
    assert "no recording interval dt in the file; pass --dt" in capsys.readouterr().err
    assert main(["ep", _saved(chain, tmp_path / "c.npz")[:-4], "--method", "tur"]) == 0  # c, not c.npz
    assert _rate(capsys) == rate
    np.savez(tmp_path / "x_t0s.npz", x=np.concatenate([x, x]), dt=DT, t0=np.array([0.0, 5.0]))
    read = _load_states(str(tmp_path / "x_t0s.npz"))
    assert len(read) == 2 and read.t0.tolist() == [0.0, 5.0] and read.dt == DT
    with pytest.raises(ValueError, match=r"'t0' must be one number, got float64 of shape \(2,\) \(one start time "
                                         r"per trajectory: pass the arrays to the estimators with t0="):
        si.Trajectories.load(tmp_path / "x_t0s.npz")
    np.savez(tmp_path / "dt1.npz", x=x, dt=[DT])
    assert main(["ep", str(tmp_path / "dt1.npz"), "--method", "tur"]) == 2
    assert r"'dt' must be one number, got float64 of shape (1,)" in capsys.readouterr().err
    tokens = si.models.FlashingRatchet().sample(3, 2000, seed=0)
    np.savez(tmp_path / "tok_x.npz", x=tokens, dt=0.5)
    np.savez(tmp_path / "tok_named.npz", tokens=tokens, dt=0.5)
    lines = []
    for name in ("tok_x.npz", "tok_named.npz"):
        assert main(["ep", str(tmp_path / name), "--method", "plugin"]) == 0
        lines.append([line for line in capsys.readouterr().out.splitlines() if "EP rate" in line])
    assert lines[0] and lines[0] == lines[1]
    np.savez(tmp_path / "traj_t0.npz", traj=x, dt=DT, t0=0.0)
    assert main(["ep", str(tmp_path / "traj_t0.npz"), "--method", "tur"]) == 0
    out, err = capsys.readouterr()
    assert "start times" not in err and next(line for line in out.splitlines() if "TUR EP rate" in line) == rate
    np.save(tmp_path / "obj.npy", np.array([x[0], x[0][:5]], dtype=object), allow_pickle=True)
    assert main(["ep", str(tmp_path / "obj.npy"), "--dt", str(DT)]) == 2
    assert "an .npy of Python objects (a pickled object array), which is not read" in capsys.readouterr().err
    est = si.NEEP(hidden=8, n_iter=20, eval_every=10, progress=False)
    est.fit(chain)
    est.save(tmp_path / "model.npz")
    assert main(["ep", str(tmp_path / "model.npz")]) == 2
    assert "a saved stochinfer neep file (read it with stochinfer.NEEP.load), not trajectories" in \
        capsys.readouterr().err
    path = _saved(chain, tmp_path / "d.npz")
    assert main(["ep", path, "--method", "tur", "--json", str(tmp_path / "newdir") + "/"]) == 2
    assert "that names a folder; name a file" in capsys.readouterr().err and not (tmp_path / "newdir").exists()
    pytest.importorskip("matplotlib")
    assert main(["infer", path, "--json", str(tmp_path / "d_fields.png")]) == 2
    assert "is where the default figure goes" in capsys.readouterr().err

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt
    monkeypatch.setattr(si.NEEP, "fit", interrupted)
    assert main(["ep", path, "--json", str(tmp_path / "never.json")]) == 130
    assert "interrupted (Ctrl-C) before a model was kept" in capsys.readouterr().err
    assert not (tmp_path / "never.json").exists()


def test_library_advice_in_warnings_is_given_in_command_line_terms():
    from stochinfer.cli import _format_warning
    text = _format_warning(UserWarning("time-dependent data given as an array: every trajectory is taken to start "
                                       "at t = 0; pass t0= (a scalar or one start time per trajectory) if they do "
                                       "not"), UserWarning, "f.py", 1)
    assert text == ("warning: time-dependent data given as an array: every trajectory is taken to start at t = 0; "
                    "pass --t0 (or store t0 in the .npz) if they do not\n")


def test_integer_files_given_to_infer_get_command_line_advice(tmp_path, capsys):
    np.save(tmp_path / "tok.npy", si.models.FlashingRatchet().sample(3, 500, seed=0))
    assert main(["infer", str(tmp_path / "tok.npy"), "--dt", "0.01"]) == 2
    err = capsys.readouterr().err
    assert "integer arrays are token paths or movie frames (stochinfer ep); store positions as floats" in err
    assert "astype" not in err
    from stochinfer.cli import _format_warning
    text = _format_warning(UserWarning("use data recorded less often (e.g. x[:, ::n], with dt=0.01·n)"), UserWarning,
                           "f.py", 1)
    assert text == ("warning: use data recorded less often (e.g. every n-th point of each trajectory, with "
                    "--dt 0.01·n)\n")


def test_infer_drops_glitched_frames_unless_told_to_keep_them(tmp_path, capsys):
    """A glitched frame is named on stderr; its rows are left out (a note says so), or kept with
    --keep-glitches (then the diffusion labels' cap notes them)."""
    m = si.models.LinearOU(-np.eye(2), 0.5 * np.eye(2))
    x = si.simulate(m, n_traj=1, n_steps=3000, dt=DT, seed=3).x[0]
    x[1000] += 5.0
    np.save(tmp_path / "g.npy", x)
    args = ["infer", str(tmp_path / "g.npy"), "--dt", str(DT), "--no-plot", "--hidden", "16"]
    from stochinfer.cli import _format_warning
    with pytest.warns(UserWarning, match=r"looks like a glitched frame \(first: point 1000\)") as rec:
        assert main(args) == 0
    assert "rows that use them are left out of training and validation (--keep-glitches keeps them)" in \
        _format_warning(rec[0].message, UserWarning, "f.py", 1)
    out = capsys.readouterr().out
    assert "2 rows using 1 glitched frame(s) left out of training and validation (the default; --keep-glitches" in out
    with pytest.warns(UserWarning, match="glitched frame") as rec:
        assert main(args + ["--keep-glitches"]) == 0
    assert "kept (--keep-glitches)" in _format_warning(rec[0].message, UserWarning, "f.py", 1)
    assert "left out of training" not in capsys.readouterr().out


def test_infer_ep_prints_the_corrected_ep_rate_of_the_inferred_equation(tmp_path, capsys):
    """--ep: the EP rate of the inferred equation (LangevinFit.thermodynamics of 100 paths of 2000
    steps, seed 1), corrected for estimation noise, beside the file's model's exact rate; in --json."""
    m = si.models.BeadSpring(n_beads=2)
    path = str(tmp_path / "bs.npz")
    si.simulate(m, n_traj=2, n_steps=3000, dt=DT, substeps=10, seed=4).save(path)
    out_json = str(tmp_path / "r.json")
    assert main(["infer", path, "--no-plot", "--hidden", "16", "--ep", "--json", out_json]) == 0
    out = capsys.readouterr().out
    line = next(t for t in out.splitlines() if "EP rate of the inferred equation" in t)
    assert re.search(r"EP rate of the inferred equation: [-0-9.e]+ ± [0-9.e]+ k_B per time unit \(corrected for "
                     r"estimation noise; per posterior sample [0-9.e]+ ± [0-9.e]+\)", line), line
    assert f"the file's model: {m.ep_rate():.4g} (exact)" in out
    with open(out_json) as f:
        ep = json.load(f)["entropy_production"]
    assert {"ep_rate", "error", "ep_rate_per_sample", "bias_estimate", "per_sample"} <= ep.keys()
    assert f"{ep['ep_rate']:.4g}" in line and len(ep["per_sample"]) == 20
    assert main(["infer", path, "--regime", "underdamped", "--ep", "--no-plot"]) == 2
    assert "--ep is the EP rate of an overdamped equation" in capsys.readouterr().err


def test_split_at_gaps_on_the_command_line(tmp_path, capsys):
    """NaN frames: an error that names --split-at-gaps (infer and ep); with it, infer cuts the
    trajectories into tracks (a note counts the missing frames) and ep estimates from the tracks
    (the same rate as the library on split_at_gaps' tracks)."""
    m = si.models.BeadSpring(n_beads=2)
    x = si.simulate(m, n_traj=2, n_steps=3000, dt=DT, substeps=10, seed=4).x
    x[0, 1000:1003] = np.nan
    x[1, 200, 1] = np.nan
    path = str(tmp_path / "gaps.npz")
    np.savez(path, x=x, dt=DT)
    for command in (["infer", path, "--no-plot", "--hidden", "16"], ["ep", path, "--method", "tur"]):
        assert main(command) == 2
        err = capsys.readouterr().err
        assert "data contains NaN (first at index (0, 1000, 0)); missing frames? pass --split-at-gaps to cut" in err
    assert main(["infer", path, "--no-plot", "--hidden", "16", "--split-at-gaps"]) == 0
    assert ("--split-at-gaps: 4 missing frames (NaN) in 2 gaps; the 2 trajectories cut there into 4 tracks"
            in capsys.readouterr().out)
    out_json = str(tmp_path / "ep.json")
    assert main(["ep", path, "--method", "tur", "--split-at-gaps", "--json", out_json]) == 0
    out = capsys.readouterr()
    assert "note: --split-at-gaps: 4 missing (NaN) frames; the states cut there into 4 tracks" in out.err
    expected = si.entropy_production(si.split_at_gaps(x), DT, method="tur")
    assert f"TUR EP rate lower bound: {expected.rate:.5g}" in out.out
    with open(out_json) as f:
        assert json.load(f)["settings"]["notes"][0].startswith("--split-at-gaps: 4 missing (NaN) frames")
    # a Trajectories file: its model and integration steps per record give the truth
    traj = si.simulate(m, n_traj=2, n_steps=3000, dt=DT, substeps=4, seed=4, integrator="heun")
    traj.x[0, 1000:1003] = np.nan
    traj.save(path)
    assert main(["ep", path, "--method", "tur", "--split-at-gaps"]) == 0
    out = capsys.readouterr()
    assert "the tracks do not carry the file's integrator (heun)" in out.err
    assert "substeps unknown" not in out.out and f"truth σ = {m.ep_rate():.5g}" in out.out
    np.savez(path, x=np.nan_to_num(x), dt=DT)
    assert main(["ep", path, "--method", "tur", "--split-at-gaps"]) == 0
    assert "no missing (NaN) frames in the file; nothing cut" in capsys.readouterr().err


def test_ep_cut_glitches_on_the_command_line(tmp_path, capsys):
    """The EP warning on glitched frames names --cut-glitches on the command line; with it the
    trajectories are cut there (the library's split_at_gaps(x, glitches='cut') rate)."""
    m = si.models.BeadSpring(n_beads=2)
    x = si.simulate(m, n_traj=4, n_steps=3000, dt=DT, substeps=10, seed=4).x
    x[1, 1000] += 100 * x.std(axis=(0, 1))
    path = str(tmp_path / "g.npy")
    np.save(path, x)
    from stochinfer.cli import _format_warning
    with pytest.warns(UserWarning, match="glitched frame") as rec:
        assert main(["ep", path, "--dt", str(DT), "--method", "tur"]) == 0
    message = next(_format_warning(r.message, UserWarning, "f.py", 1) for r in rec if "glitched" in str(r.message))
    assert "pass --cut-glitches to cut the trajectories there" in message
    capsys.readouterr()
    assert main(["ep", path, "--dt", str(DT), "--method", "tur", "--cut-glitches"]) == 0
    out = capsys.readouterr()
    assert "note: --cut-glitches: 0 missing (NaN) frames and 1 glitched; the states cut there into 5 tracks" in out.err
    expected = si.entropy_production(si.split_at_gaps(x, glitches="cut"), DT, method="tur")
    assert f"TUR EP rate lower bound: {expected.rate:.5g}" in out.out
    np.save(path, np.nan_to_num(si.simulate(m, n_traj=2, n_steps=500, dt=DT, seed=1).x))
    assert main(["ep", path, "--dt", str(DT), "--method", "tur", "--cut-glitches"]) == 0
    assert "--cut-glitches: no missing (NaN) or glitched frames in the file; nothing cut" in capsys.readouterr().err


def test_review_findings_on_the_command_line_session_34(tmp_path, chain, capsys, monkeypatch):
    """(black-box review, session 34) Ctrl-C in the demo printed the interrupted NEEP as a
    result and ran on to exit 0; Ctrl-C after `infer --save` said "no output written" and lost
    --json; a missing matplotlib was found after training; bad --dt, --val-fraction reached the
    library after the file was read; a complex array got an error that did not name the file;
    a damaged settings field or a per-trajectory t0 of the wrong length gave raw or unrelated
    messages; no --version."""
    import importlib.util

    import stochinfer.cli as cli
    path = _saved(chain, tmp_path / "c.npz")

    class Interrupted:
        settings = {"interrupted": True}
    with pytest.raises(KeyboardInterrupt):
        cli._finished(Interrupted())
    assert cli._finished(chain) is chain

    def ctrl_c(*args, **kwargs):
        raise KeyboardInterrupt
    with monkeypatch.context() as mp:
        mp.setattr(si, "simulate", ctrl_c)
        assert main(["demo", "--quick"]) == 130
    assert "demo interrupted (Ctrl-C)" in capsys.readouterr().err

    short = ["--hidden", "8", "--no-plot", "--members", "2", "--method", "ensemble"]
    with monkeypatch.context() as mp:  # Ctrl-C in --ep's simulation: the fit, its report and the JSON are written
        mp.setattr(cli, "_inferred_ep", ctrl_c)
        status = main(["infer", path, "--ep", "--save", str(tmp_path / "f"), "--json", str(tmp_path / "f.json")]
                      + short)
    assert status == 130 and "interrupted (Ctrl-C) during --ep" in capsys.readouterr().err
    out = json.loads((tmp_path / "f.json").read_text())
    assert out["interrupted"] is True and out["entropy_production"] is None and "report" in out
    assert (tmp_path / "f.npz").exists()
    import stochinfer.langevin.simulate_fit as simulate_fit
    calls = []

    def correction_ctrl_c(*args, **kwargs):  # the bias correction's simulation (fit.simulate keeps its own name)
        calls.append(kwargs.get("mode"))
        raise KeyboardInterrupt
    with monkeypatch.context() as mp:
        mp.setattr(simulate_fit, "simulate_fit", correction_ctrl_c)
        mp.setattr(cli, "EP_PATHS", 4)
        mp.setattr(cli, "EP_STEPS", 50)
        status = main(["infer", path, "--ep", "--json", str(tmp_path / "h.json")] + short)
    assert status == 130 and calls == ["ensemble_mean"]
    assert "its EP rate is not corrected for estimation noise" in capsys.readouterr().err
    ep = json.loads((tmp_path / "h.json").read_text())["entropy_production"]
    assert ep["interrupted"] is True and "Ctrl-C stopped the correction" in ep["note"]
    with monkeypatch.context() as mp:  # Ctrl-C after the fit was saved names it
        mp.setattr(si.langevin.LangevinFit, "report", ctrl_c)
        assert main(["infer", path, "--save", str(tmp_path / "g"), "--json", str(tmp_path / "g.json")] + short) == 130
    err = capsys.readouterr().err
    assert f"interrupted (Ctrl-C) after writing {tmp_path / 'g.npz'}" in err and not (tmp_path / "g.json").exists()

    find_spec = importlib.util.find_spec
    with monkeypatch.context() as mp:
        mp.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "matplotlib" else find_spec(name, *a))
        mp.setattr(si.NEEP, "fit", ctrl_c)  # never reached: the check comes first
        assert main(["ep", path, "--plot", str(tmp_path / "p.png")]) == 2
    assert "figures need matplotlib, which is not installed" in capsys.readouterr().err

    missing = str(tmp_path / "nothing.npz")  # the flags are checked before the file is read
    for flags, message in ((["ep", missing, "--dt", "-1"], "--dt must be a finite number > 0"),
                           (["ep", missing, "--dt", "nan"], "--dt must be a finite number > 0"),
                           (["infer", missing, "--val-fraction", "0"], "--val-fraction must be a number in (0, 1)"),
                           (["infer", missing, "--time-dependent", "--period", "0"], "--period must be a finite")):
        assert main(flags) == 2
        assert message in capsys.readouterr().err
    np.save(tmp_path / "z.npy", np.zeros((2, 50, 1), complex))
    assert main(["ep", str(tmp_path / "z.npy"), "--dt", "0.01", "--method", "tur"]) == 2
    assert f"{tmp_path / 'z.npy'}: holds complex128 values" in capsys.readouterr().err
    with np.load(path) as f:
        stored = dict(f)
    settings = json.loads(str(stored["settings"]))
    np.savez(tmp_path / "sub.npz", **{**stored, "settings": json.dumps({**settings, "substeps": "ten"})})
    assert main(["ep", str(tmp_path / "sub.npz"), "--method", "tur"]) == 2
    assert "a damaged trajectories file (settings substeps='ten'" in capsys.readouterr().err
    np.savez(tmp_path / "t0.npz", **{**stored, "t0": np.zeros(3)})
    assert main(["ep", str(tmp_path / "t0.npz"), "--method", "tur"]) == 2
    assert "t0 must hold one finite start time per track (1)" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["--version"])
    assert capsys.readouterr().out.strip() == f"stochinfer {si.__version__}"


def test_a_report_notes_bands_far_too_narrow():
    """(review, session 34) the default bbb fit's drift band covered 59% of the truth and the
    report said so only in one figure among many."""
    m = si.models.LinearOU(-np.eye(1), 0.5 * np.eye(1))
    fit = si.infer_langevin(si.simulate(m, 4, 1000, DT, seed=0), hidden=8, progress=False, method="bbb",
                            drift_settings=si.langevin.TrainSettings(n_iter=50),
                            diffusion_settings=si.langevin.TrainSettings(n_iter=50))
    rep = fit.report(m)
    rep["drift"]["coverage"], rep["diffusion"]["coverage"] = 0.90, 0.90
    assert "note:" not in fit.format_report(rep)
    rep["drift"]["coverage"] = 0.59
    assert "note: the drift band covers the truth well below 95% of the states: narrower than the error: " \
           "Bayes-by-Backprop" in fit.format_report(rep)
    rep["diffusion"]["coverage"] = 0.5
    assert "the drift and diffusion bands cover the truth" in fit.format_report(rep)
