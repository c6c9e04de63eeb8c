"""Several conversations decoded in one llama.cpp batch: many shoppers, one model.

:class:`SequenceBatcher` collects the ``generate_batch`` calls that arrive from several
threads (one per session finishing a turn) within ``wait_s``, and decodes all their
conversations together in a second llama.cpp context over the same model: each
conversation is its own sequence (``seq_id``) in a unified KV cache; a start several prompts
share (the system turn, the request line) is decoded once and copied to their sequences, the
rest of each prompt is prefilled on its own (text as tokens, image runs as the projector's
rows), then each step decodes one token of every unfinished sequence in a single
``llama_decode``. The decoding runs where the runner decodes (its model thread, see
:mod:`adapters.compute`). Greedy, with the same stop tokens and n-gram rule as the
one-at-a-time path, so a conversation gets the same answer whoever it shares the batch with
(tested: no cross-talk).
"""

from __future__ import annotations

import ctypes
import logging
import queue
import re
import threading
import time
from dataclasses import dataclass, field

import numpy as np

logger = logging.getLogger(__name__)


@dataclass
class _Job:
    inputs: list[dict]
    max_new_tokens: int
    no_repeat_ngram_size: int
    sentences: int = 0
    done: threading.Event = field(default_factory=threading.Event)
    answers: list[list[int]] | None = None
    error: BaseException | None = None


