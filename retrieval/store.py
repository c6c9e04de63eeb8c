"""The Chroma product store.

Two collections per store, one vector each per product: ``<name>_text`` holds the
product text in the text encoder's space, ``<name>_image`` the product image in the
aligned image-text space (a product whose image is missing or unreadable gets its text's
aligned vector there, flagged ``has_image=False``). Both record the fingerprint of the
encoders and adaptor that built them; opening a store with a different one is refused.

The client comes from outside (:func:`make_client`): a local folder by default, a Chroma
server when a host is configured, an in-memory client in tests. Every call to Chroma goes
through :meth:`ProductStore._guard`: a server that cannot be reached is a
:class:`StoreUnavailableError` naming its host:port (the same store object works again once
the server is back: the HTTP client reconnects on the next call), and a local folder Chroma
cannot read is a :class:`StoreUnreadableError` that says how to rebuild it.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import chromadb
import httpx
import numpy as np
from chromadb.config import Settings as ChromaSettings
from chromadb.errors import ChromaError

from retrieval.catalog import Product
from retrieval.filtered_index import FilteredIndex, IndexHit, index_from_collection, saved_or_read

logger = logging.getLogger(__name__)

FINGERPRINT_KEY = "shopassist_fingerprint"
GENERATION_KEY = "shopassist_generation"  # changed before every write (see ProductStore._changing)
INDEX_DIR = "shopassist_index"  # saved filtered indexes, inside the store folder
MAX_BATCH = 2000  # below Chroma's max batch (5461 here)
# From this many products on, filtered queries go through a FilteredIndex (auto mode): below
# it Chroma's own filtered scan is fast enough. At the 9,000-product sample a filtered query took
# 3 ms from the index against 25 ms from Chroma (same process, loaded machine), and a turn makes
# up to five of them; the index is built once (2 s) and saved beside the store (0.01 s to reload).
INDEX_MIN_PRODUCTS = 5_000
_PRODUCT_FIELDS = ("title", "gender", "master_category", "sub_category", "article_type",
                   "base_colour", "usage", "price", "image")


class StoreMismatchError(ValueError):
    """The store was built by other encoders or another adaptor than the ones querying it."""


class StoreUnavailableError(ConnectionError):
    """The store (a Chroma server, a folder) cannot be reached right now."""


class StoreUnreadableError(OSError):
    """A local store folder that Chroma cannot read (a damaged database file)."""


# Messages of Chroma's local (Rust) backend when its SQLite file is damaged. They come as
# InternalError at open or, for a bad page met later, as InvalidArgumentError; never for a
# caller's bad argument. (A locked database is not one: waiting, not rebuilding, fixes that.)
_DAMAGED_MARKERS = ("database disk image is malformed", "file is not a database", "from the log store")


def _damaged(path: str, what: str, exc: Exception) -> StoreUnreadableError | None:
    """The error to raise instead of ``exc`` if it says the folder's database is damaged."""
    if not any(m in str(exc) for m in _DAMAGED_MARKERS):
        return None
    return StoreUnreadableError(
        f"store folder {path} cannot be read to {what} ({exc}); it was damaged (a disk error, a partial "
        f"copy). Move it aside and rebuild it: `mv {path} {path}.damaged && shopassist ingest CATALOG --store {path}`")


class Fingerprint(Protocol):
    shared_dim: int
    text_dim: int

    def to_json(self) -> str: ...
    def describe(self) -> str: ...


class Embedder(Protocol):
    """What the store and search need from the encoders (``adapters.ProductEncoder`` fits)."""

    fingerprint: Fingerprint

    def embed_images(self, images) -> np.ndarray: ...
    def embed_texts(self, texts) -> np.ndarray: ...
    def embed_texts_shared(self, texts) -> np.ndarray: ...
    def embed_texts_both(self, texts) -> tuple[np.ndarray, np.ndarray]: ...


@dataclass(frozen=True)
class StoreConfig:
    path: str = ".store"
    host: str | None = None
    port: int = 8000
    collection: str = "products"

    def __post_init__(self) -> None:
        if not 1 <= self.port <= 65535:
            raise ValueError(f"StoreConfig: port {self.port} out of range")
        if not self.collection.replace("-", "").replace("_", "").isalnum():
            raise ValueError(f"StoreConfig: collection name {self.collection!r} must be letters, digits, - or _")

    def describe(self) -> str:
        return f"chroma server {self.host}:{self.port}" if self.host else f"chroma folder {self.path}"


