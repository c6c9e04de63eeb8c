"""Several conversations decoded in one llama.cpp batch: many shoppers, one model.

:class:`SequenceBatcher` takes the ``generate_batch`` and streamed calls of several threads
(one per session finishing a turn) and decodes their conversations together in a second
llama.cpp context over the same model: each conversation is its own sequence (``seq_id``)
in a unified KV cache, prefilled when a slot and room in the context are free (text as
tokens, image runs as the projector's rows); each step decodes one token of every running
sequence in a single ``llama_decode``, and a finished one frees its slot for the next
(continuous batching: a reply asked mid-decode does not wait for the batch to end). Greedy,
with the same stop tokens and n-gram rule as the one-at-a-time path, so a conversation gets
the same answer whoever it shares the batch with (tested: no cross-talk).
"""

from __future__ import annotations

import ctypes
import functools
import logging
import queue
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

logger = logging.getLogger(__name__)


@dataclass
class _Job:
    inputs: list[dict]
    max_new_tokens: int
    no_repeat_ngram_size: int
    on_token: Callable[[int, int], None] | None = None  # (conversation index, token id), as decoded
    done: threading.Event = field(default_factory=threading.Event)
    answers: list[list[int]] | None = None
    error: BaseException | None = None
    left: int = 0  # conversations not finished yet


