"""The contract on what goes out: every simulated event is judged as it will be read, after it
is made and before it is published.

Checks on a request look at its spelling; harm is in what the service emits. A value can reach
the event through decoding after the request was checked (a form body's `%00`, a JSON body
given as a string, an encoded word), so the emitted event itself must be:

- storable: every string and member name is text the scheduler's store (PostgreSQL) can hold,
  and every number is finite, so no accepted event is dead-lettered later for it;
- free of inward URLs: every URL a client could take from its trigger data or input (bodies as
  the ingress decoded them) is to a public host, judged as `worker.safety` judges (any
  scheme but `file`: a generated GitHub payload has `git://` URLs);
- sent as it reads: the HTTP headers of a simulated delivery read back, through two HTTP/1.1
  parsers (h11, and llhttp through httptools), as the very same names and values.

A violation refuses the invocation as `invalid`, at the parameter the value came from when
the event names one, and says where in the event it sits.
"""

from __future__ import annotations

import string
from functools import partial
from typing import Any

import h11
import httptools

from contracts.documents import storable_problems
from contracts.kinds import KINDS
from contracts.models import MAX_ERROR_PATH, MORE_ERRORS, FieldError, TriggerEvent
from contracts.validation import BoundedErrors, pointer
from worker.safety import field_error, plainly_safe, url_errors

_PARTS = ("trigger_data", "input_data", "metadata")


def event_errors(
    event: TriggerEvent, parameters: dict[str, Any], *, replay: bool = False
) -> list[FieldError]:
    """Why this event may not be published, or nothing. A replay re-emits a real event as it
    was (its edits were judged as input), so only what no store can hold is judged in it."""
    document = {part: getattr(event, part) for part in _PARTS}
    contents = {"trigger_data": event.trigger_data, "input_data": event.input_data}
    errors: list[FieldError] = []
    if replay:
        errors = _unstorable(document)
    elif not (
        plainly_safe(contents, storable=True, any_scheme=True)
        and plainly_safe(event.metadata, urls=False, storable=True)
    ):  # one pass for the common case; the walks that say where only when needed
        errors = _unstorable(document) + url_errors(contents, "", any_scheme=True)
    # Types whose trigger data carries an HTTP request's `headers` say so (their kind).
    if not replay and KINDS[event.trigger_type].http_delivery:
        errors += header_errors(event.trigger_data.get("headers"))
    # A value the event carries twice (a webhook's body is its input too) is one error.
    unique: dict[tuple[str, str], FieldError] = {}
    for error in errors:
        unique.setdefault((error.code, error.message), error)
    return [
        error if error.code == MORE_ERRORS else _at_request(error, parameters, replay)
        for error in unique.values()
    ]


def _unstorable(document: dict[str, Any]) -> list[FieldError]:
    """The request's own storability rule, on what goes out (one code: where it came from is
    the event, not a value the caller wrote as such)."""
    if plainly_safe(document, urls=False, storable=True):
        return []
    errors = BoundedErrors()
    for links, _, problem in storable_problems(document):
        errors.add(partial(field_error, "", links, "unstorable", problem))
    return errors.result()


def header_errors(headers: Any) -> list[FieldError]:
    """Each header of a simulated HTTP request, read back by h11 as the receiving server would:
    the same name and value, or an error at `/trigger_data/headers/<name>`."""
    if not isinstance(headers, dict) or not headers:
        return []
    if _reads_back(headers):
        return []
    return [
        FieldError(
            path=pointer(["trigger_data", "headers", name], limit=MAX_ERROR_PATH),
            code="invalid_header",
            message="an HTTP server would not read this header back as sent (line breaks, "
            "control characters, leading or trailing spaces, or a name that is not a token)",
        )
        for name, value in headers.items()
        if not _reads_back({name: value})
    ]


def _reads_back(headers: dict[str, Any]) -> bool:
    sent = [(str(name), str(value)) for name, value in headers.items()]
    return plainly_read_back(sent) or parsers_read_back(sent)


