"""Log set-up for `serve`: JSON lines for a log pipeline or text for a terminal, UTC always.

In JSON mode every line the process writes to stderr is one JSON object, from the first one:
Python's records go through JsonFormatter, and whatever else writes to file descriptor 2 (the
gRPC C core logs there on its own, the interpreter prints warnings there) is read back
through a pipe and wrapped as a JSON record of the logger "stderr". The request id of the
call a record was logged in (service.api.call_context) is added to every record.

No PHI: records carry what the code logs and nothing of the request; the access log line
(service.api.observability) logs the method, status, duration and ids only.
"""

from __future__ import annotations

import atexit
import json
import logging
import os
import queue
import sys
import threading
from datetime import UTC, datetime
from typing import IO, Any, Literal, NamedTuple

from service.api import call_context

LogFormat = Literal["text", "json"]
LOG_FORMATS: tuple[LogFormat, ...] = ("text", "json")

# Attributes every LogRecord has; anything else was passed with `extra=` and is logged too.
_RECORD_FIELDS = frozenset(
    logging.LogRecord("", 0, "", 0, "", None, None).__dict__.keys()
    | {"message", "asctime", "request_id", "identity_id"}
)


def utc_timestamp(created: float) -> str:
    """RFC 3339 in UTC with milliseconds, e.g. 2026-12-01T06:10:12.345Z."""
    moment = datetime.fromtimestamp(created, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


class RequestIdFilter(logging.Filter):
    """Stamps each record with the request id (and identity) of the call it was logged in."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not getattr(record, "request_id", ""):
            record.request_id = call_context.request_id.get()
        if not getattr(record, "identity_id", ""):
            record.identity_id = call_context.identity_id.get()
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per record: ts, level, logger, message, request_id, extras, exception.

    A traceback is kept inside the object (field "exception"), so it stays one line.
    """

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": utc_timestamp(record.created),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key in ("request_id", "identity_id"):
            value = getattr(record, key, "")
            if value:
                entry[key] = value
        for key, value in record.__dict__.items():
            if key not in _RECORD_FIELDS and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return json.dumps(entry, default=str, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    """`<UTC time> LEVEL logger: message [request_id=...]` for a terminal."""

    def format(self, record: logging.LogRecord) -> str:
        text = (
            f"{utc_timestamp(record.created)} {record.levelname} {record.name}: "
            f"{record.getMessage()}"
        )
        extras = {
            key: value
            for key, value in record.__dict__.items()
            if key not in _RECORD_FIELDS and not key.startswith("_")
        }
        request_id = getattr(record, "request_id", "")
        if request_id:
            extras["request_id"] = request_id
        identity = getattr(record, "identity_id", "")
        if identity:
            extras["identity_id"] = identity
        if extras:
            text += " " + " ".join(f"{key}={value}" for key, value in extras.items())
        if record.exc_info:
            text += "\n" + self.formatException(record.exc_info)
        return text


def configure_logging(
    level: str, log_format: LogFormat, stream: IO[str] | LockedStream | None = None
) -> None:
    """Replace the root logger's handlers with one writing `log_format` lines at `level`.

    JSON mode also routes file descriptor 2 (route_stderr) unless a stream is given, so the
    gRPC C core's own lines arrive as JSON too.
    """
    if log_format == "json" and stream is None:
        stream = route_stderr()
    handler = BackgroundLogHandler(stream if stream is not None else sys.stderr)
    handler.setFormatter(JsonFormatter() if log_format == "json" else TextFormatter())
    handler.addFilter(RequestIdFilter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
        if isinstance(old, BackgroundLogHandler):
            old.close()
    root.addHandler(handler)
    root.setLevel(level)
    logging.captureWarnings(True)  # warnings become records in the chosen format


class AccessEntry(NamedTuple):
    """One access-log line, as the RPC's worker thread hands it to the writer: the fields a
    LogRecord of logger `service.access` would carry, without building that record (an
    access line per RPC made the record's own work a visible part of a quote's cost)."""

    created: float
    level: int
    service: str
    method: str
    code: str
    seconds: float
    request_id: str
    identity_id: str

    def message(self) -> str:
        return f"{self.service}/{self.method} {self.code} {self.seconds * 1000:.1f}ms"

    def extras(self) -> dict[str, Any]:
        fields: dict[str, Any] = {
            "grpc_service": self.service,
            "grpc_method": self.method,
            "grpc_code": self.code,
            "duration_ms": round(self.seconds * 1000, 6),
        }
        if self.identity_id:
            fields["identity_id"] = self.identity_id
        return fields

    def record(self) -> logging.LogRecord:
        """The LogRecord `logging` would have made (for other formatters, and the tests)."""
        record = logging.LogRecord(
            ACCESS_LOGGER, self.level, __file__, 0, self.message(), None, None
        )
        record.created = self.created
        for key, value in self.extras().items():
            setattr(record, key, value)
        record.request_id = self.request_id
        record.identity_id = self.identity_id
        return record


ACCESS_LOGGER = "service.access"
_ACCESS_LOG = logging.getLogger(ACCESS_LOGGER)


def access_text(entry: AccessEntry) -> str:
    """TextFormatter's line for `entry.record()`, made directly."""
    level = logging.getLevelName(entry.level)
    text = f"{utc_timestamp(entry.created)} {level} {ACCESS_LOGGER}: {entry.message()}"
    text += (
        f" grpc_service={entry.service} grpc_method={entry.method} grpc_code={entry.code}"
        f" duration_ms={round(entry.seconds * 1000, 6)}"
    )
    if entry.request_id:
        text += f" request_id={entry.request_id}"
    if entry.identity_id:
        text += f" identity_id={entry.identity_id}"
    return text


def access_json(entry: AccessEntry) -> str:
    """JsonFormatter's line for `entry.record()`, made directly."""
    line: dict[str, Any] = {
        "ts": utc_timestamp(entry.created),
        "level": logging.getLevelName(entry.level),
        "logger": ACCESS_LOGGER,
        "message": entry.message(),
    }
    if entry.request_id:
        line["request_id"] = entry.request_id
    if entry.identity_id:
        line["identity_id"] = entry.identity_id
    extras = entry.extras()
    extras.pop("identity_id", None)
    line.update(extras)
    return json.dumps(line, default=str, ensure_ascii=False)


def access_writer() -> BackgroundLogHandler | None:
    """The handler access lines can be queued on directly: the root logger's only handler
    when `configure_logging` installed it and nothing else listens to `service.access`
    (its records would then reach only that handler, through its request id filter)."""
    access = _ACCESS_LOG
    if access.handlers or not access.propagate or access.filters:
        return None
    root = logging.root
    if len(root.handlers) != 1 or root.filters:
        return None
    handler = root.handlers[0]
    return handler if isinstance(handler, BackgroundLogHandler) else None


class BackgroundLogHandler(logging.Handler):
    """Formats and writes records on one writer thread; the logging thread only queues them.

    Every RPC writes an access line. Written in the RPC's worker thread, each line took the
    handler's lock, formatted and flushed (a write system call) while the other workers
    queued behind that lock; here a worker stamps the record (request id, message text) and
    hands it over, and the writer flushes once per burst of lines. Records keep their order.
    Closing (and interpreter exit) writes whatever is still queued.
    """

    _STOP = object()

    def __init__(self, stream: IO[str] | LockedStream) -> None:
        super().__init__()
        self._stream = stream
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._write, name="log-writer", daemon=True)
        self._closed = False
        self._thread.start()
        atexit.register(self.close)

    def emit(self, record: logging.LogRecord) -> None:
        # The message text is made now: its arguments may change after this call returns.
        record.msg = record.getMessage()
        record.args = None
        self._queue.put(record)

    def access(self, entry: AccessEntry) -> None:
        """Queue one access line; it is written as its LogRecord would be formatted."""
        self._queue.put(entry)

    def _access(self, entry: AccessEntry) -> str:
        formatter = self.formatter
        if isinstance(formatter, JsonFormatter):
            return access_json(entry)
        if isinstance(formatter, TextFormatter):
            return access_text(entry)
        return self.format(entry.record())

    def flush(self) -> None:
        """Return once every record queued so far is written (or after 5 s)."""
        if self._closed or not self._thread.is_alive():
            return
        done = threading.Event()
        self._queue.put(done)
        done.wait(5.0)

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._queue.put(self._STOP)
            self._thread.join(timeout=5.0)
        super().close()

    def _write(self) -> None:
        get, get_nowait = self._queue.get, self._queue.get_nowait
        while True:
            item = get()
            lines: list[str] = []
            waiting: list[threading.Event] = []
            stop = False
            while True:
                if item is self._STOP:
                    stop = True
                elif isinstance(item, threading.Event):
                    waiting.append(item)
                elif isinstance(item, AccessEntry):
                    lines.append(self._access(item) + "\n")
                else:
                    try:
                        lines.append(self.format(item) + "\n")
                    except Exception:
                        self.handleError(item)
                if len(lines) >= 512:
                    break
                try:
                    item = get_nowait()
                except queue.Empty:
                    break
            if lines:
                try:
                    self._stream.write("".join(lines))
                    self._stream.flush()
                except Exception:  # a closed or broken stream: nothing else to tell
                    pass
            for event in waiting:
                event.set()
            if stop:
                return


_routed: LockedStream | None = None


def route_stderr() -> LockedStream:
    """Send everything written to fd 2 through a pipe that wraps each line as JSON.

    Returns a stream on the real stderr for the log handler (its lines are JSON already).
    Called once; later calls return the same stream.
    """
    global _routed
    if _routed is not None:
        return _routed
    sys.stderr.flush()
    real = os.dup(2)
    read_end, write_end = os.pipe()
    os.dup2(write_end, 2)
    os.close(write_end)
    out = os.fdopen(real, "w", buffering=1, encoding="utf-8", errors="replace")
    lock = threading.Lock()
    sys.stderr = os.fdopen(os.dup(2), "w", buffering=1, encoding="utf-8", errors="replace")

    def pump() -> None:
        with os.fdopen(read_end, "r", encoding="utf-8", errors="replace") as pipe:
            for line in pipe:
                text = line.rstrip("\n")
                if not text.strip():
                    continue
                entry = {
                    "ts": utc_timestamp(datetime.now(UTC).timestamp()),
                    "level": _stderr_level(text),
                    "logger": "stderr",
                    "message": text,
                }
                with lock:
                    out.write(json.dumps(entry, ensure_ascii=False) + "\n")

    thread = threading.Thread(target=pump, name="stderr-json", daemon=True)
    thread.start()

    def drain() -> None:  # at exit: close our ends of the pipe so the pump sees EOF
        try:
            sys.stderr.flush()
            sys.stderr.close()
            os.close(2)
        except OSError:
            pass
        thread.join(timeout=1.0)

    atexit.register(drain)
    _routed = LockedStream(out, lock)
    return _routed


def _stderr_level(text: str) -> str:
    """The level of a raw stderr line: gRPC's C core starts lines with E/W/I/D and a date."""
    first = text[:1]
    if first in "EF" and text[1:2].isdigit():
        return "ERROR"
    if first == "W" and text[1:2].isdigit():
        return "WARNING"
    if first in "ID" and text[1:2].isdigit():
        return "INFO" if first == "I" else "DEBUG"
    return "WARNING"


class LockedStream:
    """The real stderr shared by the log handler and the pump: whole lines, never interleaved."""

    def __init__(self, stream: IO[str], lock: threading.Lock) -> None:
        self._stream = stream
        self._lock = lock

    def write(self, text: str) -> int:
        with self._lock:
            return self._stream.write(text)

    def flush(self) -> None:
        with self._lock:
            self._stream.flush()
