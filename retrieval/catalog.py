"""Reading a product catalog (CSV or JSONL) into :class:`Product` records.

Every bad row is reported with its row number, field and reason, and the rest are kept:
a missing required field or a duplicate id skips the row; a bad optional field (a price
that is not a non-negative number, say) is dropped from that product only. Image paths
must stay inside the catalog folder (no ``..``, no symlinks out).
"""

from __future__ import annotations

import csv
import hashlib
import json
import logging
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

logger = logging.getLogger(__name__)

REQUIRED = ("id", "title", "image")
OPTIONAL = ("gender", "master_category", "sub_category", "article_type", "base_colour", "usage", "price")
FACETS = ("gender", "master_category", "sub_category", "article_type", "base_colour", "usage")
MAX_TITLE = 500
MAX_FIELD = 100
# csv's default field limit (128 KiB) ends the whole file at one over-long field; with this one
# such a field is one bad row like any other (and anything past it still ends the file, reported).
MAX_CSV_FIELD = 16 * 1024 * 1024

# The repository ships the sample catalog here, so a bare clone works.
SAMPLE_CATALOG = Path(__file__).resolve().parent / "sample_catalog" / "products.csv"


class CatalogError(ValueError):
    """The catalog as a whole cannot be read (missing file, missing columns, bad format)."""


@dataclass(frozen=True)
class Product:
    id: str
    title: str
    gender: str | None = None
    master_category: str | None = None
    sub_category: str | None = None
    article_type: str | None = None
    base_colour: str | None = None
    usage: str | None = None
    price: float | None = None
    image: str | None = None  # absolute path inside the catalog folder

    def document(self) -> str:
        """The product's text for embedding: its title plus the attributes it is filed under."""
        attrs = " ".join(a for a in (self.gender, self.base_colour, self.article_type) if a)
        extra = f", {self.usage}" if self.usage else ""
        return f"{self.title}. {attrs}{extra}".strip()

    def content_hash(self) -> str:
        """Changes whenever anything that is embedded or stored for this product changes."""
        return hashlib.sha256(json.dumps(self.__dict__, sort_keys=True, default=str).encode()).hexdigest()[:16]


@dataclass(frozen=True)
class RowIssue:
    row: int  # line number in the file (CSV header is line 1)
    field: str
    reason: str
    product_id: str | None = None
    action: Literal["row skipped", "field dropped", "indexed without image"] = "row skipped"

    def __str__(self) -> str:
        pid = f" (id {self.product_id})" if self.product_id else ""
        return f"row {self.row}{pid}, field '{self.field}': {self.reason} [{self.action}]"


@dataclass
class Catalog:
    path: Path
    products: list[Product]
    issues: list[RowIssue] = field(default_factory=list)
    rows: dict[str, int] = field(default_factory=dict)  # product id -> its row in the file

    def facet_values(self, facet: str) -> list[str]:
        return sorted({v for p in self.products if (v := getattr(p, facet))})

    def by_id(self) -> dict[str, Product]:
        return {p.id: p for p in self.products}


def split_of(product_id: str) -> Literal["train", "val", "test"]:
    """Deterministic split by id hash: 85% train, 5% val (training scripts), 10% test (eval)."""
    bucket = int(hashlib.sha256(product_id.encode()).hexdigest()[:8], 16) % 100
    return "test" if bucket < 10 else "val" if bucket < 15 else "train"


def read_catalog(path: str | Path) -> Catalog:
    """Read ``path`` (.csv or .jsonl). Raises CatalogError only for problems with the whole file."""
    path = Path(path)
    if not path.is_file():
        raise CatalogError(f"catalog file {path} does not exist")
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".jsonl", ".ndjson"):
        raise CatalogError(f"{path}: unsupported catalog format {suffix!r} (use .csv or .jsonl)")
    field_limit = csv.field_size_limit(max(csv.field_size_limit(), MAX_CSV_FIELD))
    try:
        products, issues, seen = _read_rows(_csv_rows(path) if suffix == ".csv" else _jsonl_rows(path),
                                            path.resolve().parent)
    finally:
        csv.field_size_limit(field_limit)
    for issue in issues:
        logger.warning("%s: %s", path, issue)
    return Catalog(path=path, products=products, issues=issues, rows=seen)


def _open(path: Path, **kwargs):
    """UTF-8 text; ``-sig`` drops the BOM that Excel's "CSV UTF-8" and some exporters put first."""
    try:
        return path.open(encoding="utf-8-sig", **kwargs)
    except OSError as exc:
        raise CatalogError(f"{path}: cannot open the catalog ({exc.strerror or exc})") from None