# What an HTTP token (a header name) is made of (RFC 9110 section 5.6.2).
_NOT_TOKEN = str.maketrans("", "", "!#$%&'*+-.^_`|~" + string.ascii_letters + string.digits)
# Headers a parser acts on rather than only reads (the host, the framing, upgrades and
# expectations): always left to the parsers, except a plain Content-Length.
_ACTED_ON = frozenset(
    {"host", "content-length", "transfer-encoding", "connection", "upgrade", "expect", "te",
     "trailer", "keep-alive", "proxy-connection"}
)  # fmt: skip


def plainly_read_back(sent: list[tuple[str, str]]) -> bool:
    """True when every header is plainly a line both parsers read back as sent: a token name
    that no parser acts on, and a value of visible ASCII with spaces only inside; at most one
    Content-Length, of a few digits. Most simulated deliveries are; the parsers judge the rest
    (a property test holds this to never pass what they refuse)."""
    lengths = 0
    for name, value in sent:
        if not (name.isascii() and name) or name.translate(_NOT_TOKEN):
            return False
        if not (value.isascii() and value.isprintable() and value.strip(" ") == value and value):
            return False
        lowered = name.lower()
        if lowered == "content-length":
            lengths += 1
            if lengths > 1 or not value.isdigit() or len(value) > 15:
                return False
        elif lowered in _ACTED_ON:
            return False
    return True


def parsers_read_back(sent: list[tuple[str, str]]) -> bool:
    """Whether both of the HTTP/1.1 parsers a receiving server is likely to run read these
    headers back as the very names and values sent: h11 (pure Python, lenient about control
    characters) and llhttp through httptools (Node's parser, uvicorn's default: strict)."""
    host = [] if any(name.lower() == "host" for name, _ in sent) else [("Host", "ingress.example")]
    lines = b"".join(f"{name}: {value}\r\n".encode() for name, value in host + sent)
    request = b"POST / HTTP/1.1\r\n" + lines + b"\r\n"
    expected = [(name.lower(), value) for name, value in sent]
    return _h11_reads(request, len(host)) == expected == _llhttp_reads(request, len(host))


def _h11_reads(request: bytes, skip: int) -> list[tuple[str, str]] | None:
    server = h11.Connection(h11.SERVER)
    server.receive_data(request)
    try:
        event = server.next_event()
    except h11.RemoteProtocolError:
        return None
    if not isinstance(event, h11.Request):
        return None
    read = [(n.decode().lower(), v.decode()) for n, v in event.headers.raw_items()]
    return read[skip:]


def _llhttp_reads(request: bytes, skip: int) -> list[tuple[str, str]] | None:
    read: list[tuple[str, str]] = []

    class Reader:
        def on_header(self, name: bytes, value: bytes) -> None:
            read.append((name.decode().lower(), value.decode()))

    try:
        httptools.HttpRequestParser(Reader()).feed_data(request)
    except httptools.HttpParserUpgrade:
        pass  # an upgrade (`Connection: upgrade`) stops the parser after the headers it read
    except httptools.HttpParserError:
        return None
    return read[skip:]


def _at_request(error: FieldError, parameters: dict[str, Any], replay: bool) -> FieldError:
    """The error at the parameter the value came from: as deep into the request's parameters
    as the event's path under its trigger data or input names them (a webhook's
    `/trigger_data/headers/X-A` is `/parameters/headers/X-A`; its `/trigger_data/body/a`, from
    a body given as a string, is `/parameters/body`), else the parameters as a whole. The event
    location goes into the message."""
    segments = [s.replace("~1", "/").replace("~0", "~") for s in error.path.split("/")[2:]]
    at: list[str | int] = []
    if not replay and error.path.split("/")[1:2] != ["metadata"]:
        value: Any = parameters
        for segment in segments:
            key: str | int
            if isinstance(value, list) and segment.isdigit() and int(segment) < len(value):
                key = int(segment)
                value = value[key]
            elif isinstance(value, dict) and segment in value:
                key = segment
                value = value[key]
            else:
                break
            at.append(key)
    base = "/replay_of" if replay else "/parameters"
    return FieldError(
        path=base + pointer(at, limit=MAX_ERROR_PATH),
        code=error.code,
        message=f"{error.message} (in the simulated event at {error.path})",
    )
