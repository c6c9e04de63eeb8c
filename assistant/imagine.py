"""Imagine, then search: "show me what I mean, then find me the closest real product".

The generator makes an image of what the shopper describes; that image becomes the query to
the product search. With the offline default (the compositor cannot imagine) or when the
generator fails, the description itself is searched as text, and the result says which
query was used and why, so the conversation goes on. The search is passed in as a callable
``search(text, image) -> list`` (the retrieval layer's API), keeping this module free of
retrieval imports.
"""

from __future__ import annotations

import base64
import io
import logging
from dataclasses import asdict, dataclass, field, is_dataclass
from typing import Callable, Literal

from PIL import Image

from adapters.generation.base import GeneratedImage, GenerationError, ImageGenerator
from adapters.imaging import ImageError
from adapters.output.adaptor import ProductRef, description_from_prompt, parse_image_request
from adapters.output.request import ImageGenRequest, RequestError

logger = logging.getLogger(__name__)

SearchFn = Callable[[str | None, Image.Image | None], list]
NOT_A_PRODUCT = ("The embedded catalog model only draws the kinds of products this shop sells (clothes, shoes, "
                 "bags, watches, jewellery...), and I can't tell which one '{what}' is. Name the kind, "
                 "e.g. 'imagine a green summer dress'.")


@dataclass(frozen=True)
class GeneratedPicture:
    """A picture made for the shopper (try-on, in-room, imagined), which backend made it, and,
    for "imagine", the closest real products found from it (or from its description)."""

    message: str  # always set: the picture's label, or what went wrong and how to fix it
    generated: GeneratedImage | None = field(default=None, repr=False)  # the image, its backend, label, request
    product_id: str | None = None  # the catalog product shown on the shopper / in the room
    products: list = field(default_factory=list)  # imagine: the closest real products (what ``search`` returns)
    query: Literal["image", "text"] | None = None  # imagine: what was searched
    query_text: str | None = None  # the text searched (query == "text")

    @property
    def image(self) -> Image.Image | None:
        return self.generated.image if self.generated is not None else None

    @property
    def backend(self) -> str | None:
        return self.generated.backend if self.generated is not None else None

    def to_dict(self) -> dict:
        out = {"message": self.message, "backend": self.backend, "product_id": self.product_id, "image_png_base64": None,
               "products": [asdict(p) if is_dataclass(p) else p for p in self.products], "query": self.query}
        if self.image is not None:
            buf = io.BytesIO()
            self.image.save(buf, format="PNG")
            out["image_png_base64"] = base64.b64encode(buf.getvalue()).decode()
        return out


def imagine_then_search(request: ImageGenRequest, generator: ImageGenerator, search: SearchFn,
                        narrow: Callable[[str], str | None] | None = None) -> GeneratedPicture:
    """Generate the imagined item, then search with the image and the description together (the
    description alone when no image could be made). ``narrow``: the description's kind of
    product ("Dresses for Women"), searched with the picture when nothing has all of the words."""
    if request.mode != "imagine":
        raise RequestError(f"imagine-then-search needs an 'imagine' request, not {request.mode!r}")
    text = description_from_prompt(request.prompt) if request.prompt else None
    try:
        generated = generator.generate(request)
    except GenerationError as exc:
        logger.warning("generator %s failed: %s", getattr(generator, "name", generator), exc)
        generated, failure = None, f"the image could not be made ({exc})"
    else:
        failure = None
    if generated is not None and generated.image is not None:
        # the picture and the words together: the words' filters (type, colour, who, budget) hold,
        # the picture orders what passes them
        hits = list(search(text, generated.image))
        within = f", within what you asked for ('{text}')" if text else ""
        tail = f"Real products found from the imagined picture{within}:"
        query = "image+text" if text else "image"
        kind = narrow(text) if not hits and text and narrow is not None else None
        if kind:  # nothing has all of it: the same kind of product, nearest the picture
            hits = list(search(kind, generated.image))
            tail = f"Nothing in the shop has all of '{text}'; here are the {kind} nearest the imagined picture:"
        if not hits and text:  # still nothing: the picture alone finds the nearest
            hits, query = list(search(None, generated.image)), "image"
            tail = f"Nothing in the shop matches all of '{text}'; the real products nearest the imagined picture:"
        note = f"{generated.label}. {tail}"
        return GeneratedPicture(note, generated, products=hits, query=query, query_text=text)
    if not text:
        raise RequestError("nothing to search: the image could not be made and the request has no description")
    reason = failure or (generated.label if generated is not None else "no image")
    hits = search(text, None)
    return GeneratedPicture(f"{reason}. Products matching '{text}':", generated, products=list(hits), query="text",
                            query_text=text)


