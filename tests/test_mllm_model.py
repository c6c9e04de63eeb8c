"""A tiny random-init LLaVA with the registered EfficientNet tower: forward, generate,
save/load, freezing plans, LoRA placement, the cached-feature path, the runner."""

from __future__ import annotations

import pytest
import torch
from PIL import Image
from transformers import LlavaForConditionalGeneration

from adapters.loading.mllm import LoadedMLLM
from adapters.mllm.adapter_io import AdapterManifest, load_projector, read_manifest, save_projector, write_manifest
from adapters.mllm.config import MLLMConfig
from adapters.mllm.modeling_effnet import register_effnet
from adapters.mllm.runner import ChatMessage, MLLMRunner
from finetune.mllm_steps import splice_features
from finetune.train_lora import LM_ATTENTION_REGEX, apply_lora, save_lora
from finetune.train_projector import freeze_for_stage1
from finetune.trainer import TrainConfig
from mllm_tiny import tiny_llava

RED = Image.new("RGB", (30, 40), (200, 20, 20))


@pytest.fixture()
def tiny():
    return tiny_llava()


def _inputs(processor, n_images=1):
    prompt = processor.apply_chat_template(
        [{"role": "user", "content": [{"type": "image"}] * n_images + [{"type": "text", "text": "describe this"}]}])
    return processor(prompt, images=[RED] * n_images)


def test_config_composes_tower_and_projector_dims(tiny):
    model, processor = tiny
    assert type(model.model.vision_tower).__name__ == "EffnetVisionModel"
    proj = model.model.multi_modal_projector
    assert proj.linear_1.in_features == 1280 + 8 and proj.linear_2.out_features == 32
    assert model.config.vision_feature_select_strategy == "full"


def test_forward_and_generate(tiny):
    model, processor = tiny
    enc = _inputs(processor)
    out = model(**enc)
    assert out.logits.shape == (1, enc["input_ids"].shape[1], model.config.text_config.vocab_size)
    gen = model.generate(**enc, max_new_tokens=4, do_sample=False, min_new_tokens=4)
    assert gen.shape[1] == enc["input_ids"].shape[1] + 4


def test_image_changes_the_output(tiny):
    model, processor = tiny
    a = _inputs(processor)
    b = dict(a, pixel_values=processor.image_processor([Image.new("RGB", (30, 40), (10, 10, 240))]))
    assert not torch.allclose(model(**a).logits, model(**b).logits)


def test_image_token_count_mismatch_raises_in_model(tiny):
    model, processor = tiny
    enc = _inputs(processor)
    ids = enc["input_ids"].clone()
    ids[0, (ids[0] == processor.image_token_id).nonzero()[0]] = 5  # one slot fewer than features
    with pytest.raises(ValueError, match="do not match"):
        model(input_ids=ids, attention_mask=enc["attention_mask"], pixel_values=enc["pixel_values"])


def test_save_load_round_trip_exact(tiny, tmp_path):
    model, processor = tiny
    enc = _inputs(processor)
    model.save_pretrained(tmp_path)
    register_effnet()
    again = LlavaForConditionalGeneration.from_pretrained(tmp_path).eval()
    assert torch.equal(model(**enc).logits, again(**enc).logits)


def test_projector_save_load_and_manifest(tiny, tmp_path):
    model, processor = tiny
    save_projector(model, tmp_path)
    write_manifest(tmp_path, AdapterManifest.for_tower("projector", model.model.vision_tower.config))
    other, _ = tiny_llava(seed=1)
    load_projector(other, tmp_path)
    for a, b in zip(model.model.multi_modal_projector.parameters(), other.model.multi_modal_projector.parameters()):
        assert torch.equal(a, b)
    m = read_manifest(tmp_path)
    assert m.stage == "projector" and m.tower_config().num_image_tokens == 4
    with pytest.raises(ValueError, match="unknown stage"):
        AdapterManifest(stage="full")


def test_stage1_only_projector_gets_gradients(tiny):
    model, processor = tiny
    params = freeze_for_stage1(model)
    enc = _inputs(processor)
    model(**enc, labels=enc["input_ids"]).loss.backward()
    proj_ids = {id(p) for p in params}
    assert params and all(p.grad is not None and p.grad.abs().sum() > 0 for p in params)
    for name, p in model.named_parameters():
        if id(p) not in proj_ids:
            assert not p.requires_grad and p.grad is None, name


