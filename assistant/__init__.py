"""The shopping assistant: the public API for callers (the UI, agents, scripts).

>>> from assistant import Settings, build_assistant, load_parts
>>> shop = build_assistant(load_parts(Settings()))
>>> session = shop.new_session(user="ana")
>>> reply = session.send("black sneakers for women under 50")

Dependencies flow one way: ``ui -> assistant -> (retrieval, adapters)``.
"""

from assistant.core import Assistant, Session, UserProfile
from assistant.replies import Reply

__all__ = ["Assistant", "Reply", "Session", "UserProfile"]
