"""Adaptors and model-facing code: encoders, the image-text alignment adaptor, projectors.

Nothing here imports ``retrieval`` or ``assistant``; model weights are loaded only in
:mod:`adapters.loading`.
"""
