//! What a layout says about one column: its role, the rule its text must
//! follow, the transform of a dense value. Shared by the presets
//! (`dataset/`) and the custom schema (`schema.rs`).

/// How a dense column's text becomes an f32.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DenseTf {
    /// Criteo integer, ln(1 + max(x, 0)); empty = 0.
    IntLog1p,
    /// Criteo integer, ln(max(x + 3, 1)); empty = 0.
    IntLogPlus3,
    /// Any decimal number as f32; empty = 0.
    Float,
}

/// The role of one column.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Role {
    Drop,
    Label,
    /// The row's id, kept per row only when scoring (`DataConfig::scoring`).
    Id,
    /// One categorical value; `seed` is the field seed.
    Cat {
        seed: u64,
    },
    /// Avazu `hour` (YYMMDDHH): the feature is the hour of day (HH), and the
    /// day (YYMMDD) tags the row for the paper's split.
    HourOfDay {
        seed: u64,
    },
    /// Criteo integer under `log2_bucket`: categorical floor(ln(x)^2) for x > 2.
    IntBucket {
        seed: u64,
    },
    Dense {
        tf: DenseTf,
    },
    /// A bag of values separated by `sep`.
    Multi {
        seed: u64,
        sep: u8,
    },
}

/// The rule a typed column's text must follow, checked on every row before
/// the value is used (or dropped): a value out of range is an error, never
/// hashed into a feature of its own.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Check {
    /// An unsigned integer up to u64::MAX (Avazu `id`, iPinYou `logtype`).
    Unsigned,
    /// An unsigned integer, or iPinYou's missing marker `null` (region,
    /// city, ad exchange, slot size and prices, advertiser).
    UnsignedOrNull,
    /// An integer of one or two digits in lo..=hi (iPinYou weekday, hour).
    Small { lo: u8, hi: u8 },
    /// iPinYou `timestamp`: YYYYMMDDHHMMSSmmm, a real date and time.
    Timestamp,
    /// Criteo categorical: 8 hex digits, or empty (missing).
    Hex8,
}
