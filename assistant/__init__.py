"""The shopping assistant: the public API for callers (the UI, agents, scripts).

>>> from assistant import Settings, build_assistant, load_parts
>>> shop = build_assistant(load_parts(Settings()))      # or load_assistant()
>>> session = shop.new_session(user="ana")
>>> reply = session.send("black sneakers for women under 50")

Dependencies flow one way: ``ui -> assistant -> (retrieval, adapters)``.
"""

from assistant.core import Assistant, ImageDescription
from assistant.imagine import GeneratedPicture
from assistant.pipeline import DEFAULT_STAGES, Stages
from assistant.replies import Reply, ShownProduct
from assistant.services import build_assistant, load_assistant, load_parts
from assistant.session import WORDS, Session
from assistant.settings import Settings
from assistant.shop import AssistantConfig, Parts
from assistant.state import UserProfile
from assistant.turn import TurnHandle

__all__ = ["DEFAULT_STAGES", "WORDS", "Assistant", "AssistantConfig", "GeneratedPicture", "ImageDescription", "Parts",
           "Reply", "Session", "Settings", "ShownProduct", "Stages", "TurnHandle", "UserProfile", "build_assistant",
           "load_assistant", "load_parts"]
