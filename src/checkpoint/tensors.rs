//! A streaming safetensors writer and typed readers.
//!
//! The `safetensors` crate serializes from owned buffers; the embedding
//! store lives in many chunks, and copying a 40M-row table into one buffer
//! would double peak memory at every checkpoint. The format is simple (an
//! 8-byte little-endian header length, a JSON header, the raw data), so we
//! write it here piece by piece and hash the bytes as they go. Reading goes
//! through the crate, which validates every offset and size.

use std::collections::{BTreeMap, HashMap};
use std::io::{self, Write};
use std::path::Path;

use safetensors::{Dtype, SafeTensors};
use xxhash_rust::xxh3::Xxh3;

use crate::io::write_atomic_with;

// Tensors are written as the in-memory bytes: safetensors is little-endian.
const _: () = assert!(cfg!(target_endian = "little"));

/// The data of one tensor: possibly several pieces laid end to end.
pub enum Data<'a> {
    F32(Vec<&'a [f32]>),
    F64(&'a [f64]),
    U32(&'a [u32]),
    U64(&'a [u64]),
}

impl Data<'_> {
    fn dtype(&self) -> &'static str {
        match self {
            Data::F32(_) => "F32",
            Data::F64(_) => "F64",
            Data::U32(_) => "U32",
            Data::U64(_) => "U64",
        }
    }

    fn pieces(&self) -> Vec<&[u8]> {
        fn bytes<T>(s: &[T]) -> &[u8] {
            // SAFETY: plain numeric types without padding, read as bytes.
            unsafe { std::slice::from_raw_parts(s.as_ptr() as *const u8, std::mem::size_of_val(s)) }
        }
        match self {
            Data::F32(v) => v.iter().map(|s| bytes(s)).collect(),
            Data::F64(s) => vec![bytes(s)],
            Data::U32(s) => vec![bytes(s)],
            Data::U64(s) => vec![bytes(s)],
        }
    }
}

/// One named tensor to write.
pub struct Entry<'a> {
    pub name: String,
    pub shape: Vec<usize>,
    pub data: Data<'a>,
}

impl<'a> Entry<'a> {
    pub fn new(name: impl Into<String>, shape: Vec<usize>, data: Data<'a>) -> Self {
        Self {
            name: name.into(),
            shape,
            data,
        }
    }
}

/// A writer that hashes what passes through it.
struct Hashing<'w, W: Write> {
    inner: &'w mut W,
    hash: Xxh3,
    bytes: u64,
}

impl<W: Write> Write for Hashing<'_, W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hash.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// Write `entries` (and string `metadata`) to `path` atomically; returns the
/// file's size and xxh3-64 hash.
pub fn write(
    path: &Path,
    entries: &[Entry],
    metadata: &BTreeMap<String, String>,
) -> io::Result<(u64, u64)> {
    let mut header = serde_json::Map::new();
    if !metadata.is_empty() {
        header.insert("__metadata__".into(), serde_json::to_value(metadata)?);
    }
    let mut offset = 0usize;
    for e in entries {
        let len: usize = e.data.pieces().iter().map(|p| p.len()).sum();
        let elems: usize = e.shape.iter().product();
        let width = match e.data {
            Data::F32(_) | Data::U32(_) => 4,
            Data::F64(_) | Data::U64(_) => 8,
        };
        if elems * width != len {
            return Err(io::Error::other(format!(
                "tensor {}: shape {:?} does not match {} bytes",
                e.name, e.shape, len
            )));
        }
        header.insert(
            e.name.clone(),
            serde_json::json!({
                "dtype": e.data.dtype(),
                "shape": e.shape,
                "data_offsets": [offset, offset + len],
            }),
        );
        offset += len;
    }
    let mut text = serde_json::to_string(&header)?.into_bytes();
    // Pad the header with spaces so the data starts 8-byte aligned (the
    // format's recommendation: readers may map tensors in place).
    while (text.len() + 8) % 8 != 0 {
        text.push(b' ');
    }
    let mut result = (0, 0);
    write_atomic_with(path, |w| {
        let mut h = Hashing {
            inner: w,
            hash: Xxh3::new(),
            bytes: 0,
        };
        h.write_all(&(text.len() as u64).to_le_bytes())?;
        h.write_all(&text)?;
        for e in entries {
            for p in e.data.pieces() {
                h.write_all(p)?;
            }
        }
        result = (h.bytes, h.hash.digest());
        Ok(())
    })?;
    Ok(result)
}

/// A safetensors file that does not hold what a reader asks for.
#[derive(Debug, thiserror::Error)]
pub enum TensorsError {
    /// Printed in the message, not as a source, so a chain shows it once.
    #[error("{0}")]
    Format(safetensors::SafeTensorError),
    #[error("metadata `{key}` missing")]
    MissingMeta { key: String },
    #[error("tensor `{name}` missing")]
    Missing { name: String },
    #[error("tensor `{name}`: {found:?}, expected {expected:?}")]
    Dtype {
        name: String,
        found: Dtype,
        expected: Dtype,
    },
}

