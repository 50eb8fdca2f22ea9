//! The progress bar: `indicatif` on stderr, fed by an atomic counter that a ticker thread
//! reads ten times a second (workers never touch the bar itself).

use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressState, ProgressStyle};

/// When [`Scheduler::progress`](crate::Scheduler::progress) draws its bar.
///
/// `.progress(true)` means [`Terminal`](Progress::Terminal), `.progress(false)`
/// [`Off`](Progress::Off).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Progress {
    /// No bar (the default).
    #[default]
    Off,
    /// A bar on stderr when stderr is a terminal (and `TERM` is not `dumb`); nothing when
    /// it is piped or redirected, so logs stay clean.
    Terminal,
    /// A bar on stderr even when it is not a terminal.
    Always,
}

impl From<bool> for Progress {
    fn from(on: bool) -> Progress {
        if on {
            Progress::Terminal
        } else {
            Progress::Off
        }
    }
}

const TEMPLATE: &str =
    "{spinner} [{elapsed_precise}] {wide_bar} {pos}/{len} tasks  {rate}  ETA {eta}";
const TICK: Duration = Duration::from_millis(100);

/// A bar being drawn, and the thread that moves it.
pub(crate) struct Bar {
    bar: ProgressBar,
    done: Arc<AtomicU64>,
    stop: Option<mpsc::Sender<()>>,
    ticker: Option<JoinHandle<()>>,
}

impl Bar {
    /// A bar for `total` tasks that follows `done`, or `None` when there is none to draw.
    pub(crate) fn start(mode: Progress, total: u64, done: Arc<AtomicU64>) -> Option<Bar> {
        let target = match mode {
            Progress::Off => return None,
            Progress::Terminal if !std::io::stderr().is_terminal() => return None,
            Progress::Terminal => ProgressDrawTarget::stderr_with_hz(10),
            Progress::Always => {
                ProgressDrawTarget::term_like_with_hz(Box::new(console::Term::stderr()), 10)
            }
        };
        let bar = ProgressBar::with_draw_target(Some(total), target);
        let style = ProgressStyle::with_template(TEMPLATE)
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .with_key(
                "rate",
                |state: &ProgressState, w: &mut dyn std::fmt::Write| {
                    let _ = write!(w, "{:.0} tasks/s", state.per_sec());
                },
            );
        bar.set_style(style);
        let (stop, stopped) = mpsc::channel::<()>();
        let ticker = {
            let (bar, done) = (bar.clone(), done.clone());
            std::thread::Builder::new()
                .name("delayed-progress".into())
                .spawn(move || loop {
                    // Never back: a cluster's counts are taken back and recorded again
                    // when a partition finishes, and a tick may fall in between.
                    bar.set_position(done.load(Ordering::Relaxed).max(bar.position()));
                    if let Err(mpsc::RecvTimeoutError::Timeout) = stopped.recv_timeout(TICK) {
                        continue;
                    }
                    break;
                })
                // Without a ticker the bar still shows the start and the end.
                .ok()
        };
        Some(Bar {
            bar,
            done,
            stop: Some(stop),
            ticker,
        })
    }

    /// The last position, left on screen (`ok`) or marked abandoned, and the line ended:
    /// `indicatif` leaves the cursor after the bar, padded to the width it believes the
    /// terminal has, and relies on the terminal wrapping there; when the width is not the
    /// real one (unknown, or resized) the next output was glued to the bar. A newline
    /// after a full-width line moves to the next line on terminals that wrap lazily, as
    /// they do, so it never leaves a blank line there.
    pub(crate) fn finish(mut self, ok: bool) {
        self.stop_ticker();
        self.bar.set_position(self.done.load(Ordering::Relaxed));
        if ok {
            self.bar.finish();
        } else {
            self.bar.abandon();
        }
        let _ = std::io::stderr().write_all(b"\n");
    }

    fn stop_ticker(&mut self) {
        drop(self.stop.take());
        if let Some(ticker) = self.ticker.take() {
            let _ = ticker.join();
        }
    }
}

impl Drop for Bar {
    fn drop(&mut self) {
        self.stop_ticker();
    }
}
