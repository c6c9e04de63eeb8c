"""Training scripts: the alignment adaptor, the LLaVA projector (stage 1) and LoRA (stage 2)."""
