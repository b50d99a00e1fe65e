#!/usr/bin/env bash
# Start LabBook in the foreground: migrate, ensure the admin, load the demo pipeline, collect
# static files, then run gunicorn (http://$LABBOOK_BIND), one Celery worker and Celery beat
# under supervisor (restarted if they die) until Ctrl-C.
# Called by 'make run' after the venv and the services are ready.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
PY=.venv/bin/python
BIND="${LABBOOK_BIND:-127.0.0.1:8000}"
QUEUE="${LABBOOK_CELERY_QUEUE:-labbook}"
export LABBOOK_CELERY_QUEUE="$QUEUE"

# A stable secret key for local runs (DEBUG is off by default, so Django needs one).
if [ -z "${SECRET_KEY:-}" ]; then
    mkdir -p var
    if [ ! -s var/secret-key.txt ]; then
        (umask 077 && "$PY" -c 'import secrets; print(secrets.token_urlsafe(50))' >var/secret-key.txt)
    fi
    SECRET_KEY="$(cat var/secret-key.txt)"
    export SECRET_KEY
fi

"$PY" manage.py migrate --noinput
"$PY" manage.py ensure_admin
case "$(echo "${LABBOOK_DEMO:-1}" | tr '[:upper:]' '[:lower:]')" in
    0 | false | no | off) echo "run: LABBOOK_DEMO is off; the demo pipeline is not declared" ;;
    # declare demo_lab and demo_imaging, load their input, and populate Detection (idempotent)
    *) "$PY" manage.py pipeline demo --populate ;;
esac
"$PY" manage.py collectstatic --noinput -v 0

ADMIN_USER="${LABBOOK_ADMIN_USER:-admin}"
if [ -n "${LABBOOK_ADMIN_PASSWORD:-}" ]; then
    LOGIN="$ADMIN_USER / (LABBOOK_ADMIN_PASSWORD)"
elif [ -s var/admin-password.txt ]; then
    LOGIN="$ADMIN_USER / $(cat var/admin-password.txt)   (stored in var/admin-password.txt)"
else
    LOGIN="$ADMIN_USER / (password unchanged)"
fi
# the grant example's pattern: the demo schemas, prefix escaped (\ _ % are special in patterns)
PATTERN="${LABBOOK_SCHEMA_PREFIX:-}"
PATTERN="${PATTERN//\\/\\\\}"
PATTERN="${PATTERN//_/\\_}"
PATTERN="${PATTERN//%/\\%}demo\\_%"
cat <<MSG

  LabBook is running at http://$BIND/
  Log in as: $LOGIN
  Celery worker queue: $QUEUE.  Press Ctrl-C to stop.
  Processes: .venv/bin/supervisorctl -s unix://var/supervisor.sock status

  Roles: logged-in users without a grant are '${LABBOOK_DEFAULT_ROLE:-viewer}' on every schema
  (LABBOOK_DEFAULT_ROLE); visitors: '${LABBOOK_ANONYMOUS_ROLE:-none}' (LABBOOK_ANONYMOUS_ROLE).
  Grant roles (viewer < entry < editor < operator < admin) at
      http://$BIND/admin/pipeline_core/rolegrant/
  or on the command line, to a user or an @group, on a schema pattern:
      .venv/bin/python manage.py grant alice '$PATTERN' operator
      .venv/bin/python manage.py grant --list     (and: grant USER PATTERN --revoke)

MSG

# gunicorn, the Celery worker and Celery beat under supervisor (deploy/supervisord.conf): each
# is restarted if it dies (with a back-off if it keeps dying), the others keep running, and
# supervisor logs each event; Ctrl-C stops them all.
export LABBOOK_ROOT="$PWD" LABBOOK_VAR="$PWD/var" LABBOOK_BIND="$BIND"
export LABBOOK_WEB_WORKERS="${LABBOOK_WEB_WORKERS:-2}"
export LABBOOK_WORKER_CONCURRENCY="${LABBOOK_WORKER_CONCURRENCY:-1}"
mkdir -p var
exec .venv/bin/supervisord -c deploy/supervisord.conf