/// A parsed safetensors file with typed, checked access by name.
pub struct Tensors<'a> {
    st: SafeTensors<'a>,
    meta: HashMap<String, String>,
}

impl<'a> Tensors<'a> {
    pub fn parse(bytes: &'a [u8]) -> Result<Self, TensorsError> {
        let (_, m) = SafeTensors::read_metadata(bytes).map_err(TensorsError::Format)?;
        let meta = m.metadata().clone().unwrap_or_default();
        let st = SafeTensors::deserialize(bytes).map_err(TensorsError::Format)?;
        Ok(Self { st, meta })
    }

    pub fn meta(&self, key: &str) -> Result<&str, TensorsError> {
        self.meta
            .get(key)
            .map(String::as_str)
            .ok_or_else(|| TensorsError::MissingMeta {
                key: key.to_string(),
            })
    }

    fn raw(&self, name: &str, dtype: Dtype) -> Result<(&'a [u8], Vec<usize>), TensorsError> {
        let t = self.st.tensor(name).map_err(|_| TensorsError::Missing {
            name: name.to_string(),
        })?;
        if t.dtype() != dtype {
            return Err(TensorsError::Dtype {
                name: name.to_string(),
                found: t.dtype(),
                expected: dtype,
            });
        }
        Ok((t.data(), t.shape().to_vec()))
    }

    pub fn f32(&self, name: &str) -> Result<(Vec<f32>, Vec<usize>), TensorsError> {
        let (b, s) = self.raw(name, Dtype::F32)?;
        let v = b
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes(c.try_into().unwrap()))
            .collect();
        Ok((v, s))
    }

    pub fn f64(&self, name: &str) -> Result<Vec<f64>, TensorsError> {
        let (b, _) = self.raw(name, Dtype::F64)?;
        Ok(b.chunks_exact(8)
            .map(|c| f64::from_le_bytes(c.try_into().unwrap()))
            .collect())
    }

    pub fn u32(&self, name: &str) -> Result<Vec<u32>, TensorsError> {
        let (b, _) = self.raw(name, Dtype::U32)?;
        Ok(b.chunks_exact(4)
            .map(|c| u32::from_le_bytes(c.try_into().unwrap()))
            .collect())
    }

    pub fn u64(&self, name: &str) -> Result<Vec<u64>, TensorsError> {
        let (b, _) = self.raw(name, Dtype::U64)?;
        Ok(b.chunks_exact(8)
            .map(|c| u64::from_le_bytes(c.try_into().unwrap()))
            .collect())
    }
}

/// xxh3-64 of a byte buffer (the checksum of a checkpoint file).
pub fn checksum(bytes: &[u8]) -> u64 {
    xxhash_rust::xxh3::xxh3_64(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pieces_written_here_read_back_through_the_safetensors_crate() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("t.safetensors");
        let a = [1.5f32, -2.0, 3.25];
        let b = [f32::MIN_POSITIVE, -0.0, 7.0];
        let keys = [u64::MAX, 0, 42];
        let steps = [3u32, 0, 9];
        let f = [f64::NAN, 1e-300];
        let mut meta = BTreeMap::new();
        meta.insert("k".to_string(), "v \"quoted\"".to_string());
        let entries = [
            Entry::new("w", vec![2, 3], Data::F32(vec![&a, &b])),
            Entry::new("keys", vec![3], Data::U64(&keys)),
            Entry::new("empty", vec![0, 4], Data::F32(vec![])),
            Entry::new("steps", vec![3], Data::U32(&steps)),
            Entry::new("f", vec![2], Data::F64(&f)),
        ];
        let (bytes, hash) = write(&p, &entries, &meta).unwrap();
        let raw = std::fs::read(&p).unwrap();
        assert_eq!(raw.len() as u64, bytes);
        assert_eq!(checksum(&raw), hash);
        let header_len = u64::from_le_bytes(raw[..8].try_into().unwrap());
        assert_eq!((header_len + 8) % 8, 0, "data is 8-byte aligned");
        let t = Tensors::parse(&raw).unwrap();
        let (w, shape) = t.f32("w").unwrap();
        assert_eq!(shape, [2, 3]);
        let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&w), bits(&[a, b].concat()));
        assert_eq!(t.u64("keys").unwrap(), keys);
        assert_eq!(t.u32("steps").unwrap(), steps);
        assert_eq!(t.f32("empty").unwrap().1, [0, 4]);
        let ff = t.f64("f").unwrap();
        assert!(ff[0].is_nan() && ff[1] == 1e-300);
        assert_eq!(t.meta("k").unwrap(), "v \"quoted\"");
        assert!(t.u32("w").is_err(), "dtype is checked");
        assert!(t.f32("missing").is_err());
        // A shape that does not match the data is refused before writing.
        let bad = [Entry::new("x", vec![4], Data::F32(vec![&a]))];
        assert!(write(&dir.path().join("bad"), &bad, &BTreeMap::new()).is_err());
    }
}
