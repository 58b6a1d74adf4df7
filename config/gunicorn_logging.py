"""gunicorn's access log as JSON lines, with sandbox grants redacted (SPEC §4.4): a grant in
a log file would be a working link to an artifact for its lifetime."""

import json
import time

from gunicorn.glogging import Logger

from config.logfilters import GRANT_RE


def _redact(value):
    return GRANT_RE.sub("/g/[grant]", value) if isinstance(value, str) else value


class JsonAccessLogger(Logger):
    def atoms(self, resp, req, environ, request_time):
        atoms = super().atoms(resp, req, environ, request_time)
        # Every atom that can carry the URL: the request line, the path, the referrer
        # (an artifact's own links), and the raw environ copies.
        return {key: _redact(value) for key, value in atoms.items()}

    def access(self, resp, req, environ, request_time):
        if not self.access_log_enabled:
            return
        atoms = self.atoms(resp, req, environ, request_time)
        entry = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "level": "INFO",
            "logger": "gunicorn.access",
            "remote_addr": atoms["h"],
            "host": atoms.get("{host}i", "-"),
            "method": atoms["m"],
            "path": atoms["U"],
            "status": int(atoms["s"]) if str(atoms["s"]).isdigit() else atoms["s"],
            "bytes": atoms["B"],
            "duration_ms": atoms["M"],
            "user_agent": atoms["a"],
            "request_id": atoms.get("{x-request-id}i"),
        }
        self.access_log.info(json.dumps(entry))
