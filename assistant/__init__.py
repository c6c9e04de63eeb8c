"""The shopping assistant: the public API for callers (the UI, agents, scripts).

>>> from assistant import Settings, build_assistant, load_parts
>>> shop = build_assistant(load_parts(Settings()))      # or load_assistant()
>>> session = shop.new_session(user="ana")
>>> reply = session.send("black sneakers for women under 50")

Dependencies flow one way: ``ui -> assistant -> (retrieval, adapters)``.

The names below are imported when first used (PEP 562), not with the package: ``shopassist``
and ``python -m assistant`` import this package first, and a command that needs no model (the
``ui`` launcher, ``--help``) should not pay seconds and hundreds of MB for torch and the store.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # what each name is, for readers and type checkers; the imports happen in __getattr__
    from assistant.core import Assistant, ImageDescription
    from assistant.imagine import GeneratedPicture
    from assistant.pipeline import DEFAULT_STAGES, Stages
    from assistant.replies import Reply, ShownProduct
    from assistant.services import build_assistant, load_assistant, load_parts
    from assistant.session import REFERENCE, WORDS, Session
    from assistant.settings import Settings
    from assistant.shop import AssistantConfig, Parts
    from assistant.state import UserProfile
    from assistant.turn import TurnHandle

_HOMES = {
    "assistant.core": ("Assistant", "ImageDescription"),
    "assistant.imagine": ("GeneratedPicture",),
    "assistant.pipeline": ("DEFAULT_STAGES", "Stages"),
    "assistant.replies": ("Reply", "ShownProduct"),
    "assistant.services": ("build_assistant", "load_assistant", "load_parts"),
    "assistant.session": ("REFERENCE", "WORDS", "Session"),
    "assistant.settings": ("Settings",),
    "assistant.shop": ("AssistantConfig", "Parts"),
    "assistant.state": ("UserProfile",),
    "assistant.turn": ("TurnHandle",),
}
_HOME_OF = {name: module for module, names in _HOMES.items() for name in names}

__all__ = sorted(_HOME_OF)


def __getattr__(name: str):
    module = _HOME_OF.get(name)
    if module is None:
        raise AttributeError(f"module 'assistant' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # once: later lookups do not come here
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