def _read_rows(rows, root: Path) -> tuple[list[Product], list[RowIssue], dict[str, int]]:
    products: list[Product] = []
    issues: list[RowIssue] = []
    seen: dict[str, int] = {}
    for line_no, row in rows:
        if isinstance(row, RowIssue):
            issues.append(row)
            continue
        product = _parse_row(row, line_no, root, issues)
        if product is None:
            continue
        if product.id in seen:
            issues.append(RowIssue(line_no, "id", f"duplicate id (first seen on row {seen[product.id]})", product.id))
            continue
        seen[product.id] = line_no
        products.append(product)
    return products, issues, seen


def _csv_rows(path: Path):
    handle = _open(path, newline="")
    try:
        reader = csv.DictReader(handle)
        header = reader.fieldnames or []
    except UnicodeDecodeError as exc:
        handle.close()
        raise CatalogError(f"{path}: not UTF-8 text ({exc})") from None
    except csv.Error as exc:
        handle.close()
        raise CatalogError(f"{path}: unreadable CSV header ({exc})") from None
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        handle.close()
        raise CatalogError(f"{path}: missing required column(s) {', '.join(missing)}; header is {str(header)[:300]}")

    def gen():
        with handle:
            try:
                for row in reader:
                    extra = row.pop(None, None)
                    if extra:
                        yield reader.line_num, RowIssue(reader.line_num, "*", f"{len(extra)} more values than columns")
                        continue
                    yield reader.line_num, row
            except (csv.Error, UnicodeDecodeError) as exc:
                yield reader.line_num, RowIssue(reader.line_num, "*", f"unreadable CSV from here on ({exc})")

    return gen()


def _jsonl_rows(path: Path):
    def gen():
        with _open(path, errors="replace") as handle:
            for line_no, line in enumerate(handle, 1):
                if not line.strip():
                    continue
                try:
                    row = json.loads(line)
                except json.JSONDecodeError as exc:
                    yield line_no, RowIssue(line_no, "*", f"not valid JSON ({exc.msg})")
                    continue
                if not isinstance(row, dict):
                    yield line_no, RowIssue(line_no, "*", "a line must be a JSON object")
                    continue
                yield line_no, {k: (None if v is None else str(v)) for k, v in row.items()}

    return gen()


def _clean(value) -> str:
    return " ".join(str(value).split()) if value is not None else ""


def _parse_row(row: dict, line_no: int, root: Path, issues: list[RowIssue]) -> Product | None:
    pid = _clean(row.get("id"))
    for name in REQUIRED:
        if not _clean(row.get(name)):
            issues.append(RowIssue(line_no, name, "required value is empty", pid or None))
            return None
    if len(pid) > MAX_FIELD:
        issues.append(RowIssue(line_no, "id", f"longer than {MAX_FIELD} characters", None))
        return None
    title = _clean(row.get("title"))
    if len(title) > MAX_TITLE:
        issues.append(RowIssue(line_no, "title", f"{len(title)} characters, over {MAX_TITLE}", pid))
        return None
    values: dict[str, object] = {}
    for name in FACETS:
        value = _clean(row.get(name))
        if len(value) > MAX_FIELD:
            issues.append(RowIssue(line_no, name, f"longer than {MAX_FIELD} characters", pid, "field dropped"))
            value = ""
        values[name] = value or None
    values["price"] = _parse_price(row.get("price"), line_no, pid, issues)
    values["image"] = _resolve_image(_clean(row.get("image")), root, line_no, pid, issues)
    return Product(id=pid, title=title, **values)


def _parse_price(raw, line_no: int, pid: str, issues: list[RowIssue]) -> float | None:
    text = _clean(raw)
    if not text:
        return None
    try:
        price = float(text)
    except ValueError:
        issues.append(RowIssue(line_no, "price", f"{text[:40]!r} is not a number", pid, "field dropped"))
        return None
    if not math.isfinite(price) or price < 0:
        issues.append(RowIssue(line_no, "price", f"{text[:40]!r} is not a finite non-negative price", pid, "field dropped"))
        return None
    return round(price, 2)


def _resolve_image(rel: str, root: Path, line_no: int, pid: str, issues: list[RowIssue]) -> str | None:
    """The image's absolute path if it stays inside the catalog folder, else None (reported)."""
    candidate = Path(rel)
    if candidate.is_absolute() or ".." in candidate.parts or "\x00" in rel:
        issues.append(RowIssue(line_no, "image", f"path {rel[:80]!r} leaves the catalog folder", pid, "indexed without image"))
        return None
    try:
        resolved = (root / candidate).resolve()
    except (RuntimeError, OSError) as exc:  # a symlink loop (RuntimeError before Python 3.13)
        issues.append(RowIssue(line_no, "image", f"path {rel[:80]!r} cannot be resolved ({exc})", pid,
                               "indexed without image"))
        return None
    if not resolved.is_relative_to(root):
        issues.append(RowIssue(line_no, "image", f"path {rel[:80]!r} resolves outside the catalog folder (symlink?)", pid, "indexed without image"))
        return None
    return str(resolved)
