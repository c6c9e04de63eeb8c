"""Offline, deterministic test defaults and shared fixtures."""

from __future__ import annotations

from adapters.offline import apply_offline_defaults


apply_offline_defaults()  # before any model library is imported

import os  # noqa: E402
from pathlib import Path  # noqa: E402

import pytest  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
SAMPLE_CATALOG = REPO / "retrieval" / "sample_catalog" / "products.csv"
SLOW_ENV = "SHOPASSIST_SLOW"


def pytest_collection_modifyitems(config, items):
    """pyproject's ``slow`` marker: such tests run only when SHOPASSIST_SLOW=1, else they are
    skipped with a reason that says how to run them."""
    if os.environ.get(SLOW_ENV) == "1":
        return
    skip = pytest.mark.skip(reason=f"slow: off unless {SLOW_ENV}=1")
    for item in items:
        if item.get_closest_marker("slow") is not None:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def sample_catalog_path() -> Path:
    return SAMPLE_CATALOG


@pytest.fixture(scope="session")
def vocab():
    """The sample catalog's vocabulary (the request reader's tables are built on it)."""
    from retrieval.catalog import read_catalog
    from retrieval.query_parser import Vocabulary

    return Vocabulary.from_products(read_catalog(SAMPLE_CATALOG).products)


@pytest.fixture(scope="session")
def reader(vocab):
    """The request reader over the sample catalog's vocabulary."""
    from retrieval.reader import RequestReader

    return RequestReader(vocab)


@pytest.fixture(autouse=True)
def _seed():
    import torch

    torch.manual_seed(0)
    yield


@pytest.fixture(scope="module")
def one_torch_thread():
    """Tiny models run far faster on one thread than on two oversubscribed shared cores."""
    import torch

    old = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(old)
