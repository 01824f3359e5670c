//! The per-epoch progress bar: steps done, loss, samples per second.

use std::io::IsTerminal;

use indicatif::{ProgressBar, ProgressStyle};

/// A progress bar on stderr, or nothing when disabled or stderr is not a terminal (logs,
/// CI, tests).
pub(crate) struct Progress(Option<ProgressBar>);

impl Progress {
    pub fn new(enabled: bool, steps: usize, epoch: usize, epochs: usize) -> Progress {
        if !enabled || !std::io::stderr().is_terminal() {
            return Progress(None);
        }
        let bar = ProgressBar::new(steps as u64);
        let style = ProgressStyle::with_template(
            "{prefix} [{bar:30.cyan/blue}] {pos}/{len} {msg} ({elapsed}<{eta})",
        )
        .map(|s| s.progress_chars("=> "))
        .unwrap_or_else(|_| ProgressStyle::default_bar());
        bar.set_style(style);
        bar.set_prefix(format!("epoch {epoch}/{epochs}"));
        Progress(Some(bar))
    }

    pub fn step(&self, loss: f64, samples_per_sec: f64) {
        if let Some(bar) = &self.0 {
            bar.inc(1);
            bar.set_message(format!("loss {loss:.4} · {samples_per_sec:.0} samples/s"));
        }
    }

    /// Leaves the bar on screen with the epoch's summary.
    pub fn finish(&self, summary: String) {
        if let Some(bar) = &self.0 {
            bar.finish_with_message(summary);
        }
    }
}