def make_client(cfg: StoreConfig):
    settings = ChromaSettings(anonymized_telemetry=False, allow_reset=False)
    if cfg.host:
        try:
            return chromadb.HttpClient(host=cfg.host, port=cfg.port, settings=settings)
        except Exception as exc:  # chromadb raises plain Exception/ValueError on connect
            raise StoreUnavailableError(f"cannot reach {cfg.describe()}: {exc}") from exc
    Path(cfg.path).mkdir(parents=True, exist_ok=True)
    try:
        return chromadb.PersistentClient(path=cfg.path, settings=settings)
    except ChromaError as exc:  # opening reads the SQLite file: a damaged one fails here
        damaged = _damaged(cfg.path, "open it", exc)
        if damaged is None:
            raise
        raise damaged from exc


def describe_client(client) -> str:
    """Where ``client`` keeps its data, for error messages: "chroma server H:P" or "chroma folder D"."""
    try:
        settings = client.get_settings()
    except AttributeError:  # a test double
        return "chroma store"
    if settings.chroma_server_host:
        return f"chroma server {settings.chroma_server_host}:{settings.chroma_server_http_port}"
    if settings.is_persistent:
        return f"chroma folder {settings.persist_directory}"
    return "in-memory chroma"


def drop_store(client, name: str) -> None:
    """Delete a store's collections, whatever built them (``ingest --rebuild``)."""
    existing = {getattr(c, "name", c) for c in client.list_collections()}
    for coll in (f"{name}_text", f"{name}_image"):
        if coll in existing:
            client.delete_collection(coll)


@dataclass(frozen=True)
class StoredMatch:
    product: Product
    similarity: float  # cosine similarity in the collection's space
    has_image: bool


def _metadata(p: Product, has_image: bool) -> dict:
    meta = {k: v for k in _PRODUCT_FIELDS if (v := getattr(p, k)) is not None}
    meta["content_hash"] = p.content_hash()
    meta["has_image"] = has_image
    return meta


def _product(pid: str, meta: dict) -> Product:
    return Product(id=pid, **{k: meta.get(k) for k in _PRODUCT_FIELDS if k != "title"}, title=meta.get("title", ""))


