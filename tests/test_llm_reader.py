"""The LLM request reader: the typed update and its schema (catalog values only), grammar-constrained
decoding on a random-init llama.cpp model, the combination with the deterministic reader (a
scripted LLM), falling back to the words on unusable answers, and the wiring through a session."""

from __future__ import annotations

import json

import pytest

from adapters.mllm.grammar import GrammarFilter, complete_json, schema_gbnf
from adapters.mllm.request_update import RequestUpdate, parse_update, update_schema
from adapters.mllm.runner import MLLMRunner
from assistant.llm_reader import LLMReaderConfig, LLMRequestReader, UpdateDecoder, reader_in_context, words_reader
from retrieval.filters import ProductFilter
from retrieval.reader import RequestReader
from retrieval.vocabulary import Vocabulary

VOCAB = Vocabulary(colours=("Black", "Navy Blue", "Red", "White"),
                   article_types=("Tshirts", "Casual Shoes", "Sports Shoes", "Sweaters", "Watches"),
                   genders=("Men", "Women", "Unisex"), usages=("Casual", "Sports"))
VALUES = VOCAB.to_dict()


class ScriptedLLM:
    """A runner whose grammar-constrained answers come from a script (or raise)."""

    supports_json_schema = True
    backend = "scripted"

    def __init__(self, *answers):
        self.answers, self.prompts = list(answers), []

    def generate_json(self, messages, schema, max_new_tokens=None):
        self.prompts.append(messages[-1].text)
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if isinstance(answer, Exception):
            raise answer
        return answer


def reader(*answers, **cfg) -> tuple[LLMRequestReader, ScriptedLLM]:
    llm = ScriptedLLM(*answers)
    config = LLMReaderConfig(**cfg)
    return LLMRequestReader(RequestReader(VOCAB), UpdateDecoder(llm, VOCAB, cache_size=config.cache_size), config), llm


# --- the typed update and its schema --------------------------------------------------------
def test_the_schema_admits_only_the_catalogs_values():
    schema = update_schema(VALUES)
    props = schema["properties"]
    assert schema["additionalProperties"] is False and "required" not in schema
    for slot, facet in (("article_types", "article_types"), ("colours", "colours"), ("genders", "genders"),
                        ("usages", "usages"), ("exclude_colours", "colours"), ("exclude_usages", "usages")):
        assert props[slot]["items"]["enum"] == list(VALUES[facet])
    assert list(props) == [f for f in RequestUpdate.__dataclass_fields__]
    assert parse_update('{"colours":["Red"],"max_price":40}', VALUES) == RequestUpdate(colours=("Red",), max_price=40.0)
    for bad in ('{"colours":["Purple"]}', '{"article_types":["Dresses"]}', '{"size":"M"}', '{"max_price":-3}',
                '{"colour_move":"sideways"}', '{"colours":["Red"]', "", "   ", "red shoes"):
        assert parse_update(bad, VALUES) is None, bad


def test_an_update_round_trips_through_its_compact_json():
    u = RequestUpdate(article_types=("Tshirts",), colours=("Black", "Red"), min_price=10.0, max_price=25.5,
                      cheapest_first=True, colour_move="darker")
    assert u.to_json() == ('{"article_types":["Tshirts"],"colours":["Black","Red"],"min_price":10,"max_price":25.5,'
                           '"cheapest_first":true,"colour_move":"darker"}')
    assert parse_update(u.to_json(), VALUES) == u
    assert RequestUpdate().to_json() == "{}" and parse_update("{}", VALUES).is_empty()
    swapped = parse_update('{"min_price":50,"max_price":20,"colours":["Red","Red"]}', VALUES)
    assert (swapped.min_price, swapped.max_price, swapped.colours) == (20.0, 50.0, ("Red",))


def test_the_grammar_is_compact_json():
    gbnf = schema_gbnf(update_schema(VALUES))
    rules = dict(line.split(" ::= ", 1) for line in gbnf.splitlines() if " ::= " in line)
    assert rules["space"] == '""' and '"-"' not in rules["number"] and "[eE]" not in rules["number"]
    assert '"\\"Navy Blue\\""' in gbnf and "Purple" not in gbnf
    assert complete_json('{"a":[1]}') and not complete_json('{"a":[1]') and not complete_json('{"a":"}')


