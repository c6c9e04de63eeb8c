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
from dataclasses import dataclass, replace

import torch

from adapters.mllm.processing import IMAGE_TOKEN, expand_image_tokens
from retrieval.catalog import Product
from retrieval.contrasts import Contrast, contrasts_for, product_name
from retrieval.filters import ProductFilter
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
    out += explanation_examples(products, rows, rng, count=len(rows) // 2)
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
# The same template as assistant.explain.PROMPTS["explain"] (tests/test_wording_checks.py keeps them equal).
EXPLAIN_PROMPT = ("I am looking for: {request}\nProduct: {title}\nFacts: {facts}\n{contrasts}"
                  "In one short sentence starting with \"This\", tell me why this product matches what I asked for.")
# One sentence from the facts, each a predicate after "is" ("the cheapest of the five",
# "the only one for formal wear", "$7.01 under your 30", "the closest to your photo").
EXPLAIN_TEMPLATES = (
    "{subject} is {c}.",
    "{subject} is {c}, at ${price}.",
    "{subject}, at ${price}, is {c}.",
    "{subject} is what you asked for; it is {c}.",
    "This is {a_n}{who} at ${price}, {c}.",
    "This one is {c}: {a_n}{who} at ${price}.",
)
PLAIN_TEMPLATES = (  # nothing sets it apart
    "{subject} matches what you asked for, at ${price}.",
    "This is {a_n}{who}, at ${price}.",
    "{subject} fits your request and costs ${price}.",
)
PHOTO_REF = "your photo"


@dataclass(frozen=True)
class ExplainScene:
    """One reply as the assistant would explain it: the products shown, what the shopper asked
    (their filters), the photo they gave, what they asked the turn before, the search's scores."""

    group: tuple[Product, ...]
    asked: ProductFilter
    image_ref: str | None = None
    previous: ProductFilter | None = None
    scores: tuple[float, ...] | None = None

    def contrasts(self) -> list[tuple[Contrast, ...]]:
        return contrasts_for(self.group, self.asked, image_ref=self.image_ref, scores=self.scores,
                             previous=self.previous)


def request_words(asked: ProductFilter, image_ref: str | None) -> str:
    """The request in force as the assistant words it for its prompts (assistant.lead.request_phrase):
    "red tshirts for men under $40 like your photo"."""
    what = " ".join(x for x in (" or ".join(c.lower() for c in asked.colours),
                                " or ".join(t.lower() for t in asked.article_types) or "products") if x)
    bits = [what] + [f"for {g.lower()}" for g in asked.genders[:1]] + [f"for {u.lower()} wear" for u in asked.usages[:1]]
    if asked.max_price is not None:
        bits.append(f"under ${asked.max_price:g}")
    if image_ref:
        bits.append(f"like {image_ref}")
    return " ".join(bits)


def explain_facts(p: Product, asked: ProductFilter, image_ref: str | None) -> list[str]:
    """The facts as assistant.explain.matches_for words them: what was asked and holds first, then the rest."""
    first, rest = [], []
    (first if p.base_colour in asked.colours else rest).append(colour_word(p))
    (first if p.article_type in asked.article_types else rest).append(type_word(p))
    if p.gender and p.gender in asked.genders:
        first.append(f"for {p.gender.lower()}")
    if p.usage and p.usage in asked.usages:
        first.append(f"{p.usage.lower()} wear")
    if p.price is not None:
        (first.append(f"${p.price:.2f}, under {asked.max_price:g}") if asked.max_price is not None
         else rest.append(f"${p.price:.2f}"))
    if image_ref:
        first.append(f"looks like {image_ref}")
    return [w for w in first + rest if w]


def explain_example(scene: ExplainScene, i: int, rng: random.Random) -> Example:
    """The prompt the assistant writes for product ``i`` of ``scene`` -> one sentence, in one of
    several phrasings (singular, "a pair of", "an"), every word from the facts."""
    p = scene.group[i]
    contrasts = scene.contrasts()[i]
    apart = f"Sets it apart: {', '.join(c.text for c in contrasts)}\n" if contrasts else ""
    q = EXPLAIN_PROMPT.format(request=request_words(scene.asked, scene.image_ref), title=product_name(p),
                              facts=", ".join(explain_facts(p, scene.asked, scene.image_ref)), contrasts=apart)
    return Example((), q, explain_answer(p, contrasts, scene.image_ref, rng))


def explain_answer(p: Product, contrasts: Sequence[Contrast], image_ref: str | None, rng: random.Random) -> str:
    who = f" for {p.gender.lower()}" if p.gender and p.gender != "Unisex" else ""
    fields = {"subject": f"This {noun_phrase(p, with_article=False)}{who}", "a_n": noun_phrase(p), "who": who,
              "price": f"{p.price:.2f}" if p.price is not None else ""}
    facts = [c.text for c in contrasts if c.kind != "same"] or [c.text for c in contrasts][:1]
    said = facts[:1] + ([rng.choice(facts[1:])] if len(facts) > 1 and rng.random() < 0.5 else [])
    if not said:
        templates = PLAIN_TEMPLATES if fields["price"] else ("{subject} matches what you asked for.",)
        return rng.choice(templates).format(**fields)
    templates = [t for t in EXPLAIN_TEMPLATES if fields["price"] or "{price}" not in t]
    if image_ref and not any(c.kind == "photo" for c in contrasts):
        templates.append(f"{{subject}} looks like {image_ref} and is {{c}}.")
    return rng.choice(templates).format(c=" and ".join(said), **fields)


def explain_scene(products: Sequence[Product], group_rows: Sequence[int], rng: random.Random) -> ExplainScene:
    """A reply to explain: filters drawn from the first product's record (what the search would
    have asked), sometimes a budget over every price shown, a photo, or an earlier request."""
    group = tuple(products[r] for r in group_rows)
    p = group[0]
    shared = lambda attr: getattr(p, attr) if all(getattr(q, attr) == getattr(p, attr) for q in group) else None  # noqa: E731
    pick = lambda attr, chance: (v,) if (v := shared(attr)) and rng.random() < chance else ()  # noqa: E731
    prices = [q.price for q in group if q.price is not None]
    max_price = float(int(max(prices)) + rng.choice([1, 5, 10, 20])) if prices and rng.random() < 0.4 else None
    asked = ProductFilter(colours=pick("base_colour", 0.6), article_types=pick("article_type", 0.9),
                          genders=pick("gender", 0.5), usages=pick("usage", 0.15), max_price=max_price)
    photo = rng.random() < 0.3
    previous = None
    if rng.random() < 0.15 and asked.genders:
        previous = replace(asked, genders=(rng.choice([g for g in ("Men", "Women", "Boys", "Girls") if g != asked.genders[0]]),))
    elif rng.random() < 0.15 and max_price is not None:
        previous = replace(asked, max_price=max_price + rng.choice([10, 20, 30]))
    scores = tuple(rng.random() for _ in group) if photo else None
    return ExplainScene(group, asked, PHOTO_REF if photo else None, previous, scores)


def explanation_examples(products: Sequence[Product], rows: Sequence[int], rng: random.Random,
                         count: int) -> list[Example]:
    """``count`` explanation examples, each over a reply of up to five products: mostly of one
    type (a filtered search), some of several (a photo's neighbours)."""
    rows = list(rows)
    by_type: dict[str, list[int]] = {}
    for r in rows:
        by_type.setdefault(products[r].article_type or "", []).append(r)
    types = [t for t, rs in by_type.items() if len(rs) >= 2 and t]
    out = []
    for _ in range(count if types else 0):
        pool = by_type[rng.choice(types)] if rng.random() < 0.8 else rows
        group_rows = rng.sample(pool, k=min(5, len(pool)))
        scene = explain_scene(products, group_rows, rng)
        out.append(explain_example(scene, rng.randrange(len(scene.group)), rng))
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
