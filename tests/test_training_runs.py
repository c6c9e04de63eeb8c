"""Training runs: train-* write runs/<name>/ unless --install is given; the one training loop."""

from __future__ import annotations

import torch
import pytest

from assistant.cli import build_parser
from finetune.runs import RUNS_DIR, install, latest_run, run_folder
from finetune.trainer import LoopConfig, Task, TrainConfig, fit, minimise

TRAIN_COMMANDS = ["train-tower", "train-alignment", "train-projector", "train-lora", "train-output-projector"]


@pytest.mark.parametrize("command", TRAIN_COMMANDS)
def test_train_commands_never_install_by_default(command):
    args = build_parser().parse_args([command])
    assert args.out is None and args.name is None and not getattr(args, "install", False)
    assert run_folder(command, args.name, args.out).parent == RUNS_DIR
    assert run_folder(command, "mine") == RUNS_DIR / "mine"
    assert build_parser().parse_args([command, "--out", "/x"]).out == "/x"
    if command != "train-output-projector":  # nothing ships for it
        assert build_parser().parse_args([command, "--install"]).install


def test_install_copies_the_named_artefacts_only(tmp_path):
    run, dest = tmp_path / "run", tmp_path / "shipped"
    (run / "lora").mkdir(parents=True)
    for name in ("w.safetensors", "checkpoint.pt", "lora/a.bin"):
        (run / name).write_text(name)
    (dest / "lora").mkdir(parents=True)
    (dest / "lora" / "stale.bin").write_text("old")
    install(run, dest, ["w.safetensors", "lora"])
    assert sorted(p.relative_to(dest).as_posix() for p in dest.rglob("*") if p.is_file()) == ["lora/a.bin", "w.safetensors"]
    with pytest.raises(FileNotFoundError, match="nothing installed"):
        install(run, tmp_path / "other", ["missing.json"])
    assert not (tmp_path / "other").exists()


def test_latest_stage1_run(tmp_path, monkeypatch):
    import finetune.runs as runs

    monkeypatch.setattr(runs, "RUNS_DIR", tmp_path)
    assert latest_run("projector") is None
    for name, stage in (("a", "projector"), ("b", "lora")):
        (tmp_path / name).mkdir()
        (tmp_path / name / "mllm_adapter.json").write_text(f'{{"stage": "{stage}"}}')
    assert latest_run("projector") == tmp_path / "a"


def _task(model, data, opt):
    def batches(_epoch, _step):
        yield from torch.randperm(len(data[0])).split(8)

    return Task(loss=lambda i: torch.nn.functional.mse_loss(model(data[0][i]), data[1][i]), batches=batches,
                optimizer=opt, train_mode=model.train, modules=[model],
                validate=lambda: {"val_loss": float(torch.nn.functional.mse_loss(model(data[0]), data[1]))})


def test_fit_by_epochs_keeps_the_best_row():
    torch.manual_seed(0)
    model, x = torch.nn.Linear(4, 1), torch.randn(32, 4)
    data = (x, x.sum(1, keepdim=True))
    opt = torch.optim.SGD(model.parameters(), lr=0.05)
    result = fit(_task(model, data, opt), LoopConfig(epochs=6, best_by=minimise("val_loss"), progress=False))
    assert [r["epoch"] for r in result.history] == list(range(1, 7)) and result.stopped_by == "epochs"
    assert result.best["val_loss"] == min(r["val_loss"] for r in result.history)
    with torch.no_grad():  # the model holds the selected epoch's weights
        assert float(torch.nn.functional.mse_loss(model(x), data[1])) == pytest.approx(result.best["val_loss"])


def test_fit_by_steps_validates_budgets_and_resumes(tmp_path):
    torch.manual_seed(0)
    model, x = torch.nn.Linear(4, 1), torch.randn(32, 4)
    data = (x, x.sum(1, keepdim=True))

    opt = torch.optim.SGD(model.parameters(), lr=0.05)
    task = _task(model, data, opt)
    one_pass = task.batches

    def endless(_epoch, _step):
        while True:
            yield from one_pass(0, 0)

    task.params, task.batches = list(model.parameters()), endless
    cfg = LoopConfig(max_steps=5, eval_every=2, eval_at_start=True, checkpoint=tmp_path / "c.pt", save_every=1,
                     progress=False)
    result = fit(task, cfg)
    assert [r["step"] for r in result.history] == [0, 2, 4, 5] and result.stopped_by == "max_steps"
    again = fit(task, LoopConfig(**{**cfg.__dict__, "max_steps": 7}))
    assert [s for s, _ in again.curve] == list(range(1, 8))
    stopped = fit(task, LoopConfig(max_steps=100, max_minutes=1e-9, progress=False))
    assert stopped.stopped_by == "time budget" and stopped.steps == 0


def test_stage1_default_is_the_shipped_step_based_run():
    from finetune.cli_args import CONFIG_DIR

    cfg = TrainConfig.from_json(CONFIG_DIR / "projector_default.json")
    assert (cfg.max_steps, cfg.schedule_steps, cfg.warm_start_steps, cfg.seed) == (43, 170, 600, 0)
    with pytest.raises(ValueError, match="schedule_steps"):
        TrainConfig(max_steps=10, schedule_steps=5)


def test_fit_steps_a_moving_average_and_resumes_it(tmp_path):
    """``Task.ema`` (diffusers' EMAModel) follows every step and lives in the checkpoint: two
    steps, a stop and two more average exactly as four steps in one go."""
    from diffusers.training_utils import EMAModel

    x = torch.randn(16, 4, generator=torch.Generator().manual_seed(0))
    y = x.sum(1, keepdim=True)

    def run(steps_each: list[int], ckpt):
        torch.manual_seed(0)
        model = torch.nn.Linear(4, 1)
        opt = torch.optim.SGD(model.parameters(), lr=0.1)
        ema = EMAModel(model.parameters(), decay=0.5, min_decay=0.5)

        def batches(_epoch, step):
            while True:
                yield torch.arange(16)[step % 2::2]
                step += 1

        task = Task(loss=lambda i: torch.nn.functional.mse_loss(model(x[i]), y[i]), batches=batches, optimizer=opt,
                    params=list(model.parameters()), ema=ema)
        for steps in steps_each:
            ema = EMAModel(model.parameters(), decay=0.5, min_decay=0.5)  # a fresh process: the shadow comes back
            task.ema = ema
            fit(task, LoopConfig(max_steps=steps, checkpoint=ckpt, save_every=1, progress=False))
        return model, ema

    model, ema = run([4], tmp_path / "one.pt")
    again, resumed = run([2, 4], tmp_path / "two.pt")
    assert resumed.optimization_step == ema.optimization_step == 4
    for a, b in zip(ema.shadow_params, resumed.shadow_params):
        assert torch.allclose(a, b)
    assert not torch.allclose(ema.shadow_params[0], model.weight)  # an average, not the last weights
    assert torch.allclose(model.weight, again.weight)
