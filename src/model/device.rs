//! Where the dense model computes: `device = "cpu" | "cuda" | "cuda:N"` in a
//! run config, or `--device` on `train`, `bench` and `predict`.
//!
//! Only the dense network moves (docs/cuda.md): the embedding store, the
//! dense parameters and every optimizer state stay in host memory, so the
//! optimizers run the same code, with the same exactness, on either device.

use std::fmt;
use std::str::FromStr;

use candle_core::Device;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::ModelError;

/// A compute device as written in a config or on the command line.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum DeviceSpec {
    #[default]
    Cpu,
    /// The CUDA device of this ordinal ("cuda" is "cuda:0").
    Cuda(usize),
}

impl DeviceSpec {
    pub fn is_cpu(&self) -> bool {
        *self == DeviceSpec::Cpu
    }

    /// Open the device. Asking for CUDA from a binary built without the
    /// feature, or where no GPU answers, is an error naming the device:
    /// never a silent fallback to the CPU, so no run reports CPU results as
    /// GPU ones.
    pub fn open(&self) -> Result<Device, ModelError> {
        match *self {
            DeviceSpec::Cpu => Ok(Device::Cpu),
            DeviceSpec::Cuda(_) if !cfg!(feature = "cuda") => Err(ModelError::Device(format!(
                "device = \"{self}\" needs a binary built with --features cuda (scripts/cuda_build_check.sh)"
            ))),
            DeviceSpec::Cuda(n) => Device::new_cuda(n)
                .map_err(|e| ModelError::Device(format!("device = \"{self}\": {e}"))),
        }
    }
}

impl fmt::Display for DeviceSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DeviceSpec::Cpu => f.write_str("cpu"),
            DeviceSpec::Cuda(0) => f.write_str("cuda"),
            DeviceSpec::Cuda(n) => write!(f, "cuda:{n}"),
        }
    }
}

/// A `device` value that is not "cpu", "cuda" or "cuda:N".
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("device must be \"cpu\", \"cuda\" or \"cuda:N\" (N a GPU index), got \"{text}\"")]
pub struct DeviceSpecError {
    pub text: String,
}

impl FromStr for DeviceSpec {
    type Err = DeviceSpecError;

    /// Exactly "cpu", "cuda" or "cuda:N" with N decimal digits.
    fn from_str(s: &str) -> Result<Self, DeviceSpecError> {
        let ordinal = |n: &str| {
            (!n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
                .then(|| n.parse().ok())
                .flatten()
        };
        match s {
            "cpu" => Ok(DeviceSpec::Cpu),
            "cuda" => Ok(DeviceSpec::Cuda(0)),
            _ => s
                .strip_prefix("cuda:")
                .and_then(ordinal)
                .map(DeviceSpec::Cuda)
                .ok_or_else(|| DeviceSpecError {
                    text: s.to_string(),
                }),
        }
    }
}

impl Serialize for DeviceSpec {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for DeviceSpec {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d)?
            .parse()
            .map_err(serde::de::Error::custom)
    }
}
