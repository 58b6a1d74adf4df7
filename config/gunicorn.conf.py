"""gunicorn settings for production: `gunicorn -c config/gunicorn.conf.py config.wsgi`.

gthread workers: browsers open speculative idle connections that would each pin a sync
worker until its timeout, and a 16 MiB streaming download must not hold a whole process.
Everything can be overridden with GUNICORN_* variables (or gunicorn's own flags).
"""

import multiprocessing
import os

bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("GUNICORN_WORKERS", multiprocessing.cpu_count() * 2 + 1))
worker_class = "gthread"
threads = int(os.environ.get("GUNICORN_THREADS", "8"))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "60"))  # a 16 MiB upload on a slow link
graceful_timeout = 30
keepalive = 5
# Recycle workers now and then: bounds the damage of any slow leak, jittered so that the
# workers of a node do not all restart at once. Rarely: a restart costs a second of Django
# start-up, and at 1,000 requests/s a low count recycled each worker every few seconds.
max_requests = 200_000
max_requests_jitter = 20_000
# nginx in front sets X-Forwarded-Proto; trust it from the addresses it connects from.
forwarded_allow_ips = os.environ.get("GUNICORN_FORWARDED_ALLOW_IPS", "127.0.0.1")
accesslog = os.environ.get("GUNICORN_ACCESS_LOG", "-")
errorlog = "-"
loglevel = os.environ.get("LOG_LEVEL", "info").lower()
logger_class = "config.gunicorn_logging.JsonAccessLogger"
# Upload bodies go to disk as they stream (FILE_UPLOAD_TEMP_DIR); the request line and
# headers stay small.
limit_request_line = 8190
# gunicorn's control socket (gunicornc) defaults to one path per user, which two instances
# on one machine (two nodes, the tests) would share and unlink from under each other: off
# unless given a path of its own.
control_socket = os.environ.get("GUNICORN_CONTROL_SOCKET", "")
control_socket_disable = not control_socket
