"""Model-side pieces shared by both stages: splice cached tower features into the
prompt embeddings (what LlavaModel.forward does with pixels) and compute the loss."""

from __future__ import annotations

import logging
import random
from collections.abc import Sequence

import torch
import torch.nn.functional as F

from finetune.data_mllm import IGNORE_INDEX, Example, collate, encode_example
from retrieval.catalog import Product, split_of

logger = logging.getLogger(__name__)


def get_projector(model) -> torch.nn.Module:
    """The multi_modal_projector of a LLaVA, or of a peft model wrapping one."""
    base = model.get_base_model() if hasattr(model, "get_base_model") else model
    return base.model.multi_modal_projector


def splice_features(model, input_ids: torch.Tensor, features: torch.Tensor, image_token_id: int) -> torch.Tensor:
    """inputs_embeds with each image's projected (T, D) features at its placeholder tokens."""
    embeds = model.get_input_embeddings()(input_ids)
    mask = input_ids == image_token_id
    n_slots = int(mask.sum())
    expected = features.shape[0] * features.shape[1] if features.dim() == 3 else 0
    if n_slots != expected:
        raise ValueError(f"Image features and image tokens do not match: {n_slots} tokens, "
                         f"{tuple(features.shape[:2])} features")
    if n_slots == 0:
        return embeds
    proj = get_projector(model)(features.to(embeds.dtype))
    return embeds.masked_scatter(mask.unsqueeze(-1), proj.reshape(-1, proj.shape[-1]))


def answer_loss(model, embeds: torch.Tensor, attention_mask: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """The usual shifted next-token loss, with vocabulary logits computed only where a label
    is learned (the answer): the 49k-way lm_head over prompt positions is wasted work."""
    keep = torch.zeros_like(labels, dtype=torch.bool)
    keep[:, :-1] = labels[:, 1:] != IGNORE_INDEX
    logits = model(inputs_embeds=embeds, attention_mask=attention_mask, logits_to_keep=keep).logits
    return F.cross_entropy(logits.float().reshape(-1, logits.shape[-1]), labels[:, 1:][keep[:, :-1]])


def make_loss_fn(model, features: torch.Tensor, image_token_id: int, device: torch.device):
    """batch (from :func:`collate`) -> mean cross-entropy over the answer tokens."""

    def loss_fn(batch: dict) -> torch.Tensor:
        ids = batch["input_ids"].to(device)
        feats = features[batch["image_rows"]].to(device, torch.float32)
        embeds = splice_features(model, ids, feats, image_token_id)
        return answer_loss(model, embeds, batch["attention_mask"].to(device), batch["labels"].to(device))

    return loss_fn


def split_rows(products: Sequence[Product], ok: torch.Tensor, train_limit: int | None, val_limit: int,
               seed: int) -> tuple[list[int], list[int]]:
    """Rows of the catalog's "train" and "val" splits that have an image ("test" is never used)."""
    train = [i for i, p in enumerate(products) if ok[i] and split_of(p.id) == "train"]
    val = [i for i, p in enumerate(products) if ok[i] and split_of(p.id) == "val"]
    rng = random.Random(seed)
    rng.shuffle(train)
    rng.shuffle(val)
    return (train[:train_limit] if train_limit else train), val[:val_limit]


def encode_all(tokenizer, examples: Sequence[Example], system: str, num_image_tokens: int, end_token: str,
               max_len: int) -> list[tuple[list[int], list[int], tuple[int, ...]]]:
    out = []
    for ex in examples:
        ids, labels = encode_example(tokenizer, ex, system, num_image_tokens, end_token, max_len)
        out.append((ids, labels, ex.image_rows))
    return out


def val_batches(encoded: Sequence, batch_size: int, pad_id: int) -> list[dict]:
    return [collate(encoded[s:s + batch_size], pad_id) for s in range(0, len(encoded), batch_size)]
