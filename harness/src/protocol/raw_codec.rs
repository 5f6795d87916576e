//! A gRPC codec that passes messages through as bytes, so that any method of any server can be
//! called without its .proto: the request is the bytes given (none is a valid proto3 message of
//! any type, every field at its default), each reply is kept as the bytes that came.

use bytes::{Buf, BufMut, Bytes};
use tonic::Status;
use tonic::codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder};

/// Messages as opaque bytes, both ways.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct RawCodec;

impl Codec for RawCodec {
    type Encode = Bytes;
    type Decode = Bytes;
    type Encoder = RawCodec;
    type Decoder = RawCodec;

    fn encoder(&mut self) -> Self::Encoder {
        RawCodec
    }

    fn decoder(&mut self) -> Self::Decoder {
        RawCodec
    }
}

impl Encoder for RawCodec {
    type Item = Bytes;
    type Error = Status;

    fn encode(&mut self, item: Bytes, dst: &mut EncodeBuf<'_>) -> Result<(), Status> {
        dst.put(item);
        Ok(())
    }
}

impl Decoder for RawCodec {
    type Item = Bytes;
    type Error = Status;

    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<Bytes>, Status> {
        // tonic hands over exactly one message's bytes (its framing is handled already).
        Ok(Some(src.copy_to_bytes(src.remaining())))
    }
}

/// How a reply is written in a report: its length and its first bytes in hex
/// (`2 bytes: 0801`), enough to tell replies apart without knowing their type.
pub(crate) fn describe(message: &[u8]) -> String {
    const SHOWN: usize = 32;
    if message.is_empty() {
        return "0 bytes".to_string();
    }
    let shown = &message[..message.len().min(SHOWN)];
    let more = if message.len() > SHOWN { "…" } else { "" };
    format!("{} bytes: {}{more}", message.len(), hex::encode(shown))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replies_are_described_by_length_and_leading_bytes() {
        assert_eq!(describe(&[]), "0 bytes");
        assert_eq!(describe(&[0x08, 0x01]), "2 bytes: 0801");
        let long = describe(&[0xab; 40]);
        assert!(long.starts_with("40 bytes: abab"), "{long}");
        assert!(long.ends_with('…'), "{long}");
    }
}
