"""Signed, expiring links to stored files, for messengers that take a URL, not an upload.

Zalo's sendPhoto fetches a public URL, and its Bot Platform has no way to send a
document at all: notices' PDFs and officers' files reach Zalo residents as links to
wardbot's own web server. A link is ``<public url>/files/<id>/<expires>/<signature>``:
the signature is an HMAC-SHA256 of the file id and the expiry time, so a link cannot be
guessed, altered or extended, and it stays valid (Zalo fetches a photo more than once)
until it expires, 24 hours after it was made by default. Nothing is stored per link.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot import clock

PATH_PREFIX = "/files"
DEFAULT_TTL = timedelta(hours=24)
# The label that separates the key derived from another secret from that secret's uses.
_DERIVATION_LABEL = b"wardbot signed file links v1"


def derive_key(secret: str) -> bytes:
    """A key for file links from another secret of the deployment (the Zalo token):
    every process that makes or checks links has it, and the token cannot be recovered
    from the key."""
    return hmac.new(secret.encode(), _DERIVATION_LABEL, hashlib.sha256).digest()


@dataclass(frozen=True)
class FileLinks:
    base_url: str
    key: bytes
    ttl: timedelta = DEFAULT_TTL

    def _signature(self, file_id: int, expires: int) -> str:
        digest = hmac.new(self.key, f"{file_id}.{expires}".encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()

    def expiry(self, now: datetime | None = None) -> datetime:
        """When a link made now stops working (whole seconds)."""
        moment = (now or clock.now()) + self.ttl
        return moment.replace(microsecond=0)

    def url(self, file_id: int, now: datetime | None = None) -> str:
        expires = int(self.expiry(now).timestamp())
        signature = self._signature(file_id, expires)
        return f"{self.base_url.rstrip('/')}{PATH_PREFIX}/{file_id}/{expires}/{signature}"

    def check(
        self, file_id: int, expires: int, signature: str, now: datetime | None = None
    ) -> bool:
        """Whether a link is genuine and still valid (compared in constant time)."""
        expected = self._signature(file_id, expires)
        genuine = hmac.compare_digest(expected.encode(), signature.encode())
        return genuine and (now or clock.now()).timestamp() < expires
