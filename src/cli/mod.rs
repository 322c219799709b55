//! The command-line edge: one module per command, each a parsed-args struct
//! and a `run` function over the library.

pub mod data;
pub mod gen;
