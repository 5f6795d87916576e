#!/bin/sh
# Typical entrypoint: some setup, then the server started as a child of this shell (no `exec`).
# The shell stays PID 1; it has no trap, so `docker stop`'s SIGTERM never reaches the server.
set -e
: "${SERVER_LISTEN:=0.0.0.0:1202}"
export SERVER_LISTEN
echo "entrypoint: starting server on ${SERVER_LISTEN}"
server "$@"
