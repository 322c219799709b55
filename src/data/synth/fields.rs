//! How a synthetic column is described (each dataset's table of them, with
//! cardinalities and missing rates of the real files, is in `dataset/`)
//! and how its values are written.

/// How a value of rank `r` is written.
#[derive(Clone, Copy, Debug)]
pub enum Shape {
    /// 8 lowercase hex digits (Avazu ids, Criteo categoricals).
    Hex8,
    /// 32 lowercase hex digits (iPinYou ids).
    Hex32,
    /// The r-th entry of a list.
    List(&'static [&'static str]),
    /// `base + r * step`.
    Int { base: i64, step: i64 },
    /// "-1" for rank 0, else `base + r * step` (Avazu C20).
    IntOrNeg1 { base: i64, step: i64 },
    /// Alphanumeric text of this length (iPinYou domain, user id).
    Alnum(usize),
    /// "a.b.c.*" (iPinYou IP).
    Ip,
    /// "mm_<8 digits>_<7 digits>_<8 digits>" (iPinYou slotid).
    Slot,
}

/// A Zipf-drawn column.
#[derive(Clone, Copy, Debug)]
pub struct Spec {
    pub name: &'static str,
    /// Distinct values in the real full dataset.
    pub card: u64,
    pub shape: Shape,
    /// Probability that the cell is empty (Criteo).
    pub empty: f64,
    /// A feature of the reader's preset (else generated but dropped by the reader).
    pub feature: bool,
}

/// One column of a synthetic file.
#[derive(Clone, Copy, Debug)]
pub enum Col {
    Label,
    Zipf(Spec),
    /// Criteo integer column j (0-based), with lognormal (mu, sd) and empty rate.
    Int {
        name: &'static str,
        j: usize,
        mu: f64,
        sd: f64,
        empty: f64,
    },
    AvazuId,
    AvazuHour,
    IpWeekday,
    IpHour,
    IpBidid,
    IpTimestamp,
    Const(&'static str),
    IpBidprice,
    IpPayprice,
    Usertag,
}

/// A Zipf column that is a feature of the reader's preset.
pub const fn z(name: &'static str, card: u64, shape: Shape) -> Col {
    Col::Zipf(Spec {
        name,
        card,
        shape,
        empty: 0.0,
        feature: true,
    })
}
/// A Zipf column the reader drops.
pub const fn zd(name: &'static str, card: u64, shape: Shape) -> Col {
    Col::Zipf(Spec {
        name,
        card,
        shape,
        empty: 0.0,
        feature: false,
    })
}

/// An invertible scramble of 32-bit values (distinct ranks -> distinct values).
#[inline]
pub fn perm32(r: u64, salt: u32) -> u32 {
    let mut x = (r as u32) ^ salt;
    x = x.wrapping_mul(0x9E37_79B1);
    x ^= x >> 16;
    x = x.wrapping_mul(0x85EB_CA6B);
    x ^= x >> 13;
    x
}

/// An invertible scramble of 64-bit values.
#[inline]
pub fn perm64(r: u64, salt: u64) -> u64 {
    let mut x = r ^ salt;
    x = x.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    x ^= x >> 29;
    x = x.wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x ^= x >> 32;
    x
}

const HEX: &[u8; 16] = b"0123456789abcdef";
const ALNUM: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

fn push_int(out: &mut Vec<u8>, v: i64) {
    use std::io::Write;
    let _ = write!(out, "{v}");
}

/// Append the text of value `r` of a column to `out`.
pub fn value_text(spec: &Spec, salt: u64, r: u64, out: &mut Vec<u8>) {
    match spec.shape {
        Shape::Hex8 => {
            let x = perm32(r, salt as u32);
            for i in (0..8).rev() {
                out.push(HEX[((x >> (4 * i)) & 15) as usize]);
            }
        }
        Shape::Hex32 => {
            let x = perm64(r, salt);
            let y = crate::rng::mix64(x ^ 0x1234_5678);
            for w in [x, y] {
                for i in (0..16).rev() {
                    out.push(HEX[((w >> (4 * i)) & 15) as usize]);
                }
            }
        }
        Shape::List(l) => out.extend_from_slice(l[r as usize % l.len()].as_bytes()),
        Shape::Int { base, step } => push_int(out, base + r as i64 * step),
        Shape::IntOrNeg1 { base, step } => {
            push_int(out, if r == 0 { -1 } else { base + r as i64 * step })
        }
        Shape::Alnum(n) => {
            // Base-62 digits of a 64-bit permutation: distinct for distinct ranks
            // as long as 62^n > 2^64 / something; with n >= 11 all 64 bits fit.
            let mut x = perm64(r, salt);
            for _ in 0..n {
                out.push(ALNUM[(x % 62) as usize]);
                x /= 62;
            }
        }
        Shape::Ip => {
            // Distinct for r < 223 * 65536 (xor with a constant is a bijection).
            let a = 1 + ((r >> 16) + (salt >> 16)) % 223;
            let b = ((r >> 8) ^ (salt >> 8)) & 255;
            let c = (r ^ salt) & 255;
            let _ = std::io::Write::write_fmt(out, format_args!("{a}.{b}.{c}.*"));
        }
        Shape::Slot => {
            let x = perm64(r, salt);
            let _ = std::io::Write::write_fmt(
                out,
                format_args!(
                    "mm_{}_{}_{}",
                    10_000_000 + x % 90_000_000,
                    1_000_000 + (x >> 27) % 9_000_000,
                    10_000_000 + (x >> 40) % 16_000_000
                ),
            );
        }
    }
}
