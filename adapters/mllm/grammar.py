"""Grammar-constrained decoding: a JSON schema becomes a llama.cpp grammar (llama-cpp-python's
``json_schema_to_gbnf``, what ``LlamaGrammar.from_json_schema`` uses), and the model may only
write tokens llama.cpp's grammar sampler admits.

Small local models fill typed slots this way; they never write free-form tool calls (our code
orchestrates). Greedy decoding under the grammar is the most likely *admitted* token at each
step. llama-cpp-python's own completion call runs the grammar over the whole 49k vocabulary at
every step (measured: about 0.3 s a token on this 2-core machine with the catalog's schema);
:class:`GrammarFilter` asks the grammar about the likeliest tokens first, in growing chunks,
which gives the same token (every token outside a chunk is less likely than every one in it)
at a few milliseconds a step when the model already writes what the grammar wants.
"""

from __future__ import annotations

import ctypes
import functools
import json
import logging

import numpy as np

logger = logging.getLogger(__name__)

JSON_BACKENDS_HINT = ("grammar-constrained JSON needs the llama.cpp backend (MLLM_BACKEND=llama.cpp, or auto with "
                      "llama-cpp-python installed) or an OpenAI-compatible llama_cpp.server (MLLM_BACKEND=openai)")
CHUNKS = (8, 128, 2048)  # candidates asked about, likeliest first; then the whole vocabulary


# Compact JSON: no optional whitespace (every token a model writes costs a decode step) and
# numbers as amounts of money (no sign or exponent, at most 2 decimals).
_COMPACT = {"space": 'space ::= ""',
            "number": 'number ::= [0-9] ([0-9] ([0-9] ([0-9] [0-9]?)?)?)? ("." [0-9] [0-9]?)? space'}


@functools.lru_cache(maxsize=16)
def _gbnf(schema_json: str) -> str:
    from llama_cpp.llama_grammar import json_schema_to_gbnf

    rules = json_schema_to_gbnf(schema_json).splitlines()
    return "\n".join(_COMPACT.get(line.split(" ::= ")[0], line) for line in rules)


def schema_gbnf(schema: dict) -> str:
    """The GBNF grammar of a JSON schema, compact (cached by the schema's JSON text)."""
    return _gbnf(json.dumps(schema))


class GrammarFilter:
    """llama.cpp's grammar sampler for one decode: which candidate tokens the grammar admits
    next (:meth:`pick`), and the token taken (:meth:`accept`)."""

    def __init__(self, llama, gbnf: str):
        import llama_cpp

        self._lib = llama_cpp
        vocab = llama_cpp.llama_model_get_vocab(llama.model)
        self._sampler = llama_cpp.llama_sampler_init_grammar(vocab, gbnf.encode(), b"root")
        if not self._sampler:
            raise ValueError("llama.cpp could not parse the grammar")

    def admitted(self, tokens: np.ndarray) -> np.ndarray:
        """A mask over ``tokens``: True where the grammar allows the token next."""
        lib = self._lib
        data = (lib.llama_token_data * len(tokens))()
        for i, t in enumerate(tokens.tolist()):
            data[i].id, data[i].logit, data[i].p = t, 0.0, 0.0
        arr = lib.llama_token_data_array(data=ctypes.cast(data, ctypes.POINTER(lib.llama_token_data)),
                                         size=len(tokens), selected=-1, sorted=False)
        lib.llama_sampler_apply(self._sampler, ctypes.byref(arr))
        return np.fromiter((data[i].logit != float("-inf") for i in range(len(tokens))), bool, len(tokens))

    def pick(self, logits: np.ndarray) -> int | None:
        """The likeliest token the grammar admits (None: none is)."""
        seen = 0
        for size in (*CHUNKS, len(logits)):
            size = min(size, len(logits))
            if size <= seen:
                continue
            top = np.argpartition(-logits, size - 1)[:size] if size < len(logits) else np.arange(len(logits))
            top = top[np.argsort(-logits[top], kind="stable")][seen:]
            ok = self.admitted(top)
            if ok.any():
                return int(top[int(np.argmax(ok))])
            seen = size
        return None

    def accept(self, token: int) -> None:
        self._lib.llama_sampler_accept(self._sampler, token)

    def close(self) -> None:
        if self._sampler:
            self._lib.llama_sampler_free(self._sampler)
            self._sampler = None


def complete_json(text: str) -> bool:
    """Whether ``text`` is already a whole JSON object (decoding can stop)."""
    if not text.rstrip().endswith("}"):
        return False
    try:
        json.loads(text)
    except ValueError:
        return False
    return True
