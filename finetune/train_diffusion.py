"""Train the embedded generator: a small latent diffusion model on the catalog's ``train`` split.

Three stages, each resumable (``fit``'s checkpoints) and bounded by a time budget:

1. ``vae``: a diffusers ``AutoencoderKL`` (48x64 shots -> 12x16x4 latents), L1 + MSE + a
   small KL term; ``val`` reconstruction error against a blur baseline.
2. ``latents``: every ``train``/``val`` shot (and its mirror image) encoded once; the latent
   scale (1 / std) written into the VAE's config, as Stable Diffusion's 0.18215.
3. ``unet``: a ``UNet2DConditionModel`` predicting the noise of DDPM-noised latents,
   cross-attending to the packaged MiniLM's token states of the product's caption
   (:mod:`finetune.diffusion_data`); the caption is dropped for ``drop`` of the examples, so
   sampling can use classifier-free guidance. ``val``: the denoising loss at fixed noise.

The result is a Stable Diffusion pipeline folder (``runs/<name>/pipeline/``, DDIM sampler,
``text_encoder/`` pointing at the packaged MiniLM) that :func:`adapters.loading.diffusion.load_diffusion_pipeline`
loads like any SD folder; ``--install`` copies it to ``adapters/weights/diffusion/``. Every
stage leaves its curves and a picture grid as PNG in the run folder.
Run: ``shopassist train-diffusion [--config finetune/configs/diffusion_default.json] [--name NAME] [--install]``.
"""

from __future__ import annotations

import logging
import random
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from adapters.loading.diffusion import (
    CATALOG_SIZE,
    CatalogModelConfig,
    build_catalog_unet,
    build_catalog_vae,
    catalog_schedulers,
    load_diffusion_pipeline,
    packaged_text_encoder,
    save_catalog_pipeline,
)
from finetune.diffusion_data import caption_table, encode_prompts, load_shots, products_of, sample_rows
from finetune.diffusion_grids import reconstruction_grid, sample_grid
from finetune.plots import plot_panels, step_loss_panel
from finetune.trainer import LoopConfig, Task, fit, get_lr, minimise, read_config, tail_mean, write_json
from retrieval.catalog import SAMPLE_CATALOG, read_catalog

logger = logging.getLogger(__name__)

SHIPPED = "adapters/weights/diffusion"
SHIPPED_NAMES = ("pipeline", "training.json", "vae_curves.png", "unet_curves.png", "vae_reconstructions.png",
                 "samples.png")
CONTINUED_NAMES = ("pipeline", "training_continued.json", "unet_curves_continued.png", "samples.png")


@dataclass(frozen=True)
class DiffusionRunConfig:
    vae_steps: int = 800
    vae_batch: int = 32
    vae_lr: float = 1e-3
    kl_weight: float = 1e-6
    unet_steps: int = 3000
    unet_batch: int = 64
    unet_lr: float = 5e-4
    warmup_steps: int = 100
    drop: float = 0.1  # share of examples trained with the empty prompt (classifier-free guidance)
    eval_every: int = 250
    save_every: int = 100
    max_minutes: float = 60.0  # per stage
    limit: int | None = None  # train products (quick runs)
    val_products: int = 256
    seed: int = 0
    threads: int = 0
    init_pipeline: str | None = None  # continue from this pipeline folder: its VAE (no VAE stage) and its UNet
    projector: str | None = None  # an output projector folder: the UNet also learns from its prompt_embeds
    projector_share: float = 0.5  # of the (non-dropped) examples conditioned on the projector's output
    vae_channels: tuple[int, ...] = (32, 64, 64)
    unet_channels: tuple[int, ...] = (64, 128, 128)
    attention_head_dim: int = 8
    ema_decay: float = 0.0  # > 0: validate and save an exponential moving average of the UNet's weights

    def __post_init__(self) -> None:
        if min(self.vae_steps, self.unet_steps, self.vae_batch, self.unet_batch) < 1:
            raise ValueError("DiffusionRunConfig: steps and batch sizes must be >= 1")
        if not 0 <= self.drop < 1:
            raise ValueError("DiffusionRunConfig: drop must be in [0, 1)")
        if not 0 <= self.ema_decay < 1:
            raise ValueError("DiffusionRunConfig: ema_decay must be in [0, 1)")

    @property
    def model(self) -> CatalogModelConfig:
        return CatalogModelConfig(vae_channels=tuple(self.vae_channels), unet_channels=tuple(self.unet_channels),
                                  attention_head_dim=self.attention_head_dim)

    @classmethod
    def from_json(cls, path: str | Path, **overrides) -> "DiffusionRunConfig":
        return read_config(cls, path, overrides)