def cannot_draw(description: str) -> str:
    """What the shopper is told when the catalog model is asked for no product it knows."""
    if not description.strip():
        return "Say what to imagine, e.g. 'imagine a green summer dress'."
    return NOT_A_PRODUCT.format(what=description.strip())


def names_a_kind(parser, description: str) -> bool:
    """Whether the words name a kind of product the catalog has (what a model trained on the
    catalog can draw): an article type, sub- or master category, read or inferred by ``parser``
    (the shop's request reader)."""
    q = parser.parse(description)
    return any(getattr(f, facet) for f in (q.filter, q.soft)
               for facet in ("article_types", "sub_categories", "master_categories"))


def product_ref(product) -> ProductRef:
    """A retrieval catalog ``Product`` (or anything with its fields) as the output adaptor's ProductRef."""
    return ProductRef(id=product.id, title=product.title, colour=product.base_colour,
                      article_type=product.article_type, gender=product.gender, image_path=product.image,
                      usage=getattr(product, "usage", None))


def respond_to_image_request(text: str, product: ProductRef | None, photo: str | None,
                             generator: ImageGenerator, search: SearchFn | None = None,
                             draws: Callable[[str], bool] | None = None,
                             narrow: Callable[[str], str | None] | None = None, **options) -> GeneratedPicture | None:
    """The image part of a chat turn, or None when ``text`` asks for no image.

    Bad input (no product or photo, a mask that does not fit, an unreadable photo, a request
    out of range) and generator failures become a message, never an exception, so the
    conversation goes on.
    """
    try:
        request = parse_image_request(text, product, photo, **options)
        if request is None:
            return None
        if request.mode == "imagine" and not request.photo and draws is not None:
            wanted = description_from_prompt(request.prompt) if request.prompt else ""
            if not draws(wanted):
                return GeneratedPicture(cannot_draw(wanted))
        if request.mode == "imagine" and search is not None:
            return imagine_then_search(request, generator, search, narrow)
        result = generator.generate(request)
    except (RequestError, ImageError) as exc:
        return GeneratedPicture(f"I can't make that picture yet: {exc}")
    except GenerationError as exc:
        return GeneratedPicture(f"The image generator failed: {exc}")
    return GeneratedPicture(result.label, result, product.id if product else None)


def projected_embeds(request: ImageGenRequest, projector_dir: str, text: str, device: str = "cpu") -> ImageGenRequest:
    """``request`` conditioned on the learned path: the LLM's hidden states over ``text`` through
    the trained output projector (SmolLM2's, or the tiny random-init test LLM named in the folder)."""
    import dataclasses

    import torch

    from adapters.output.projector import LLMPromptEncoder, llm_request_states, load_output_projector, projector_meta

    meta = projector_meta(projector_dir)
    if meta.get("llm") != "tiny":
        emb = LLMPromptEncoder(projector_dir)([description_from_prompt(request.prompt) or text])
        return dataclasses.replace(request, prompt_embeds=emb.numpy())
    from adapters.output.tiny_llm import build_tiny_llm  # the random-init test LLM, rebuilt from its seed

    projector = load_output_projector(projector_dir, device)
    tok, llm = build_tiny_llm(seed=meta.get("llm_seed", 0))
    hidden, mask = llm_request_states(llm.to(device).eval(), tok, [text], device=device)
    with torch.no_grad():
        emb = projector(hidden, mask).cpu().numpy()
    return dataclasses.replace(request, prompt_embeds=emb)
