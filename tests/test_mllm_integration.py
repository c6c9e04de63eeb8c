"""The real packaged weights: EfficientNet-Lite0 + SmolLM2-135M + the shipped adaptors."""

from __future__ import annotations

import pytest

from retrieval.catalog import SAMPLE_CATALOG


@pytest.mark.integration
def test_real_model_short_generation_with_a_catalog_image():
    from adapters.loading.mllm import load_mllm
    from adapters.mllm.config import MLLMConfig
    from adapters.mllm.runner import ChatMessage, MLLMRunner

    loaded = load_mllm(MLLMConfig(device="cpu", max_new_tokens=8))
    assert loaded.kind == "embedded"
    assert loaded.model.config.image_seq_length == 20
    runner = MLLMRunner(loaded)
    image = SAMPLE_CATALOG.parent / "images" / "25670.jpg"
    msgs = [ChatMessage("user", "Describe this product.", image=str(image))]
    first = runner.generate(msgs, max_new_tokens=8)
    assert isinstance(first, str) and first.strip()
    assert "".join(runner.stream(msgs, max_new_tokens=8)).strip() == first  # deterministic, same path
    with pytest.raises(ValueError, match="no image was given"):
        loaded.processor("<image> describe")
