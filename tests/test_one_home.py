"""The pieces with one home: offline defaults, percentiles, prompts, the shop's words."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from adapters.mllm.config import MLLMConfig
from adapters.mllm.prompts import TRAINING_SYSTEM_PROMPT
from adapters.offline import OFFLINE_ENV, apply_offline_defaults
from retrieval.stats import percentile

REPO = Path(__file__).resolve().parents[1]


def test_offline_defaults_fill_in_but_never_override(monkeypatch):
    for key in OFFLINE_ENV:
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    apply_offline_defaults()
    assert os.environ["HF_HUB_OFFLINE"] == "0"
    assert all(os.environ[k] == v for k, v in OFFLINE_ENV.items() if k != "HF_HUB_OFFLINE")


def test_the_makefile_exports_the_same_offline_environment():
    exported = dict(re.findall(r"^export (\w+)=(\S+)$", (REPO / "Makefile").read_text(), re.M))
    assert {k: v for k, v in OFFLINE_ENV.items() if k in exported} == {k: exported[k] for k in exported
                                                                       if k in OFFLINE_ENV}
    assert {"HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"} <= exported.keys()


@pytest.mark.parametrize("values, q, expected", [
    ([3, 1, 2], 50, 2), ([4, 1, 3, 2], 50, 2), ([1, 2, 3, 4], 95, 4), (list(range(1, 101)), 95, 95),
    ([7], 95, 7), ([], 50, None), ([1, 2, 3, 4], 100, 4),
])
def test_percentile_by_nearest_rank(values, q, expected):
    assert percentile(values, q) == expected


def test_percentile_rounds_and_refuses_a_bad_rank():
    assert percentile([0.12345], 50, 2) == 0.12
    with pytest.raises(ValueError):
        percentile([1], 0)


def test_the_runner_defaults_to_the_prompt_the_adaptors_were_trained_with():
    assert MLLMConfig().system_prompt == TRAINING_SYSTEM_PROMPT == "You are a helpful shopping assistant."


def test_parser_and_claim_checker_read_the_same_tables():
    import assistant.claims as claims
    import retrieval.query_parser as parser
    import retrieval.vocabulary as words

    assert parser.COLOUR_SYNONYMS is words.COLOUR_SYNONYMS is claims.COLOUR_SYNONYMS
    assert parser.TYPE_SYNONYMS is words.TYPE_SYNONYMS is claims.TYPE_SYNONYMS
    assert parser.Vocabulary is words.Vocabulary
