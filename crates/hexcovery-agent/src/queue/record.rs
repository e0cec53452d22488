//! The queue's on-disk record: framing, checksum, and the file positions every record carries.
//!
//! ```text
//! u32 body length | u32 crc32c(body) | body
//! body = u64 seq | 16 B batch id | u8 kind | u32 payload length | payload | positions
//! positions = u32 count | count × (u64 dev | u64 ino | u16 fp_len | 16 B fp hash | u64 offset
//!             | u16 path length | path)
//! ```
//! Little-endian throughout. A record whose length runs past the end of the file or whose
//! checksum does not match is a torn (or damaged) tail: reading stops there.

use sha2::{Digest, Sha256};

/// Bytes before the body: length and checksum.
pub const HEADER: usize = 8;
/// Refuse bodies beyond this: a length this large can only be damage.
pub const MAX_BODY: usize = 64 << 20;

/// What a record's payload is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// No telemetry: only the positions changed (a new file, a truncation, a file closed).
    Positions = 0,
    /// An encoded `ExportLogsServiceRequest`.
    Logs = 1,
    /// An encoded `ExportMetricsServiceRequest`.
    Metrics = 2,
}

impl Kind {
    fn from_u8(value: u8) -> Option<Self> {
        match value {
            0 => Some(Kind::Positions),
            1 => Some(Kind::Logs),
            2 => Some(Kind::Metrics),
            _ => None,
        }
    }
}

/// Where one tailed file stands after a record: the next byte to read and what identifies it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Position {
    pub dev: u64,
    pub ino: u64,
    /// How many leading bytes the fingerprint covers (up to 1 KiB).
    pub fp_len: u16,
    /// The first 16 bytes of SHA-256 over those bytes.
    pub fp_hash: [u8; 16],
    pub offset: u64,
    /// The path it was last seen at (for logs and the status page; identity is the rest).
    pub path: String,
}

/// The fingerprint hash of a file's leading bytes.
pub fn fingerprint_hash(prefix: &[u8]) -> [u8; 16] {
    let digest = Sha256::digest(prefix);
    let mut out = [0u8; 16];
    out.copy_from_slice(&digest[..16]);
    out
}

/// One decoded record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Record {
    pub seq: u64,
    pub batch_id: [u8; 16],
    pub kind: Kind,
    pub payload: Vec<u8>,
    pub positions: Vec<Position>,
}

pub fn encode_positions(positions: &[Position], out: &mut Vec<u8>) {
    out.extend_from_slice(&(positions.len() as u32).to_le_bytes());
    for p in positions {
        out.extend_from_slice(&p.dev.to_le_bytes());
        out.extend_from_slice(&p.ino.to_le_bytes());
        out.extend_from_slice(&p.fp_len.to_le_bytes());
        out.extend_from_slice(&p.fp_hash);
        out.extend_from_slice(&p.offset.to_le_bytes());
        let path = p.path.as_bytes();
        let len = path.len().min(u16::MAX as usize);
        out.extend_from_slice(&(len as u16).to_le_bytes());
        out.extend_from_slice(&path[..len]);
    }
}

/// Encodes a whole record, header included.
pub fn encode(record: &Record) -> Vec<u8> {
    let mut body = Vec::with_capacity(64 + record.payload.len() + record.positions.len() * 64);
    body.extend_from_slice(&record.seq.to_le_bytes());
    body.extend_from_slice(&record.batch_id);
    body.push(record.kind as u8);
    body.extend_from_slice(&(record.payload.len() as u32).to_le_bytes());
    body.extend_from_slice(&record.payload);
    encode_positions(&record.positions, &mut body);
    let mut out = Vec::with_capacity(HEADER + body.len());
    out.extend_from_slice(&(body.len() as u32).to_le_bytes());
    out.extend_from_slice(&crc32c::crc32c(&body).to_le_bytes());
    out.extend_from_slice(&body);
    out
}

/// A cursor over bytes that fails (None) instead of panicking on short input.
pub struct Reader<'a> {
    bytes: &'a [u8],
}

