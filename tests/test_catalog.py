import json
import os

import pytest

from retrieval.catalog import CatalogError, read_catalog, split_of
from tests.helpers import write_catalog


def test_sample_catalog_reads_clean(sample_catalog_path):
    cat = read_catalog(sample_catalog_path)
    assert len(cat.products) == 9000 and not cat.issues
    assert all(p.image and os.path.isfile(p.image) for p in cat.products[:50])


def test_missing_required_column_is_a_catalog_error(tmp_path):
    path = tmp_path / "c.csv"
    path.write_text("id,title\n1,Shirt\n")
    with pytest.raises(CatalogError, match="missing required column.*image"):
        read_catalog(path)


def test_unsupported_format_and_missing_file(tmp_path):
    (tmp_path / "c.xlsx").write_text("x")
    with pytest.raises(CatalogError, match="unsupported"):
        read_catalog(tmp_path / "c.xlsx")
    with pytest.raises(CatalogError, match="does not exist"):
        read_catalog(tmp_path / "none.csv")


def test_every_bad_row_is_reported_and_the_rest_kept(tmp_path):
    rows = [
        {"id": "1", "title": "Good Shirt", "price": "12.5", "image": "images/1.png"},
        {"id": "2", "title": "Bad Price", "price": "abc", "image": "images/2.png"},
        {"id": "3", "title": "Negative", "price": "-4", "image": "images/3.png"},
        {"id": "4", "title": "", "price": "3", "image": "images/4.png"},
        {"id": "1", "title": "Duplicate", "price": "3", "image": "images/1.png"},
        {"id": "5", "title": "NaN price", "price": "nan", "image": "images/5.png"},
        {"id": "6", "title": "Escape", "price": "3", "image": "../../etc/passwd"},
    ]
    cat = read_catalog(write_catalog(tmp_path, rows))
    assert [p.id for p in cat.products] == ["1", "2", "3", "5", "6"]
    by_row = {(i.row, i.field): i for i in cat.issues}
    assert by_row[(3, "price")].action == "field dropped" and "not a number" in by_row[(3, "price")].reason
    assert (4, "price") in by_row and (7, "price") in by_row
    assert by_row[(5, "title")].action == "row skipped"
    assert "duplicate id" in by_row[(6, "id")].reason
    assert "leaves the catalog folder" in by_row[(8, "image")].reason
    assert cat.by_id()["2"].price is None and cat.by_id()["6"].image is None
    assert "row 3" in str(by_row[(3, "price")])


def test_symlink_out_of_the_catalog_is_refused(tmp_path):
    outside = tmp_path / "secret.png"
    outside.write_bytes(b"x")
    folder = tmp_path / "cat"
    path = write_catalog(folder, [{"id": "1", "title": "T", "image": "images/link.png"}])
    (folder / "images" / "link.png").symlink_to(outside)
    cat = read_catalog(path)
    assert cat.products[0].image is None
    assert "outside the catalog folder" in cat.issues[0].reason


def test_jsonl_with_a_broken_line(tmp_path):
    path = tmp_path / "c.jsonl"
    lines = [json.dumps({"id": 1, "title": "A", "image": "a.jpg", "price": 3}), "{not json", "[1,2]",
             json.dumps({"id": 2, "title": "B", "image": "b.jpg"})]
    path.write_text("\n".join(lines) + "\n")
    cat = read_catalog(path)
    assert [p.id for p in cat.products] == ["1", "2"]
    assert [(i.row, i.field) for i in cat.issues] == [(2, "*"), (3, "*")]


def test_split_is_deterministic_and_roughly_sized(sample_catalog_path):
    ids = [p.id for p in read_catalog(sample_catalog_path).products]
    splits = [split_of(i) for i in ids]
    assert splits == [split_of(i) for i in ids]
    assert 0.08 < splits.count("test") / len(ids) < 0.12