def to_unit(shots: torch.Tensor) -> torch.Tensor:
    """uint8 (N, 3, H, W) -> float in [-1, 1]."""
    return shots.float().div(127.5).sub(1.0)


# -- stage 1: the autoencoder --------------------------------------------------------------------


def vae_loss(vae, x: torch.Tensor, kl_weight: float) -> torch.Tensor:
    post = vae.encode(x).latent_dist
    rec = vae.decode(post.sample()).sample
    return F.l1_loss(rec, x) + F.mse_loss(rec, x) + kl_weight * post.kl().mean()


def train_vae(cfg: DiffusionRunConfig, shots: torch.Tensor, val: torch.Tensor, run: Path, fresh: bool):
    torch.manual_seed(cfg.seed)
    vae = build_catalog_vae(cfg.model)
    opt = torch.optim.AdamW(vae.parameters(), lr=cfg.vae_lr, weight_decay=0.0)
    val_x = to_unit(val)

    def batches(_epoch: int, step: int):
        g = torch.Generator().manual_seed(cfg.seed + step)
        while True:
            idx = torch.randint(0, len(shots), (cfg.vae_batch,), generator=g)
            x = to_unit(shots[idx])
            flip = torch.rand(len(x), generator=g) < 0.5
            yield torch.where(flip[:, None, None, None], x.flip(-1), x)

    def validate() -> dict:
        vae.eval()
        with torch.no_grad():
            rec = torch.cat([vae(val_x[s:s + 64], sample_posterior=False).sample for s in range(0, len(val_x), 64)])
        return {"val_mse": F.mse_loss(rec, val_x).item()}

    task = Task(loss=lambda x: vae_loss(vae, x, cfg.kl_weight), batches=batches, optimizer=opt, validate=validate,
                train_mode=vae.train, lr_at=lambda s: get_lr(s, cfg.vae_steps, cfg.warmup_steps, cfg.vae_lr),
                modules=[vae], params=list(vae.parameters()))
    result = fit(task, _loop(cfg, cfg.vae_steps, run / "vae.ckpt", "vae", fresh, "val_mse"))
    return vae.eval(), result


def _loop(cfg: DiffusionRunConfig, steps: int, ckpt: Path, desc: str, fresh: bool, metric: str) -> LoopConfig:
    """Step mode, keeping the validation row with the lowest ``metric``."""
    if fresh and ckpt.is_file():
        ckpt.unlink()
    return LoopConfig(max_steps=steps, eval_every=cfg.eval_every, eval_at_start=True, best_by=minimise(metric),
                      max_minutes=cfg.max_minutes, clip_grad=1.0, checkpoint=ckpt, save_every=cfg.save_every, desc=desc)


# -- stage 2: latents, once ------------------------------------------------------------------


def encode_latents(vae, shots: torch.Tensor) -> torch.Tensor:
    """(N, 2, 2C, h, w) float16: posterior mean and std of each shot and of its mirror image."""
    out = []
    with torch.no_grad():
        for s in range(0, len(shots), 128):
            x = to_unit(shots[s:s + 128])
            pair = []
            for view in (x, x.flip(-1)):
                dist = vae.encode(view).latent_dist
                pair.append(torch.cat([dist.mean, dist.std], 1))
            out.append(torch.stack(pair, 1).to(torch.float16))
    return torch.cat(out)


def latent_scale(latents: torch.Tensor) -> float:
    c = latents.shape[2] // 2
    return float(1.0 / latents[:, 0, :c].float().std())


# -- stage 3: the denoiser -------------------------------------------------------------------


