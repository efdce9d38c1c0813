"""The command line: exit codes, one-line errors, nothing written on a bad input."""
import json
import subprocess
import sys
import time

import pytest

from utils import config as C


def cli(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "utils", *args], capture_output=True, text=True, cwd=cwd)


@pytest.mark.slow
def test_config_prints_the_resolved_paper_config():
    out = cli("config", "--task", "head_direction", "--condition", "noisy_biased", "--preset", "paper")
    assert out.returncode == 0
    assert json.loads(out.stdout) == C.to_dict(C.resolve_config("head_direction", "noisy_biased", 0, "paper"))


@pytest.mark.slow
def test_train_smoke_model_in_seconds_and_print_its_directory(tmp_path):
    t0 = time.perf_counter()
    out = cli("train", "--task", "spatial", "--condition", "noisy_unbiased", "--seed", "0", "--preset", "smoke",
              "--outputs", str(tmp_path), "--quiet")
    assert out.returncode == 0, out.stderr
    assert time.perf_counter() - t0 < 60
    run_dir = out.stdout.strip().splitlines()[-1]
    assert run_dir.startswith(str(tmp_path / "smoke" / "models" / "spatial" / "noisy_unbiased" / "seed0-"))
    assert (tmp_path / run_dir / "model.pt").exists()


@pytest.mark.parametrize("args", [
    ["train", "--task", "grid", "--condition", "noisy_unbiased", "--seed", "0"],
    ["train", "--task", "spatial", "--condition", "noisy", "--seed", "0"],
    ["train", "--task", "spatial", "--condition", "noisy_unbiased", "--seed", "zero"],
    ["train", "--task", "spatial", "--condition", "noisy_unbiased", "--seed", "0", "--preset", "huge"],
    ["train", "--task", "spatial", "--condition", "noisy_unbiased", "--seed", "0", "--set", "n_rec=0"],
    ["train", "--task", "spatial", "--condition", "noisy_unbiased", "--seed", "0", "--set", "noise_std=-1"],
    ["train", "--task", "spatial", "--condition", "noisy_unbiased", "--seed", "0", "--set", "wat=1"],
    ["train", "--task", "spatial", "--condition", "noisy_unbiased", "--seed", "0", "--set", "n_rec"],
    ["train", "--task", "spatial", "--condition", "noisy_unbiased", "--seed", "0", "--device", "tpu"],
    ["config", "--task", "spatial"],
    ["figures", "--preset", "huge"],
    ["figures", "--only", "fig99", "--preset", "smoke"],
    ["no-such-command"],
])
def test_bad_input_exits_2_with_one_line_and_writes_nothing(args, tmp_path, capsys):
    """In this process (an escaping exception fails the test; tests/test_faults.py runs one in a real process)."""
    from utils.__main__ import main
    argv = [*args, "--outputs", str(tmp_path)] if args[0] != "no-such-command" else list(args)
    try:
        code = main(argv)
    except SystemExit as stop:   # argparse's usage errors
        code = stop.code
    err = capsys.readouterr().err
    assert code == 2
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert "error" in err
    assert not any(tmp_path.iterdir())



def test_unwritable_outputs_gives_one_line(monkeypatch, capsys):
    """Root writes anywhere, so the refusal is injected where the cache would write."""
    import utils.__main__ as cli
    from utils.__main__ import main

    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied", "/scratch/outputs/smoke/models")
    monkeypatch.setattr(cli, "get_model", refuse)
    code = main(["train", "--task", "spatial", "--condition", "noisy_unbiased", "--seed", "0", "--preset", "smoke"])
    err = capsys.readouterr().err
    assert code == 2
    assert err.strip() == ("python -m utils train: error: cannot write /scratch/outputs/smoke/models: "
                           "permission denied")
