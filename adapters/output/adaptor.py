"""From a shopper's turn to an :class:`ImageGenRequest`: pure functions, no I/O.

``detect_mode`` recognises the three intents ("try it on" / "see it on me", "in my
living room", "imagine ..." / "show me what ... looks like"); ``build_request`` writes the
prompt and negative prompt from the product's real catalog attributes plus the shopper's
own words; ``parse_image_request`` does both and returns None when the turn asks for no
image. The product arrives as a :class:`ProductRef` (adapters never import retrieval; the
assistant layer converts its catalog records).
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

from adapters.output.request import GenerationMode, ImageGenRequest, RequestError

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ProductRef:
    """What the output adaptor needs to know about a catalog product."""

    id: str
    title: str
    colour: str | None = None
    article_type: str | None = None
    gender: str | None = None
    image_path: str | None = None
    usage: str | None = None

    def describe(self) -> str:
        """``"blue Tshirts (Men), Nike Men Blue T-shirt"``: attributes first, then the title."""
        head = " ".join(a for a in (self.colour, self.article_type) if a).strip().lower()
        who = f" ({self.gender})" if self.gender else ""
        return f"{head}{who}, {self.title}" if head else self.title


_PRONOUN = r"(?:it|this|that|them|these|those|one)"
_TRY_ON = re.compile(
    rf"\btry(?:ing)?\s+{_PRONOUN}\s+on\b|\btry\s+on\b|\bon\s+me\b|\bon\s+my\s+(?:body|photo|picture|selfie)\b"
    # the shopper seeing themself in it; "he'd wear it to the gym" says what for, not "show me"
    rf"|\b(?:me|myself)\s+(?:in|wearing)\s+{_PRONOUN}\b|\bhow\s+(?:would|will|do)\s+i\s+look\b",
    re.I)
_ROOMS = (r"(?:living\s*room|bed\s*room|dining\s*room|room|kitchen|office|study|hall(?:way)?|"
          r"lounge|bathroom|home|house|flat|apartment|space|place|wall|corner|nursery)")
_IN_ROOM = re.compile(rf"\b(?:in|into|on|for)\s+(?:my|our|the)\s+(?:\w+\s+)?{_ROOMS}\b", re.I)
_IMAGINE = re.compile(
    r"\b(?:imagine|visuali[sz]e|picture|sketch|draw|design|generate|render|dream\s+up)\b"
    r"|\bshow\s+me\s+(?:what|how)\b|\bwhat\s+(?:would|does|will)\b.*\blooks?\s+like\b", re.I)
_SHOW_WHAT = re.compile(
    r"\bshow\s+me\s+(?:what|how)\s+(?P<d>.+?)\s+(?:would\s+|might\s+|could\s+)?(?:looks?|look)\s*(?:like)?\b", re.I)
_IMAGINE_LEAD = re.compile(
    r"^.*?\b(?:imagine|visuali[sz]e|picture|sketch|draw|design|generate|render|dream\s+up)\b"
    r"(?:\s+(?:me|for\s+me|an?\s+image\s+of|a\s+picture\s+of|a\s+photo\s+of))*\s*[:,]?\s*", re.I)
_FILLER = re.compile(r"\b(?:please|can\s+you|could\s+you|would\s+you|i\s+want\s+to|i'?d\s+like\s+to|let\s+me)\b", re.I)

IMAGINE_TEMPLATE = "product photo of {desc}, on a plain white background, studio lighting, catalog style"
NEGATIVE_BASE = "blurry, low quality, lowres, jpeg artifacts, watermark, text, logo, deformed, distorted"
NEGATIVE_PERSON = "extra limbs, extra fingers, bad anatomy, disfigured face, cropped head"
NEGATIVE_ROOM = "floating object, wrong perspective, cluttered, warped walls"


def detect_mode(text: str) -> GenerationMode | None:
    """The image intent of ``text``: try_on, in_room, imagine, or None (no image asked for)."""
    if not text or not text.strip():
        return None
    if _TRY_ON.search(text):
        return "try_on"
    if _IN_ROOM.search(text) and (_IMAGINE.search(text) or re.search(r"\b(?:see|show|look|looks|fit|place|put)\b", text, re.I)):
        return "in_room"
    if _IMAGINE.search(text):
        return "imagine"
    return None


def imagine_description(text: str) -> str:
    """The thing the shopper describes: "show me what X looks like" -> X; "imagine X" -> X."""
    m = _SHOW_WHAT.search(text)
    desc = m.group("d") if m else _IMAGINE_LEAD.sub("", text, count=1)
    desc = _FILLER.sub("", desc)
    desc = re.sub(r"\s+", " ", desc).strip(" ,.?!:;")
    return desc or text.strip(" ,.?!:;")


def description_from_prompt(prompt: str) -> str:
    """The shopper's description inside an ``imagine`` prompt (the prompt itself if not templated)."""
    head, _, tail = IMAGINE_TEMPLATE.partition("{desc}")
    if prompt.startswith(head) and prompt.endswith(tail) and len(prompt) > len(head) + len(tail):
        return prompt[len(head):len(prompt) - len(tail)]
    return prompt