# --- grammar-constrained decoding on a model that knows nothing -------------------------------
@pytest.fixture(scope="module")
def tiny_gguf(tmp_path_factory):
    pytest.importorskip("llama_cpp", reason="llama-cpp-python is not installed (make setup builds it)")
    from tests.gguf_tiny import write_tiny_gguf

    folder = tmp_path_factory.mktemp("gguf")
    return [write_tiny_gguf(folder / f"tiny{seed}.gguf", seed=seed) for seed in range(6)]


def test_a_random_model_under_the_grammar_writes_a_valid_update(tiny_gguf):
    from adapters.mllm.runner import ChatMessage
    from tests.gguf_tiny import tiny_llamacpp_runner

    schema = update_schema(VALUES)
    updates = []
    for path in tiny_gguf:
        runner = tiny_llamacpp_runner(path)
        text = runner.generate_json([ChatMessage("user", "Request: no filter\nMessage: black sneakers")], schema,
                                    max_new_tokens=1000)
        json.loads(text)
        update = parse_update(text, VALUES)
        assert update is not None, text  # whatever the weights, the answer is the schema's
        updates.append(update)
        assert runner.generate_json([ChatMessage("user", "again")], schema, max_new_tokens=1000)  # context reused
    assert any(not u.is_empty() for u in updates)
    with pytest.raises(ValueError, match="text only"):
        runner.generate_json([ChatMessage("user", "this", image=b"x")], schema)


def test_the_grammar_filter_takes_the_likeliest_token_it_admits(tiny_gguf):
    import numpy as np
    from llama_cpp import Llama

    from tests.gguf_tiny import vocabulary

    vocab = vocabulary()
    llama = Llama(model_path=str(tiny_gguf[0]), n_ctx=64, n_threads=1, verbose=False)
    grammar = GrammarFilter(llama, 'root ::= "b" [a-z]')
    try:
        logits = np.zeros(len(vocab), np.float32)
        logits[vocab.index("a")], logits[vocab.index("b")] = 5.0, -5.0  # "b" is far down the list
        assert grammar.pick(logits) == vocab.index("b")
        grammar.accept(vocab.index("b"))
        assert grammar.pick(logits) == vocab.index("a")  # now any letter: the likeliest
    finally:
        grammar.close()


def test_backends_without_a_grammar_refuse_clearly():
    with pytest.raises(NotImplementedError, match="llama.cpp"):
        MLLMRunner.generate_json(object(), [], {})

    class Plain:
        backend = "transformers"
        supports_json_schema = False

    with pytest.raises(ValueError, match="llama.cpp backend"):
        UpdateDecoder(Plain(), VOCAB)


# --- the combination ------------------------------------------------------------------------
def test_words_stay_the_base_and_the_llm_fills_what_they_left_open():
    r, llm = reader('{"article_types":["Sweaters"],"colours":["Red"],"genders":["Women"]}')
    words = RequestReader(VOCAB).parse("black zorblax for men")
    got = r.parse("black zorblax for men")
    assert words.free_words == ("zorblax",) and len(llm.prompts) == 1
    assert got.filter == words.filter  # stated facets are the words' (Black, Men), never the LLM's
    assert got.soft.article_types == ("Sweaters",) and not got.soft.colours and not got.soft.genders
    hard, _ = reader('{"article_types":["Sweaters"],"colours":["Red"]}', fill="filter")
    assert hard.parse("black zorblax").filter.article_types == ("Sweaters",)
    assert hard.parse("black zorblax").filter.colours == ("Black",)


def test_the_llm_is_asked_only_about_words_the_reader_could_not_map():
    r, llm = reader('{"colours":["Red"]}')
    assert r.parse("black tshirts for men") == RequestReader(VOCAB).parse("black tshirts for men")
    assert llm.prompts == []
    always, llm2 = reader('{"colours":["Red"]}', ask="always")
    assert always.parse("tshirts for men").soft.colours == ("Red",) and len(llm2.prompts) == 1


