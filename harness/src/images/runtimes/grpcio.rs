//! The project's gRPC service (`shutdown.v1.Probe`) and the standard health service
//! (`grpc.health.v1.Health`) on Debian's python3-grpcio and `/usr/bin/python3`, with or without
//! a SIGTERM handler, in exec form or shell form.

use super::python::{dist_package, python_server_spec};
use super::{HTTP_PORT, RuntimeImage};
use crate::images::rootfs::RootfsImage;

/// The server: `Slow` and `Tick` as graceful-server serves them, on [`HTTP_PORT`] (gRPC only,
/// so readiness is the port accepting). No generated stubs: Debian's grpc-tools is far older
/// than its grpcio, and every field of the four messages is a uint64, so a generic handler with
/// a hand-written varint codec serves them (the harness's tonic client, compiled from the same
/// .proto, speaks to it unchanged). The health service is written the same way: `Check`, and a
/// `Watch` that says SERVING and then waits. In `graceful` mode SIGTERM first tells every watch
/// NOT_SERVING, which then ends with status OK (a watch never ends by itself, so `stop(grace)`
/// alone would hold it for the whole grace and then cancel it), then calls
/// `server.stop(GRACE_S)`: the port closes (new calls UNAVAILABLE), calls in flight get GRACE_S,
/// then the rest are cancelled; in `unhandled` mode Python's default disposition applies.
const SERVER_PY: &str = r#""""The project's gRPC service shutdown.v1.Probe (server/contract/proto/shutdown/v1/probe.proto) and
the standard health service grpc.health.v1.Health on Debian's python3-grpcio (1.51), without
generated stubs: the messages carry only uint64 or enum fields and one string, encoded and
decoded here by hand (proto3: a zero field is not on the wire).

    Slow(SlowRequest{delay_ms=1}) -> SlowReply{waited_ms=1}   (0: the image's default delay)
    Tick(TickRequest{every_ms=1, for_ms=2}) -> stream TickReply{number=1}
    Health.Check(HealthCheckRequest{service=1}) -> HealthCheckResponse{status=1}
    Health.Watch(HealthCheckRequest{service=1}) -> stream HealthCheckResponse{status=1}:
        SERVING at once; at a graceful shutdown NOT_SERVING, then the end (status OK)

    python3 server.py graceful    on SIGTERM (or SIGINT): every watch is told NOT_SERVING and
                                  ends, then server.stop(GRACE_S): the port closes, new calls
                                  fail (UNAVAILABLE), calls in flight get GRACE_S to end, then
                                  whatever is left is cancelled; exit 0
    python3 server.py unhandled   no handler: Python's default SIGTERM disposition applies
"""
import os
import signal
import sys
import threading
import time
from concurrent import futures

import grpc

PORT = @PORT@
DEFAULT_DELAY_MS = @DELAY_MS@
GRACE_S = float(os.environ.get("GRACE_S", "3"))
MODE = sys.argv[1] if len(sys.argv) > 1 else "graceful"
MAX_MS = 10 * 60 * 1000


def log(*args):
    print(*args, flush=True)


# ---- protobuf wire format, varint fields only
def _varint(n):
    out = bytearray()
    while True:
        b, n = n & 0x7F, n >> 7
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


def encode(fields):
    return b"".join(_varint(num << 3) + _varint(v) for num, v in sorted(fields.items()) if v)


def decode(buf):
    """{field number: value} of the varint fields (an int) and length-delimited ones (bytes);
    other wire types are skipped."""
    out, i = {}, 0

    def varint():
        nonlocal i
        v = shift = 0
        while True:
            b = buf[i]
            i += 1
            v |= (b & 0x7F) << shift
            shift += 7
            if b < 0x80:
                return v

    while i < len(buf):
        key = varint()
        num, wire = key >> 3, key & 7
        if wire == 0:
            out[num] = varint()
        elif wire == 1:
            i += 8
        elif wire == 2:
            n = varint()
            out[num] = bytes(buf[i:i + n])
            i += n
        elif wire == 5:
            i += 4
        else:
            raise ValueError(f"wire type {wire}")
    return out


# ---- the service
def slow(request, context):
    delay = request.get(1, 0) or DEFAULT_DELAY_MS
    if delay > MAX_MS:
        context.abort(grpc.StatusCode.INVALID_ARGUMENT, "delay_ms above 10 minutes")
    log(f"Slow({delay}ms) started")
    time.sleep(delay / 1000)
    log(f"Slow({delay}ms) answered")
    return {1: delay}


def tick(request, context):
    every = request.get(1, 0) or 100
    length = request.get(2, 0) or 10_000
    if every > MAX_MS or length > MAX_MS:
        context.abort(grpc.StatusCode.INVALID_ARGUMENT, "every_ms or for_ms above 10 minutes")
    log(f"Tick(every={every}ms, for={length}ms) started")
    start = time.monotonic()
    n = 0
    while True:
        n += 1
        yield {1: n}
        if (time.monotonic() - start) * 1000 + every > length:
            break
        time.sleep(every / 1000)
        if not context.is_active():  # cancelled by the client or by stop(grace)
            log(f"Tick cancelled after {n}")
            return
    log(f"Tick ended after {n}")


# ---- grpc.health.v1.Health
SERVING, NOT_SERVING, SERVICE_UNKNOWN = 1, 2, 3
KNOWN_SERVICES = ("", "shutdown.v1.Probe", "grpc.health.v1.Health")
shutting_down = threading.Event()


def service_of(request):
    return request.get(1, b"").decode("utf-8", "replace")


def health_check(request, context):
    service = service_of(request)
    if service not in KNOWN_SERVICES:
        context.abort(grpc.StatusCode.NOT_FOUND, f"unknown service {service!r}")
    return {1: NOT_SERVING if shutting_down.is_set() else SERVING}


def health_watch(request, context):
    known = service_of(request) in KNOWN_SERVICES
    log("Watch started")
    yield {1: SERVING if known else SERVICE_UNKNOWN}
    while not shutting_down.wait(0.2):
        if not context.is_active():  # cancelled by the client or by stop(grace)
            log("Watch cancelled")
            return
    if known:
        yield {1: NOT_SERVING}
    log("Watch ended: shutting down")


HANDLERS = grpc.method_handlers_generic_handler("shutdown.v1.Probe", {
    "Slow": grpc.unary_unary_rpc_method_handler(
        slow, request_deserializer=decode, response_serializer=encode),
    "Tick": grpc.unary_stream_rpc_method_handler(
        tick, request_deserializer=decode, response_serializer=encode),
})

HEALTH = grpc.method_handlers_generic_handler("grpc.health.v1.Health", {
    "Check": grpc.unary_unary_rpc_method_handler(
        health_check, request_deserializer=decode, response_serializer=encode),
    "Watch": grpc.unary_stream_rpc_method_handler(
        health_watch, request_deserializer=decode, response_serializer=encode),
})


def main():
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=16))
    server.add_generic_rpc_handlers((HANDLERS, HEALTH))
    server.add_insecure_port(f"0.0.0.0:{PORT}")
    stopped = threading.Event()
    if MODE == "graceful":
        def on_signal(signum, _frame):
            log(f"{signal.Signals(signum).name}: watches told NOT_SERVING; stop({GRACE_S}): in-flight calls get {GRACE_S} s")
            shutting_down.set()
            # stop() returns at once; the event is set when every call ended (or was cancelled).
            server.stop(GRACE_S).wait()
            stopped.set()

        # Before the port opens: a signal sent as soon as it accepts finds the handler.
        signal.signal(signal.SIGTERM, on_signal)
        signal.signal(signal.SIGINT, on_signal)
    server.start()
    log(f"listening on {PORT} ({MODE})")
    if MODE == "graceful":
        while not stopped.is_set():
            stopped.wait(0.5)  # a timed wait, so that the main thread runs the handler
        log("stopped, exiting")
    else:
        server.wait_for_termination()


if __name__ == "__main__":
    main()
"#;

/// `server.py` with the image's port and the default delay of `Slow` called with none.
fn server_py(image: &RuntimeImage) -> String {
    SERVER_PY
        .replace("@PORT@", &HTTP_PORT.to_string())
        .replace("@DELAY_MS@", &image.delay.as_millis().to_string())
}

/// What the image is made of: Debian's Python, its standard library, the grpc package (its
/// cygrpc extension links 49 libraries, Abseil's among them, which come with it as the forge
/// takes each shared object's own libraries) and the server, started as `/usr/bin/python3
/// /app/server.py MODE` so the mode shows in the command. python3-protobuf is not needed.
pub(super) fn grpcio_spec(image: &RuntimeImage) -> RootfsImage {
    python_server_spec(
        image,
        vec![dist_package("grpc", "python3-grpcio")],
        &server_py(image),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::runtime::Runtime;
    use crate::model::variant::ServerMode;
    use std::time::Duration;

    #[test]
    fn the_service_is_the_project_s_and_slow_defaults_to_the_image_s_delay() {
        let image = RuntimeImage::new(
            Runtime::Grpcio,
            ServerMode::Graceful,
            Duration::from_secs(2),
            None,
        );
        let py = server_py(&image);
        assert!(py.contains(&format!("\"{}\"", server_contract::stream::GRPC_SERVICE)));
        assert!(py.contains("PORT = 8080\nDEFAULT_DELAY_MS = 2000\n"));
        assert!(py.contains("server.stop(GRACE_S)"));
        assert!(py.contains(&format!(
            "\"{}\"",
            server_contract::stream::GRPC_HEALTH_SERVICE
        )));
    }
}