@dataclass
class LatentData:
    latents: torch.Tensor  # (N, 2, 2C, h, w)
    per_product: list[list[int]]  # prompt rows of each product
    states: torch.Tensor  # (prompts, tokens, 384) float16; row 0 = ""
    scale: float
    projected: torch.Tensor | None = None  # the same prompts through the LLM + output projector
    share: float = 0.0

    def condition(self, rows: list[int], g: torch.Generator) -> torch.Tensor:
        """Each row's MiniLM states, or for ``share`` of the non-empty ones the projector's."""
        cond = self.states[rows].float()
        if self.projected is not None:
            idx = torch.tensor(rows)
            use = (torch.rand(len(rows), generator=g) < self.share) & (idx != 0)
            cond[use] = self.projected[idx[use]].float()
        return cond

    def draw(self, picks: torch.Tensor, g: torch.Generator) -> torch.Tensor:
        lat = self.latents[picks, torch.randint(0, 2, (len(picks),), generator=g)].float()
        c = lat.shape[1] // 2
        z = lat[:, :c] + lat[:, c:] * torch.randn(lat[:, :c].shape, generator=g)
        return z * self.scale


def unet_loss(unet, noise_sched, z: torch.Tensor, cond: torch.Tensor, g: torch.Generator) -> torch.Tensor:
    noise = torch.randn(z.shape, generator=g)
    t = torch.randint(0, noise_sched.config.num_train_timesteps, (len(z),), generator=g)
    pred = unet(noise_sched.add_noise(z, noise, t), t, encoder_hidden_states=cond).sample
    return F.mse_loss(pred, noise)


def train_unet(cfg: DiffusionRunConfig, train: LatentData, val: LatentData, run: Path, fresh: bool, init=None):
    """The denoiser; with ``ema_decay`` the returned UNet is the moving average of its weights
    (diffusers' ``EMAModel``; a constant decay when continuing from ``init``, else warmed up from
    0), which validation scores beside the live weights' ``val_loss_live``."""
    torch.manual_seed(cfg.seed)
    unet = build_catalog_unet(cfg.model)
    if init is not None:  # continue training: same architecture, weights of an earlier run's UNet
        unet.load_state_dict({k: v.float() for k, v in init.state_dict().items()})
    ema, averaged = None, None
    if cfg.ema_decay:
        from diffusers.training_utils import EMAModel

        ema = EMAModel(unet.parameters(), decay=cfg.ema_decay, min_decay=cfg.ema_decay if init is not None else 0.0,
                       foreach=True)
        averaged = build_catalog_unet(cfg.model)
    noise_sched, _ = catalog_schedulers()
    opt = torch.optim.AdamW(unet.parameters(), lr=cfg.unet_lr, weight_decay=0.01)
    vg = torch.Generator().manual_seed(1234)
    val_picks = torch.arange(len(val.latents))
    val_z = val.draw(val_picks, vg)
    val_c = val.states[[rows[0] for rows in val.per_product]].float()

    def batches(_epoch: int, step: int):
        g = torch.Generator().manual_seed(cfg.seed + step)
        rng = random.Random(cfg.seed + step)
        while True:
            picks = torch.randint(0, len(train.latents), (cfg.unet_batch,), generator=g)
            rows = sample_rows(train.per_product, picks.tolist(), rng, cfg.drop)
            yield train.draw(picks, g), train.condition(rows, g), g

    def val_loss(model) -> float:
        model.eval()
        g = torch.Generator().manual_seed(99)
        with torch.no_grad():
            losses = [unet_loss(model, noise_sched, val_z[s:s + 64], val_c[s:s + 64], g).item()
                      for s in range(0, len(val_z), 64)]
        return sum(losses) / len(losses)

    def validate() -> dict:
        if ema is None:
            return {"val_loss": val_loss(unet)}
        ema.copy_to(averaged.parameters())
        return {"val_loss": val_loss(averaged), "val_loss_live": val_loss(unet)}

    kept = averaged if ema is not None else unet
    params = list(unet.parameters())
    task = Task(loss=lambda b: unet_loss(unet, noise_sched, *b), batches=batches, optimizer=opt, validate=validate,
                train_mode=unet.train, lr_at=lambda s: get_lr(s, cfg.unet_steps, cfg.warmup_steps, cfg.unet_lr),
                modules=[kept], params=params, ema=ema)
    result = fit(task, _loop(cfg, cfg.unet_steps, run / "unet.ckpt", "unet", fresh, "val_loss"))
    if ema is not None:  # the last live weights, to compare with the average
        unet.save_pretrained(run / "unet_live")
    return kept.eval(), result


