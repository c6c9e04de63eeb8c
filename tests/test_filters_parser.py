import pytest

from retrieval.catalog import Product
from retrieval.filters import ProductFilter, matches, to_where
from retrieval.query_parser import MAX_QUERY_CHARS, QueryError, QueryParser, Vocabulary

VOCAB = Vocabulary(
    colours=("Black", "Blue", "Navy Blue", "Red", "Grey", "White"),
    article_types=("Tshirts", "Dresses", "Casual Shoes", "Sports Shoes", "Formal Shoes", "Watches", "Flip Flops"),
    genders=("Men", "Women", "Boys", "Girls", "Unisex"),
    usages=("Casual", "Formal", "Sports"),
)


def test_to_where_shapes():
    assert to_where(ProductFilter()) is None
    assert to_where(ProductFilter(colours=("Red",))) == {"base_colour": "Red"}
    assert to_where(ProductFilter(colours=("Red", "Blue"), max_price=40)) == {
        "$and": [{"base_colour": {"$in": ["Red", "Blue"]}}, {"price": {"$lte": 40.0}}]}
    assert to_where(ProductFilter(exclude_colours=("Black",))) == {"base_colour": {"$nin": ["Black"]}}


def test_filter_rejects_bad_prices():
    with pytest.raises(ValueError):
        ProductFilter(max_price=-1)
    with pytest.raises(ValueError):
        ProductFilter(min_price=float("nan"))


def test_matches_and_merge():
    p = Product("1", "x", gender="Women", article_type="Dresses", base_colour="Red", price=30.0)
    f = ProductFilter(colours=("Red",), max_price=40)
    assert matches(f, p) and not matches(f.merged(ProductFilter(colours=("Blue",))), p)
    assert not matches(ProductFilter(min_price=10), Product("2", "no price"))


@pytest.mark.parametrize("text, expect", [
    ("a red dress under 40", dict(colours=("Red",), article_types=("Dresses",), max_price=40)),
    ("Navy blue T-shirts for men below $25", dict(colours=("Navy Blue",), article_types=("Tshirts",),
                                                  genders=("Men",), max_price=25)),
    ("women's casual shoes between 20 and 50", dict(article_types=("Casual Shoes",), genders=("Women",),
                                                    min_price=20, max_price=50)),
    ("black sneakers", dict(colours=("Black",), article_types=("Casual Shoes", "Sports Shoes"))),
    ("watches over 100", dict(article_types=("Watches",), min_price=100)),
    ("kids flip flops 10-20", dict(article_types=("Flip Flops",), genders=("Boys", "Girls"),
                                   min_price=10, max_price=20)),
    ("a gray tee", dict(colours=("Grey",), article_types=("Tshirts",))),
    ("shoes, not black", dict(article_types=("Casual Shoes", "Formal Shoes", "Sports Shoes"),
                              exclude_colours=("Black",))),
    ("women shoes", dict(article_types=("Casual Shoes", "Formal Shoes", "Sports Shoes"), genders=("Women",))),
])
def test_parser_maps_words_to_catalog_values(text, expect):
    got = QueryParser(VOCAB).parse(text).filter
    assert got == ProductFilter(**expect), got.describe()


def test_parser_only_uses_values_the_catalog_has():
    parsed = QueryParser(Vocabulary(colours=("Red",), article_types=("Tshirts",))).parse("blue dress for men")
    assert parsed.filter.is_empty()


def test_price_words_leave_the_semantic_text():
    parsed = QueryParser(VOCAB).parse("red dress under $40")
    assert "40" not in parsed.semantic_text and "red dress" in parsed.semantic_text


def test_too_long_query_is_refused():
    with pytest.raises(QueryError, match=str(MAX_QUERY_CHARS)):
        QueryParser(VOCAB).parse("a" * 10_000)