impl<'a> Reader<'a> {
    pub fn new(bytes: &'a [u8]) -> Self {
        Self { bytes }
    }
    pub fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if self.bytes.len() < n {
            return None;
        }
        let (head, rest) = self.bytes.split_at(n);
        self.bytes = rest;
        Some(head)
    }
    pub fn u8(&mut self) -> Option<u8> {
        self.take(1).map(|b| b[0])
    }
    pub fn u16(&mut self) -> Option<u16> {
        self.take(2)
            .map(|b| u16::from_le_bytes(b.try_into().unwrap()))
    }
    pub fn u32(&mut self) -> Option<u32> {
        self.take(4)
            .map(|b| u32::from_le_bytes(b.try_into().unwrap()))
    }
    pub fn u64(&mut self) -> Option<u64> {
        self.take(8)
            .map(|b| u64::from_le_bytes(b.try_into().unwrap()))
    }
    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }
}

pub fn decode_positions(r: &mut Reader<'_>) -> Option<Vec<Position>> {
    let count = r.u32()? as usize;
    let mut positions = Vec::with_capacity(count.min(4096));
    for _ in 0..count {
        let dev = r.u64()?;
        let ino = r.u64()?;
        let fp_len = r.u16()?;
        let fp_hash = r.take(16)?.try_into().ok()?;
        let offset = r.u64()?;
        let len = r.u16()? as usize;
        let path = String::from_utf8_lossy(r.take(len)?).into_owned();
        positions.push(Position {
            dev,
            ino,
            fp_len,
            fp_hash,
            offset,
            path,
        });
    }
    Some(positions)
}

/// Decodes a body whose checksum already matched.
pub fn decode_body(body: &[u8]) -> Option<Record> {
    let mut r = Reader::new(body);
    let seq = r.u64()?;
    let batch_id = r.take(16)?.try_into().ok()?;
    let kind = Kind::from_u8(r.u8()?)?;
    let len = r.u32()? as usize;
    let payload = r.take(len)?.to_vec();
    let positions = decode_positions(&mut r)?;
    if !r.is_empty() {
        return None;
    }
    Some(Record {
        seq,
        batch_id,
        kind,
        payload,
        positions,
    })
}

/// What the bytes at the start of `buf` hold.
pub enum Parsed {
    /// A whole, valid record of `len` bytes (header included).
    Record(Box<Record>, usize),
    /// Not enough bytes for the record the header announces (or for a header).
    Short,
    /// A checksum mismatch or an impossible length or body.
    Bad,
}

pub fn parse(buf: &[u8]) -> Parsed {
    if buf.len() < HEADER {
        return Parsed::Short;
    }
    let len = u32::from_le_bytes(buf[0..4].try_into().unwrap()) as usize;
    let crc = u32::from_le_bytes(buf[4..8].try_into().unwrap());
    if len > MAX_BODY {
        return Parsed::Bad;
    }
    if buf.len() < HEADER + len {
        return Parsed::Short;
    }
    let body = &buf[HEADER..HEADER + len];
    if crc32c::crc32c(body) != crc {
        return Parsed::Bad;
    }
    match decode_body(body) {
        Some(record) => Parsed::Record(Box::new(record), HEADER + len),
        None => Parsed::Bad,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Record {
        Record {
            seq: 7,
            batch_id: [3; 16],
            kind: Kind::Logs,
            payload: b"payload".to_vec(),
            positions: vec![Position {
                dev: 1,
                ino: 2,
                fp_len: 5,
                fp_hash: fingerprint_hash(b"hello"),
                offset: 99,
                path: "/var/log/a.log".into(),
            }],
        }
    }

    #[test]
    fn round_trips() {
        let bytes = encode(&sample());
        match parse(&bytes) {
            Parsed::Record(record, len) => {
                assert_eq!(*record, sample());
                assert_eq!(len, bytes.len());
            }
            _ => panic!("did not parse"),
        }
    }

    #[test]
    fn every_cut_is_short_and_every_flip_is_bad() {
        let bytes = encode(&sample());
        for cut in 0..bytes.len() {
            assert!(matches!(parse(&bytes[..cut]), Parsed::Short), "cut {cut}");
        }
        for at in HEADER..bytes.len() {
            let mut damaged = bytes.clone();
            damaged[at] ^= 0x40;
            assert!(matches!(parse(&damaged), Parsed::Bad), "flip {at}");
        }
    }
}