# -- the run ---------------------------------------------------------------------------------


def _latent_data(vae, shots, products, cache: Path, name: str, tok, enc) -> LatentData:
    file = cache / f"{name}_latents.pt"
    if file.is_file():
        data = torch.load(file, weights_only=True)
        return LatentData(data["latents"], data["per_product"], data["states"], data["scale"])
    prompts, per_product = caption_table(products)
    latents = encode_latents(vae, shots)
    data = {"latents": latents, "per_product": per_product, "states": encode_prompts(prompts, tok, enc),
            "scale": latent_scale(latents), "prompts": prompts}
    torch.save(data, file)
    return LatentData(data["latents"], per_product, data["states"], data["scale"])


def train(cfg: DiffusionRunConfig, run: Path, catalog: str | None = None, fresh: bool = False) -> dict:
    """All three stages into ``run``; returns the training record (also ``training.json``)."""
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    start = time.monotonic()
    products = read_catalog(catalog or SAMPLE_CATALOG).products
    cache = run / "cache"
    shots, train_p = load_shots(products_of(products, "train", cfg.limit), cache, "train")
    val_shots, val_p = load_shots(products_of(products, "val", cfg.val_products), cache, "val")
    vae_file = run / "vae"
    earlier = load_diffusion_pipeline(_repo_path(cfg.init_pipeline), "cpu") if cfg.init_pipeline else None
    init = earlier.pipeline if earlier is not None else None
    if init is not None:  # the earlier run's autoencoder: the latents (and so the UNet) stay in its space
        vae, vae_result = init.vae.float().eval(), None
        if not vae_file.is_dir():
            vae.save_pretrained(vae_file)
    elif vae_file.is_dir() and not fresh:
        from adapters.loading.diffusion import import_diffusers

        vae, vae_result = import_diffusers().AutoencoderKL.from_pretrained(vae_file).eval(), None
    else:
        vae, vae_result = train_vae(cfg, shots, val_shots, run, fresh)
        vae.save_pretrained(vae_file)
        for stale in cache.glob("*_latents.pt"):  # encoded by another autoencoder
            stale.unlink()
        reconstruction_grid(vae, to_unit(val_shots[:16]), run / "vae_reconstructions.png")
    tok, enc = packaged_text_encoder()
    train_data = _latent_data(vae, shots, train_p, cache, "train", tok, enc)
    val_data = _latent_data(vae, val_shots, val_p, cache, "val", tok, enc)
    if cfg.projector:
        train_data.projected, train_data.share = _projected(cfg.projector, cache / "train_latents.pt", cache), cfg.projector_share
    vae.register_to_config(scaling_factor=train_data.scale)
    unet, unet_result = train_unet(cfg, train_data, val_data, run, fresh, init.unet if init is not None else None)
    record = _record(cfg, vae_result, unet_result, train_data, len(train_p), time.monotonic() - start)
    save_catalog_pipeline(vae, unet, tok, run / "pipeline", _card(cfg, record, earlier.card if earlier else None))
    sample_grid(load_diffusion_pipeline(run / "pipeline", "cpu"), run / "samples.png")
    suffix = "_continued" if cfg.init_pipeline else ""  # a continuation keeps the first run's record beside it
    _plots(vae_result, unet_result, run, suffix)
    write_json(run / f"training{suffix}.json", record)
    return record


