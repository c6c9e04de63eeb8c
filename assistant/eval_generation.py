"""How good the embedded generator's pictures are (``shopassist eval generation``).

For every product of a split (default ``test``: nothing was trained or tuned on it) the
request "imagine a <colour> <type> for <gender>" is drawn once, then measured:

The pictures are drawn on the default path, the prompt through the UNet's own text encoder
(the packaged MiniLM); with ``projector``, the same requests also through the language model
and the trained output projector (``prompt_embeds``: ``GENERATION_TEXT_SIDE=llm``).

* **attribute fidelity**: the tuned tower's heads (trained on real photos, apart from the
  generator) read the picture's article type and colour; a picture scores when they read the
  asked type / the asked colour's group (:data:`finetune.eval_describe.COLOUR_GROUPS`). Beside
  it, the same heads on the products' real photos (the ceiling), on random other catalog
  photos (the floor), and on the generated pictures of *other* requests (shuffled
  conditions: what a generator ignoring the words would score);
* **realism**: Frechet distance between the tower's pooled features of the generated and the
  real pictures, beside the same distance for the VAE's reconstructions of those real
  pictures (the ceiling a latent model can reach) and for samples drawn with no words;
* **imagine, then search**: precision@10 in the store of the products found from the
  generated picture alone, from the description's words alone, and from both;
* **speed and memory**: 4 pictures one request at a time (what a shopper's turns do) and in
  one batch, on this machine; peak resident memory.

The 16 fixed prompts' grid is written beside the JSON.
"""

from __future__ import annotations

import json
import logging
import random
import resource
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from tqdm.auto import tqdm

from adapters.config import ImageEncoderConfig
from adapters.generation.diffusers_backend import DiffusersGenerator, display_size
from adapters.generation.embedded import EMBEDDED_PIPELINE, EmbeddedGenerator
from adapters.loading.diffusion import load_diffusion_pipeline
from adapters.loading.encoders import load_image_encoder
from adapters.output.adaptor import build_request
from adapters.output.projector import LLMPromptEncoder
from finetune.diffusion_data import load_shots, prompt_for, products_of, shot_array
from finetune.diffusion_grids import GRID_PROMPTS, sample_grid
from finetune.eval_describe import GROUP_OF
from retrieval.catalog import SAMPLE_CATALOG, Product, read_catalog

logger = logging.getLogger(__name__)

CACHE = Path(__file__).resolve().parents[1] / "runs" / "eval-generation-cache"  # decoded shots (git-ignored runs/)


@dataclass(frozen=True)
class GenerationEvalConfig:
    split: str = "test"
    limit: int | None = None  # products (None: the whole split)
    search_requests: int = 200  # imagine-then-search requests (a sample of the split's products); 0: none
    grids: bool = True  # the speed run and the picture grids
    steps: int = 20
    guidance: float = 4.0
    batch: int = 48
    seed: int = 0
    pipeline: str = str(EMBEDDED_PIPELINE)
    projector: str | None = None  # an output projector folder: also draw through the LLM's states


def request_words(p: Product) -> str:
    """"<colour> <type> for <gender>" in the catalog's words, lower case."""
    who = f" for {p.gender.lower()}" if p.gender else ""
    return f"{(p.base_colour or '').lower()} {(p.article_type or '').lower()}{who}".strip()


def draw(loaded, prompts: list[str], cfg: GenerationEvalConfig, guidance: float | None = None,
         embeds: torch.Tensor | None = None) -> list[Image.Image]:
    """One native-size picture per prompt (seed = its index), through the pipeline in batches;
    with ``embeds`` (N, tokens, dim), conditioned on them instead of the prompts' encoding."""
    w, h = loaded.card["native_size"]
    neg = loaded.pipeline.encode_prompt("", "cpu", 1, False)[0] if embeds is not None else None
    out = []
    for s in tqdm(range(0, len(prompts), cfg.batch), desc="drawing", unit="batch"):
        chunk = prompts[s:s + cfg.batch]
        gens = [torch.Generator().manual_seed(cfg.seed + s + i) for i in range(len(chunk))]
        cond: dict = {"prompt": chunk, "negative_prompt": [""] * len(chunk)}
        if embeds is not None:
            cond = {"prompt_embeds": embeds[s:s + cfg.batch], "negative_prompt_embeds": neg.expand(len(chunk), -1, -1)}
        with torch.inference_mode():
            res = loaded.pipeline(**cond, num_inference_steps=cfg.steps, width=w, height=h, generator=gens,
                                  guidance_scale=cfg.guidance if guidance is None else guidance, output_type="pil")
        out.extend(res.images)
    return out


def projected(projector_dir: str, products: list[Product]) -> torch.Tensor:
    """The default path's ``prompt_embeds``: the LLM's states over "Imagine <request>" through
    the trained output projector (:class:`LLMPromptEncoder`, as the generator runs it)."""
    encoder = LLMPromptEncoder(projector_dir)
    words = [request_words(p) for p in products]
    return torch.cat([encoder(words[s:s + 64]) for s in tqdm(range(0, len(words), 64), desc="LLM states", unit="batch")])


