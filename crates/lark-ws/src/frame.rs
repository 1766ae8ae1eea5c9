//! `pbbp2.Frame`, the protobuf (proto2) message every long-connection WebSocket message holds,
//! encoded and decoded by hand: nine fields, no code generator needed.

use bytes::{BufMut, Bytes, BytesMut};

/// `method` of a control frame (ping, pong).
pub const METHOD_CONTROL: i32 = 0;
/// `method` of a data frame (events, card callbacks, acks).
pub const METHOD_DATA: i32 = 1;

/// One frame.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Frame {
    /// `SeqID` (field 1).
    pub seq_id: u64,
    /// `LogID` (field 2).
    pub log_id: u64,
    /// `service` (field 3): the `service_id` from the connection url.
    pub service: i32,
    /// `method` (field 4): [`METHOD_CONTROL`] or [`METHOD_DATA`].
    pub method: i32,
    /// `headers` (field 5): `type`, `message_id`, `sum`, `seq`, `trace_id`, `biz_rt`, …
    pub headers: Vec<(String, String)>,
    /// `payload_encoding` (field 6).
    pub payload_encoding: Option<String>,
    /// `payload_type` (field 7).
    pub payload_type: Option<String>,
    /// `payload` (field 8).
    pub payload: Option<Bytes>,
    /// `LogIDNew` (field 9).
    pub log_id_new: Option<String>,
}

/// Bytes that are not a frame.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FrameError {
    /// The bytes end inside a field.
    #[error("the frame ends inside field {field}")]
    Truncated {
        /// The field being read.
        field: u32,
    },
    /// A varint runs past ten bytes.
    #[error("field {field} holds a varint longer than ten bytes")]
    VarintTooLong {
        /// The field being read.
        field: u32,
    },
    /// A known field has the wrong wire type.
    #[error("field {field} has wire type {wire_type}, not {expected}")]
    WireType {
        /// The field.
        field: u32,
        /// Its wire type.
        wire_type: u8,
        /// The wire type the schema gives it.
        expected: u8,
    },
    /// A string field is not UTF-8.
    #[error("field {field} is not UTF-8")]
    NotUtf8 {
        /// The field.
        field: u32,
    },
    /// A wire type protobuf does not define (or the deprecated groups).
    #[error("wire type {wire_type} is not supported")]
    UnknownWireType {
        /// The wire type.
        wire_type: u8,
    },
    /// `service` or `method` does not fit in an int32.
    #[error("field {field} does not fit in an int32")]
    OutOfRange {
        /// The field.
        field: u32,
    },
    /// A required field (`SeqID`, `LogID`, `service`, `method`) is missing.
    #[error("the required field {name} is missing")]
    MissingRequired {
        /// The field's name.
        name: &'static str,
    },
}

const VARINT: u8 = 0;
const FIXED64: u8 = 1;
const LENGTH: u8 = 2;
const FIXED32: u8 = 5;

fn put_varint(out: &mut BytesMut, mut value: u64) {
    loop {
        let low = (value & 0x7F) as u8;
        value >>= 7;
        if value == 0 {
            out.put_u8(low);
            return;
        }
        out.put_u8(low | 0x80);
    }
}

fn put_key(out: &mut BytesMut, field: u32, wire_type: u8) {
    put_varint(out, u64::from(field) << 3 | u64::from(wire_type));
}

fn put_len(out: &mut BytesMut, field: u32, bytes: &[u8]) {
    put_key(out, field, LENGTH);
    put_varint(out, bytes.len() as u64);
    out.put_slice(bytes);
}

fn varint_len(value: u64) -> usize {
    (64 - value.max(1).leading_zeros() as usize).div_ceil(7)
}

