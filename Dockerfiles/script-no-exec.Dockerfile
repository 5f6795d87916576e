# An entrypoint script that starts the server without `exec`: the script's shell is PID 1 and keeps the stop signal.
ARG BASE=scratch
FROM ${BASE}
COPY server /usr/local/bin/server
COPY entrypoint-no-exec.sh /usr/local/bin/entrypoint.sh
EXPOSE 1202
ENTRYPOINT ["/usr/local/bin/entrypoint.sh"]