def read_attributes(encoder, images: list[Image.Image]) -> tuple[list[str], list[str], np.ndarray]:
    """(type, colour) the tower's heads read off each picture, and its pooled features."""
    types, colours, feats = [], [], []
    for s in range(0, len(images), 128):
        f = encoder.encode(images[s:s + 128])
        for probs in encoder.attribute_probs(f):
            types.append(max(probs["article_type"], key=probs["article_type"].get))
            colours.append(max(probs["base_colour"], key=probs["base_colour"].get))
        feats.append(f[:, :1280].numpy())
    return types, colours, np.concatenate(feats)


def fidelity(products: list[Product], types: list[str], colours: list[str]) -> dict:
    t = [a == p.article_type for a, p in zip(types, products)]
    c = [GROUP_OF.get(a.lower()) == GROUP_OF.get((p.base_colour or "").lower()) for a, p in zip(colours, products)]
    return {"type": round(float(np.mean(t)), 4), "colour_group": round(float(np.mean(c)), 4)}


def frechet(a: np.ndarray, b: np.ndarray) -> float:
    from scipy import linalg

    mu1, mu2 = a.mean(0), b.mean(0)
    s1, s2 = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    covmean, _ = linalg.sqrtm(s1 @ s2, disp=False)
    return round(float(((mu1 - mu2) ** 2).sum() + np.trace(s1 + s2 - 2 * covmean.real)), 3)


def reconstructions(loaded, shots: torch.Tensor) -> list[Image.Image]:
    vae = loaded.pipeline.vae
    out = []
    with torch.inference_mode():
        for s in range(0, len(shots), 128):
            x = shots[s:s + 128].float().div(127.5).sub(1)
            rec = vae(x, sample_posterior=False).sample.clamp(-1, 1)
            out.extend(Image.fromarray(a) for a in ((rec + 1) * 127.5).round().byte().permute(0, 2, 3, 1).numpy())
    return out


def relevant(p: Product, want: Product) -> bool:
    gender_ok = p.gender == want.gender or p.gender == "Unisex" or want.gender == "Unisex"
    return (p.article_type == want.article_type and gender_ok
            and GROUP_OF.get((p.base_colour or "").lower()) == GROUP_OF.get((want.base_colour or "").lower()))


def search_precision(search, wants: list[Product], pictures: list[Image.Image], k: int = 10) -> dict:
    """precision@k of the store's results from the picture alone, the words alone, and both; beside
    them the product's own catalog photo alone (what a real picture finds: the ceiling of the first)."""
    scores = {"picture": [], "words": [], "both": [], "real_photo (ceiling)": []}
    for want, pic in tqdm(list(zip(wants, pictures)), desc="imagine, then search", unit="request"):
        words = request_words(want)
        with Image.open(want.image) as im:
            photo = im.convert("RGB")
        for kind, text, image in (("picture", None, pic), ("words", words, None), ("both", words, pic),
                                  ("real_photo (ceiling)", None, photo)):
            hits = [h for h in search.search(text, image, k=k + 1) if h.product.id != want.id][:k]
            scores[kind].append(sum(relevant(h.product, want) for h in hits) / k)
    return {kind: round(float(np.mean(v)), 4) for kind, v in scores.items()}


def default_generator(loaded, cfg: GenerationEvalConfig, stamp: bool = True) -> EmbeddedGenerator:
    """The assistant's default generator over the pipeline this evaluation loaded."""
    return EmbeddedGenerator(cfg.pipeline, device="cpu", model=DiffusersGenerator(loaded, progress=False, stamp=stamp))


def speed(loaded, cfg: GenerationEvalConfig) -> dict:
    """4 pictures as the default generator makes them, one request at a time and in one batch."""
    gen = default_generator(loaded, cfg)
    requests = [build_request(f"imagine {p}", mode="imagine", seed=i) for i, p in enumerate(GRID_PROMPTS[:4])]
    gen.generate(requests[0])  # warm-up
    t = time.perf_counter()
    for r in requests:
        gen.generate(r)
    one_by_one = time.perf_counter() - t
    t = time.perf_counter()
    draw(loaded, [r.prompt for r in requests], GenerationEvalConfig(batch=4, steps=cfg.steps, guidance=cfg.guidance))
    batched = time.perf_counter() - t
    return {"four_pictures_one_by_one_s": round(one_by_one, 3), "four_pictures_batched_s": round(batched, 3),
            "steps": loaded.card["num_inference_steps"], "threads": torch.get_num_threads(),
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)}


