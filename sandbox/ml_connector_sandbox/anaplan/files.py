"""Import data source files of one model: chunked (optionally gzip) uploads, private per
user, kept for the retention period."""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field

from ml_connector_sandbox.anaplan import errors
from ml_connector_sandbox.anaplan.config import FileLimits
from ml_connector_sandbox.anaplan.definition import FileSpec

GZIP = "application/x-gzip"


@dataclass
class Content:
    """A user's uploaded file: its chunks as uploaded (uncompressed)."""

    chunks: list[bytes]
    at: float

    @property
    def data(self) -> bytes:
        return b"".join(self.chunks)


@dataclass
class Upload:
    expected: int | None
    chunks: dict[int, bytes] = field(default_factory=dict)


@dataclass
class DataFile:
    id: str
    name: str
    content: dict[str, Content] = field(default_factory=dict)
    uploads: dict[str, Upload] = field(default_factory=dict)


def chunked(data: bytes, size: int) -> list[bytes]:
    """``data`` in chunks of ``size`` bytes (one empty chunk for no data), as Anaplan serves
    downloads and dumps."""
    return [data[i:i + size] for i in range(0, len(data), size)] or [b""]


def gunzip(body: bytes, limit: int) -> bytes:
    """Decompress gzip data (several members allowed), refusing more than ``limit`` bytes."""
    out = bytearray()
    data = body
    try:
        while data:
            inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
            out += inflater.decompress(data, limit + 1 - len(out))
            if len(out) > limit or inflater.unconsumed_tail:
                raise too_big(limit)
            if not inflater.eof:
                raise errors.bad_request("Truncated gzip data")
            data = inflater.unused_data
    except zlib.error:
        raise errors.bad_request("Chunk is not valid gzip data") from None
    return bytes(out)


def too_big(limit: int) -> errors.ApiError:
    return errors.bad_request(f"Chunk exceeds the limit of {limit} bytes uncompressed")


class Files:
    """The data source files of one model (plus any created by uploads to unknown ids)."""

    def __init__(self, specs: list[FileSpec], limits: FileLimits) -> None:
        self.limits = limits
        self.files = {s.id: DataFile(s.id, s.name) for s in specs}

    def add(self, file_id: str, name: str) -> None:
        """A file no upload fills: an export's output."""
        self.files.setdefault(file_id, DataFile(file_id, name))

    def write(self, file_id: str, user: str, chunks: list[bytes], now: float) -> None:
        """An export's output for the user who ran it (private, kept as uploads are)."""
        self.get(file_id).content[user] = Content(chunks, now)

    def get(self, file_id: str) -> DataFile:
        found = self.files.get(file_id)
        if found is None:
            raise errors.not_found()
        return found

    def content(self, file_id: str, user: str, now: float) -> Content | None:
        """The user's current upload of a file, unless it has expired."""
        data_file = self.files.get(file_id)
        content = data_file.content.get(user) if data_file else None
        if (data_file is not None and content is not None
                and content.at < now - self.limits.retention_seconds):
            del data_file.content[user]
            return None
        return content

    def latest(self, file_id: str, now: float) -> bytes | None:
        """The most recent upload of a file by any user."""
        data_file = self.get(file_id)
        uploads = [c for u in list(data_file.content) if (c := self.content(file_id, u, now))]
        return max(uploads, key=lambda c: c.at).data if uploads else None

    def row(self, data_file: DataFile, user: str, now: float) -> dict:
        upload = data_file.uploads.get(user)
        content = self.content(data_file.id, user, now)
        if upload is not None and upload.expected is not None:
            chunks = upload.expected
        else:
            chunks = len(content.chunks) if content else 0
        return {"id": data_file.id, "name": data_file.name, "chunkCount": chunks,
                "delimiter": '"', "encoding": "UTF-8", "firstDataRow": 2, "format": "txt",
                "headerRow": 1, "separator": ","}

    def rows(self, user: str, now: float) -> list[dict]:
        return [self.row(f, user, now) for f in self.files.values()]

    def begin(self, file_id: str, user: str, chunk_count: object, now: float) -> DataFile:
        """``POST /files/{id}``: announce ``chunk_count`` chunks (-1: unknown). An unknown
        id creates a new file, as Anaplan does."""
        if type(chunk_count) is not int or not -1 <= chunk_count <= self.limits.max_chunks:
            raise errors.bad_request(
                f"chunkCount must be -1 or 0..{self.limits.max_chunks}")
        data_file = self.files.setdefault(file_id, DataFile(file_id, file_id))
        data_file.uploads[user] = Upload(None if chunk_count == -1 else chunk_count)
        if chunk_count == 0:
            self._finish(data_file, user, now)
        return data_file

    def put_chunk(self, file_id: str, user: str, number: str, body: bytes,
                  content_type: str, now: float) -> None:
        data_file = self.get(file_id)
        upload = data_file.uploads.setdefault(user, Upload(None))
        limit = upload.expected if upload.expected is not None else self.limits.max_chunks
        if not number.isdigit() or int(number) >= limit:
            raise errors.bad_request(f"Chunk number must be 0..{limit - 1}")
        data = self._decode(body, content_type, self.limits.max_chunk_bytes)
        upload.chunks[int(number)] = data
        if upload.expected is not None and len(upload.chunks) == upload.expected:
            self._finish(data_file, user, now)

    def complete(self, file_id: str, user: str, now: float) -> DataFile:
        """``POST /files/{id}/complete``: the chunks so far are the whole file."""
        data_file = self.get(file_id)
        upload = data_file.uploads.get(user)
        if upload is None:
            if self.content(file_id, user, now) is None:
                raise errors.bad_request("No upload in progress for this file")
            return data_file
        count = upload.expected if upload.expected is not None else len(upload.chunks)
        if sorted(upload.chunks) != list(range(count)):
            raise errors.bad_request("Chunks are missing")
        self._finish(data_file, user, now)
        return data_file

    def put_whole(self, file_id: str, user: str, body: bytes, content_type: str,
                  now: float) -> None:
        """``PUT /files/{id}``: a small file in one request, never compressed."""
        if _media(content_type) == GZIP:
            raise errors.bad_request("A single-request upload cannot be compressed")
        if len(body) >= self.limits.single_put_bytes:
            raise errors.bad_request("Files of 1 MB or more must be uploaded in chunks")
        data_file = self.files.setdefault(file_id, DataFile(file_id, file_id))
        data_file.uploads.pop(user, None)
        data_file.content[user] = Content([body], now)

    def _finish(self, data_file: DataFile, user: str, now: float) -> None:
        upload = data_file.uploads.pop(user)
        data_file.content[user] = Content([upload.chunks[n] for n in sorted(upload.chunks)], now)

    @staticmethod
    def _decode(body: bytes, content_type: str, limit: int) -> bytes:
        data = gunzip(body, limit) if _media(content_type) == GZIP else body
        if len(data) > limit:
            raise too_big(limit)
        return data


def _media(content_type: str) -> str:
    return content_type.split(";")[0].strip().lower()