@dataclass
class _Seq:
    """One conversation running in a sequence slot."""

    job: _Job
    index: int  # which of the job's conversations
    history: list[int]
    pos: int
    logits: np.ndarray
    need: int  # context cells it may take: prompt + answer
    on_token: Callable[[int], None] | None
    deadline: float
    out: list[int] = field(default_factory=list)


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
        self._jobs: queue.Queue[_Job] = queue.Queue()
        threading.Thread(target=self._work, daemon=True, name="llama-batcher").start()

    def run(self, inputs: list[dict], max_new_tokens: int, no_repeat_ngram_size: int,
            on_token: Callable[[int, int], None] | None = None) -> list[list[int]]:
        """Token ids of each conversation's answer; blocks until its batch is decoded.
        ``on_token(i, token)`` is called from the decoding thread as each token of conversation
        ``i`` is chosen (a streamed reply)."""
        job = _Job(inputs, max_new_tokens, no_repeat_ngram_size, on_token)
        self._jobs.put(job)
        job.done.wait()
        if job.error is not None:
            raise job.error
        return job.answers

    # --- the worker: continuous batching ----------------------------------------------------
    def _work(self) -> None:
        """Sequences join the running batch as slots and context free up (a reply that
        arrives mid-decode starts at the next step instead of waiting for the batch to end)
        and leave it as they finish."""
        active: dict[int, _Seq] = {}
        waiting: deque[tuple[_Job, int]] = deque()
        while True:
            idle = not active and not waiting
            if idle:  # an empty cache: the next batch's attention spans only its own cells
                self.lib.llama_memory_clear(self.lib.llama_get_memory(self.ctx.ctx), True)
            self._collect(waiting, block=idle)
            self._admit(active, waiting)
            if active:
                self._step(active)

    def _collect(self, waiting: deque, block: bool) -> None:
        """Move newly asked conversations to ``waiting``; when idle, wait for one, then
        ``wait_s`` for others asked at the same moment."""
        jobs: list[_Job] = []
        if block:
            jobs.append(self._jobs.get())
            while sum(len(j.inputs) for j in jobs) < self.max_seqs:
                try:
                    jobs.append(self._jobs.get(timeout=self.wait_s))
                except queue.Empty:
                    break
        while True:
            try:
                jobs.append(self._jobs.get_nowait())
            except queue.Empty:
                break
        for job in jobs:
            job.answers, job.left = [[] for _ in job.inputs], len(job.inputs)
            if not job.inputs:
                job.done.set()
            waiting.extend((job, i) for i in range(len(job.inputs)))

    def _admit(self, active: dict[int, "_Seq"], waiting: deque) -> None:
        """Prefill waiting conversations into free sequence slots while the context holds them."""
        used = sum(q.need for q in active.values())
        while waiting and len(active) < self.max_seqs:
            job, i = waiting[0]
            if job.error is not None:  # another of its conversations failed: the caller has its error
                waiting.popleft()
                continue
            ids = job.inputs[i]["input_ids"][0].tolist()
            need = len(ids) + job.max_new_tokens + 1
            if active and used + need > self.n_ctx:
                return  # wait for a running one to finish
            waiting.popleft()
            sid = min(set(range(self.max_seqs)) - set(active))
            mem = self.lib.llama_get_memory(self.ctx.ctx)
            self.lib.llama_memory_seq_rm(mem, sid, -1, -1)
            try:
                if need > self.n_ctx:
                    raise ValueError(f"a prompt of {len(ids)} tokens and {job.max_new_tokens} new ones do not fit "
                                     f"the {self.n_ctx}-token batch context")
                self._prefill(sid, ids, self.runner._image_rows(job.inputs[i].get("pixel_values")))
            except BaseException as exc:  # the caller's thread re-raises it
                self.lib.llama_memory_seq_rm(mem, sid, -1, -1)
                self._fail(job, exc, active)
                continue
            on_token = functools.partial(job.on_token, i) if job.on_token else None
            active[sid] = _Seq(job, i, list(ids), len(ids), self._logits(-1), need, on_token,
                               time.monotonic() + self.runner.max_time_s)
            used += need

    def _step(self, active: dict[int, "_Seq"]) -> None:
        """One token of every running conversation, in one ``llama_decode``."""
        r, step = self.runner, []
        for sid, q in list(active.items()):
            row = q.logits
            if q.job.no_repeat_ngram_size:
                row[list(_banned(q.history, q.job.no_repeat_ngram_size, r.n_vocab))] = -np.inf
            tok = int(np.argmax(row))
            if tok in r.stop_ids or time.monotonic() > q.deadline:
                self._finish(sid, active)
                continue
            q.out.append(tok)
            q.history.append(tok)
            if q.on_token is not None:
                q.on_token(tok)
            if len(q.out) >= q.job.max_new_tokens or q.pos + 1 >= self.n_ctx:
                self._finish(sid, active)
                continue
            step.append(sid)
        if not step:
            return
        try:
            self._tokens([(active[sid].out[-1], active[sid].pos, sid) for sid in step], logits_all=True)
        except BaseException as exc:
            for job in {active[sid].job for sid in step}:
                self._fail(job, exc, active)
            return
        for i, sid in enumerate(step):
            active[sid].logits = self._logits(i)
            active[sid].pos += 1

    def _finish(self, sid: int, active: dict[int, "_Seq"]) -> None:
        q = active.pop(sid)
        self.lib.llama_memory_seq_rm(self.lib.llama_get_memory(self.ctx.ctx), sid, -1, -1)
        q.job.answers[q.index] = q.out
        q.job.left -= 1
        if q.job.left == 0 and q.job.error is None:
            q.job.done.set()

    def _fail(self, job: _Job, exc: BaseException, active: dict[int, "_Seq"]) -> None:
        job.error = exc
        for sid in [s for s, q in active.items() if q.job is job]:
            active.pop(sid)
            self.lib.llama_memory_seq_rm(self.lib.llama_get_memory(self.ctx.ctx), sid, -1, -1)
        job.done.set()

    def _logits(self, i: int) -> np.ndarray:
        return np.ctypeslib.as_array(self.lib.llama_get_logits_ith(self.ctx.ctx, i), shape=(self.runner.n_vocab,)).copy()

    def _tokens(self, items: list[tuple[int, int, int]], logits_all: bool) -> None:
        """Decode (token, position, sequence) items, in chunks of the batch size."""
        b, size = self.batch, max(self.runner.n_batch, self.max_seqs)
        for start in range(0, len(items), size):
            part = items[start:start + size]
            for j, (tok, p, s) in enumerate(part):
                b.token[j], b.pos[j], b.n_seq_id[j] = tok, p, 1
                b.seq_id[j][0] = s
                b.logits[j] = int(logits_all)
            b.logits[len(part) - 1] = 1
            b.n_tokens = len(part)
            rc = self.lib.llama_decode(self.ctx.ctx, b)
            if rc != 0:
                raise RuntimeError(f"llama_decode returned {rc}")

    def _prefill(self, seq: int, ids: list[int], rows: np.ndarray) -> None:
        image, pos, used = self.runner.image_token_id, 0, 0
        while pos < len(ids):
            end = pos
            while end < len(ids) and (ids[end] == image) == (ids[pos] == image):
                end += 1
            if ids[pos] == image:
                self._embeddings(rows[used:used + end - pos], pos, seq)
                used += end - pos
            else:
                self._tokens([(t, pos + j, seq) for j, t in enumerate(ids[pos:end])], logits_all=False)
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
    """Tokens that would repeat an n-gram of ``history`` (transformers' no_repeat_ngram_size)."""
    if len(history) < n:
        return set()
    prefix = tuple(history[len(history) - n + 1:])
    return {history[i + n - 1] for i in range(len(history) - n + 1)
            if tuple(history[i:i + n - 1]) == prefix and history[i + n - 1] < vocab}
