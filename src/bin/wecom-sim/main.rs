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
//! 4xx), the run stops there with one diagnosis and a hint (`stop.rs`);
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
mod live;
mod plan;
mod report;
mod samples;
mod stop;
mod transport;

use std::io::Write;
use std::process::ExitCode;

use clap::Parser;
use wecom_callback::testing::TestKit;

use crate::args::{Args, Kind};
use crate::check::{Judgement, Verdict};
use crate::live::Live;
use crate::plan::Group;
use crate::report::{Heading, Row, Stopped, Summary};
use crate::transport::{Attempt, Sender};

/// Exit status for bad settings (clap uses the same for bad arguments).
const USAGE: u8 = 2;

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
                    .filter(|a| a.refused())
                    .and_then(Attempt::status);
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
