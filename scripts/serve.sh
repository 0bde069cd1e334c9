#!/usr/bin/env bash
# Runs the web server and one django-q2 worker together; Ctrl-C stops both.
set -u
cd "$(dirname "$0")/.."
PY=.venv/bin/python
ADDR=${ADDR:-127.0.0.1:8000}

$PY manage.py qcluster &
worker=$!
$PY manage.py runserver "$ADDR" &
web=$!

stop() {
  trap - INT TERM EXIT
  kill "$web" "$worker" 2>/dev/null
  wait "$web" "$worker" 2>/dev/null
  echo "stopped web server and worker"
}
trap stop INT TERM EXIT
echo "web server http://$ADDR/ (pid $web), worker (pid $worker); Ctrl-C stops both"
wait -n "$web" "$worker"
