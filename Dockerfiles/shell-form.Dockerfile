# Shell form, as in the original experiment: Docker runs `/bin/sh -c server`, so the base's shell decides who is PID 1.
ARG BASE=scratch
FROM ${BASE}
COPY server /usr/local/bin/server
EXPOSE 1202
ENTRYPOINT server
