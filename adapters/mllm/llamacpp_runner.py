"""The same inference interface as :class:`MLLMRunner`, with llama.cpp as the text backend.

The image still goes through the torch vision tower and the trained projector; their
output rows are handed to llama.cpp as input embeddings at the image-token positions
(a ``llama_batch`` with ``embd``), and the text tokens around them as token ids from the
same tokenizer. llama.cpp then decodes from the exported GGUF (LoRA merged, see
:mod:`adapters.mllm.gguf_export`). Prompt building, image checks and the image-token
rules are :class:`MLLMRunner`'s own, so both backends accept and refuse the same inputs.

One llama.cpp context holds one conversation at a time (``generate``, ``stream``): decodes
are serialised by a lock, and each runs in a worker thread that stops at ``max_new_tokens``
or ``max_time_s``, so a reader that walks away from a stream never leaves the context busy.
A context with more than one thread decodes on :func:`adapters.compute.model_thread` only
(every call, the batcher's too): a second OpenMP pool slows every decode step about 3x.
``generate_batch`` (the explanations) goes through a
:class:`~adapters.mllm.llamacpp_batch.SequenceBatcher`: the conversations of every session
asking at the same time are decoded together, one sequence each, in a second context.
"""

from __future__ import annotations

import atexit
import ctypes
import logging
import queue
import threading
import time
from collections.abc import Iterator, Sequence

import numpy as np
import torch

from adapters.compute import model_thread
from adapters.imaging import ImageSource
from adapters.mllm.grammar import GrammarFilter, complete_json, schema_gbnf
from adapters.mllm.llamacpp_batch import SequenceBatcher, _banned, _sentences
from adapters.mllm.runner import ChatMessage, MLLMRunner

logger = logging.getLogger(__name__)

_END = object()


class _Left(Exception):
    """A stream's reader has gone: its decoding stops."""


