"""Training examples for the multimodal LLM, built from catalog metadata.

Stage 1 (alignment): one image -> a caption made of the title and attributes.
Stage 2 (instructions): describe / colour / type / occasion questions about one image,
compare two images, recommend one of several candidates with a reason, and the assistant's
explanation task (text only: the request, the product's facts and what sets it apart from
the others shown -> one sentence, in many phrasings with the right article and number).
Answers about a picture say only what a picture can show (colour, type, who, occasion),
never the title.

Everything here is pure Python: prompts are built with the tokenizer's chat template,
labels mask every prompt token with ``IGNORE_INDEX`` so only the answer is learned.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Sequence
from dataclasses import dataclass

import torch

from adapters.mllm.processing import IMAGE_TOKEN, expand_image_tokens
from retrieval.catalog import Product
from retrieval.wording import noun_phrase

logger = logging.getLogger(__name__)

IGNORE_INDEX = -100

CAPTION_QUESTIONS = ("Describe this product.", "What is this?", "Give a short caption for this product image.")
DESCRIBE_QUESTIONS = ("Describe this product.", "What is this item?", "Tell me about this product.",
                      "What am I looking at?")


@dataclass(frozen=True)
class Example:
    """``image_rows``: indices into the feature table, one per ``<image>`` in ``question``."""

    image_rows: tuple[int, ...]
    question: str
    answer: str


def colour_word(p: Product) -> str:
    return (p.base_colour or "").lower()


def type_word(p: Product) -> str:
    return (p.article_type or "product").lower()


def caption(p: Product) -> str:
    """Stage-1 caption: colour and type first (what a shopper asks about), then the title."""
    who = f" for {p.gender.lower()}" if p.gender else ""
    use = f", {p.usage.lower()} wear" if p.usage else ""
    return f"A {colour_word(p)} {type_word(p)}{who}{use}. {p.title}.".replace("  ", " ")


def describe_answer(p: Product) -> str:
    """What the picture shows, and nothing it cannot: no title or brand (a model taught to
    say them from a photo invents them, colour words included). "a red T-shirt", "a pair of
    black casual shoes": never "a red tshirts"."""
    who = f" for {p.gender.lower()}" if p.gender else ""
    use = f" It suits {p.usage.lower()} occasions." if p.usage else ""
    return f"This is {noun_phrase(p)}{who}.{use}"


def caption_examples(products: Sequence[Product], rows: Sequence[int], rng: random.Random) -> list[Example]:
    return [Example((r,), f"{IMAGE_TOKEN}\n{rng.choice(CAPTION_QUESTIONS)}", caption(products[r])) for r in rows]


def _single_image_tasks(p: Product, rng: random.Random) -> list[tuple[str, str]]:
    tasks = [(rng.choice(DESCRIBE_QUESTIONS), describe_answer(p))]
    if p.base_colour:
        tasks.append(("What colour is this?", f"It is {colour_word(p)}."))
    if p.article_type:
        tasks.append(("What type of product is this?", f"It is {noun_phrase(p, colour=False)}."))
    if p.usage:
        tasks.append(("What occasion is this good for?",
                      f"This {noun_phrase(p, with_article=False)} is made for {p.usage.lower()} use."))
    return tasks


def compare_answer(a: Product, b: Product) -> str:
    same = [name for name, x, y in (("colour", a.base_colour, b.base_colour), ("type", a.article_type, b.article_type))
            if x and x == y]
    common = f" Both share the same {' and '.join(same)}." if same else ""
    return f"The first is {noun_phrase(a)}; the second is {noun_phrase(b)}.{common}"


def recommend_example(cands: Sequence[Product], want: Product) -> tuple[str, str]:
    """The user asks for ``want``'s colour and type; the answer picks it and says why."""
    lines = "\n".join(f"{i}. {c.title}" for i, c in enumerate(cands, 1))
    pick = cands.index(want) + 1
    q = f"I want a {colour_word(want)} {type_word(want)}. Which of these should I choose?\n{lines}"
    a = f"Choose {pick}, {want.title}: it is {noun_phrase(want)}, as you asked."
    return q, a


