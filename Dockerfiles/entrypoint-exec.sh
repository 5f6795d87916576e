#!/bin/sh
# Typical entrypoint: some setup, then `exec "$@"` so the command (CMD, the server) replaces this
# shell as PID 1 and receives `docker stop`'s signal itself.
set -e
: "${SERVER_LISTEN:=0.0.0.0:1202}"
export SERVER_LISTEN
echo "entrypoint: starting $* on ${SERVER_LISTEN}"
exec "$@"
