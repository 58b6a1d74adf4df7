"""Logging filter that keeps sandbox grants out of access logs (SPEC §4.4).

Imported by LOGGING before apps load, so it must not import models."""

import logging
import re

GRANT_RE = re.compile(r"/g/[A-Za-z0-9_-]{20,}")


class RedactGrantsFilter(logging.Filter):
    def filter(self, record):
        if isinstance(record.msg, str):
            record.msg = GRANT_RE.sub("/g/[grant]", record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(
                GRANT_RE.sub("/g/[grant]", a) if isinstance(a, str) else a for a in record.args
            )
        return True