def test_cached_feature_path_equals_pixel_path(tiny):
    model, processor = tiny
    enc = _inputs(processor)
    with torch.no_grad():
        feats = model.model.vision_tower(enc["pixel_values"]).last_hidden_state
        embeds = splice_features(model, enc["input_ids"], feats, processor.image_token_id)
        via_cache = model(inputs_embeds=embeds, attention_mask=enc["attention_mask"]).logits
        via_pixels = model(**enc).logits
    assert torch.allclose(via_cache, via_pixels, atol=1e-5)
    with pytest.raises(ValueError, match="do not match"):
        splice_features(model, enc["input_ids"], feats[:, :3], processor.image_token_id)


def test_lora_targets_only_the_language_model(tiny):
    model, _ = tiny
    peft_model = apply_lora(model, TrainConfig(lora_r=4, lora_alpha=8))
    lora_names = [n for n, _ in peft_model.named_modules() if n.endswith(".lora_A")]
    assert len(lora_names) == 2 * 4  # 2 layers x q/k/v/o
    assert all("language_model" in n for n in lora_names)
    trainable = [n for n, p in peft_model.named_parameters() if p.requires_grad]
    assert trainable and all("lora_" in n or "multi_modal_projector" in n for n in trainable)
    assert not any("vision_tower" in n for n in trainable)
    assert LM_ATTENTION_REGEX.startswith(".*language_model")


def test_lora_save_load_merge_same_outputs(tmp_path):
    from peft import PeftModel

    model, processor = tiny_llava()
    enc = _inputs(processor)
    peft_model = apply_lora(model, TrainConfig(lora_r=4, lora_alpha=8, lora_dropout=0.0))
    with torch.no_grad():  # make the adapter non-trivial (B starts at zero)
        for n, p in peft_model.named_parameters():
            if "lora_B" in n or "modules_to_save" in n:
                p.add_(0.05 * torch.randn_like(p))
    peft_model.eval()
    with torch.no_grad():
        expected = peft_model(**enc).logits
    save_lora(peft_model, tmp_path)
    base, _ = tiny_llava()  # same seed: same base weights
    with torch.no_grad():
        assert not torch.allclose(base(**enc).logits, expected, atol=1e-4)
        loaded = PeftModel.from_pretrained(base, str(tmp_path / "lora")).eval()
        assert torch.allclose(loaded(**enc).logits, expected, atol=1e-5)
        merged = loaded.merge_and_unload()
        assert torch.allclose(merged(**enc).logits, expected, atol=1e-4)


def _runner(model, processor) -> MLLMRunner:
    cfg = MLLMConfig(adapter_path=None, max_new_tokens=5, system_prompt="you are a shopping assistant")
    return MLLMRunner(LoadedMLLM(model, processor, processor.tokenizer, torch.device("cpu"), "embedded", "none", cfg))


def test_runner_generate_is_deterministic_and_stream_matches(tiny):
    runner = _runner(*tiny)
    msgs = [ChatMessage("user", "describe this product", image=RED)]
    a = runner.generate(msgs, max_new_tokens=5, seed=3)
    assert a == runner.generate(msgs, max_new_tokens=5, seed=3)
    assert "".join(runner.stream(msgs, max_new_tokens=5, seed=3)).strip() == a
    sampled = runner.generate(msgs, max_new_tokens=5, seed=7, temperature=1.0)
    assert sampled == runner.generate(msgs, max_new_tokens=5, seed=7, temperature=1.0)


def test_runner_bad_input(tiny):
    runner = _runner(*tiny)
    with pytest.raises(ValueError, match="last message"):
        runner.generate([ChatMessage("assistant", "hi")])
    with pytest.raises(ValueError, match="only user messages"):
        ChatMessage("system", "x", image=RED)
    with pytest.raises(ValueError, match="not an image"):
        runner.generate([ChatMessage("user", "describe", image=b"garbage")])
    # a literal marker typed by the user is not an image slot: no crash, no image needed
    inputs = runner.build_inputs([ChatMessage("user", "what is <image> this")])
    assert "pixel_values" not in inputs
    assert int((inputs["input_ids"] == runner.image_token_id).sum()) == 0


