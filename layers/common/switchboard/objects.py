"""Files in the files bucket (S3): buffer files and subscription dumps.

The bucket encrypts every object with the data key (KMS, template.yaml) and expires them after
the retention period, so callers neither encrypt nor delete. `MultipartWriter` streams a large
object in parts of a fixed size, so writing a million lines holds one part in memory, never the
whole file.
"""

from __future__ import annotations

from types import TracebackType
from typing import Any

from switchboard import aws

# S3's smallest part (but the last) is 5 MiB.
PART_SIZE = 8 * 1024 * 1024


class ObjectStore:
    def __init__(self, bucket: str) -> None:
        self._bucket = bucket

    @property
    def _s3(self) -> Any:
        return aws.client("s3")

    def put(self, key: str, body: bytes, content_type: str) -> None:
        self._s3.put_object(Bucket=self._bucket, Key=key, Body=body, ContentType=content_type)

    def get(self, key: str) -> tuple[bytes, str] | None:
        """The object's bytes and content type; None when it does not exist (expired)."""
        try:
            response = self._s3.get_object(Bucket=self._bucket, Key=key)
        except self._s3.exceptions.NoSuchKey:
            return None
        return response["Body"].read(), response.get("ContentType", "application/octet-stream")

    def size(self, key: str) -> int:
        return int(self._s3.head_object(Bucket=self._bucket, Key=key)["ContentLength"])

    def presigned_url(self, key: str, expires_s: int) -> str:
        return str(
            self._s3.generate_presigned_url(
                "get_object", Params={"Bucket": self._bucket, "Key": key}, ExpiresIn=expires_s
            )
        )

    def writer(self, key: str, content_type: str) -> MultipartWriter:
        return MultipartWriter(self._s3, self._bucket, key, content_type)


class MultipartWriter:
    """A file-like sink for one object: `write` fills a part buffer allocated once, each full part is
    uploaded. Leaving the `with` block completes the upload (aborts it on an error). Memory stays at
    one part whatever the object's size."""

    def __init__(self, s3: Any, bucket: str, key: str, content_type: str, part_size: int = PART_SIZE) -> None:
        self._s3 = s3
        self._bucket = bucket
        self._key = key
        self._content_type = content_type
        self._part = bytearray(part_size)
        self._filled = 0
        self._parts: list[dict[str, Any]] = []
        self._upload_id: str | None = None
        self.size = 0

    def __enter__(self) -> MultipartWriter:
        response = self._s3.create_multipart_upload(Bucket=self._bucket, Key=self._key, ContentType=self._content_type)
        self._upload_id = response["UploadId"]
        return self

    def write(self, data: bytes) -> int:
        view = memoryview(data)
        while view:
            room = len(self._part) - self._filled
            chunk = view[:room]
            self._part[self._filled : self._filled + len(chunk)] = chunk
            self._filled += len(chunk)
            view = view[len(chunk) :]
            if self._filled == len(self._part):
                self._upload()
        self.size += len(data)
        return len(data)

    def flush(self) -> None:
        """Parts go out when full; zipfile and gzip call this freely."""

    def _upload(self) -> None:
        number = len(self._parts) + 1
        response = self._s3.upload_part(
            Bucket=self._bucket,
            Key=self._key,
            UploadId=self._upload_id,
            PartNumber=number,
            Body=bytes(memoryview(self._part)[: self._filled]),
        )
        self._parts.append({"PartNumber": number, "ETag": response["ETag"]})
        self._filled = 0

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        if kind is not None:
            self._s3.abort_multipart_upload(Bucket=self._bucket, Key=self._key, UploadId=self._upload_id)
            return
        if self._filled or not self._parts:
            self._upload()
        self._s3.complete_multipart_upload(
            Bucket=self._bucket, Key=self._key, UploadId=self._upload_id, MultipartUpload={"Parts": self._parts}
        )
