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
import sys
import threading
from datetime import UTC, datetime
from typing import IO, Any, Literal

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
    handler: logging.Handler = logging.StreamHandler(stream if stream is not None else sys.stderr)
    handler.setFormatter(JsonFormatter() if log_format == "json" else TextFormatter())
    handler.addFilter(RequestIdFilter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    logging.captureWarnings(True)  # warnings become records in the chosen format


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
