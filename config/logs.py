"""JSON log lines (production): time, level, logger, message, and what a record carries
about a request (method, path, status), for a log collector to index."""

import json
import logging
from datetime import UTC, datetime

from config.logfilters import GRANT_RE

_EXTRAS = ("method", "path", "status", "status_code", "duration_ms", "remote_addr")


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        request = getattr(record, "request", None)
        if request is not None and hasattr(request, "method"):
            entry["method"] = request.method
            entry["path"] = GRANT_RE.sub("/g/[grant]", request.path)  # SECURITY: no grants
        for name in _EXTRAS:
            if name in record.__dict__:
                entry[name] = record.__dict__[name]
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)
