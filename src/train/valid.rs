//! Early stopping on the validation split (docs/metrics.md, "Validation"): the
//! evaluations so far, the best one, and how many came since. Plain data,
//! saved in checkpoints, so a resumed run stops where the first would have.

use serde::{Deserialize, Serialize};

/// One evaluation on the validation split.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ValidPoint {
    /// Batches trained when it was taken.
    pub batch: u64,
    /// The epoch being trained (0-based).
    pub epoch: usize,
    pub samples: u64,
    pub auc: Option<f64>,
    pub logloss: f64,
}

/// The early-stopping record of a run.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct EarlyStop {
    pub points: Vec<ValidPoint>,
    /// Index in `points` of the lowest validation logloss (the first one on ties).
    pub best: Option<usize>,
    /// Evaluations since the best one.
    pub since_best: u64,
    /// Whether patience ran out.
    pub stopped: bool,
}

impl EarlyStop {
    pub fn is_empty(&self) -> bool {
        self.points.is_empty()
    }

    /// Whether an evaluation is due after `batches` batches (not one already
    /// taken there, e.g. an epoch end that is also an `eval_every` point).
    pub fn due(&self, batches: u64) -> bool {
        self.points.last().is_none_or(|p| p.batch != batches)
    }

    /// Add an evaluation; returns whether it is the new best. Logloss is
    /// the criterion: always defined (AUC is not on one class) and the
    /// quantity trained.
    pub fn record(&mut self, p: ValidPoint, patience: u64) -> bool {
        let better = match self.best {
            None => true,
            Some(b) => p.logloss < self.points[b].logloss,
        };
        self.points.push(p);
        if better {
            self.best = Some(self.points.len() - 1);
            self.since_best = 0;
        } else {
            self.since_best += 1;
            if patience > 0 && self.since_best >= patience {
                self.stopped = true;
            }
        }
        better
    }

    pub fn best_point(&self) -> Option<&ValidPoint> {
        self.best.map(|b| &self.points[b])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn point(batch: u64, logloss: f64) -> ValidPoint {
        ValidPoint {
            batch,
            epoch: 0,
            samples: batch,
            auc: None,
            logloss,
        }
    }

    #[test]
    fn patience_counts_evaluations_since_the_best() {
        let mut e = EarlyStop::default();
        assert!(e.record(point(1, 0.5), 2));
        assert!(e.record(point(2, 0.4), 2));
        assert!(!e.record(point(3, 0.4), 2), "a tie is no improvement");
        assert!(!e.stopped);
        assert!(!e.record(point(4, 0.45), 2));
        assert!(e.stopped);
        assert_eq!(e.best_point().unwrap().batch, 2);
        assert!(!e.due(4) && e.due(5));
    }

    #[test]
    fn patience_zero_never_stops() {
        let mut e = EarlyStop::default();
        e.record(point(1, 0.1), 0);
        for b in 2..10 {
            e.record(point(b, 0.2), 0);
        }
        assert!(!e.stopped);
        assert_eq!(e.since_best, 8);
    }
}
