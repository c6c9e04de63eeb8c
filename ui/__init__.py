"""Streamlit chat UI (see issue 6)."""