def evaluate(cfg: GenerationEvalConfig, search, out_dir: Path) -> dict:
    catalog = read_catalog(SAMPLE_CATALOG).products
    products = products_of(catalog, cfg.split, cfg.limit)
    shots, products = load_shots(products, CACHE, f"{cfg.split}_{len(products)}")
    loaded = load_diffusion_pipeline(cfg.pipeline, "cpu")
    loaded.pipeline.set_progress_bar_config(disable=True)  # one bar per batch, not per denoising step
    encoder = load_image_encoder(ImageEncoderConfig(), torch.device("cpu"))
    prompts = [prompt_for(request_words(p)) for p in products]
    generated = draw(loaded, prompts, cfg)  # the default path: the prompt through the UNet's own text encoder
    via_llm = draw(loaded, prompts, cfg, embeds=projected(cfg.projector, products)) if cfg.projector else None
    unconditional = draw(loaded, [""] * len(prompts), cfg, guidance=1.0)
    real = [Image.fromarray(s.permute(1, 2, 0).numpy()) for s in shots]
    rng = random.Random(cfg.seed)
    others = [p for p in catalog if p.image]
    floor_photos = [Image.fromarray(shot_array(p.image).transpose(1, 2, 0)) for p in rng.sample(others, len(products))]
    shuffled = list(range(len(products)))
    rng.shuffle(shuffled)
    read = {name: read_attributes(encoder, imgs) for name, imgs in (
        ("generated", generated), ("real", real), ("floor", floor_photos), ("unconditional", unconditional),
        ("reconstructed", reconstructions(loaded, shots)))}
    gt, gc, gf = read["generated"]
    report = {
        "config": cfg.__dict__, "products": len(products), "model": loaded.card,
        "fidelity": {"generated": fidelity(products, gt, gc), "real_photos (ceiling)": fidelity(products, *read["real"][:2]),
                     "random_catalog_photos (floor)": fidelity(products, *read["floor"][:2]),
                     "shuffled_conditions": fidelity(products, [gt[i] for i in shuffled], [gc[i] for i in shuffled])},
        "frechet_tower_features": {"generated": frechet(gf, read["real"][2]),
                                   "vae_reconstructions (ceiling)": frechet(read["reconstructed"][2], read["real"][2]),
                                   "unconditional_samples": frechet(read["unconditional"][2], read["real"][2]),
                                   "random_catalog_photos": frechet(read["floor"][2], read["real"][2])},
    }
    if via_llm is not None:  # the same requests through the LLM's states and the output projector
        pt, pc, pf = read_attributes(encoder, via_llm)
        report["fidelity"]["generated through the LLM + output projector"] = fidelity(products, pt, pc)
        report["frechet_tower_features"]["generated through the LLM + output projector"] = frechet(pf, read["real"][2])
    if cfg.search_requests:
        picks = rng.sample(range(len(products)), min(cfg.search_requests, len(products)))
        shown = [g.resize(display_size(loaded.card), Image.Resampling.LANCZOS) for g in generated]
        report["imagine_then_search_p10"] = search_precision(search, [products[i] for i in picks],
                                                             [shown[i] for i in picks])
    if cfg.grids:
        report["speed"] = speed(loaded, cfg)
        sample_grid(loaded, out_dir / "generation_samples.png", generator=default_generator(loaded, cfg, stamp=False))
        _examples(products, generated, gt, gc, out_dir / f"generation_{cfg.split}_examples.png")
    return report


def _examples(products, generated, types, colours, out: Path, n: int = 24) -> None:
    from finetune.diffusion_grids import tile

    caps = [f"{request_words(p)} -> {c.lower()} {t.lower()}" for p, t, c in zip(products, types, colours)][:n]
    tile(generated[:n], cols=8, captions=caps, scale=2).save(out)


def write(report: dict, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=2, default=str) + "\n")


def format_report(r: dict) -> str:
    f = r["fidelity"]
    lines = [f"generation eval: {r['products']} {r['config']['split']} products, {r['config']['steps']} steps, "
             f"guidance {r['config']['guidance']}",
             "attribute fidelity (tuned tower's heads)      type   colour group"]
    lines += [f"  {name:<42} {v['type']:.3f}  {v['colour_group']:.3f}" for name, v in f.items()]
    lines.append("Frechet distance (tower features, lower is closer to the real test photos)")
    lines += [f"  {name:<42} {v:.2f}" for name, v in r["frechet_tower_features"].items()]
    s = r.get("imagine_then_search_p10")
    if s:
        lines.append(f"imagine, then search P@10: picture alone {s['picture']:.3f}, words alone {s['words']:.3f}, "
                     f"both {s['both']:.3f}; the product's real photo alone {s.get('real_photo (ceiling)', float('nan')):.3f}")
    sp = r.get("speed")
    if sp:
        lines.append(f"speed: 4 pictures {sp['four_pictures_one_by_one_s']:.2f} s one by one, "
                     f"{sp['four_pictures_batched_s']:.2f} s batched ({sp['steps']} steps, {sp['threads']} threads); "
                     f"peak RSS {sp['peak_rss_mb']:.0f} MB")
    return "\n".join(lines)
