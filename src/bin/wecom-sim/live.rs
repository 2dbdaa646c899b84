//! What the user sees while a run goes on: the progress bar (check, try
//! number, seconds waited) on a terminal's stderr, a line per retry on any
//! other stderr, and the table's rows on stdout as each check finishes.

use std::io::{IsTerminal, Write};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressState, ProgressStyle};

use crate::args::Args;
use crate::plan::Step;
use crate::report::{self, Heading, Layout, Row};
use crate::transport::{self, Try};

/// What the user sees while the run goes on: a progress bar with the try
/// number on a terminal's stderr (a line per retry elsewhere), and the
/// table's rows on stdout as they finish.
#[derive(Debug)]
pub(crate) struct Live {
    /// The progress bar (hidden when stderr is not a terminal).
    pub(crate) bar: ProgressBar,
    /// stderr is a terminal: the bar shows; otherwise retries get a line.
    interactive: bool,
    /// The table's columns, unless the output is one JSON document.
    layout: Option<Layout>,
}

impl Live {
    pub(crate) fn new(steps: &[Step], args: &Args, heading: &Heading) -> Self {
        let interactive = std::io::stderr().is_terminal();
        let len = u64::try_from(steps.len()).unwrap_or(u64::MAX);
        let bar = if interactive {
            ProgressBar::with_draw_target(Some(len), ProgressDrawTarget::stderr())
        } else {
            ProgressBar::hidden()
        };
        let timeout = transport::seconds(args.timeout);
        let waited = move |state: &ProgressState, w: &mut dyn std::fmt::Write| {
            let _ = write!(w, "{:.1} s of {timeout}", state.elapsed().as_secs_f64());
        };
        if let Ok(style) = ProgressStyle::with_template(
            "{spinner} [{bar:30}] {pos}/{len} {prefix} ({waited}) {wide_msg}",
        ) {
            bar.set_style(style.with_key("waited", waited).progress_chars("=> "));
        }
        if interactive {
            bar.enable_steady_tick(Duration::from_millis(100));
        }
        let layout = (!args.json).then(|| {
            let tries = u32::from(args.retries) + 1;
            Layout::for_plan(
                steps.iter().map(|s| s.name.as_str()),
                args.timeout.saturating_mul(tries),
                output_width(),
            )
        });
        let live = Self {
            bar,
            interactive,
            layout,
        };
        if let Some(layout) = &live.layout {
            live.print(&format!(
                "{}\n\n{}\n",
                report::heading_line(heading),
                layout.header()
            ));
        }
        live
    }

    /// Prints to stdout without tearing the bar.
    pub(crate) fn print(&self, text: &str) {
        // A closed pipe (e.g. `| head`) is not worth a panic: write errors
        // are ignored, the exit status still tells.
        self.bar.suspend(|| {
            let mut out = anstream::stdout().lock();
            let _ = write!(out, "{text}");
            let _ = out.flush();
        });
    }

    /// A try of check `index` (from 0) starts.
    pub(crate) fn trying(&self, index: usize, step: &Step, t: Try<'_>, timeout: Duration) {
        self.bar.reset_elapsed();
        self.bar.set_prefix(format!("try {}/{}", t.number, t.of));
        if let Some(previous) = t.previous {
            let line = format!(
                "wecom-sim: check {} ({} {}): try {} of {} (try {}: {})",
                index + 1,
                step.group.name(),
                step.name,
                t.number,
                t.of,
                t.number - 1,
                previous.describe(timeout)
            );
            // On a terminal the bar shows the try; a line would land
            // between the table's rows.
            if !self.interactive {
                eprintln!("{line}");
            }
        }
    }

    pub(crate) fn started(&self, step: &Step) {
        self.bar
            .set_message(format!("{} {}", step.group.name(), step.name));
    }

    pub(crate) fn finished(&self, index: usize, row: &Row) {
        if let Some(layout) = &self.layout {
            self.print(&format!("{}\n", layout.row(index, row)));
        }
        self.bar.inc(1);
    }
}

/// The width of stdout in columns: the terminal's, else `COLUMNS`, else
/// unknown.
fn output_width() -> Option<usize> {
    let term = console::Term::stdout();
    if term.is_term() {
        if let Some((_, columns)) = term.size_checked() {
            return Some(usize::from(columns));
        }
    }
    std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.trim().parse().ok())
        .filter(|&c| c > 0)
}