def _extra_words(text: str, pattern: re.Pattern) -> str:
    """The shopper's words left after removing the intent phrase (e.g. "with the sleeves rolled up")."""
    rest = _FILLER.sub("", pattern.sub(" ", text))
    rest = re.sub(r"\b(?:and|but|so|then|see|show|me|how|it|this|that|looks?|would|could|can|i|you)\b", " ", rest, flags=re.I)
    rest = re.sub(r"\s+", " ", rest).strip(" ,.?!:;")
    return rest if len(rest.split()) >= 2 else ""


def build_prompts(mode: GenerationMode, text: str, product: ProductRef | None) -> tuple[str, str]:
    """(prompt, negative_prompt) from the product's attributes and the shopper's words."""
    if mode == "try_on":
        if product is None:
            raise RequestError("try_on needs the product to try on")
        extra = _extra_words(text, _TRY_ON)
        prompt = f"photo of a person wearing a {product.describe()}, realistic, natural light, sharp focus"
        negative = f"{NEGATIVE_BASE}, {NEGATIVE_PERSON}"
    elif mode == "in_room":
        if product is None:
            raise RequestError("in_room needs the product to place in the room")
        extra = _extra_words(text, _IN_ROOM)
        prompt = f"photo of a room interior with a {product.describe()}, realistic, natural light, correct perspective"
        negative = f"{NEGATIVE_BASE}, {NEGATIVE_ROOM}"
    else:
        extra = ""
        desc = imagine_description(text)
        if product is not None and re.search(rf"\b{_PRONOUN}\b", desc, re.I) and len(desc.split()) <= 4:
            # "imagine it in green" about the product in view: name the product, keep the words
            noun = (product.article_type or product.title).lower()
            desc = re.sub(rf"\b{_PRONOUN}\b", f"a {noun} like {product.title}", desc, count=1, flags=re.I)
        prompt = IMAGINE_TEMPLATE.format(desc=desc)
        negative = f"{NEGATIVE_BASE}, {NEGATIVE_PERSON}, busy background"
    if extra:
        prompt = f"{prompt}, {extra}"
    if product is not None and product.colour and mode != "imagine":
        negative = f"{negative}, wrong colour"
    return prompt, negative


def build_request(
    text: str,
    product: ProductRef | None = None,
    photo: str | None = None,
    *,
    mode: GenerationMode | None = None,
    mask: str | None = None,
    box: tuple[int, int, int, int] | None = None,
    seed: int = 0,
    width: int = 512,
    height: int = 512,
    num_inference_steps: int = 25,
    guidance_scale: float = 7.5,
    prompt_embeds=None,
) -> ImageGenRequest:
    """A validated request for ``text`` (mode given, or detected from the text).

    Raises:
        RequestError: no image intent and no mode, or a mode whose inputs are missing
            (the message is phrased so the assistant can pass it on to the shopper).
    """
    mode = mode or detect_mode(text)
    if mode is None:
        raise RequestError("the message does not ask for an image (try 'try it on', 'in my room' or 'imagine ...')")
    if mode in ("try_on", "in_room"):
        if product is None:
            raise RequestError(f"{mode} needs a product: pick one from the results first")
        if not product.image_path:
            raise RequestError(f"{mode} needs the product's reference image, and product {product.id} has none")
        if not photo:
            need = "a photo of yourself" if mode == "try_on" else "a photo of the room"
            raise RequestError(f"{mode} needs {need}: upload one and ask again")
    prompt, negative = build_prompts(mode, text, product)
    return ImageGenRequest(
        mode=mode, prompt=prompt, negative_prompt=negative,
        product_image=product.image_path if product is not None and mode != "imagine" else None,
        photo=photo, mask=mask if mode != "imagine" else None, box=box if mode != "imagine" else None, seed=seed,
        width=width, height=height, num_inference_steps=num_inference_steps,
        guidance_scale=guidance_scale, product_id=product.id if product is not None else None,
        article_type=product.article_type if product is not None else None,
        prompt_embeds=prompt_embeds,
    )


def parse_image_request(
    text: str, product: ProductRef | None = None, photo: str | None = None, **options
) -> ImageGenRequest | None:
    """The request ``text`` asks for, or None when it asks for no image.

    Raises RequestError when it asks for one but an input is missing (no product, no photo).
    """
    mode = detect_mode(text)
    if mode is None:
        return None
    return build_request(text, product, photo, mode=mode, **options)
