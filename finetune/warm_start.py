"""A cheap warm start for the stage-1 projector (no LLM forward or backward).

Measured need: on 2 shared CPU cores one caption-loss step through the frozen 135M LLM
takes 30+ s at batch 16, so the LLaVA stage-1 recipe alone sees only a few hundred
captions in its time budget. Before it, the projector is fitted directly in the LLM's
input-embedding space: every image token is pulled towards the mean input embedding of
the product's own words (" black wallets"), and pooled tokens are contrasted against the
other products in the batch (InfoNCE). The image tokens then start out reading like the
words that describe them; the caption loss that follows refines them in context.
"""

from __future__ import annotations

import logging
import math
import random
from collections.abc import Sequence

import torch
import torch.nn.functional as F

from finetune.trainer import LoopConfig, Task, fit

logger = logging.getLogger(__name__)


@torch.no_grad()
def word_targets(tokenizer, embeddings: torch.nn.Embedding, phrases: Sequence[str]) -> torch.Tensor:
    """(N, H): mean input embedding of each phrase's tokens."""
    rows = []
    for phrase in phrases:
        ids = tokenizer(" " + phrase.strip(), add_special_tokens=False)["input_ids"]
        if not ids:
            raise ValueError(f"phrase {phrase!r} has no tokens")
        rows.append(embeddings.weight[ids].float().mean(0))
    return torch.stack(rows)


def warm_start_loss(proj_tokens: torch.Tensor, targets: torch.Tensor, temperature: float = 0.07) -> torch.Tensor:
    """proj_tokens (B, T, H), targets (B, H): scale-free MSE per token + InfoNCE on the pooled token."""
    scale = targets.pow(2).mean()
    mse = (proj_tokens - targets[:, None, :]).pow(2).mean() / scale
    pooled = F.normalize(proj_tokens.mean(1), dim=-1)
    logits = pooled @ F.normalize(targets, dim=-1).T / temperature
    same = (targets[:, None, :] == targets[None, :, :]).all(-1)  # same words: not a negative
    logits = logits.masked_fill(same & ~torch.eye(len(targets), dtype=torch.bool, device=logits.device), float("-inf"))
    return mse + F.cross_entropy(logits, torch.arange(len(targets), device=logits.device))


@torch.no_grad()
def nearest_accuracy(projector, features: torch.Tensor, labels: Sequence[str], vocab: dict[str, torch.Tensor]) -> float:
    """Share of images whose pooled projection is nearest (cosine) to their own label's target."""
    names = list(vocab)
    table = F.normalize(torch.stack([vocab[n] for n in names]), dim=-1)
    pooled = F.normalize(projector(features.float()).mean(1), dim=-1)
    pred = (pooled @ table.T).argmax(-1).tolist()
    return sum(names[p] == y for p, y in zip(pred, labels)) / max(1, len(labels))


def fit_warm_start(projector, features: torch.Tensor, targets: torch.Tensor, steps: int, lr: float = 1e-3,
                   batch_size: int = 64, seed: int = 0, progress: bool = True) -> list[float]:
    """AdamW on the projector alone (lr cosine to 10%, on :func:`finetune.trainer.fit`); returns the loss history."""
    if len(features) < 2:
        raise ValueError("warm start needs at least 2 examples")

    def index_batches(_epoch, _step):  # endless: reshuffled whenever fewer than a batch are left
        rng, order = random.Random(seed), []
        while True:
            if len(order) < batch_size:
                order += rng.sample(range(len(features)), len(features))
            idx, order = order[:batch_size], order[batch_size:]
            yield idx

    task = Task(loss=lambda idx: warm_start_loss(projector(features[idx].float()), targets[idx]),
                batches=index_batches, optimizer=torch.optim.AdamW(projector.parameters(), lr=lr, weight_decay=0.0),
                train_mode=projector.train,
                lr_at=lambda step: lr * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * step / max(1, steps)))))
    result = fit(task, LoopConfig(max_steps=steps, desc="warm start", progress=progress))
    projector.eval()
    return [v for _, v in result.curve]
