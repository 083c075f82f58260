"""Structured JSON logs with a request id that follows the request into outgoing calls.

Log events name what happened and carry ids, never names, dates of birth or identifiers. Every line is one JSON
object — uvicorn's own lines too (`UVICORN_LOG_CONFIG`, passed as `--log-config` by `earlyhelp up` and the
Dockerfiles) — and a line written while a span is current carries its `trace_id` and `span_id` (`shared.tracing`).
Each request ends with one `http_request` line (method, route template, status, duration); uvicorn's own access
log is off (`--no-access-log`) since that line says more, without the query string.
"""

from __future__ import annotations

import logging
import sys
import uuid
from contextvars import ContextVar, Token
from pathlib import Path

import structlog
from opentelemetry import trace

REQUEST_ID_HEADER = "X-Request-ID"
UVICORN_LOG_CONFIG = Path(__file__).with_name("uvicorn_logging.json")
"""uvicorn's `--log-config`: its startup, error and (when turned on) access lines in this JSON format."""
UVICORN_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.access")
UNLOGGED_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})
"""Probes and scrapes, every few seconds: no `http_request` line (nor span, `shared.tracing.EXCLUDED`)."""
_request_id: ContextVar[str | None] = ContextVar("request_id", default=None)
_service: list[str] = []
"""The process's service name, set once by `configure_logging` (a context variable bound in the lifespan would
not reach the requests, which run in contexts of their own)."""
access_log = structlog.get_logger("shared.access")


def current_request_id() -> str | None:
    return _request_id.get()


def set_request_id(value: str | None) -> None:
    _request_id.set(value)


def _add_request_id(_: object, __: str, event_dict: structlog.types.EventDict) -> structlog.types.EventDict:
    rid = _request_id.get()
    if rid is not None:
        event_dict.setdefault("request_id", rid)
    return event_dict


def _add_service(_: object, __: str, event_dict: structlog.types.EventDict) -> structlog.types.EventDict:
    if _service:
        event_dict.setdefault("service", _service[0])
    return event_dict


def _add_trace_ids(_: object, __: str, event_dict: structlog.types.EventDict) -> structlog.types.EventDict:
    """The current span's ids (W3C hex), as the tracing backend shows them, to go from a log line to its trace."""
    context = trace.get_current_span().get_span_context()
    if context.is_valid:
        event_dict.setdefault("trace_id", format(context.trace_id, "032x"))
        event_dict.setdefault("span_id", format(context.span_id, "016x"))
    return event_dict


SHARED_PROCESSORS: list[structlog.types.Processor] = [
    structlog.contextvars.merge_contextvars,
    structlog.stdlib.add_log_level,
    structlog.stdlib.add_logger_name,
    structlog.processors.TimeStamper(fmt="iso", utc=True),
    _add_service,
    _add_request_id,
    _add_trace_ids,
]


def json_formatter() -> logging.Formatter:
    """The one formatter of every line, ours and the stdlib's (uvicorn, sqlalchemy): a JSON object per line.

    Also the `()` factory of `UVICORN_LOG_CONFIG`, so uvicorn's lines before the app starts are JSON too.
    """
    return structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[*SHARED_PROCESSORS, structlog.stdlib.PositionalArgumentsFormatter()],
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            structlog.processors.JSONRenderer(),
        ],
    )


def configure_logging(service: str, level: str = "INFO") -> None:
    """JSON lines to stdout; the stdlib (uvicorn, sqlalchemy) goes through the same renderer."""
    structlog.configure(
        # below the level an event is dropped first: the stdlib would drop it too, but only once it was processed
        processors=[
            structlog.stdlib.filter_by_level,
            *SHARED_PROCESSORS,
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(json_formatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # uvicorn's loggers have handlers of their own (plain text) unless started with UVICORN_LOG_CONFIG: from here
    # on their lines go through the root handler above, whatever uvicorn was started with. The access logger is
    # left alone when it has no handler and does not propagate: uvicorn turns access lines off that way
    # (`--no-access-log`) and turns them on for any logger that has a handler, the root's included.
    for name in UVICORN_LOGGERS:
        logger = logging.getLogger(name)
        if name == "uvicorn.access" and not logger.hasHandlers():
            continue
        logger.handlers[:] = []
        logger.propagate = True
    _service[:] = [service]
    for noisy in ("httpx", "httpcore"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def request_id_from(incoming: bytes | None) -> str:
    """The caller's `X-Request-ID` when it is printable (at most 128 characters kept), else a new one."""
    if incoming:
        value = incoming.decode("latin-1")[:128]
        if value.isprintable():
            return value
    return uuid.uuid4().hex


def bind_request_id(value: str) -> Token[str | None]:
    """Expose the request id to every log line of the request (and its outgoing calls) until `reset_request_id`."""
    return _request_id.set(value)


def reset_request_id(token: Token[str | None]) -> None:
    _request_id.reset(token)


def log_request(method: str, route: str, status: int, seconds: float) -> None:
    """The access line: the route template, never the raw path or query string (they may hold identifiers)."""
    access_log.info("http_request", method=method, route=route, status=status, duration_ms=round(seconds * 1000, 2))


def outgoing_headers() -> dict[str, str]:
    """Headers to pass the request id on to a downstream call."""
    rid = _request_id.get()
    return {REQUEST_ID_HEADER: rid} if rid else {}
