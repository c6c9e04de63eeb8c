"""Catalog reading, the Chroma product store, query parsing and multimodal search.

Nothing here imports ``adapters`` or ``assistant``: embedders are passed in as objects
that satisfy :class:`retrieval.store.Embedder`.
"""
