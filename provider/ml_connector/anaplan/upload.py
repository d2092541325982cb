"""Chunking a staged file for upload: sizes within Anaplan's limits, gzip ahead of the PUTs."""

from __future__ import annotations

import gzip
import math
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import BinaryIO

from ml_connector.anaplan.config import MAX_CHUNK, MAX_CHUNKS
from ml_connector.errors import ConfigError


@dataclass
class UploadResult:
    file_id: str
    chunks: int
    bytes: int
    sent_bytes: int
    seconds: float = 0.0


def chunk_plan(size: int, chunk_size: int) -> tuple[int, int]:
    """(chunk size, chunk count) for ``size`` bytes: larger chunks if 1,000 would not do."""
    if size <= 0:
        return chunk_size, 1
    count = math.ceil(size / chunk_size)
    if count > MAX_CHUNKS:
        chunk_size = math.ceil(size / MAX_CHUNKS)
        if chunk_size > MAX_CHUNK:
            raise ConfigError(
                f"file of {size} bytes exceeds Anaplan's limit of {MAX_CHUNKS} chunks of 50 MB"
            )
        count = math.ceil(size / chunk_size)
    return chunk_size, count


def read_chunks(stream: BinaryIO, chunk_size: int) -> Iterator[bytes]:
    while chunk := stream.read(chunk_size):
        yield chunk


def _gzip(chunk: bytes, level: int) -> tuple[int, bytes]:
    return len(chunk), gzip.compress(chunk, level)


def prepared_chunks(
    stream: BinaryIO, chunk_size: int, compress: bool, level: int = 6
) -> Iterator[tuple[int, bytes]]:
    """(raw size, body) of each chunk to PUT. With ``compress`` the next chunk is gzipped in a
    worker thread while the current one is sent (zlib releases the GIL); at most two chunks
    are held in memory."""
    chunks = read_chunks(stream, chunk_size)
    if not compress:
        yield from ((len(chunk), chunk) for chunk in chunks)
        return
    with ThreadPoolExecutor(1, thread_name_prefix="gzip") as pool:
        pending = None
        for chunk in chunks:
            future = pool.submit(_gzip, chunk, level)
            if pending is not None:
                yield pending.result()
            pending = future
        if pending is not None:
            yield pending.result()
