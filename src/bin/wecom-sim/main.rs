//! `wecom-sim`: an offline stand-in for WeCom's online debugging tool
//! (接口调试工具). It plays WeCom (企业微信) or WeChat against a callback URL
//! on your own machine, no public URL needed (feature `cli`):
//!
//! ```text
//! cargo run --example echo &                    # a server to try it on
//! cargo run --features cli --bin wecom-sim -- http://127.0.0.1:3000/wecom/callback
//! ```
//!
//! For each run it
//!
//! 1. performs the GET URL verification (WeCom doc 回调配置 验证URL有效性);
//! 2. sends signed, encrypted callbacks of `--kind`: texts, the kind's
//!    events, and the sample catalog (tests/data/samples, or `--samples`),
//!    each with a fresh `MsgId` and `CreateTime`;
//! 3. gives every callback WeCom's 5 seconds and retries it up to three
//!    times on a timeout, a failed connection or a status other than 200
//!    (WeCom doc 接收消息与事件 概述), never after a 4xx (a refusal a retry
//!    cannot change), and says so when a retry was needed;
//! 4. opens every answer as the platform does: the kind's acknowledgement
//!    (empty, or `success`), or a passive reply whose signature, receive id
//!    and ciphertext are checked and whose XML or JSON is read;
//! 5. sends forged requests, each wrong in one way, and expects a 4xx.
//!
//! When the URL verification or the first callback shows that nothing will
//! work (the server is unreachable, never answers, or refuses them with a
//! 4xx), the run stops there with one diagnosis and a hint ([`stop`]);
//! `--keep-going` sends the rest anyway. While it waits, the try number
//! shows (a progress bar on a terminal, a line per retry otherwise), and
//! the table's rows print as they finish, the detail column fitted to the
//! terminal (or `COLUMNS`) without cutting error codes.
//!
//! Requests are built and replies opened by the crate's own test kit
//! ([`wecom_callback::testing::TestKit`]); nothing here signs or encrypts.
//! Output is a table (coloured on a terminal) or, with `--json`, one JSON
//! document; the exit status is 1 when a check failed or the run stopped.

mod args;
mod check;
mod plan;
mod report;
mod samples;
mod stop;
mod transport;

use std::io::{IsTerminal, Write};
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressState, ProgressStyle};
use wecom_callback::testing::TestKit;

use crate::args::{Args, Kind};
use crate::check::{Judgement, Verdict};
use crate::plan::{Group, Step};
use crate::report::{Heading, Layout, Row, Stopped, Summary};
use crate::transport::{Attempt, Sender, Try};

/// Exit status for bad settings (clap uses the same for bad arguments).
const USAGE: u8 = 2;

/// What the user sees while the run goes on: a progress bar with the try
/// number on a terminal's stderr (a line per retry elsewhere), and the
/// table's rows on stdout as they finish.
#[derive(Debug)]
struct Live {
    bar: ProgressBar,
    /// stderr is a terminal: the bar shows; otherwise retries get a line.
    interactive: bool,
    /// The table's columns, unless the output is one JSON document.
    layout: Option<Layout>,
}

impl Live {
    fn new(steps: &[Step], args: &Args, heading: &Heading) -> Self {
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
    fn print(&self, text: &str) {
        // A closed pipe (e.g. `| head`) is not worth a panic: write errors
        // are ignored, the exit status still tells.
        self.bar.suspend(|| {
            let mut out = anstream::stdout().lock();
            let _ = write!(out, "{text}");
            let _ = out.flush();
        });
    }

    /// A try of check `index` (from 0) starts.
    fn trying(&self, index: usize, step: &Step, t: Try<'_>, timeout: Duration) {
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
            if self.interactive {
                self.bar.println(line);
            } else {
                eprintln!("{line}");
            }
        }
    }

    fn started(&self, step: &Step) {
        self.bar
            .set_message(format!("{} {}", step.group.name(), step.name));
    }

