//! The `acked` file: the highest sequence the server acknowledged and the file positions as of
//! that record, replaced atomically (temp file, fsync, rename, fsync of the directory), so a
//! crash leaves either the old or the new one, never a mix.
//!
//! The positions are kept here so that fully acknowledged segments can be deleted: after a
//! restart with no record left, the tailer resumes from these.

use super::record::{Position, Reader, decode_positions, encode_positions};
use std::fs::{self, File};
use std::io::{self, Write};
use std::path::Path;

const MAGIC: &[u8; 8] = b"HXACK01\n";
pub const NAME: &str = "acked";

pub struct Acked {
    pub seq: u64,
    pub positions: Vec<Position>,
}

pub fn write(dir: &Path, acked: &Acked) -> io::Result<()> {
    let mut body = Vec::new();
    body.extend_from_slice(&acked.seq.to_le_bytes());
    encode_positions(&acked.positions, &mut body);
    let mut bytes = MAGIC.to_vec();
    bytes.extend_from_slice(&crc32c::crc32c(&body).to_le_bytes());
    bytes.extend_from_slice(&body);
    let tmp = dir.join(format!("{NAME}.tmp"));
    {
        let mut file = File::create(&tmp)?;
        file.write_all(&bytes)?;
        file.sync_all()?;
    }
    fs::rename(&tmp, dir.join(NAME))?;
    sync_dir(dir)
}

/// Reads the acked file: `Ok(None)` when there is none; an error when it is damaged (it is
/// only ever replaced whole, so damage is not a crash's doing and must not pass silently).
pub fn read(dir: &Path) -> io::Result<Option<Acked>> {
    let bytes = match fs::read(dir.join(NAME)) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    let damaged = || io::Error::new(io::ErrorKind::InvalidData, "the acked file is damaged");
    if bytes.len() < 12 || &bytes[..8] != MAGIC {
        return Err(damaged());
    }
    let crc = u32::from_le_bytes(bytes[8..12].try_into().unwrap());
    let body = &bytes[12..];
    if crc32c::crc32c(body) != crc {
        return Err(damaged());
    }
    let mut r = Reader::new(body);
    let seq = r.u64().ok_or_else(damaged)?;
    let positions = decode_positions(&mut r).ok_or_else(damaged)?;
    Ok(Some(Acked { seq, positions }))
}

/// Makes renames and new files in `dir` durable.
pub fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}
