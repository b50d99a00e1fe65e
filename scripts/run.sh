#!/usr/bin/env bash
# Start LabBook in the foreground: migrate, ensure the admin, load the demo pipeline, collect
# static files, then run gunicorn (http://$LABBOOK_BIND) and one Celery worker until Ctrl-C.
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

PIDS=()
stop_all() {
    trap - INT TERM EXIT
    local pid
    for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for _ in $(seq 1 20); do
        local alive=0
        for pid in "${PIDS[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
        [ "$alive" = 0 ] && break
        sleep 0.5
    done
    for pid in "${PIDS[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
}
trap 'echo; echo "run: stopping"; stop_all; exit 130' INT TERM
trap stop_all EXIT

.venv/bin/celery -A labbook worker -B -s var/celerybeat-schedule -l info -c 1 -Q "$QUEUE" &
PIDS+=("$!")
.venv/bin/gunicorn labbook.wsgi --bind "$BIND" --workers 2 --threads 4 --timeout 120 \
    --access-logfile - &
PIDS+=("$!")

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
sleep 2
cat <<MSG

  LabBook is running at http://$BIND/
  Log in as: $LOGIN
  Celery worker queue: $QUEUE.  Press Ctrl-C to stop.

  Roles: logged-in users without a grant are '${LABBOOK_DEFAULT_ROLE:-viewer}' on every schema
  (LABBOOK_DEFAULT_ROLE); visitors: '${LABBOOK_ANONYMOUS_ROLE:-none}' (LABBOOK_ANONYMOUS_ROLE).
  Grant roles (viewer < entry < editor < operator < admin) at
      http://$BIND/admin/pipeline_core/rolegrant/
  or on the command line, to a user or an @group, on a schema pattern:
      .venv/bin/python manage.py grant alice '$PATTERN' operator
      .venv/bin/python manage.py grant --list     (and: grant USER PATTERN --revoke)

MSG

# Stop everything as soon as either process ends.
set +e
wait -n "${PIDS[@]}"
status=$?
echo "run: a process exited (status $status); stopping the other" >&2
exit "$status"
