"""WSGI entry point for gunicorn: `gunicorn -c gunicorn.conf.py wsgi:app`.

The settings are checked first (gunicorn.conf.py has checked them in the master already): a bad
one is one line and exit code 4, which makes gunicorn's master stop ("App failed to load") rather
than start worker after worker.
"""

from entrypoints.cli.main import create_app_or_exit
from entrypoints.settings import exit_on_bad_settings

APP_LOAD_ERROR = 4  # gunicorn's arbiter halts on a worker that exits with it

exit_on_bad_settings(program="parley (wsgi)", exit_code=APP_LOAD_ERROR)
app = create_app_or_exit("parley (wsgi)", exit_code=APP_LOAD_ERROR)