def _projected(folder: str, latents_file: Path, cache: Path) -> torch.Tensor:
    """(prompts, tokens, 384) float16: every training prompt's description through the LLM and
    the output projector in ``folder`` (as the generator runs them), cached per projector."""
    from adapters.output.adaptor import description_from_prompt
    from adapters.output.projector import WEIGHTS_FILE, LLMPromptEncoder

    weights = _repo_path(folder) / WEIGHTS_FILE
    file = cache / f"train_projected_{int(weights.stat().st_mtime)}_{weights.stat().st_size}.pt"
    if file.is_file():
        return torch.load(file, weights_only=True)
    prompts = torch.load(latents_file, weights_only=True)["prompts"]
    encoder = LLMPromptEncoder(_repo_path(folder))
    out = [encoder([description_from_prompt(p) for p in prompts[s:s + 64]]).to(torch.float16)
           for s in tqdm(range(1, len(prompts), 64), desc="projected prompts", unit="batch")]
    projected = torch.cat([torch.zeros_like(out[0][:1]), *out])  # row 0, the dropped condition: never used
    torch.save(projected, file)
    return projected


def _repo_path(folder: str) -> Path:
    """A relative ``init_pipeline`` is the repository's (the continuation config names the shipped model)."""
    from finetune.runs import REPO

    return REPO / folder


def _record(cfg, vae_result, unet_result, data: LatentData, n_train: int, seconds: float) -> dict:
    stage = lambda r: None if r is None else {"steps": r.steps, "seconds": round(r.seconds, 1), "stopped_by": r.stopped_by,
                                                "final_train_loss": tail_mean(r.curve), "history": r.history}
    return {"config": asdict(cfg), "train_products": n_train, "prompts": len(data.states) - 1,
            "latent_scale": data.scale, "vae": stage(vae_result), "unet": stage(unet_result),
            "seconds": round(seconds, 1)}


def _card(cfg: DiffusionRunConfig, record: dict, earlier: dict | None = None) -> dict:
    w, h = CATALOG_SIZE
    steps = (record["unet"] or {}).get("steps") or 0
    if earlier:  # a continuation: the UNet's steps in all, and where it started
        steps += int(earlier.get("unet_steps") or 0)
    return {"name": f"embedded catalog model, {w}x{h}", "native_size": [w, h], "negative_prompt": "",
            "num_inference_steps": 20, "guidance_scale": 4.0, "trained_on": "sample catalog, train split",
            "text_encoder": "all-MiniLM-L6-v2 token states (packaged)", "command": "shopassist train-diffusion",
            "train_products": record["train_products"], "unet_steps": steps,
            "continued_from": cfg.init_pipeline and {"pipeline": cfg.init_pipeline, "card": earlier}}


def _plots(vae_result, unet_result, run: Path, suffix: str = "") -> None:
    for name, result, key in (("vae", vae_result, "val_mse"), ("unet", unet_result, "val_loss")):
        if result is not None:
            plot_panels([step_loss_panel(result.curve, result.series(key), f"{name}: loss")],
                        run / f"{name}_curves{suffix}.png")


def run_from_args(args) -> dict:
    """``shopassist train-diffusion``: the config (``--quick``: the smoke test), overrides, the run
    folder, and ``--install`` into ``adapters/weights/diffusion/``."""
    from finetune.cli_args import CONFIG_DIR
    from finetune.runs import install_and_report, run_folder

    path = args.config or str(CONFIG_DIR / ("diffusion_quick.json" if args.quick else "diffusion_default.json"))
    cfg = DiffusionRunConfig.from_json(path, vae_steps=args.vae_steps, unet_steps=args.unet_steps,
                                       max_minutes=args.max_minutes, limit=args.limit)
    run = run_folder("train-diffusion", args.name, args.out)
    run.mkdir(parents=True, exist_ok=True)
    record = train(cfg, run, args.catalog, fresh=args.fresh)
    print(f"{run}: vae {record['vae'] and record['vae']['steps']} steps, unet {record['unet']['steps']} steps "
          f"(val loss {record['unet']['history'][-1]['val_loss']:.4f}), {record['seconds'] / 60:.1f} min; "
          f"pipeline in {run / 'pipeline'}, samples in {run / 'samples.png'}")
    if args.install:
        install_and_report(run, SHIPPED, CONTINUED_NAMES if cfg.init_pipeline else SHIPPED_NAMES,
                           "the embedded generator changed")
    return record
