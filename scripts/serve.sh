#!/usr/bin/env bash
# Runs the web server and one django-q2 worker cluster together; Ctrl-C (or SIGTERM) stops both.
set -u
cd "$(dirname "$0")/.."
PY=.venv/bin/python
# PORT picks the port (make demo PORT=8080); ADDR the whole address (ADDR=0.0.0.0:8000).
PORT=${PORT:-8000}
ADDR=${ADDR:-127.0.0.1:$PORT}

# The cluster gets its own process group, so stopping it reaches every process it started, and
# a lower CPU priority, so the screens stay quick while a run executes (docs/operations.md).
setsid nice -n 10 "$PY" manage.py qcluster &
worker=$!
"$PY" manage.py runserver --noreload "$ADDR" &
web=$!

stop() {
  trap - INT TERM EXIT
  kill -TERM "$web" 2>/dev/null
  kill -TERM -- "-$worker" 2>/dev/null
  for _ in $(seq 1 20); do
    kill -0 -- "-$worker" 2>/dev/null || break
    sleep 0.5
  done
  kill -KILL -- "-$worker" 2>/dev/null
  wait 2>/dev/null
  echo "stopped web server and worker"
}
trap stop INT TERM EXIT
echo "web server http://$ADDR/ (pid $web), worker cluster (pid $worker); Ctrl-C stops both"
wait -n "$web" "$worker"
