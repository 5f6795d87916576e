//! Observers of long-lived connections across the stop, one per protocol (h2c, gRPC,
//! WebSocket, server-sent events), and the plain data they hand back: per stream what arrived
//! and how it ended, per HTTP/2 connection the GOAWAY frames.
//!
//! Each observer runs its streams in the background ([`StreamHandle`]) so the caller can wait for
//! a fact (the first message), send the stop, and collect the observation afterwards; all times
//! are offsets from an `Instant` the caller passes, the run's timeline. What happens to a stream
//! once asked for (refused, cut, timed out) is an observation; [`ProtocolError`] is for bad input
//! and for an h2c connection that could not be made. The observers spawn tokio tasks: call them
//! inside a tokio runtime.

mod error;
mod frames;
mod grpc;
mod h2c;
mod raw_codec;
mod set;
mod sse;
mod stream;
mod websocket;

pub use crate::model::stream_expect::{StreamCheck, StreamExpectations, check_grpc_status_name};
pub use crate::model::streams::{
    ConnectionObservation, Goaway, GoawaySequence, Item, MAX_STREAM_ID, NamedStream, Protocol,
    REFUSED_STREAM, Received, StreamEnd, StreamObservation, StreamRequest, StreamWhat,
    StreamsObservation, WS_ABNORMAL_CLOSURE, WS_NO_STATUS, goaway_sequence, grpc_code_name,
    grpc_method_problem,
};
pub use error::ProtocolError;
pub use frames::{Frame, FrameReader, GoawayFields, Tap, TapLog};
pub use grpc::{GrpcClient, GrpcObservation, proto};
pub use h2c::H2cConnection;
pub use set::StreamSet;
pub use sse::open as open_sse;
pub use sse::{Event, EventParser};
pub use stream::StreamHandle;
pub use websocket::open as open_websocket;
