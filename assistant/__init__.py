"""The shopping assistant: settings, wiring, the command line and (later) conversations.

Dependencies flow one way: ``ui -> assistant -> (retrieval, adapters)``.
"""
