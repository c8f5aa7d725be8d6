"""Whether the bytes received so far on a connection hold one whole HTTP/1.1 request.

:mod:`bridge.gunicorn_worker` reads every request in its event loop, without a thread, until
this says the request is whole; only then does a gunicorn thread parse and serve it. A client
that sends its request slowly (a header line every few seconds, a body one byte at a time)
therefore holds a buffer, never a thread. The scan is deliberately shallow: it finds where the
request ends (RFC 9112 §6: ``Content-Length``, or ``Transfer-Encoding: chunked`` up to the last
chunk and trailers) and leaves every judgement about validity to gunicorn's own parser, which
sees the same bytes afterwards. Anything it cannot make sense of is "whole": gunicorn then
answers 400. https://www.rfc-editor.org/rfc/rfc9112#section-6
"""

from __future__ import annotations

import enum

# The request line and header fields together (gunicorn's own limits are 4094 bytes per line
# and 100 fields of 8190 bytes; a real webhook sends well under 4 KiB).
MAX_HEAD = 64 * 1024
_MAX_CHUNK_LINE = 4096


class State(enum.Enum):
    INCOMPLETE = "incomplete"  # wait for more bytes
    COMPLETE = "complete"  # hand the bytes to gunicorn's parser
    TOO_LARGE = "too_large"  # the header section alone is over MAX_HEAD: answer 431
    BODY_TOO_LARGE = "body_too_large"  # chunk framing alone is past any body we take: 413


class RequestBuffer:
    """The bytes of one request as they arrive, and where the request ends.

    ``max_body``: past this many body bytes the request is handed over as it is (the
    application refuses it with 413 having read at most ``max_body + 1`` bytes, which are
    then all here), so a buffer never holds much more than ``MAX_HEAD + max_body``.
    """

    def __init__(self, max_body: int, prefix: bytes = b"") -> None:
        self.max_body = max_body
        self.data = bytearray(prefix)
        self.oversize = False  # handed over before its end: the connection is closed after
        self.expects_continue = False  # "Expect: 100-continue" and the body not yet sent
        self._body_start = -1  # where the body starts, once the header section is whole
        self._end = 0  # Content-Length: where the request ends
        self._chunked = False
        self._chunk_pos = 0  # chunked: the next chunk-size line starts here
        self._chunk_body = 0  # chunked: body bytes in the chunks received whole

    def feed(self, data: bytes) -> State:
        self.data += data
        return self.state()

    def state(self) -> State:
        if self._body_start < 0:
            head_end = self.data.find(b"\r\n\r\n")
            if head_end < 0:
                return State.TOO_LARGE if len(self.data) > MAX_HEAD else State.INCOMPLETE
            if head_end > MAX_HEAD:
                return State.TOO_LARGE
            self._body_start = head_end + 4
            verdict = self._read_head(bytes(self.data[:head_end]))
            if verdict is not None:
                return verdict
        if self._chunked:
            state = self._scan_chunks()
            raw_body = len(self.data) - self._body_start
            if state is State.INCOMPLETE and raw_body > 2 * self.max_body + MAX_HEAD:
                # A chunk too large to end within the limit, or framing that costs more than
                # the data (1-byte chunks): refused here, never handed to a thread that would
                # then wait for the rest.
                return State.BODY_TOO_LARGE
            return state
        return State.COMPLETE if len(self.data) >= self._end else State.INCOMPLETE

    def _read_head(self, head: bytes) -> State | None:
        """Where the body ends, from the header fields; a State when that is known now."""
        lengths: set[bytes] = set()
        codings: list[bytes] = []
        expect = False
        lines = head.lstrip(b"\r\n").split(b"\r\n")
        version = lines[0].rsplit(b" ", 1)[-1]
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            name, value = name.strip().lower(), value.strip().lower()
            if name == b"content-length":
                lengths.add(value)
            elif name == b"transfer-encoding":
                codings += [c.strip() for c in value.split(b",")]
            elif name == b"expect":
                expect = value == b"100-continue"
        if codings:
            if codings[-1] != b"chunked" or lengths:
                return State.COMPLETE  # gunicorn refuses it (RFC 9112 §6.1, §6.3)
            self._chunked = True
            self._chunk_pos = self._body_start
        elif len(lengths) > 1:
            return State.COMPLETE  # conflicting lengths: gunicorn answers 400
        else:
            length = lengths.pop() if lengths else b"0"
            if not (length.isascii() and length.isdigit()) or len(length) > 18:
                return State.COMPLETE
            if int(length) > self.max_body:
                self.oversize = True  # the application answers 413 without reading it
                return State.COMPLETE
            self._end = self._body_start + int(length)
        self.expects_continue = expect and version == b"HTTP/1.1"
        return None

    def _scan_chunks(self) -> State:
        """RFC 9112 §7.1: chunk-size [; ext] CRLF data CRLF …, 0 CRLF, trailers, CRLF."""
        while True:
            line_end = self.data.find(b"\r\n", self._chunk_pos)
            if line_end < 0:
                pending = len(self.data) - self._chunk_pos
                return State.COMPLETE if pending > _MAX_CHUNK_LINE else State.INCOMPLETE
            size_text = bytes(self.data[self._chunk_pos : line_end]).split(b";", 1)[0].strip()
            try:
                size = int(size_text, 16)
            except ValueError:
                return State.COMPLETE  # gunicorn answers 400
            if size == 0:
                # The last chunk, then trailer fields, each ending in CRLF, then CRLF.
                if self.data.startswith(b"\r\n", line_end + 2):
                    return State.COMPLETE
                found = self.data.find(b"\r\n\r\n", line_end + 2)
                return State.COMPLETE if found >= 0 else State.INCOMPLETE
            next_pos = line_end + 2 + size + 2
            if len(self.data) < next_pos:
                return State.INCOMPLETE
            self._chunk_body += size
            self._chunk_pos = next_pos
            if self._chunk_body > self.max_body:
                self.oversize = True  # the application reads max_body + 1 bytes: all here
                return State.COMPLETE
