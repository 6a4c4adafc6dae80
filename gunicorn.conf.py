"""Production server settings: `gunicorn -c gunicorn.conf.py wsgi:app`.

gevent workers hold thousands of idle websockets per process (each is a greenlet, not a thread).
With the in-process fan-out every subscriber must live in the process that publishes, so there is
one worker unless Redis fan-out (PARLEY_FANOUT=redis) is on.
"""

import os

bind = os.environ.get("PARLEY_BIND", "127.0.0.1:8000")
# gunicorn's gevent worker, with the JSON error envelope on the answers gunicorn gives itself.
worker_class = "entrypoints.http.gunicorn_worker.JsonErrorGeventWorker"
worker_connections = int(os.environ.get("PARLEY_WORKER_CONNECTIONS", "20000"))
_default_workers = "2" if os.environ.get("PARLEY_FANOUT") == "redis" else "1"
workers = int(os.environ.get("PARLEY_WORKERS", _default_workers))
# Websockets are long requests; the gevent worker's heartbeat is what `timeout` watches.
timeout = 30
graceful_timeout = 10
keepalive = 5
# What gunicorn refuses before the app sees it (414, 431), answered in JSON by the worker above.
# The request line allows gunicorn's maximum, for long ?token= JWTs on the websocket URL.
limit_request_line = 8190
limit_request_fields = 100
limit_request_field_size = 8190
# No access log: query strings carry websocket tokens, which must never be written anywhere.
accesslog = None
errorlog = "-"
loglevel = os.environ.get("PARLEY_LOG_LEVEL", "info")