def test_mllm_config_validation(tmp_path):
    with pytest.raises(FileNotFoundError):
        MLLMConfig(base=str(tmp_path / "nope"))
    with pytest.raises(ValueError, match="dtype"):
        MLLMConfig(dtype="int8")
    with pytest.raises(ValueError, match="max_new_tokens"):
        MLLMConfig(max_new_tokens=0)


def test_answer_only_logits_loss_equals_full_loss(tiny):
    from finetune.data_mllm import IGNORE_INDEX
    from finetune.mllm_steps import answer_loss

    model, processor = tiny
    enc = _inputs(processor)
    labels = enc["input_ids"].clone()
    labels[:, :8] = IGNORE_INDEX
    with torch.no_grad():
        full = model(**enc, labels=labels).loss
        embeds = splice_features(model, enc["input_ids"],
                                 model.model.vision_tower(enc["pixel_values"]).last_hidden_state,
                                 processor.image_token_id)
        fast = answer_loss(model, embeds, enc["attention_mask"], labels)
    assert torch.allclose(full, fast, atol=1e-5)


HF_TEMPLATE = (
    "{% for message in messages %}<|im_start|>{{ message['role'] }}\n{% if message['content'] is string %}"
    "{{ message['content'] }}{% else %}{% for part in message['content'] %}{% if part['type'] == 'image' %}<image>\n"
    "{% else %}{{ part['text'] }}{% endif %}{% endfor %}{% endif %}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)


def test_loader_takes_a_local_llava_hf_folder(tmp_path):
    """The non-embedded route: a (tiny, CLIP-tower) llava-hf checkpoint folder + its processor."""
    from transformers import CLIPImageProcessorPil, CLIPVisionConfig, LlamaConfig, LlavaConfig, LlavaProcessor

    from adapters.loading.mllm import load_mllm
    from mllm_tiny import tiny_tokenizer

    tok = tiny_tokenizer()
    cfg = LlavaConfig(
        vision_config=CLIPVisionConfig(hidden_size=16, intermediate_size=32, num_hidden_layers=2,
                                       num_attention_heads=2, image_size=8, patch_size=2, projection_dim=16),
        text_config=LlamaConfig(vocab_size=len(tok), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                                num_attention_heads=4, num_key_value_heads=2),
        image_token_id=tok.convert_tokens_to_ids("<image>"), vision_feature_select_strategy="default",
        vision_feature_layer=-1, image_seq_length=16)
    LlavaForConditionalGeneration(cfg).save_pretrained(tmp_path)
    LlavaProcessor(image_processor=CLIPImageProcessorPil(size={"shortest_edge": 8}, crop_size={"height": 8, "width": 8}),
                   tokenizer=tok, patch_size=2, vision_feature_select_strategy="default", num_additional_image_tokens=1,
                   chat_template=HF_TEMPLATE, image_token="<image>").save_pretrained(tmp_path)
    loaded = load_mllm(MLLMConfig(base=str(tmp_path), adapter_path=None, device="cpu", max_new_tokens=3))
    assert loaded.kind == "llava-hf" and loaded.stage == "none"
    runner = MLLMRunner(loaded)
    msgs = [ChatMessage("user", "describe this", image=Image.new("RGB", (20, 30)))]
    assert runner.generate(msgs) == runner.generate(msgs)
    assert int((runner.build_inputs(msgs)["input_ids"] == cfg.image_token_id).sum()) == 16


def test_loader_refuses_bad_adapter_folders_before_loading(tmp_path):
    from adapters.loading.mllm import load_mllm

    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_mllm(MLLMConfig(adapter_path=str(tmp_path / "missing"), device="cpu"))
    (tmp_path / "projector.safetensors").write_bytes(b"x")
    with pytest.raises(FileNotFoundError, match="no mllm_adapter.json"):
        load_mllm(MLLMConfig(adapter_path=str(tmp_path), device="cpu"))
    (tmp_path / "mllm_adapter.json").write_text('{"stage": "lora", "base": "/somewhere/else"}')
    with pytest.raises(ValueError, match="trained for base"):
        load_mllm(MLLMConfig(adapter_path=str(tmp_path), device="cpu"))
