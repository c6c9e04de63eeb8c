"""Issue 14: the describe evaluation does not reward lists of labels, and reports colour by
group beside the strict score. Pure scoring, no model."""

from __future__ import annotations

from finetune.eval_describe import COLOUR_GROUPS, score_answers
from retrieval.catalog import Product

COLOURS = ["Black", "Blue", "Navy Blue", "Red", "Maroon", "White", "Green", "Grey"]
TYPES = ["Tshirts", "Shirts", "Casual Shoes", "Sports Shoes", "Watches", "Jeans", "Handbags"]
PRODUCTS = [Product("1", "x", article_type="Tshirts", base_colour="Navy Blue"),
            Product("2", "x", article_type="Casual Shoes", base_colour="Maroon"),
            Product("3", "x", article_type="Watches", base_colour="Black")]


def test_a_list_of_types_or_colours_scores_nothing():
    listing = "It is tshirts, shirts, casual shoes, sports shoes, watches, jeans or handbags in black, blue or red."
    s = score_answers("list", PRODUCTS, [listing] * 3, COLOURS, all_types=TYPES)
    assert s.type_acc_unguarded == 1.0 and s.type_acc == 0.0
    assert s.colour_acc == 0.0 and s.many_label_rate == 1.0


def test_true_answers_keep_their_score_and_groups_count_neighbours():
    answers = ["This is a blue T-shirt for men.", "This is a pair of red casual shoes.", "This is a black watch."]
    s = score_answers("ok", PRODUCTS, answers, COLOURS, all_types=TYPES)
    assert s.type_acc == 1.0 and s.many_label_rate == 0.0
    assert s.colour_acc == round(1 / 3, 4) and s.grouped_colour_acc == 1.0  # navy blue -> blue, maroon -> red


def test_about_ten_colour_groups():
    assert 8 <= len(COLOUR_GROUPS) <= 12
