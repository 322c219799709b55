//! Progress as plain lines when stderr is not a terminal (Slurm, nohup,
//! a pipe), where the progress bar draws nothing: one line every
//! `train.log_seconds` with samples, samples/s, loss and ETA.

use std::io::IsTerminal;
use std::time::{Duration, Instant};

use indicatif::ProgressBar;

/// The line writer of one training window.
pub struct TextLog {
    every: Duration,
    last: Instant,
    last_pos: u64,
    loss_sum: f64,
    batches: u64,
}

impl TextLog {
    /// None when stderr is a terminal (the bar shows), the bar is quiet
    /// (`progress_bar` gives a quiet bar no prefix), or `seconds` is 0.
    pub fn new(seconds: f64, pb: &ProgressBar) -> Option<Self> {
        Self::when(
            seconds,
            pb,
            !std::io::stderr().is_terminal() && !pb.prefix().is_empty(),
        )
    }

    fn when(seconds: f64, pb: &ProgressBar, wanted: bool) -> Option<Self> {
        (wanted && seconds > 0.0).then(|| Self {
            every: Duration::from_secs_f64(seconds),
            last: Instant::now(),
            last_pos: pb.position(),
            loss_sum: 0.0,
            batches: 0,
        })
    }

    /// Count a batch's loss; print a line when one is due.
    pub fn after_batch(&mut self, pb: &ProgressBar, loss: f64) {
        self.loss_sum += loss;
        self.batches += 1;
        let elapsed = self.last.elapsed();
        if elapsed < self.every {
            return;
        }
        eprintln!("{}", self.line(pb, elapsed.as_secs_f64()));
        self.last = Instant::now();
        self.last_pos = pb.position();
        (self.loss_sum, self.batches) = (0.0, 0);
    }

    /// `train: 1536/10000 samples (15.4%), 5120 samples/s, loss 0.45120, ETA 2s`:
    /// rate and loss over the lines' interval.
    fn line(&self, pb: &ProgressBar, seconds: f64) -> String {
        let pos = pb.position();
        let rate = (pos - self.last_pos) as f64 / seconds.max(1e-9);
        let loss = self.loss_sum / self.batches.max(1) as f64;
        let (done, eta) = match pb.length() {
            Some(len) if len > 0 => (
                format!(
                    "{pos}/{len} samples ({:.1}%)",
                    100.0 * pos as f64 / len as f64
                ),
                match rate > 0.0 {
                    true => format!(
                        ", ETA {}",
                        duration_text(len.saturating_sub(pos) as f64 / rate)
                    ),
                    false => String::new(),
                },
            ),
            _ => (format!("{pos} samples"), String::new()),
        };
        format!(
            "{}: {done}, {rate:.0} samples/s, loss {loss:.5}{eta}",
            pb.prefix()
        )
    }
}

/// `45s`, `3m12s`, `2h05m`.
pub fn duration_text(seconds: f64) -> String {
    let s = seconds.round() as u64;
    match s {
        0..=59 => format!("{s}s"),
        60..=3599 => format!("{}m{:02}s", s / 60, s % 60),
        _ => format!("{}h{:02}m", s / 3600, (s % 3600) / 60),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_as_time() {
        assert_eq!(duration_text(44.6), "45s");
        assert_eq!(duration_text(192.0), "3m12s");
        assert_eq!(duration_text(7500.0), "2h05m");
    }

    #[test]
    fn a_line_names_samples_rate_loss_and_eta() {
        let pb = ProgressBar::hidden();
        pb.set_length(10_000);
        pb.set_prefix("train");
        let mut log = TextLog::when(30.0, &pb, true).unwrap();
        pb.inc(1000);
        log.after_batch(&pb, 0.5);
        log.after_batch(&pb, 0.4);
        assert_eq!(
            log.line(&pb, 2.0),
            "train: 1000/10000 samples (10.0%), 500 samples/s, loss 0.45000, ETA 18s"
        );
        assert!(TextLog::when(0.0, &pb, true).is_none());
        assert!(TextLog::when(30.0, &pb, false).is_none());
    }
}