def test_the_llm_alone_reads_the_whole_message():
    r, _ = reader('{"article_types":["Casual Shoes"],"colours":["White"],"max_price":50,"cheapest_first":true,'
                  '"price_move":"lower"}', mode="llm")
    got = r.parse("white kicks, the cheapest under fifty")
    assert got.filter == ProductFilter(colours=("White",), article_types=("Casual Shoes",), max_price=50.0)
    assert got.sort == "price" and got.relative_price == "lower" and got.free_words == ()


@pytest.mark.parametrize("answer", ["", "not json", '{"colours":["Chartreuse"]}', '{"colours":["Red"', "{}",
                                    RuntimeError("decode failed")])
@pytest.mark.parametrize("mode", ["llm", "words+llm"])
def test_unusable_answers_fall_back_to_the_words(answer, mode):
    r, _ = reader(answer, mode=mode)
    words = RequestReader(VOCAB).parse("black zorblax for men")
    got = r.parse("black zorblax for men")
    if answer == "{}" and mode == "llm":  # a usable answer that says nothing: the LLM read no facet
        assert got.filter.is_empty()
    else:
        assert got == words


def test_the_prompt_holds_the_request_in_force_and_answers_are_cached():
    r, llm = reader('{"colours":["Red"]}')
    in_force = reader_in_context(r, ProductFilter(article_types=("Tshirts",), max_price=30.0))
    in_force.parse("zorblax")
    in_force.parse("zorblax")
    r.parse("zorblax")
    assert len(llm.prompts) == 2  # the repeat was cached; the same words with no request in force were not
    assert "Request: article_type=Tshirts, price<=30" in llm.prompts[0] and "Message: zorblax" in llm.prompts[0]
    assert "Request: no filter" in llm.prompts[1]
    assert r.decoder.stats["calls"] == 2 and r.decoder.stats["cached"] == 1
    words = RequestReader(VOCAB)
    assert reader_in_context(words, ProductFilter()) is words and words_reader(r) is r.words


def test_a_session_asks_the_llm_once_per_turn_with_the_request_in_force(tmp_path):
    from tests.helpers import toy_assistant

    shop = toy_assistant(tmp_path)
    search = shop.search_engine
    llm = ScriptedLLM('{"article_types":["Watches"]}')
    search.parser = LLMRequestReader(search.parser, UpdateDecoder(llm, search.parser.vocab), LLMReaderConfig())
    session = shop.new_session()
    first = session.send("a zorblax for men")
    assert len(llm.prompts) == 1 and "Request: no filter" in llm.prompts[0]
    assert first.products and all(p.product.gender == "Men" for p in first.products)
    assert first.products[0].product.article_type == "Watches"  # the LLM's guess ranks first, filters nothing
    session.send("something shinier")
    assert len(llm.prompts) == 2 and "gender=Men" in llm.prompts[1]
    assert shop.shop.request_search.parser is search.parser.words  # the request's own words: no LLM call


def test_the_openai_backend_asks_the_server_for_the_schema():
    import httpx

    from adapters.mllm.openai_runner import OpenAIChatRunner
    from adapters.mllm.runner import ChatMessage

    seen = []

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(json.loads(request.content))
        return httpx.Response(200, json={"choices": [{"message": {"content": '{"colours":["Red"]}'}}]})

    runner = OpenAIChatRunner("http://llm:8080", client=httpx.Client(transport=httpx.MockTransport(handle)))
    schema = update_schema(VALUES)
    decoder = UpdateDecoder(runner, VOCAB)
    assert decoder("in red") == RequestUpdate(colours=("Red",))
    assert seen[0]["response_format"] == {"type": "json_object", "schema": schema} and seen[0]["temperature"] == 0.0


def test_the_settings_name_the_readers_and_the_readers_own_adaptor():
    from assistant.settings import Settings

    for name in ("words", "parser", "llm", "words+llm"):
        assert Settings(request_reader=name).request_reader == name
    cfg = Settings(request_reader="words+llm").reader_mllm_config()
    assert cfg.adapter_path.endswith("weights/reader") and cfg.n_threads == 1
    assert Settings(reader_adapter="/x", reader_threads=0).reader_mllm_config().adapter_path == "/x"
    with pytest.raises(ValueError):
        Settings(request_reader="gpt")
