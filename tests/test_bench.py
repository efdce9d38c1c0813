"""The speed benchmark's machinery at smoke sizes: the table and JSON, the FLOP count, and that the fast and
the baseline step compute the same loss. No timing is asserted."""
import json

import pytest
import torch

from benchmarks import bench
from utils import config as C

CPU = torch.device("cpu")


@pytest.fixture(scope="module")
def result():
    return bench.run(repeats=2, preset="smoke", analysis_preset="smoke", memory=False, big=32, stacking_preset="smoke")


def test_result_is_json_with_a_fast_and_a_baseline_row_per_network(result):
    assert json.loads(json.dumps(result)) == result
    assert [(r["task"], r["condition"]) for r in result["networks"]] == list(bench.NETWORKS)
    for r in result["networks"]:
        assert r["steps"] == 20 and r["batch_size"] == 16  # the smoke preset's sizes
        assert set(r["variants"]) == {"fast", "baseline"}
        for prefix in ("", "cpu_"):  # wall clock, and CPU time (valid here: the suite runs one thread)
            for v in r["variants"].values():
                assert min(v[prefix + k] for k in ("ms", "gflops", "matmul_share", "big_matmul_share")) > 0
            # the row's speed-up is the fast step's (a median of paired ratios: test_speedups_are_medians_...)
            assert r[prefix + "speedup"] == r["variants"]["fast"][prefix + "speedup"] > 0
            assert 0 < r[prefix + "data_ms"] and 0 < r[prefix + "data_share"] < 1
            assert r[prefix + "matmul_gflops"] > 0 and r[prefix + "big_matmul_gflops"] > 0
        assert r["big_matmul_shape"] == [32, 32, 32] and r["matmul_shape"] == [16, r["n_rec"], r["n_rec"]]


def test_speedups_are_medians_of_paired_ratios():
    """Repetition i of the baseline is divided by repetition i of the fast step, then the median is taken."""
    assert bench._paired([4.0, 9.0, 2.0], [2.0, 3.0, 1.0], lambda b, s: b / s) == 2.0   # ratios 2, 3, 2
    assert bench._paired([1.0, 8.0], [1.0, 2.0], lambda b, s: b / s) == 2.5             # ratios 1, 4


def test_table_lists_every_network_variant_and_target(result):
    table = bench.format_table(result)
    for r in result["networks"]:
        assert r["network"] in table
    for word in ("fast", "baseline", "data", "GFLOP/s", "% matmul", "MB", "analysis of one smoke network"):
        assert word in table
    assert all(t["target"] in table for t in result["targets"])
    # Smoke sizes are not the sizes the targets are for: nothing is judged.
    assert [(t["met"], t["cpu_met"]) for t in result["targets"]] == [(None, None)] * len(bench.TARGETS)


def test_targets_are_judged_at_the_sizes_they_are_for(result):
    as_paper = {**result, "preset": "paper", "analysis": {**result["analysis"], "preset": "laptop"}}
    judged = {t["target"]: t for t in bench.check_targets(as_paper)}
    speed = judged["SP RNN step: speed-up over the baseline"]
    assert speed["value"] == result["networks"][0]["speedup"] and speed["met"] == (speed["value"] >= 3.5)
    assert speed["cpu_value"] == result["networks"][0]["cpu_speedup"]
    assert judged["analysis of one laptop network (s)"]["met"] is True  # a smoke analysis takes well under 30 s
    assert judged["SP RNN step: peak memory (MB)"]["value"] is None  # memory was not measured here


def test_analysis_is_timed_part_by_part(result):
    a = result["analysis"]
    assert a["available"] and a["preset"] == "smoke"
    assert a["seconds"] == pytest.approx(sum(a["parts_s"].values()))
    assert {"quiescent_run_kl", "kl_divergence", "total_variance", "explained_variance"} <= set(a["parts_s"])


@pytest.mark.parametrize("task,condition", bench.NETWORKS)
def test_fast_and_baseline_steps_compute_the_same_loss(task, condition):
    """Same weights, same batch and same noise stream: the first steps agree (later ones drift by rounding)."""
    cfg = C.resolve_config(task, condition, 0, "smoke")
    fast, base = (bench.make_step(cfg, variant, CPU)() for variant in ("fast", "baseline"))
    assert fast["loss"] == pytest.approx(base["loss"], rel=1e-5)
    assert fast["loss"] != bench.make_step(C.resolve_config(task, condition, 1, "smoke"), "fast", CPU)()["loss"]


def test_matmul_flops_of_the_paper_sp_rnn_step():
    cfg = C.resolve_config("spatial", "noisy_unbiased", 0, "paper")
    encoder, inputs, recurrent, readout = 2 * 200 * 512 * 512, 2 * 200 * 100 * 2 * 512, 2 * 200 * 100 * 512**2, \
        2 * 200 * 100 * 512 * 512
    assert bench.step_matmul_flops(cfg) == 3 * (encoder + inputs + recurrent + readout)
    gru = C.resolve_config("spatial", "gru_noisy_unbiased", 0, "paper")
    assert bench.step_matmul_flops(gru) == 3 * (encoder + 3 * inputs + 3 * recurrent + readout)


