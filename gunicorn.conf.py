"""Production server settings: `gunicorn -c gunicorn.conf.py wsgi:app`.

gevent workers hold thousands of idle websockets per process (each is a greenlet, not a thread).
With the in-process fan-out every subscriber must live in the process that publishes, so there is
one worker unless Redis fan-out (PARLEY_FANOUT=redis) is on.
"""

import os
import shutil
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from entrypoints.settings import exit_on_bad_settings  # noqa: E402  (standard library only, no metrics)

# Every PARLEY_* setting, checked in the master before it binds: a bad one is one line and exit 2.
# The keys themselves are read by the workers (wsgi.py): a bad one stops them with exit code 4,
# on which gunicorn's master stops too.
exit_on_bad_settings(program="parley (gunicorn)", keys=False)

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
# gunicorn 27's control socket defaults to one path per user (under ~/.gunicorn), shared by every
# server on the machine; Parley's servers are managed by signals, so none of them opens it.
control_socket_disable = True

# What gunicorn refuses before the app sees it (414, 431), answered in JSON by the worker above.
# The request line allows gunicorn's maximum, for long ?token= JWTs on the websocket URL.
limit_request_line = 8190
limit_request_fields = 100
limit_request_field_size = 8190

# --- Logs: every line from the master, the workers, gunicorn and the libraries is one JSON object,
# rendered by the same formatter as Parley's own (entrypoints/logs.py), tokens redacted. The root
# logger holds the only handler; gunicorn's loggers propagate to it. gunicorn's access log repeats
# Parley's own request line, so it is off unless PARLEY_ACCESS_LOG=on; its lines are redacted
# like any other (query strings carry websocket tokens).
loglevel = os.environ.get("PARLEY_LOG_LEVEL", "info")
_level = loglevel.upper()
_access_log_on = os.environ.get("PARLEY_ACCESS_LOG", "off").lower() in ("1", "on", "true", "yes")
accesslog = None
errorlog = "-"
logconfig_dict = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"json": {"()": "entrypoints.logs.json_formatter"}},
    "handlers": {"stderr": {"class": "entrypoints.logs.StderrHandler", "formatter": "json"}},
    "root": {"level": _level, "handlers": ["stderr"]},
    "loggers": {
        "gunicorn.error": {"level": _level, "handlers": [], "propagate": True},
        # Above INFO (the level gunicorn logs access lines at) when off.
        "gunicorn.access": {"level": "INFO" if _access_log_on else "WARNING", "handlers": [], "propagate": True},
    },
}


def post_worker_init(worker):
    # gevent prints a greenlet's uncaught error to stderr itself, as bare traceback lines; send it
    # through logging instead, to become one JSON line (redacted) like every other.
    import logging

    import gevent

    def log_greenlet_error(context, kind, value, traceback):
        logging.getLogger("gevent").error("%s failed", context, exc_info=(kind, value, traceback))

    gevent.get_hub().print_exception = log_greenlet_error


# --- Metrics: with several workers a scrape reaches one of them, so the workers keep their metrics
# in files of one directory (prometheus_client's multiprocess mode) and /metrics sums them. The
# directory is made for this server start (private, emptied at start) unless PROMETHEUS_MULTIPROC_DIR
# names one. The variable is set in the master before any worker forks, so every worker imports
# prometheus_client in multiprocess mode. (Not with preload_app: the app would import it first.)
_METRICS_DIR = "PROMETHEUS_MULTIPROC_DIR"
# Set to the directory a master made: a new master started by USR2 inherits the environment, and
# must make its own rather than empty (and at exit, remove) the one the old master's workers use.
_MADE_METRICS_DIR = "_PARLEY_MADE_METRICS_DIR"


def on_starting(server):
    given = os.environ.get(_METRICS_DIR)
    if given and os.environ.get(_MADE_METRICS_DIR) != given:
        _empty(given)  # the operator's directory
    else:
        made = server.parley_metrics_dir = tempfile.mkdtemp(prefix="parley-metrics-")
        os.environ[_METRICS_DIR] = os.environ[_MADE_METRICS_DIR] = made


def _empty(directory):
    """Files left by an earlier run would be summed in with this one's."""
    os.makedirs(directory, exist_ok=True)
    for name in os.listdir(directory):
        if name.endswith(".db"):
            os.remove(os.path.join(directory, name))


def worker_exit(server, worker):
    # In the worker: what the hot-path counters counted since their last flush goes to the files.
    metrics = sys.modules.get("entrypoints.metrics")
    if metrics is not None:
        metrics.flush()


def child_exit(server, worker):
    # In the master: the exited worker's live gauges (open websockets, subscriptions) stop counting.
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def on_exit(server):
    made = getattr(server, "parley_metrics_dir", None)
    if made:
        shutil.rmtree(made, ignore_errors=True)