    fn finished(&self, index: usize, row: &Row) {
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

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let args = Args::parse();
    args.color.choice().write_global();

    let endpoint = match args.endpoint() {
        Ok(endpoint) => endpoint,
        Err(error) => {
            eprintln!("error: bad {} settings: {error}", args.kind.callback_kind());
            return ExitCode::from(USAGE);
        }
    };
    let samples = match (&args.samples, args.no_samples) {
        (_, true) => Vec::new(),
        (Some(dir), false) => match samples::from_dir(dir, args.kind) {
            Ok(samples) => samples,
            Err(error) => {
                eprintln!("error: {error}");
                return ExitCode::from(USAGE);
            }
        },
        (None, false) => samples::built_in(args.kind),
    };

    let kit = TestKit::new(&args.url.path, &endpoint);
    let steps = plan::plan(&args, &kit, &samples).await;
    let content_type = if args.kind == Kind::WecomBot {
        "application/json"
    } else {
        "text/xml"
    };
    let sender = Sender::new(args.url.clone(), args.timeout, args.retries, content_type);
    let kind = endpoint.kind();
    let settings = stop::Settings::of(&args);
    let heading = Heading {
        url: args.url.to_string(),
        kind: kind.name().to_owned(),
        receive_id: match args.kind {
            Kind::WecomBot => String::new(),
            Kind::WecomSuiteData => format!("{} / {}", args.receive_id, args.data_corp_id()),
            _ => args.receive_id.clone(),
        },
        timeout: args.timeout,
        retries: args.retries,
    };

    // The checks that decide whether the rest can tell anything.
    let first_callback = steps
        .iter()
        .position(|s| matches!(s.group, Group::Message | Group::Sample) && s.request.is_ok());
    // A genuine request refused with a 4xx (with --keep-going): forged
    // requests refused the same way prove nothing.
    let mut verification_refused = None;
    let mut callback_refused = None;

    let live = Live::new(&steps, &args, &heading);
    let total = steps.len();
    let mut rows = Vec::with_capacity(total);
    let mut stopped = None;
    let mut hints = Vec::new();
    for (index, step) in steps.iter().enumerate() {
        live.started(step);
        let row = match &step.request {
            Err(reason) => Row {
                group: step.group,
                name: step.name.clone(),
                method: String::new(),
                attempts: Vec::new(),
                judgement: Judgement {
                    verdict: Verdict::Skip,
                    detail: (*reason).to_owned(),
                    reply: None,
                },
            },
            Ok(request) => {
                let attempts = sender
                    .deliver(request, step.retry, |t| {
                        live.trying(index, step, t, sender.timeout());
                    })
                    .await;
                let mut judgement =
                    check::judge(&step.expect, &attempts, &kit, kind, sender.timeout()).await;
                let refused = attempts
                    .last()
                    .and_then(Attempt::status)
                    .filter(|s| (400..500).contains(s));
                match step.group {
                    Group::Verify => verification_refused = verification_refused.or(refused),
                    Group::Message | Group::Sample => {
                        callback_refused = callback_refused.or(refused);
                    }
                    Group::Forged => {
                        let genuine = if request.method == http::Method::GET {
                            verification_refused.map(|s| (s, "the genuine GET"))
                        } else {
                            callback_refused.map(|s| (s, "genuine callbacks"))
                        };
                        if let (Verdict::Pass, Some((status, what))) = (judgement.verdict, genuine)
                        {
                            judgement.verdict = Verdict::Skip;
                            judgement.detail = format!(
                                "inconclusive: {what} got HTTP {status} too ({})",
                                judgement.detail
                            );
                        }
                    }
                }
                let role = if step.group == Group::Verify {
                    stop::Role::Verification
                } else if Some(index) == first_callback {
                    stop::Role::FirstCallback
                } else {
                    stop::Role::Other
                };
                hints.extend(stop::advice(role, judgement.verdict, &attempts, &settings));
                if stopped.is_none() && !args.keep_going {
                    stopped =
                        stop::after(role, &step.name, &attempts, &settings).map(|stop| Stopped {
                            after: index + 1,
                            not_sent: total - index - 1,
                            stop,
                        });
                }
                Row {
                    group: step.group,
                    name: step.name.clone(),
                    method: request.method.to_string(),
                    attempts,
                    judgement,
                }
            }
        };
        live.finished(index, &row);
        rows.push(row);
        if stopped.is_some() {
            break;
        }
    }
    live.bar.finish_and_clear();

    if args.json {
        let document = report::json(&heading, &rows, stopped.as_ref(), &hints);
        let mut out = std::io::stdout().lock();
        let _ = serde_json::to_writer_pretty(&mut out, &document);
        let _ = writeln!(out);
        for hint in &hints {
            eprintln!("wecom-sim: hint: {hint}.");
        }
        if let Some(stopped) = &stopped {
            eprintln!(
                "wecom-sim: stopped after check {}: {}.\nhint: {}.",
                stopped.after, stopped.stop.diagnosis, stopped.stop.hint
            );
        }
    } else {
        live.print(&format!(
            "\n{}",
            report::ending(&rows, stopped.as_ref(), &hints)
        ));
    }

    let summary = Summary::of(&rows);
    if summary.failed > 0 || stopped.is_some() || (args.strict && summary.warned > 0) {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}
