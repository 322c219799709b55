//! (being written)
use super::{GroupUpdate, OptimizerConfig};

pub fn build(cfg: &OptimizerConfig) -> Box<dyn GroupUpdate> {
    todo!("{} for {:?}", "core", cfg.name)
}
