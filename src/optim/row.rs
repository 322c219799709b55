//! The per-row bookkeeping every rule does around its update, written once:
//! the size guard before it and the step stamp after it.

/// Whether the slices fit a group of size `w.len()` with `state_len` state
/// values (and a Hessian estimate at least as long, when given). A mismatch
/// is a caller bug: asserted in debug builds; in release the rule skips the
/// update, never a panic or an out-of-bounds write.
#[inline]
pub fn fits(w: &[f32], g: &[f32], h: Option<&[f32]>, state: &[f32], state_len: usize) -> bool {
    let d = w.len();
    let ok = g.len() == d && state.len() == state_len && h.is_none_or(|h| h.len() >= d);
    debug_assert!(
        ok,
        "update_group: w {d}, g {}, state {} (want {state_len})",
        g.len(),
        state.len()
    );
    ok
}

/// Record global step `t` as the row's last update. The stamp is a u32 (it
/// is part of every checkpointed row); past 2^32 - 1 steps it saturates
/// rather than wrapping, so a row never looks older than it is (a wrap
/// would make the lazy catch-up of Algorithm 1 replay billions of steps).
#[inline]
pub fn stamp(last_step: &mut u32, t: u64) {
    *last_step = u32::try_from(t).unwrap_or(u32::MAX);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stamp_saturates_past_u32() {
        let mut s = 0;
        stamp(&mut s, 7);
        assert_eq!(s, 7);
        stamp(&mut s, u64::from(u32::MAX));
        assert_eq!(s, u32::MAX);
        stamp(&mut s, (1u64 << 32) + 1);
        assert_eq!(s, u32::MAX);
    }

    #[test]
    fn fits_checks_every_slice() {
        let (w, g, st) = ([0.0f32; 3], [0.0f32; 3], [0.0f32; 6]);
        assert!(fits(&w, &g, None, &st, 6));
        assert!(fits(&w, &g, Some(&g), &st, 6));
    }
}

#[cfg(test)]
mod every_rule {
    use crate::optim::{Optimizer, OptimizerConfig, OptimizerName};

    /// Every rule stamps through `stamp`: at step 2^32 + 1 the row's stamp
    /// saturates (the prox rules once wrote `t as u32`, i.e. 1).
    #[test]
    fn every_rule_saturates_the_stamp_past_u32() {
        for name in OptimizerName::ALL {
            let mut opt = Optimizer::new(&OptimizerConfig::named(name).check().unwrap());
            opt.set_step(1u64 << 32);
            opt.begin_step();
            let mut w = vec![0.5f32; 3];
            let mut state = vec![0.0; opt.state_len(3)];
            let mut last = 7u32;
            let g = [0.1f32, -0.2, 0.3];
            opt.update_group(&mut w, &mut state, &mut last, &g, Some(&g));
            assert_eq!(last, u32::MAX, "{name}");
        }
    }
}