def test_interleave_alternates_order_and_keeps_warmup_apart():
    calls = []
    runs = {name: (lambda name=name: calls.append(name) or {"t": float(len(calls))}) for name in "ab"}
    samples, first = bench.interleave(runs, repeats=2, warmup=1)
    assert calls == ["a", "b", "b", "a", "a", "b"]
    assert first == {"a": {"t": 1.0}, "b": {"t": 2.0}}
    assert samples == {"a": {"t": [4.0, 5.0]}, "b": {"t": [3.0, 6.0]}}


def test_peak_memory_rise_over_one_step():
    mem = bench.memory_child("spatial", "noisy_unbiased", "smoke", "baseline", torch.get_num_threads())
    assert 0 <= mem["peak_mb"] < mem["process_peak_mb"]


@pytest.mark.slow
def test_peak_memory_of_a_step_in_a_fresh_process():
    """A child's own peak, not its parent's (Linux carries a parent's ru_maxrss into an exec'd child)."""
    ballast = torch.ones(2**28)  # 1 GiB in this process
    cfg = C.resolve_config("head_direction", "noisy_unbiased", 0, "smoke")
    mem = bench.peak_memory(cfg, "smoke", "fast", CPU)
    assert 0 <= mem["peak_mb"] < mem["process_peak_mb"] < 1024
    del ballast


@pytest.mark.parametrize("task,overrides", [("spatial", {}), ("head_direction", {}),
                                            ("spatial", {"recurrent_bias": False, "noise_kind": "uniform"})])
def test_a_stacked_step_gives_each_seed_its_single_step(task, overrides):
    """Two seeds, five Adam steps, stacked and alone, on the same batches and noise seeds. Tolerance 1e-6 in
    float32: a bias gradient summed in another order differs by 1.5e-8 (HD); the rest is bit-equal here."""
    from utils.models import build_network
    from benchmarks.stacked import stack_parameters, stacked_train_step, unstack_parameters
    from utils.tasks import sample_batch
    from utils.training import DATA_STREAM, NOISE_STREAM, train_step
    cfgs = [C.resolve_config(task, "noisy_unbiased", seed, "smoke", overrides) for seed in (0, 1)]
    alone = [build_network(c.task, c.model, c.seed) for c in cfgs]
    optimizers = [torch.optim.Adam(net.parameters(), lr=1e-3) for net in alone]
    params = stack_parameters([build_network(c.task, c.model, c.seed) for c in cfgs])
    stacked_optimizer = torch.optim.Adam(params.values(), lr=1e-3)
    data = [torch.Generator().manual_seed(c.seed + DATA_STREAM) for c in cfgs]
    noise_alone, noise_stacked = ([torch.Generator().manual_seed(c.seed + NOISE_STREAM) for c in cfgs]
                                  for _ in range(2))
    for _ in range(5):
        batches = [sample_batch(c.task, net.cells, c.train.batch_size, g) for c, net, g in zip(cfgs, alone, data)]
        losses = [train_step(*args) for args in zip(alone, optimizers, batches, noise_alone)]
        stacked_losses = stacked_train_step(params, stacked_optimizer, cfgs[0].model, batches, noise_stacked)
        assert stacked_losses == pytest.approx(losses, rel=1e-6)
    for i, net in enumerate(alone):
        mine = unstack_parameters(params, i)
        assert set(mine) == {name for name, _ in net.named_parameters()}
        for name, p in net.named_parameters():
            torch.testing.assert_close(mine[name], p.detach(), rtol=0, atol=1e-6)
    # and the seeds did not become one another: the check above could not pass by comparing a seed with itself
    assert not torch.allclose(unstack_parameters(params, 0)["w_rec.weight"], unstack_parameters(params, 1)["w_rec.weight"])


def test_stacking_is_measured_and_judged_only_at_laptop_sizes(result):
    st = result["stacking"]
    assert st["preset"] == "smoke" and st["seeds"] == bench.STACKING[3]
    for prefix in ("", "cpu_"):
        assert st[prefix + "single_ms_per_seed"] > 0 and st[prefix + "stacked_ms_per_seed"] > 0
        assert st[prefix + "stacked_speedup"] > 0 and 0 < st[prefix + "dispatch_share"] and 0 < st[prefix + "data_share"] < 1
    assert "seed stacking" in bench.format_table(result)
    target = "laptop SP RNN: seed-stacked (k = 3) speed-up per seed"
    as_laptop = {**result, "stacking": {**st, "preset": "laptop", "stacked_speedup": 2.5, "cpu_stacked_speedup": 0.9}}
    judged = {t["target"]: t for t in bench.check_targets(as_laptop)}[target]
    assert (judged["value"], judged["met"], judged["cpu_value"], judged["cpu_met"]) == (2.5, True, 0.9, False)
