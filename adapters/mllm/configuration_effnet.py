"""Config of the EfficientNet-Lite0 vision tower, registered so ``LlavaConfig`` composes it."""

from __future__ import annotations

from transformers import PretrainedConfig

EFFNET_MODEL_TYPE = "shopassist_effnet_lite0"
EFFNET_CHANNELS = 1280  # extract_features() width of EfficientNet-Lite0
STRIDE = 32  # total downsampling of extract_features()

# Input size (height, width). Catalog shots are 3:4 portraits (60x80 in the sample
# catalog), so a 160x128 canvas wastes almost nothing on padding and gives a 5x4 map:
# 20 image tokens. Measured on 2 cores: 224x224 costs ~62 ms/image and 49 tokens; 160x160
# about half that and 25 tokens; 160x128 is a little cheaper again, and the LLM prefill
# (the larger cost) shrinks with the token count. Sources are only 80 px tall, so a
# bigger canvas adds no detail.
DEFAULT_IMAGE_SIZE = (160, 128)


class EffnetVisionConfig(PretrainedConfig):
    """EfficientNet-Lite0 patch features (+ an optional per-patch RGB histogram).

    ``colour_bins``: ImageNet CNN features barely encode colour (the retrieval encoder
    found the same), so each 32x32 cell's feature is concatenated with a square-rooted
    ``colour_bins**3`` RGB histogram of its pixels. 0 turns it off (pure 1280-d tokens).
    ``tower``: which backbone weights the projector was trained on ("imagenet" or a tuned
    tower's id); loading refuses a tower folder whose weights do not have that id.
    """

    model_type = EFFNET_MODEL_TYPE

    def __init__(self, image_height: int = DEFAULT_IMAGE_SIZE[0], image_width: int = DEFAULT_IMAGE_SIZE[1],
                 colour_bins: int = 4, tower: str = "imagenet", **kwargs):
        if image_height % STRIDE or image_width % STRIDE or image_height <= 0 or image_width <= 0:
            raise ValueError(f"image size {image_height}x{image_width} must be positive multiples of {STRIDE}")
        if not 0 <= colour_bins <= 8:
            raise ValueError("colour_bins must be in 0..8")
        self.image_height = image_height
        self.image_width = image_width
        self.colour_bins = colour_bins
        self.tower = tower  # "imagenet" or the id of the catalog-tuned weights (adapters.tower.tower_id)
        self.patch_size = STRIDE
        self.hidden_size = EFFNET_CHANNELS + colour_bins**3
        super().__init__(**kwargs)

    @property
    def num_image_tokens(self) -> int:
        return (self.image_height // STRIDE) * (self.image_width // STRIDE)