impl Frame {
    /// The value of header `key`.
    #[must_use]
    pub fn header(&self, key: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// Sets header `key`, replacing any value it had.
    pub fn set_header(&mut self, key: &str, value: impl Into<String>) {
        let value = value.into();
        match self.headers.iter_mut().find(|(k, _)| k == key) {
            Some(slot) => slot.1 = value,
            None => self.headers.push((key.to_owned(), value)),
        }
    }

    /// The `type` header: `event`, `card`, `ping`, `pong`.
    #[must_use]
    pub fn frame_type(&self) -> Option<&str> {
        self.header("type")
    }

    /// A ping for the connection's `service`.
    #[must_use]
    pub fn ping(service: i32) -> Self {
        Self {
            service,
            method: METHOD_CONTROL,
            headers: vec![("type".to_owned(), "ping".to_owned())],
            ..Self::default()
        }
    }

    /// The frame as bytes. Required fields are written even when zero.
    #[must_use]
    pub fn encode(&self) -> Bytes {
        let payload_len = self.payload.as_ref().map_or(0, Bytes::len);
        let mut out = BytesMut::with_capacity(48 + payload_len + 32 * self.headers.len());
        put_key(&mut out, 1, VARINT);
        put_varint(&mut out, self.seq_id);
        put_key(&mut out, 2, VARINT);
        put_varint(&mut out, self.log_id);
        // int32: negative values are sign-extended to ten bytes, as protobuf specifies.
        put_key(&mut out, 3, VARINT);
        put_varint(&mut out, i64::from(self.service).cast_unsigned());
        put_key(&mut out, 4, VARINT);
        put_varint(&mut out, i64::from(self.method).cast_unsigned());
        for (key, value) in &self.headers {
            let inner = 2
                + varint_len(key.len() as u64)
                + key.len()
                + varint_len(value.len() as u64)
                + value.len();
            put_key(&mut out, 5, LENGTH);
            put_varint(&mut out, inner as u64);
            put_len(&mut out, 1, key.as_bytes());
            put_len(&mut out, 2, value.as_bytes());
        }
        if let Some(encoding) = &self.payload_encoding {
            put_len(&mut out, 6, encoding.as_bytes());
        }
        if let Some(kind) = &self.payload_type {
            put_len(&mut out, 7, kind.as_bytes());
        }
        if let Some(payload) = &self.payload {
            put_len(&mut out, 8, payload);
        }
        if let Some(log_id) = &self.log_id_new {
            put_len(&mut out, 9, log_id.as_bytes());
        }
        out.freeze()
    }

    /// Reads a frame. Unknown fields are skipped, as protobuf requires; anything malformed is
    /// an error, never a panic.
    pub fn decode(bytes: &[u8]) -> Result<Self, FrameError> {
        let mut frame = Self::default();
        let mut seen = [false; 4];
        let mut at = 0usize;
        while at < bytes.len() {
            let (key, next) = read_varint(bytes, at, 0)?;
            at = next;
            let field = u32::try_from(key >> 3).unwrap_or(u32::MAX);
            let wire_type = (key & 7) as u8;
            let expect = |expected: u8| {
                if wire_type == expected {
                    Ok(())
                } else {
                    Err(FrameError::WireType {
                        field,
                        wire_type,
                        expected,
                    })
                }
            };
            match field {
                1..=4 => {
                    expect(VARINT)?;
                    let (value, next) = read_varint(bytes, at, field)?;
                    at = next;
                    let int32 = || {
                        i32::try_from(value.cast_signed())
                            .map_err(|_| FrameError::OutOfRange { field })
                    };
                    match field {
                        1 => frame.seq_id = value,
                        2 => frame.log_id = value,
                        3 => frame.service = int32()?,
                        _ => frame.method = int32()?,
                    }
                    seen[field as usize - 1] = true;
                }
                5..=9 => {
                    expect(LENGTH)?;
                    let (slice, next) = read_length(bytes, at, field)?;
                    at = next;
                    let string = || {
                        String::from_utf8(slice.to_vec()).map_err(|_| FrameError::NotUtf8 { field })
                    };
                    match field {
                        5 => frame.headers.push(decode_header(slice)?),
                        6 => frame.payload_encoding = Some(string()?),
                        7 => frame.payload_type = Some(string()?),
                        8 => frame.payload = Some(Bytes::copy_from_slice(slice)),
                        _ => frame.log_id_new = Some(string()?),
                    }
                }
                _ => at = skip(bytes, at, field, wire_type)?,
            }
        }
        for (index, name) in ["SeqID", "LogID", "service", "method"]
            .into_iter()
            .enumerate()
        {
            if !seen[index] {
                return Err(FrameError::MissingRequired { name });
            }
        }
        Ok(frame)
    }
}

fn read_varint(bytes: &[u8], mut at: usize, field: u32) -> Result<(u64, usize), FrameError> {
    let mut value = 0u64;
    for index in 0..10 {
        let byte = *bytes.get(at).ok_or(FrameError::Truncated { field })?;
        at += 1;
        value |= u64::from(byte & 0x7F) << (7 * index);
        if byte & 0x80 == 0 {
            return Ok((value, at));
        }
    }
    Err(FrameError::VarintTooLong { field })
}

fn read_length(bytes: &[u8], at: usize, field: u32) -> Result<(&[u8], usize), FrameError> {
    let (len, at) = read_varint(bytes, at, field)?;
    let end = usize::try_from(len)
        .ok()
        .and_then(|len| at.checked_add(len))
        .ok_or(FrameError::Truncated { field })?;
    let slice = bytes.get(at..end).ok_or(FrameError::Truncated { field })?;
    Ok((slice, end))
}

fn skip(bytes: &[u8], at: usize, field: u32, wire_type: u8) -> Result<usize, FrameError> {
    let fixed = |width: usize| {
        let end = at
            .checked_add(width)
            .filter(|end| *end <= bytes.len())
            .ok_or(FrameError::Truncated { field })?;
        Ok(end)
    };
    match wire_type {
        VARINT => Ok(read_varint(bytes, at, field)?.1),
        FIXED64 => fixed(8),
        LENGTH => Ok(read_length(bytes, at, field)?.1),
        FIXED32 => fixed(4),
        other => Err(FrameError::UnknownWireType { wire_type: other }),
    }
}

fn decode_header(bytes: &[u8]) -> Result<(String, String), FrameError> {
    let (mut key, mut value) = (String::new(), String::new());
    let mut at = 0;
    while at < bytes.len() {
        let (tag, next) = read_varint(bytes, at, 5)?;
        at = next;
        let (field, wire_type) = (u32::try_from(tag >> 3).unwrap_or(u32::MAX), (tag & 7) as u8);
        if matches!(field, 1 | 2) && wire_type == LENGTH {
            let (slice, next) = read_length(bytes, at, 5)?;
            at = next;
            let text =
                String::from_utf8(slice.to_vec()).map_err(|_| FrameError::NotUtf8 { field: 5 })?;
            if field == 1 { key = text } else { value = text }
        } else {
            at = skip(bytes, at, 5, wire_type)?;
        }
    }
    Ok((key, value))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_ping_encodes_its_zero_required_fields() {
        let bytes = Frame::ping(42).encode();
        assert_eq!(
            bytes.as_ref(),
            &[
                0x08, 0, 0x10, 0, 0x18, 42, 0x20, 0, 0x2A, 0x0C, 0x0A, 4, b't', b'y', b'p', b'e',
                0x12, 4, b'p', b'i', b'n', b'g'
            ]
        );
        assert_eq!(Frame::decode(&bytes).unwrap(), Frame::ping(42));
    }

    #[test]
    fn negative_ints_take_ten_bytes_and_come_back() {
        let frame = Frame {
            service: -1,
            method: 1,
            ..Frame::default()
        };
        let bytes = frame.encode();
        assert_eq!(bytes.len(), 2 + 2 + 11 + 2);
        assert_eq!(Frame::decode(&bytes).unwrap(), frame);
    }

    #[test]
    fn malformed_bytes_are_errors() {
        assert_eq!(
            Frame::decode(&[0x08]),
            Err(FrameError::Truncated { field: 1 })
        );
        assert_eq!(
            Frame::decode(&[0x08, 1, 0x10, 1, 0x18, 1]),
            Err(FrameError::MissingRequired { name: "method" })
        );
        assert_eq!(
            Frame::decode(&[0x0A, 0]),
            Err(FrameError::WireType {
                field: 1,
                wire_type: 2,
                expected: 0
            })
        );
        assert_eq!(
            Frame::decode(&[0x43, 0]),
            Err(FrameError::WireType {
                field: 8,
                wire_type: 3,
                expected: 2
            })
        );
        assert_eq!(
            Frame::decode(&[0x08; 12]),
            Err(FrameError::MissingRequired { name: "LogID" })
        );
        let mut long = vec![0x08];
        long.extend([0xFF; 10]);
        long.push(0x01);
        assert_eq!(
            Frame::decode(&long),
            Err(FrameError::VarintTooLong { field: 1 })
        );
    }
}