class ProductStore:
    """``filtered_index``: "auto" answers filtered queries from an in-memory
    :class:`~retrieval.filtered_index.FilteredIndex` once the store holds ``INDEX_MIN_PRODUCTS``;
    "on" always, "off" never (Chroma's own filtered query). Same answers either way."""

    def __init__(self, client, name: str, fingerprint: Fingerprint, *, create: bool = True,
                 filtered_index: str = "auto"):
        if filtered_index not in ("auto", "on", "off"):
            raise ValueError("ProductStore: filtered_index must be auto, on or off")
        self.client = client
        self.name = name
        self.fingerprint = fingerprint
        self.filtered_index = filtered_index
        self._indexes: dict[str, FilteredIndex | None] = {}
        self.location = describe_client(client)
        # the local folder Chroma keeps its files in (None: a server, in memory)
        self.folder = self.location.removeprefix("chroma folder ") if self.location.startswith("chroma folder ") else None
        self.index_root = Path(self.folder) / INDEX_DIR if self.folder else None  # saved filtered indexes
        self.text = self._collection(f"{name}_text", create)
        self.image = self._collection(f"{name}_image", create)

    @contextmanager
    def _guard(self, what: str) -> Iterator[None]:
        """Turn the transport's and the database's failures into the store's own errors."""
        try:
            yield
        except httpx.TransportError as exc:  # refused, reset, timed out: the server is down or restarting
            raise StoreUnavailableError(
                f"cannot reach {self.location} to {what} ({type(exc).__name__}: {exc}); "
                "is the server running? The same store works again once it is back"
            ) from exc
        except ChromaError as exc:
            if self.folder is not None:
                damaged = _damaged(self.folder, what, exc)
                if damaged is not None:
                    raise damaged from exc
            raise

    def _collection(self, name: str, create: bool):
        wanted = self.fingerprint.to_json()
        with self._guard("list its collections"):
            existing = {c.name if hasattr(c, "name") else c for c in self.client.list_collections()}
        if name in existing:
            with self._guard(f"open collection {name!r}"):
                coll = self.client.get_collection(name)
            built = (coll.metadata or {}).get(FINGERPRINT_KEY)
            if built != wanted:
                raise StoreMismatchError(
                    f"collection {name!r} was built with [{_describe(built)}] but is being queried with "
                    f"[{self.fingerprint.describe()}]; mixing them gives wrong answers. Rebuild it: "
                    "`shopassist ingest CATALOG --store DIR --rebuild` (or point the settings back at "
                    "the encoders that built it)"
                )
            return coll
        if not create:
            raise FileNotFoundError(f"no collection {name!r} in this store; build it with `shopassist ingest CATALOG --store DIR`")
        with self._guard(f"create collection {name!r}"):
            return self.client.create_collection(
                name, metadata={FINGERPRINT_KEY: wanted}, configuration={"hnsw": {"space": "cosine"}}
            )

    def count(self) -> int:
        with self._guard("count products"):
            return min(self.text.count(), self.image.count())

    def stored_hashes(self, ids: list[str]) -> dict[str, str]:
        """id -> content hash, for the ids present in *both* collections with the *same* hash.

        This is what "stored" means: a run killed between the two writes of a product (see
        :meth:`upsert`) leaves it in one collection only, or with an old hash in one of them,
        and the next run writes it again.
        """
        found: dict[str, str] = {}
        for start in range(0, len(ids), MAX_BATCH):
            chunk = ids[start:start + MAX_BATCH]
            with self._guard("read stored products"):
                text = self.text.get(ids=chunk, include=["metadatas"])
                image = self.image.get(ids=chunk, include=["metadatas"])
            img_hash = {i: m.get("content_hash") for i, m in zip(image["ids"], image["metadatas"])}
            for i, m in zip(text["ids"], text["metadatas"]):
                if img_hash.get(i) == m.get("content_hash"):
                    found[i] = m.get("content_hash")
        return found

    def upsert(self, products: list[Product], text_vecs: np.ndarray, image_vecs: np.ndarray,
               has_image: list[bool]) -> None:
        """Write a batch. The image collection is written first and the text one last, so a
        product counts as stored (both present, same hash) only once both writes landed."""
        if not (len(products) == len(text_vecs) == len(image_vecs) == len(has_image)):
            raise ValueError("upsert: products, vectors and flags differ in length")
        for start in range(0, len(products), MAX_BATCH):
            sl = slice(start, start + MAX_BATCH)
            ids = [p.id for p in products[sl]]
            metas = [_metadata(p, h) for p, h in zip(products[sl], has_image[sl])]
            docs = [p.document() for p in products[sl]]
            uris = [p.image or "" for p in products[sl]]
            self._indexes.clear()  # rebuilt on the next filtered query
            with self._guard("write products"):
                self._changing(self.image)
                self.image.upsert(ids=ids, embeddings=np.asarray(image_vecs[sl], np.float32), metadatas=metas,
                                  uris=uris)
                self._changing(self.text)
                self.text.upsert(ids=ids, embeddings=np.asarray(text_vecs[sl], np.float32), metadatas=metas,
                                 documents=docs)

    def delete(self, ids: list[str]) -> None:
        """Text first: from then on the product no longer counts as stored, whatever happens next."""
        for start in range(0, len(ids), MAX_BATCH):
            chunk = ids[start:start + MAX_BATCH]
            self._indexes.clear()
            with self._guard("delete products"):
                self._changing(self.text)
                self.text.delete(ids=chunk)
                self._changing(self.image)
                self.image.delete(ids=chunk)

    def _changing(self, coll) -> None:
        """Before a write to ``coll``: give it a new generation, so a filtered index saved before
        (by this process or another) no longer matches it. Marked first, written second: a
        kill in between costs a rebuild, never a stale index."""
        if self.index_root is None:
            return
        meta = {k: v for k, v in (coll.metadata or {}).items() if not k.startswith("hnsw:")}
        meta[GENERATION_KEY] = uuid.uuid4().hex
        coll.modify(metadata=meta)

    def all_ids(self, space: str = "text") -> list[str]:
        coll = self.image if space == "image" else self.text
        with self._guard("list product ids"):
            return coll.get(include=[])["ids"]

    def half_written_ids(self) -> list[str]:
        """Ids held by one collection only: left by a run killed between its two writes or deletes."""
        text, image = set(self.all_ids("text")), set(self.all_ids("image"))
        return sorted(text ^ image)

    def set_text_metadata(self, metadata: dict) -> None:
        with self._guard("update the store's metadata"):
            self.text.modify(metadata=metadata)

    def get(self, ids: list[str]) -> list[Product]:
        with self._guard("read products"):
            res = self.text.get(ids=ids, include=["metadatas"])
        by_id = {i: _product(i, m) for i, m in zip(res["ids"], res["metadatas"])}
        return [by_id[i] for i in ids if i in by_id]

    def get_vectors(self, ids: list[str], space: str = "image") -> dict[str, np.ndarray]:
        coll = self.image if space == "image" else self.text
        with self._guard("read vectors"):
            res = coll.get(ids=ids, include=["embeddings"])
        return {i: np.asarray(e, np.float32) for i, e in zip(res["ids"], res["embeddings"])}

    def query(self, vector: np.ndarray, *, space: str, where: dict | None, k: int) -> list[StoredMatch]:
        """Top ``k`` in ``space`` ("text" or "image") among products matching ``where``."""
        coll = self.image if space == "image" else self.text
        expected = self.fingerprint.shared_dim if space == "image" else self.fingerprint.text_dim
        vector = np.asarray(vector, np.float32).reshape(-1)
        if vector.shape[0] != expected:
            raise StoreMismatchError(f"query vector has {vector.shape[0]} dims; the {space} collection holds {expected}")
        index = self.index(space) if where else None
        if index is not None:
            plan, mask, _ = index.plan(where)
            if plan != "chroma":
                return self._indexed(coll, index, plan, mask, vector, k)
        with self._guard("search"):
            res = coll.query(query_embeddings=[vector], n_results=k, where=where,
                             include=["metadatas", "distances"])
        return [
            StoredMatch(_product(i, m), 1.0 - float(d), bool(m.get("has_image", True)))
            for i, m, d in zip(res["ids"][0], res["metadatas"][0], res["distances"][0])
        ]

    def index(self, space: str) -> FilteredIndex | None:
        """The in-memory filtered index of ``space``, built on first use (None: Chroma filters)."""
        if self.filtered_index == "off":
            return None
        if space not in self._indexes:
            coll = self.image if space == "image" else self.text
            with self._guard("read the store for its filtered index"):
                count = coll.count()
                small = self.filtered_index == "auto" and count < INDEX_MIN_PRODUCTS
                self._indexes[space] = None if small else self._saved_or_built(coll, count)
        return self._indexes[space]

    def _saved_or_built(self, coll, count: int) -> FilteredIndex:
        """The index saved next to the store while it still matches the collection (its id,
        generation and count), else one read from Chroma and saved for the next start."""
        if self.index_root is None:
            return index_from_collection(coll)
        current = self.client.get_collection(coll.name)  # another process may have written since we opened it
        stamp = {"collection": str(current.id), "generation": (current.metadata or {}).get(GENERATION_KEY),
                 "count": count}
        return saved_or_read(current, self.index_root / coll.name, stamp)

    def attach_index(self, space: str, index: FilteredIndex) -> None:
        """Use a prebuilt index for ``space`` (one built from the same records)."""
        self._indexes[space] = index

    def _indexed(self, coll, index: FilteredIndex, plan: str, mask, vector, k: int) -> list[StoredMatch]:
        hits: list[IndexHit] | None = None
        if plan == "overfetch":
            with self._guard("search"):
                res = coll.query(query_embeddings=[vector], n_results=index.overfetch_size(mask, k), include=[])
            hits = index.survivors(res["ids"][0], mask, vector, k)
        if hits is None:  # "exact", or too few neighbours survived the filter
            hits = index.exact(vector, mask, k)
        if not hits:
            return []
        with self._guard("search"):
            res = coll.get(ids=[h.id for h in hits], include=["metadatas"])
        meta = dict(zip(res["ids"], res["metadatas"]))
        return [StoredMatch(_product(h.id, meta[h.id]), h.similarity, bool(meta[h.id].get("has_image", True)))
                for h in hits if h.id in meta]


def _describe(fingerprint_json: str | None) -> str:
    if not fingerprint_json:
        return "unknown encoders (no fingerprint recorded)"
    try:
        return ", ".join(f"{k}={v}" for k, v in sorted(json.loads(fingerprint_json).items()))
    except ValueError:
        return fingerprint_json
