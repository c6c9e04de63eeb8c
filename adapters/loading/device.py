"""CPU first, GPU when present."""

from __future__ import annotations

import shutil

import torch

from adapters.config import BulkEncoding

BULK_MODES = ("auto", "on", "off")
# From this many products to encode, compiling the image backbone pays for itself: the
# compile takes about 28 s on 2 cores with a cold inductor cache (6.5 s warm), and ingestion
# then runs at 224-251 products/s instead of 203-204 (about 0.5-1 ms less per product;
# bench/bench_ingest.py).
COMPILE_MIN_PRODUCTS = 40_000


def resolve_device(name: str = "auto") -> torch.device:
    """``auto`` picks CUDA when available, else CPU. An explicit ``cuda`` without a GPU is an error."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    dev = torch.device(name)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise RuntimeError(f"device {name!r} asked for, but torch sees no CUDA GPU; use --device cpu or auto")
    return dev


def native_bf16() -> bool:
    """Whether this CPU computes bfloat16 in hardware (AVX512-BF16 or AMX); emulated bf16 is slower."""
    cpu = getattr(torch, "cpu", None)
    probes = [getattr(cpu, n, None) for n in ("_is_avx512_bf16_supported", "_is_amx_tile_supported")]
    return any(p is not None and p() for p in probes)


def bulk_encoding(products: int, mode: str = "auto", device: str = "cpu") -> BulkEncoding:
    """The ingestion speed-ups for encoding ``products`` products on ``device``: ``off`` none,
    ``on`` both, ``auto`` bf16 text where the CPU has native bf16, and the compiled image
    backbone from ``COMPILE_MIN_PRODUCTS`` products where a C++ compiler is on PATH."""
    if mode not in BULK_MODES:
        raise ValueError(f"bulk encoding mode {mode!r}: use one of {', '.join(BULK_MODES)}")
    if mode == "off" or device != "cpu":
        return BulkEncoding()
    if mode == "on":
        return BulkEncoding(compile_images=True, bf16_text=True)
    compiler = any(shutil.which(c) for c in ("c++", "g++", "clang++"))
    return BulkEncoding(compile_images=compiler and products >= COMPILE_MIN_PRODUCTS, bf16_text=native_bf16())