def instruction_examples(products: Sequence[Product], rows: Sequence[int], rng: random.Random,
                         per_product: int = 2) -> list[Example]:
    """Stage-2 mix: ``per_product`` single-image tasks per row, plus compare, explain and recommend."""
    out: list[Example] = []
    rows = list(rows)
    for r in rows:
        tasks = _single_image_tasks(products[r], rng)
        rng.shuffle(tasks)
        tasks.sort(key=lambda t: t[0] not in DESCRIBE_QUESTIONS)  # keep "describe" in every sample
        for q, a in tasks[:per_product]:
            out.append(Example((r,), f"{IMAGE_TOKEN}\n{q}", a))
    for _ in range(len(rows) // 8):
        a, b = rng.sample(rows, 2)
        q = f"{IMAGE_TOKEN}\n{IMAGE_TOKEN}\nCompare these two products."
        out.append(Example((a, b), q, compare_answer(products[a], products[b])))
    out += explanation_examples(products, rows, rng, count=len(rows) // 4)
    for _ in range(len(rows) // 8):
        picks = rng.sample(rows, 3)
        cands = [products[i] for i in picks]
        want = rng.choice(cands)
        if sum(colour_word(c) == colour_word(want) and type_word(c) == type_word(want) for c in cands) > 1:
            continue  # ambiguous request
        q, a = recommend_example(cands, want)
        out.append(Example((), q, a))
    rng.shuffle(out)
    return out


# --- the assistant's explanation task (text only) ------------------------------------------
# The same template as assistant.explain.PROMPTS["explain"] (tests/test_wording_targets.py keeps them equal).
EXPLAIN_PROMPT = ("I am looking for: {request}\nProduct: {title}\nFacts: {facts}\n{contrasts}"
                  "In one short sentence starting with \"This\", tell me why this product matches what I asked for.")
NUMBER_WORDS = {2: "two", 3: "three", 4: "four", 5: "five"}
ORDINALS = {2: "second", 3: "third", 4: "fourth"}
EXPLAIN_TEMPLATES = (
    "This {n}{who} is {c}.",
    "This {n}{who} is what you asked for, and it is {c}.",
    "This {n}{who} matches your request and is {c}.",
    "This {n}{who} costs ${price}, {c}.",
    "This {n}{who} fits what you asked for ({asked}), and it is {c}.",
    "This one is {c}: {a_n}{who} at ${price}.",
)


def price_contrasts(group: Sequence[Product], i: int, max_price: float | None) -> list[str]:
    """Comparison facts as assistant.compare words them: price rank among ``group``, budget margin."""
    prices = sorted(p.price for p in group if p.price is not None)
    p, n, out = group[i], len(prices), []
    if p.price is not None and n >= 2 and prices.count(p.price) == 1:
        rank = prices.index(p.price) + 1
        of = f"of the {NUMBER_WORDS.get(n, str(n))}"
        out.append(f"the cheapest {of}" if rank == 1 else f"the most expensive {of}" if rank == n
                   else f"the {ORDINALS[rank]} cheapest {of}" if rank in ORDINALS else "")
    if max_price is not None and p.price is not None and p.price <= max_price:
        out.append(f"${max_price - p.price:.2f} under your {max_price:g}")
    return [c for c in out if c]


def explain_example(group: Sequence[Product], i: int, rng: random.Random) -> Example:
    """The request, the product's facts and its comparison facts -> one sentence, in one of
    several phrasings (singular, "a pair of", "an"), every word from the facts."""
    p = group[i]
    asked = [w for w, keep in ((colour_word(p), rng.random() < 0.7), (type_word(p), True),
                               (f"for {p.gender.lower()}" if p.gender else "", rng.random() < 0.6)) if w and keep]
    max_price = float(int(p.price) + rng.choice([1, 5, 10, 20])) if p.price is not None and rng.random() < 0.5 else None
    request = " ".join(asked) + (f" under {max_price:g}" if max_price is not None else "")
    facts = list(asked) + ([f"${p.price:.2f}, under {max_price:g}"] if max_price is not None else [])
    facts += [w for w in (colour_word(p), type_word(p)) if w not in asked]
    if max_price is None and p.price is not None:
        facts.append(f"${p.price:.2f}")
    contrasts = price_contrasts(group, i, max_price)
    apart = f"Sets it apart: {', '.join(contrasts)}\n" if contrasts else ""
    brand = p.title.split(" ", 1)[0] if p.title and p.title.split(" ", 1)[0].isalpha() else ""
    title = f"{brand} {p.base_colour or ''} {p.article_type or 'product'}".strip() + (f" for {p.gender}" if p.gender else "")
    q = EXPLAIN_PROMPT.format(request=request, title=" ".join(title.split()), facts=", ".join(facts), contrasts=apart)
    return Example((), q, explain_answer(p, asked, contrasts, rng))


def explain_answer(p: Product, asked: Sequence[str], contrasts: Sequence[str], rng: random.Random) -> str:
    n = noun_phrase(p, with_article=False)
    who = f" for {p.gender.lower()}" if p.gender and p.gender != "Unisex" else ""
    price = f"{p.price:.2f}" if p.price is not None else ""
    if not contrasts or not price:
        return f"This {n}{who} matches what you asked for" + (f", at ${price}." if price else ".")
    template = rng.choice(EXPLAIN_TEMPLATES)
    c = " and ".join(contrasts[:2])
    a_n = noun_phrase(p)
    return template.format(n=n, who=who, c=c, price=price, asked=", ".join(asked), a_n=a_n)


def explanation_examples(products: Sequence[Product], rows: Sequence[int], rng: random.Random,
                         count: int) -> list[Example]:
    """``count`` explanation examples, each over a group of up to five products of one type."""
    by_type: dict[str, list[int]] = {}
    for r in rows:
        by_type.setdefault(products[r].article_type or "", []).append(r)
    types = [t for t, rs in by_type.items() if len(rs) >= 2 and t]
    out = []
    for _ in range(count if types else 0):
        t = rng.choice(types)
        group = [products[r] for r in rng.sample(by_type[t], k=min(5, len(by_type[t])))]
        out.append(explain_example(group, rng.randrange(len(group)), rng))
    return out


def mask_labels(prompt_len: int, input_ids: Sequence[int]) -> list[int]:
    """Labels equal ``input_ids`` with the first ``prompt_len`` positions set to IGNORE_INDEX."""
    if not 0 <= prompt_len <= len(input_ids):
        raise ValueError(f"prompt_len {prompt_len} outside 0..{len(input_ids)}")
    return [IGNORE_INDEX] * prompt_len + list(input_ids[prompt_len:])


def encode_example(tokenizer, ex: Example, system: str, num_image_tokens: int, end_token: str,
                   max_len: int = 256) -> tuple[list[int], list[int]]:
    """(input_ids, labels) for one example; the answer ends with ``end_token``."""
    msgs = [{"role": "system", "content": system}, {"role": "user", "content": ex.question}]
    prompt = tokenizer.apply_chat_template(msgs, add_generation_prompt=True, tokenize=False)
    prompt = expand_image_tokens(prompt, num_image_tokens)
    p_ids = tokenizer(prompt, add_special_tokens=False)["input_ids"]
    a_ids = tokenizer(ex.answer + end_token, add_special_tokens=False)["input_ids"]
    ids = (p_ids + a_ids)[:max_len]
    if len(p_ids) >= max_len:
        raise ValueError(f"prompt of {len(p_ids)} tokens leaves no room for the answer (max_len {max_len})")
    return ids, mask_labels(len(p_ids), ids)


def collate(batch: Sequence[tuple[list[int], list[int], tuple[int, ...]]], pad_id: int) -> dict:
    """Right-pad to the longest sequence; padded labels are IGNORE_INDEX, mask 0."""
    n = max(len(ids) for ids, _, _ in batch)
    input_ids = torch.full((len(batch), n), pad_id, dtype=torch.long)
    labels = torch.full((len(batch), n), IGNORE_INDEX, dtype=torch.long)
    attn = torch.zeros((len(batch), n), dtype=torch.long)
    rows: list[int] = []
    for i, (ids, lab, img_rows) in enumerate(batch):
        input_ids[i, :len(ids)] = torch.tensor(ids)
        labels[i, :len(lab)] = torch.tensor(lab)
        attn[i, :len(ids)] = 1
        rows.extend(img_rows)
    return {"input_ids": input_ids, "labels": labels, "attention_mask": attn,
            "image_rows": torch.tensor(rows, dtype=torch.long)}