class SequenceBatcher:
    def __init__(self, runner, max_seqs: int = 8, n_ctx: int = 8192, wait_s: float = 0.02):
        import llama_cpp
        from llama_cpp import _internals

        self.runner = runner
        self.lib = llama_cpp
        self.max_seqs = max_seqs
        self.wait_s = wait_s
        src = runner.llama.context_params
        params = type(src).from_buffer_copy(src)
        params.n_ctx, params.n_seq_max, params.kv_unified = n_ctx, max_seqs, True
        self.ctx = _internals.LlamaContext(model=runner.llama._model, params=params, verbose=False)
        self.n_ctx = int(self.lib.llama_n_ctx(self.ctx.ctx))
        self.batch = self.lib.llama_batch_init(max(runner.n_batch, max_seqs), 0, max_seqs)
        self._user_turn = list(runner.tokenizer.encode("<|im_start|>user", add_special_tokens=False))
        self._newline = set(runner.tokenizer.encode("\n", add_special_tokens=False))
        self._jobs: queue.Queue[_Job] = queue.Queue()
        threading.Thread(target=self._work, daemon=True, name="llama-batcher").start()

    def run(self, inputs: list[dict], max_new_tokens: int, no_repeat_ngram_size: int,
            sentences: int = 0) -> list[list[int]]:
        """Token ids of each conversation's answer; blocks until its batch is decoded.
        ``sentences`` > 0: an answer ends once it has that many complete sentences."""
        job = _Job(inputs, max_new_tokens, no_repeat_ngram_size, sentences)
        self._jobs.put(job)
        job.done.wait()
        if job.error is not None:
            raise job.error
        return job.answers

    # --- the worker -----------------------------------------------------------------------
    def _work(self) -> None:
        while True:
            first = self._jobs.get()
            self.runner.on_model_thread(self._serve_queued, first)

    def _serve_queued(self, first: _Job) -> None:
        """``first`` and every job that is waiting when the model thread gets to it (while it
        streamed another session's reply, say), or that comes within ``wait_s``."""
        jobs, seqs = [first], len(first.inputs)
        deadline = time.monotonic() + self.wait_s
        while seqs < self.max_seqs:
            try:
                nxt = self._jobs.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                break
            jobs.append(nxt)
            seqs += len(nxt.inputs)
        self._serve(jobs)

    def _serve(self, jobs: list[_Job]) -> None:
        groups: dict[tuple[int, int, int], list[tuple[_Job, int]]] = {}
        for job in jobs:
            for i in range(len(job.inputs)):
                key = (job.max_new_tokens, job.no_repeat_ngram_size, job.sentences)
                groups.setdefault(key, []).append((job, i))
            job.answers = [[] for _ in job.inputs]
        for (n, ngram, sentences), members in groups.items():
            try:
                for part in self._fit(members, n):
                    outs = self.decode([m[0].inputs[m[1]] for m in part], n, ngram, sentences)
                    for (job, i), out in zip(part, outs):
                        job.answers[i] = out
            except BaseException as exc:  # the callers' threads re-raise it
                for job, _ in members:
                    job.error = exc
        for job in jobs:
            job.done.set()

    def _fit(self, members: list, n: int) -> list[list]:
        """Groups of at most ``max_seqs`` sequences whose prompts and answers fit the context."""
        parts, part, used = [], [], 0
        for m in members:
            need = len(m[0].inputs[m[1]]["input_ids"][0]) + n + 1
            if part and (len(part) == self.max_seqs or used + need > self.n_ctx):
                parts.append(part)
                part, used = [], 0
            part.append(m)
            used += need
        return parts + ([part] if part else [])

    # --- decoding -------------------------------------------------------------------------
    def decode(self, inputs: list[dict], max_new_tokens: int, no_repeat_ngram_size: int,
               sentences: int = 0) -> list[list[int]]:
        r, lib = self.runner, self.lib
        lib.llama_memory_clear(lib.llama_get_memory(self.ctx.ctx), True)
        prompts = [inp["input_ids"][0].tolist() for inp in inputs]
        logits = self._prefill_all(prompts, [inp.get("pixel_values") for inp in inputs])
        histories: list[list[int]] = [[] for _ in prompts]  # the answer's own n-grams: the prompt's facts may be copied
        pos = [len(ids) for ids in prompts]
        outs: list[list[int]] = [[] for _ in inputs]
        active = list(range(len(inputs)))
        deadline = time.monotonic() + r.max_time_s
        while active and time.monotonic() <= deadline:
            step = []
            for s in active:
                row = logits[s]
                if no_repeat_ngram_size:
                    row[list(_banned(histories[s], no_repeat_ngram_size, r.n_vocab))] = -np.inf
                tok = int(np.argmax(row))
                if tok in r.stop_ids:
                    continue
                outs[s].append(tok)
                if sentences and _sentences(r.tokenizer.decode(outs[s], skip_special_tokens=True)) >= sentences:
                    outs[s].pop()  # the next sentence's first token: the answer ends before it
                    continue
                histories[s].append(tok)
                if len(outs[s]) < max_new_tokens and pos[s] + 1 < self.n_ctx:
                    step.append((s, tok))
            if not step:
                break
            rows = self._decode([(tok, pos[s], s, True) for s, tok in step])
            for (s, _), row in zip(step, rows):
                logits[s] = row
                pos[s] += 1
            active = [s for s, _ in step]
        return outs

    def _prefill_all(self, prompts: list[list[int]], pixels: list) -> list[np.ndarray]:
        """Every prompt into its sequence; each one's next-token logits. A start (``_head``) that
        several prompts open with is decoded once and copied to the others' sequences; the rest
        of each prompt is decoded on its own, so a sequence's numbers never depend on what it
        shares the batch with (llama.cpp's kernels round differently for other batch sizes)."""
        lib, ctx = self.lib, self.ctx.ctx
        mem = lib.llama_get_memory(ctx)
        heads = [self._head(ids) for ids in prompts]
        first_with: dict[tuple[int, ...], int] = {}
        for s, (ids, head) in enumerate(zip(prompts, heads)):
            if not head:
                continue
            key = tuple(ids[:head])
            if key in first_with:
                lib.llama_memory_seq_cp(mem, first_with[key], s, 0, head)
            else:
                self._decode([(t, p, s, False) for p, t in enumerate(key)])
                first_with[key] = s
        logits = []
        for s, (ids, pv, head) in enumerate(zip(prompts, pixels, heads)):
            rows = self.runner._image_rows(pv)
            if len(rows):
                self._prefill(s, ids, rows, start=head)
                logits.append(self._logits(-1))
            else:
                logits += self._decode([(t, p, s, p == len(ids) - 1) for p, t in enumerate(ids) if p >= head])
        return logits

    def _head(self, ids: list[int]) -> int:
        """How many tokens of ``ids`` may be shared with prompts that start the same way: the
        system turn and the user turn's first line (an explanation prompt's "I am looking for:
        <request>", the same on every card of a reply), never an image token (0: not ChatML)."""
        marker = self._user_turn
        for i in range(len(ids) - len(marker)):
            if ids[i:i + len(marker)] == marker:
                break
        else:
            return 0
        head = next((j + 1 for j in range(i + len(marker) + 1, len(ids) - 1) if ids[j] in self._newline), i)
        image = self.runner.image_token_id
        return next((j for j in range(head) if ids[j] == image), head)

    def _logits(self, i: int) -> np.ndarray:
        return np.ctypeslib.as_array(self.lib.llama_get_logits_ith(self.ctx.ctx, i), shape=(self.runner.n_vocab,)).copy()

    def _decode(self, items: list[tuple[int, int, int, bool]]) -> list[np.ndarray]:
        """Decode (token, position, sequence, wants logits) items in chunks of the batch size;
        the logits of the items that want them, in order."""
        b, size = self.batch, max(self.runner.n_batch, self.max_seqs)
        out = []
        for start in range(0, len(items), size):
            part = items[start:start + size]
            for j, (tok, p, s, want) in enumerate(part):
                b.token[j], b.pos[j], b.n_seq_id[j], b.logits[j] = tok, p, 1, int(want)
                b.seq_id[j][0] = s
            b.n_tokens = len(part)
            rc = self.lib.llama_decode(self.ctx.ctx, b)
            if rc != 0:
                raise RuntimeError(f"llama_decode returned {rc}")
            out.extend(self._logits(j) for j, item in enumerate(part) if item[3])
        return out

    def _prefill(self, seq: int, ids: list[int], rows: np.ndarray, start: int = 0) -> None:
        """One prompt with an image from position ``start``: text runs as tokens, image runs as
        the projector's rows."""
        image, pos, used = self.runner.image_token_id, start, 0
        while pos < len(ids):
            end = pos
            while end < len(ids) and (ids[end] == image) == (ids[pos] == image):
                end += 1
            if ids[pos] == image:
                self._embeddings(rows[used:used + end - pos], pos, seq)
                used += end - pos
            else:
                self._decode([(t, pos + j, seq, pos + j == len(ids) - 1) for j, t in enumerate(ids[pos:end])])
            pos = end
        if used != len(rows):
            raise ValueError(f"{len(rows) - used} image feature rows have no image token in the prompt")

    def _embeddings(self, rows: np.ndarray, pos: int, seq: int) -> None:
        lib, n_embd = self.lib, self.runner.n_embd
        part = np.ascontiguousarray(rows, dtype=np.float32)
        b = lib.llama_batch_init(len(part), n_embd, 1)
        try:
            ctypes.memmove(b.embd, part.ctypes.data, part.nbytes)
            for i in range(len(part)):
                b.pos[i], b.n_seq_id[i], b.logits[i] = pos + i, 1, 0
                b.seq_id[i][0] = seq
            b.logits[len(part) - 1] = 1
            b.n_tokens = len(part)
            rc = lib.llama_decode(self.ctx.ctx, b)
        finally:
            lib.llama_batch_free(b)
        if rc != 0:
            raise RuntimeError(f"llama_decode of image embeddings returned {rc}")


def _banned(history: list[int], n: int, vocab: int) -> set[int]:
    """Tokens that would repeat an n-gram of ``history`` (transformers' no_repeat_ngram_size rule).
    Callers pass the answer so far, not the prompt: banning the prompt's n-grams would forbid
    copying its facts ("$24.99", "the most expensive of the five"), and a small model then
    writes near-copies ("$20.97", "mostexpensive of thefive")."""
    if len(history) < n:
        return set()
    prefix = tuple(history[len(history) - n + 1:])
    return {history[i + n - 1] for i in range(len(history) - n + 1)
            if tuple(history[i:i + n - 1]) == prefix and history[i + n - 1] < vocab}


_SENTENCE_END = re.compile(r"[.!?][\"')\]]*\s")


def _sentences(text: str) -> int:
    """Sentences of ``text`` known to be complete: their end mark is followed by a space (so a
    price such as "$12.99" never ends one, and a final "." is counted once the next word starts)."""
    return len(_SENTENCE_END.findall(text))
