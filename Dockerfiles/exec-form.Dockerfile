# Exec form: Docker execs the server directly, so it is PID 1 and receives the stop signal itself.
ARG BASE=scratch
FROM ${BASE}
COPY server /usr/local/bin/server
EXPOSE 1202
ENTRYPOINT ["server"]
