//! The columns of each synthetic format: cardinalities, value shapes and
//! missing-value rates modelled on the real files (cardinalities are the
//! distinct counts of the full datasets).

use crate::data::config::Format;

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

const fn z(name: &'static str, card: u64, shape: Shape) -> Col {
    Col::Zipf(Spec {
        name,
        card,
        shape,
        empty: 0.0,
        feature: true,
    })
}
const fn zd(name: &'static str, card: u64, shape: Shape) -> Col {
    Col::Zipf(Spec {
        name,
        card,
        shape,
        empty: 0.0,
        feature: false,
    })
}

pub fn columns(format: Format) -> Vec<Col> {
    use Shape::*;
    match format {
        Format::Avazu => vec![
            Col::AvazuId,
            Col::Label,
            Col::AvazuHour,
            z(
                "C1",
                7,
                List(&["1005", "1002", "1010", "1012", "1007", "1001", "1008"]),
            ),
            z("banner_pos", 7, List(&["0", "1", "7", "2", "4", "5", "3"])),
            z("site_id", 4737, Hex8),
            z("site_domain", 7745, Hex8),
            z("site_category", 26, Hex8),
            z("app_id", 8552, Hex8),
            z("app_domain", 559, Hex8),
            z("app_category", 36, Hex8),
            z("device_id", 2_686_408, Hex8),
            z("device_ip", 6_729_486, Hex8),
            z("device_model", 8251, Hex8),
            z("device_type", 5, List(&["1", "0", "4", "5", "2"])),
            z("device_conn_type", 4, List(&["0", "2", "3", "5"])),
            z("C14", 2626, Int { base: 375, step: 9 }),
            z(
                "C15",
                8,
                List(&["320", "300", "216", "728", "120", "1024", "480", "768"]),
            ),
            z(
                "C16",
                9,
                List(&["50", "250", "36", "480", "90", "20", "768", "1024", "320"]),
            ),
            z("C17", 435, Int { base: 112, step: 5 }),
            z("C18", 4, List(&["0", "3", "2", "1"])),
            z("C19", 68, Int { base: 33, step: 7 }),
            z(
                "C20",
                172,
                IntOrNeg1 {
                    base: 100_000,
                    step: 3,
                },
            ),
            z("C21", 60, Int { base: 1, step: 3 }),
        ],
        Format::Criteo | Format::CriteoCsv => {
            const INTS: [(f64, f64, f64); 13] = [
                (0.5, 1.2, 0.45),
                (2.0, 2.0, 0.0),
                (2.0, 1.5, 0.21),
                (1.5, 1.0, 0.22),
                (7.0, 2.0, 0.026),
                (3.5, 1.8, 0.22),
                (1.5, 1.5, 0.04),
                (2.3, 1.2, 0.0005),
                (3.5, 1.6, 0.04),
                (0.3, 0.6, 0.45),
                (1.0, 1.0, 0.04),
                (0.2, 1.0, 0.76),
                (1.8, 1.3, 0.22),
            ];
            const INT_NAMES: [&str; 13] = [
                "I1", "I2", "I3", "I4", "I5", "I6", "I7", "I8", "I9", "I10", "I11", "I12", "I13",
            ];
            const CARDS: [u64; 26] = [
                1460, 583, 10_131_227, 2_202_608, 305, 24, 12517, 633, 3, 93145, 5683, 8_351_593,
                3194, 27, 14992, 5_461_306, 10, 5652, 2173, 4, 7_046_547, 18, 15, 286_181, 105,
                142_572,
            ];
            const EMPTY: [f64; 26] = [
                0.0, 0.0, 0.034, 0.034, 0.0, 0.12, 0.0, 0.0, 0.0, 0.0, 0.0, 0.034, 0.0, 0.0, 0.0,
                0.034, 0.0, 0.0, 0.44, 0.44, 0.034, 0.76, 0.0, 0.034, 0.44, 0.44,
            ];
            const C_NAMES: [&str; 26] = [
                "C1", "C2", "C3", "C4", "C5", "C6", "C7", "C8", "C9", "C10", "C11", "C12", "C13",
                "C14", "C15", "C16", "C17", "C18", "C19", "C20", "C21", "C22", "C23", "C24", "C25",
                "C26",
            ];
            let mut c = vec![Col::Label];
            for (j, &(mu, sd, empty)) in INTS.iter().enumerate() {
                c.push(Col::Int {
                    name: INT_NAMES[j],
                    j,
                    mu,
                    sd,
                    empty,
                });
            }
            for k in 0..26 {
                c.push(Col::Zipf(Spec {
                    name: C_NAMES[k],
                    card: CARDS[k],
                    shape: Hex8,
                    empty: EMPTY[k],
                    feature: true,
                }));
            }
            c
        }
        Format::Ipinyou => vec![
            Col::Label,
            Col::IpWeekday,
            Col::IpHour,
            Col::IpBidid,
            Col::IpTimestamp,
            Col::Const("1"),
            zd("ipinyouid", 5_000_000, Alnum(13)),
            z(
                "useragent",
                14,
                List(&[
                    "windows_ie",
                    "windows_chrome",
                    "windows_firefox",
                    "windows_other",
                    "mac_safari",
                    "windows_maxthon",
                    "windows_sogou",
                    "windows_theworld",
                    "linux_chrome",
                    "android_safari",
                    "ios_safari",
                    "mac_chrome",
                    "windows_opera",
                    "other_other",
                ]),
            ),
            z("IP", 400_000, Ip),
            z(
                "region",
                35,
                List(&[
                    "1", "2", "3", "15", "27", "40", "55", "65", "79", "80", "94", "106", "124",
                    "134", "146", "164", "183", "201", "216", "238", "253", "275", "276", "298",
                    "308", "325", "333", "344", "359", "368", "374", "393", "395", "0", "82",
                ]),
            ),
            z("city", 370, Int { base: 1, step: 1 }),
            z("adexchange", 5, List(&["1", "2", "3", "4", "null"])),
            z("domain", 60_000, Alnum(18)),
            zd("url", 500_000, Hex32),
            Col::Const("null"),
            z("slotid", 50_000, Slot),
            z(
                "slotwidth",
                12,
                List(&[
                    "300", "336", "728", "950", "960", "250", "468", "1000", "160", "120", "200",
                    "360",
                ]),
            ),
            z(
                "slotheight",
                9,
                List(&["250", "280", "90", "60", "600", "200", "300", "150", "100"]),
            ),
            z(
                "slotvisibility",
                9,
                List(&[
                    "FirstView",
                    "SecondView",
                    "Na",
                    "OtherView",
                    "0",
                    "1",
                    "2",
                    "255",
                    "ThirdView",
                ]),
            ),
            z("slotformat", 4, List(&["Na", "0", "1", "5"])),
            z(
                "slotprice",
                12,
                List(&[
                    "0", "5", "10", "30", "50", "70", "100", "130", "200", "238", "294", "300",
                ]),
            ),
            z("creative", 60, Hex32),
            Col::IpBidprice,
            Col::IpPayprice,
            zd("keypage", 30, Hex32),
            z("advertiser", 1, List(&["2821"])),
            Col::Usertag,
        ],
        Format::Custom => Vec::new(),
    }
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