class LlamaCppRunner(MLLMRunner):
    backend = "llama.cpp"
    batches_sessions = True  # generate_batch is thread-safe and batches concurrent callers
    supports_json_schema = True  # generate_json: grammar-constrained decoding

    def __init__(self, loaded, llama):
        super().__init__(loaded)
        import llama_cpp

        self._lib = llama_cpp
        self.llama = llama
        # free the model before interpreter shutdown tears down llama_cpp's module globals
        # (its __del__ at exit otherwise prints a TypeError traceback)
        atexit.register(llama.close)
        self.n_embd = int(llama.n_embd())
        self.n_vocab = int(llama.n_vocab())
        self.n_ctx = int(llama.n_ctx())
        self.n_batch = int(llama.n_batch)
        lm_dim = self.model.config.text_config.hidden_size
        if self.n_embd != lm_dim:
            raise ValueError(f"llama.cpp model width {self.n_embd} != the projector's output {lm_dim}")
        tok = self.tokenizer
        self.stop_ids = {i for i in (tok.eos_token_id, tok.convert_tokens_to_ids("<|im_end|>")) if i is not None}
        self._lock = threading.Lock()
        self._held: list[int] = []  # the prompt tokens (text before any image) whose keys and values the context holds
        self._batcher = None
        self.batch_sequences = 8  # conversations decoded together by generate_batch (0: one at a time)
        params = llama.context_params
        self._model_thread = model_thread() if max(params.n_threads, params.n_threads_batch) > 1 else None

    def on_model_thread(self, fn, *args, **kwargs):
        """``fn(*args)`` where this context may decode: the model thread when it runs several
        threads (see :mod:`adapters.compute`), the caller's thread when it runs one."""
        if self._model_thread is None:
            return fn(*args, **kwargs)
        return self._model_thread.call(fn, *args, **kwargs)

    # --- llama.cpp calls --------------------------------------------------------------
    def _decode_tokens(self, tokens: Sequence[int], pos: int, batch) -> None:
        for s in range(0, len(tokens), self.n_batch):
            part = list(tokens[s:s + self.n_batch])
            batch.set_batch(part, pos + s, False)  # logits for the last token only
            self.llama._ctx.decode(batch)

    def _decode_embeddings(self, rows: np.ndarray, pos: int, logits_last: bool) -> None:
        lib = self._lib
        for s in range(0, len(rows), self.n_batch):
            part = np.ascontiguousarray(rows[s:s + self.n_batch], dtype=np.float32)
            b = lib.llama_batch_init(len(part), self.n_embd, 1)
            try:
                ctypes.memmove(b.embd, part.ctypes.data, part.nbytes)
                for i in range(len(part)):
                    b.pos[i] = pos + s + i
                    b.n_seq_id[i] = 1
                    b.seq_id[i][0] = 0
                    b.logits[i] = 0
                b.logits[len(part) - 1] = int(logits_last and s + len(part) == len(rows))
                b.n_tokens = len(part)
                rc = lib.llama_decode(self.llama._ctx.ctx, b)
            finally:
                lib.llama_batch_free(b)
            if rc != 0:
                raise RuntimeError(f"llama_decode of image embeddings returned {rc}")

    @torch.inference_mode()
    def _image_rows(self, pixel_values: torch.Tensor | None) -> np.ndarray:
        if pixel_values is None:
            return np.zeros((0, self.n_embd), np.float32)
        inner = self.model.model
        feats = inner.vision_tower(pixel_values.to(self.device, self.model.dtype)).last_hidden_state
        return inner.multi_modal_projector(feats).reshape(-1, self.n_embd).float().cpu().numpy()

    def _prefill(self, ids: list[int], image_rows: np.ndarray) -> None:
        """Run the prompt: text runs as tokens, image-token runs as the projector's rows."""
        if len(ids) + 1 >= self.n_ctx:
            raise ValueError(f"prompt of {len(ids)} tokens does not fit the {self.n_ctx}-token context")
        lib = self._lib
        memory = lib.llama_get_memory(self.llama._ctx.ctx)
        text_end = ids.index(self.image_token_id) if self.image_token_id in ids else len(ids)
        pos = self._reusable(ids[:text_end], len(ids))  # the text this context holds already: not run again
        self._held = []  # until the prompt has run
        if pos == 0 or not lib.llama_memory_seq_rm(memory, 0, pos, -1):
            lib.llama_memory_clear(memory, True)
            pos = 0
        batch, used = self.llama._batch, 0
        while pos < len(ids):
            is_image = ids[pos] == self.image_token_id
            end = pos
            while end < len(ids) and (ids[end] == self.image_token_id) == is_image:
                end += 1
            if is_image:
                n = end - pos
                if used + n > len(image_rows):
                    raise ValueError("more image tokens in the prompt than image features")
                self._decode_embeddings(image_rows[used:used + n], pos, logits_last=end == len(ids))
                used += n
            else:
                self._decode_tokens(ids[pos:end], pos, batch)
            pos = end
        if used != len(image_rows):
            raise ValueError(f"{len(image_rows) - used} image feature rows have no image token in the prompt")
        self._held = ids[:text_end]

    def _reusable(self, text: list[int], n: int) -> int:
        """How many of a prompt's first tokens (``text``: those before any image) the context holds from
        the last prompt (the system prompt, the request so far), short of the prompt's last token, whose
        logits the next token needs."""
        same = 0
        for held, new in zip(self._held, text):
            if held != new:
                break
            same += 1
        return min(same, n - 1)

    def _next_token(self, history: list[int], rng: np.random.Generator, temperature: float,
                    no_repeat_ngram_size: int, banned: set[int] = frozenset()) -> int:
        logits = np.ctypeslib.as_array(self._lib.llama_get_logits_ith(self.llama._ctx.ctx, -1),
                                       shape=(self.n_vocab,)).copy()
        if banned:
            logits[list(banned)] = -np.inf
        if no_repeat_ngram_size:
            logits[list(_banned(history, no_repeat_ngram_size, self.n_vocab))] = -np.inf
        if temperature <= 0:
            return int(np.argmax(logits))
        z = (logits - logits.max()) / temperature
        p = np.exp(z)
        p /= p.sum()
        order = np.argsort(-p)
        keep = order[: int(np.searchsorted(np.cumsum(p[order]), 0.95)) + 1]  # top-p 0.95, as transformers
        return int(rng.choice(keep, p=p[keep] / p[keep].sum()))

    def _run(self, inputs: dict, max_new_tokens: int, seed: int, temperature: float,
             no_repeat_ngram_size: int, emit, min_new_tokens: int = 0) -> None:
        """Prefill and decode; ``emit(token_id)`` for each new token. Holds the context lock.
        ``min_new_tokens``: end-of-turn is not taken before that many (benchmarks)."""
        ids = inputs["input_ids"][0].tolist()
        rows = self._image_rows(inputs.get("pixel_values"))
        rng = np.random.default_rng(seed)
        deadline = time.monotonic() + self.max_time_s
        with self._lock:
            self._prefill(ids, rows)
            history, pos = [], len(ids)  # the answer's own n-grams (llamacpp_batch._banned)
            for step in range(max_new_tokens):
                tok = self._next_token(history, rng, temperature, no_repeat_ngram_size)
                if tok in self.stop_ids:
                    if step >= min_new_tokens:
                        return
                    tok = self._next_token(history, rng, temperature, no_repeat_ngram_size, banned=self.stop_ids)
                emit(tok)
                history.append(tok)
                if pos + 1 >= self.n_ctx or time.monotonic() > deadline:
                    return
                self._decode_tokens([tok], pos, self.llama._batch)
                pos += 1

    def _settings(self, max_new_tokens: int | None, seed: int | None) -> tuple[int, int]:
        n = max_new_tokens or self.max_new_tokens
        if n < 1:
            raise ValueError("max_new_tokens must be >= 1")
        return n, self.seed if seed is None else seed

    # --- the MLLMRunner interface ---------------------------------------------------
    def generate(self, messages: Sequence[ChatMessage], images: Sequence[ImageSource] | None = None,
                 max_new_tokens: int | None = None, seed: int | None = None, temperature: float = 0.0) -> str:
        n, seed = self._settings(max_new_tokens, seed)
        out: list[int] = []
        self.on_model_thread(self._run, self.build_inputs(messages, images), n, seed, temperature, 0, out.append)
        return self.tokenizer.decode(out, skip_special_tokens=True).strip()

    def generate_json(self, messages: Sequence[ChatMessage], schema: dict, max_new_tokens: int | None = None) -> str:
        """Greedy text under the JSON ``schema`` (a llama.cpp grammar, :mod:`adapters.mllm.grammar`):
        JSON of that shape unless ``max_new_tokens`` or ``max_time_s`` cut it short. Text only."""
        n, _ = self._settings(max_new_tokens, None)
        if any(m.image is not None for m in messages):
            raise ValueError("generate_json reads text only")
        ids = self.build_inputs(messages)["input_ids"][0].tolist()
        out = self.on_model_thread(self._json_tokens, ids, schema, n)
        return self.tokenizer.decode(out, skip_special_tokens=True).strip()

    def _json_tokens(self, ids: list[int], schema: dict, n: int) -> list[int]:
        out: list[int] = []
        deadline = time.monotonic() + self.max_time_s
        with self._lock:
            grammar = GrammarFilter(self.llama, schema_gbnf(schema))
            try:
                self._prefill(ids, np.zeros((0, self.n_embd), np.float32))
                for pos in range(len(ids), min(len(ids) + n, self.n_ctx - 1)):
                    logits = np.ctypeslib.as_array(self._lib.llama_get_logits_ith(self.llama._ctx.ctx, -1),
                                                   shape=(self.n_vocab,))
                    tok = grammar.pick(logits)
                    if tok is None or tok in self.stop_ids:
                        break
                    grammar.accept(tok)
                    out.append(tok)
                    if complete_json(self.tokenizer.decode(out)) or time.monotonic() > deadline:
                        break
                    self._decode_tokens([tok], pos, self.llama._batch)
            finally:
                grammar.close()
        return out

    def generate_batch(self, conversations: Sequence[Sequence[ChatMessage]], max_new_tokens: int | None = None,
                       seed: int | None = None, no_repeat_ngram_size: int = 0, sentences: int = 0) -> list[str]:
        """``sentences`` > 0: each answer ends once it has that many complete sentences (decoding
        stops there: the explanations want one, and every token is a shopper's wait)."""
        n, seed = self._settings(max_new_tokens, seed)
        inputs = [self.build_inputs(msgs) for msgs in conversations]  # every input checked before decoding
        if self.batch_sequences > 1:  # greedy, so the seed does not matter
            outs = self.batcher().run(inputs, n, no_repeat_ngram_size, sentences)
            return [self.tokenizer.decode(o, skip_special_tokens=True).strip() for o in outs]
        answers = []
        for inp in inputs:
            out: list[int] = []
            self.on_model_thread(self._run, inp, n, seed, 0.0, no_repeat_ngram_size, out.append)
            answers.append(self.tokenizer.decode(self._first_sentences(out, sentences), skip_special_tokens=True).strip())
        return answers

    def _first_sentences(self, ids: list[int], sentences: int) -> list[int]:
        """``ids`` up to the end of its first ``sentences`` sentences (the batcher's stop, afterwards)."""
        if sentences:
            for k in range(1, len(ids) + 1):
                if _sentences(self.tokenizer.decode(ids[:k], skip_special_tokens=True)) >= sentences:
                    return ids[:k - 1]
        return ids

    def batcher(self):
        """The :class:`~adapters.mllm.llamacpp_batch.SequenceBatcher` (its own context), made once."""
        with self._lock:
            if self._batcher is None:
                self._batcher = SequenceBatcher(self, max_seqs=self.batch_sequences,
                                                n_ctx=min(32768, 1024 * self.batch_sequences))
            return self._batcher

    def stream(self, messages: Sequence[ChatMessage], images: Sequence[ImageSource] | None = None,
               max_new_tokens: int | None = None, seed: int | None = None, temperature: float = 0.0) -> Iterator[str]:
        n, seed = self._settings(max_new_tokens, seed)
        inputs = self.build_inputs(messages, images)  # bad input fails before any thread starts
        pieces: queue.Queue = queue.Queue()
        left = threading.Event()  # the reader stopped reading: decoding ends at the next token

        def emit(tok: int) -> None:
            if left.is_set():
                raise _Left
            pieces.put(tok)

        def work():
            try:
                self._run(inputs, n, seed, temperature, 0, emit)
            except _Left:
                pass
            except BaseException as exc:  # re-raised in the reader's thread
                pieces.put(exc)
            finally:
                pieces.put(_END)

        if self._model_thread is None:
            threading.Thread(target=work, daemon=True).start()
        else:
            self._model_thread.submit(work)
        try:
            ids: list[int] = []
            shown = ""
            while True:
                item = pieces.get(timeout=max(300.0, self.max_time_s + 60))
                if item is _END:
                    break
                if isinstance(item, BaseException):
                    raise item
                ids.append(item)
                text = self.tokenizer.decode(ids, skip_special_tokens=True)
                if not text.endswith("\ufffd") and len(text) > len(shown):  # wait out half a multi-byte char
                    yield text[len(shown):]
                    shown = text
            text = self.tokenizer.decode(ids, skip_special_tokens=True)
            if len(text) > len(shown):
                yield text[len(shown):]
        finally:
            left.set()

