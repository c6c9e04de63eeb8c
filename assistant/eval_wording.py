"""The wording of explanations (issue 14), measured over hand-written requests (``dev`` or the
held-out ``test`` split): before the checks (the model's first sentences) and as shown, the
share of sentences with a contradicted claim, an unsupported word or an agreement error, of
replies whose cards all differ and of sentences stating a distinguishing fact; sampled replies
for a person to read, and every shown sentence a measure still flags."""

from __future__ import annotations

import random
import time

from tqdm.auto import tqdm

from assistant.compare import comparison_claims, contrasts_for, repeated_cards, states_contrast, unique_values
from assistant.evaluation import latency_figures
from retrieval.catalog import Product
from retrieval.wording import agreement_errors

# Issue 14: what the shopper reads (after the checks), and the model's own sentences (before).
WORDING_TARGETS = {"contradicted_after": 0.0, "unsupported_after": 0.0, "unsupported_before": 0.05,
                   "agreement_after": 0.0, "replies_all_different_after": 0.95, "distinguishing_after": 0.8}


# --- the wording of explanations, over held-out (test) requests --------------------------
def request_turns(requests: dict[str, list[dict]]) -> list[list[tuple[str, str | None]]]:
    """Conversations of (text, photo product id) from the hand-written requests: each single
    and composed request is a one-turn conversation; conversations keep their turns."""
    out = [[(r["text"], None)] for r in requests.get("single", [])]
    out += [[(r["text"], r["photo"])] for r in requests.get("composed", [])]
    out += [[(t["text"], None) for t in r["turns"]] for r in requests.get("conversation", [])]
    return out


def wording_measures(texts: list[str | None], products: list[Product], contrasts, checker) -> dict[str, list[bool]]:
    """Per sentence (``None``: none written): contradicted claim (attributes, prices and
    comparisons), unsupported word, agreement error, distinguishing fact; and whether the
    reply's sentences are all different."""
    out: dict[str, list[bool]] = {k: [] for k in ("contradicted", "unsupported", "agreement", "distinguishing")}
    for i, (text, p) in enumerate(zip(texts, products)):
        if text is None:
            continue
        claims = checker.claims(text, p)
        out["contradicted"].append(any(not c.supported for c in claims)
                                   or any(not ok for _, ok in comparison_claims(text, contrasts[i])))
        out["unsupported"].append(bool(checker.unsupported(text, p)))
        out["agreement"].append(bool(agreement_errors(text, checker.type_phrases)))
        unique = unique_values(i, products)
        named_unique = any(c.supported and set(c.values) & {p.base_colour, p.article_type, p.usage, p.gender}
                           and any(v and v.lower() in unique for v in c.values) for c in claims)
        out["distinguishing"].append(states_contrast(text, contrasts[i]) or named_unique)
    written = [t for t in texts if t is not None]
    out["all_different"] = [not repeated_cards(written)] if len(written) > 1 else []
    return out


def run_wording(assistant, conversations: list[list[tuple[str, str | None]]], by_id: dict[str, Product],
                samples: int = 30, seed: int = 0, progress: bool = True) -> dict:
    """The issue-14 measures before the checks (the model's first sentences) and after (what
    the shopper reads), over the given conversations; ``samples`` replies kept for reading."""
    from assistant.explain import first_sentences

    checker, keep = assistant.explainer.checker, assistant.explainer.sentences
    tallies = {"before": {}, "after": {}}
    kept, failed, full_s, llm_cards, cards = [], [], [], 0, 0
    for conv in tqdm(conversations, desc="wording", disable=not progress):
        session = assistant.new_session()
        for text, photo in conv:
            t0 = time.perf_counter()
            reply = session.send(text, image=by_id[photo].image if photo else None)
            full_s.append(time.perf_counter() - t0)
            if not reply.products:
                continue
            products = [s.product for s in reply.products]
            contrasts = contrasts_for(products, session.constraints.filter, image_ref="your photo" if photo else None,
                                      scores=[s.score for s in reply.products])
            raw = [first_sentences(s.explanation.raw, keep) if s.explanation.raw else None for s in reply.products]
            shown = [s.explanation.text for s in reply.products]
            cards += len(shown)
            llm_cards += sum(s.explanation.source == "llm" for s in reply.products)
            for stage, texts in (("before", raw), ("after", shown)):
                measures = wording_measures(texts, products, contrasts, checker)
                for k, v in measures.items():
                    tallies[stage].setdefault(k, []).extend(v)
            failed += _shown_failures(text, shown, products, measures)
            kept.append(_sample(text, photo, reply, contrasts, raw))
    rng = random.Random(seed)
    result = {f"{k}_{stage}": sum(v) / max(1, len(v)) for stage, t in tallies.items() for k, v in t.items()}
    result = {("replies_all_different_" + k.split("_")[-1] if k.startswith("all_different") else k): v
              for k, v in result.items()}
    result.update(replies=len(kept), cards=cards, cards_by_llm=llm_cards, **latency_figures(full_s, "full"),
                  counted={f"{k}_{stage}": len(v) for stage, t in tallies.items() for k, v in t.items()})
    result["samples"] = rng.sample(kept, min(samples, len(kept)))
    result["shown_failures"] = failed  # every shown sentence a check let through: for a person to read
    return result


def _shown_failures(request: str, shown: list[str], products: list[Product], measures: dict) -> list[dict]:
    """The shown sentences that a measure flags (contradicted, unsupported, agreement)."""
    out = []
    for i, (text, p) in enumerate(zip(shown, products)):
        bad = [k for k in ("contradicted", "unsupported", "agreement") if measures[k][i]]
        if bad:
            out.append({"request": request, "title": p.title, "shown": text, "flags": bad})
    return out


def _sample(text: str, photo: str | None, reply, contrasts, raw: list[str | None]) -> dict:
    cards = []
    for s, c, r in zip(reply.products, contrasts, raw):
        p = s.product
        facts = ", ".join(x for x in (p.base_colour, p.article_type, p.gender, p.usage,
                                      f"${p.price:.2f}" if p.price is not None else None) if x)
        cards.append({"title": p.title, "facts": facts, "contrasts": [x.text for x in c], "model": r,
                      "shown": s.explanation.text})
    return {"request": text, "photo": photo, "lead": reply.text, "cards": cards}


def samples_markdown(samples: list[dict]) -> str:
    """The sampled replies, for a person to read."""
    lines = ["# Sampled replies (explanations), held-out test requests", ""]
    for n, s in enumerate(samples, 1):
        lines += [f"## {n}. {s['request']!r}" + (f" + photo of {s['photo']}" if s["photo"] else ""), "",
                  f"Lead: {s['lead']}", ""]
        for c in s["cards"]:
            lines.append(f"* **{c['title']}** ({c['facts']}; sets apart: {'; '.join(c['contrasts']) or '-'})")
            lines.append(f"  * model: {c['model'] or '-'}")
            lines.append(f"  * shown: {c['shown']}")
        lines.append("")
    return "\n".join(lines)
