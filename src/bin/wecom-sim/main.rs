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
//!    (WeCom doc 接收消息与事件 概述), and says so when a retry was needed;
//! 4. opens every answer as the platform does: the kind's acknowledgement
//!    (empty, or `success`), or a passive reply whose signature, receive id
//!    and ciphertext are checked and whose XML or JSON is read;
//! 5. sends forged requests, each wrong in one way, and expects a 4xx.
//!
//! Requests are built and replies opened by the crate's own test kit
//! ([`wecom_callback::testing::TestKit`]); nothing here signs or encrypts.
//! Output is a table (coloured on a terminal) or, with `--json`, one JSON
//! document; the exit status is 1 when a check failed.

mod args;
mod check;
mod plan;
mod report;
mod samples;
mod transport;

use std::io::{IsTerminal, Write};
use std::process::ExitCode;

use clap::Parser;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use wecom_callback::testing::TestKit;

use crate::args::{Args, Kind};
use crate::check::{Judgement, Verdict};
use crate::report::{Heading, Row, Summary};
use crate::transport::Sender;

/// Exit status for bad settings (clap uses the same for bad arguments).
const USAGE: u8 = 2;

fn progress(len: usize) -> ProgressBar {
    let bar = ProgressBar::with_draw_target(
        Some(u64::try_from(len).unwrap_or(u64::MAX)),
        ProgressDrawTarget::stderr(),
    );
    if !std::io::stderr().is_terminal() {
        bar.set_draw_target(ProgressDrawTarget::hidden());
    }
    if let Ok(style) = ProgressStyle::with_template("{spinner} [{bar:30}] {pos}/{len} {wide_msg}") {
        bar.set_style(style.progress_chars("=> "));
    }
    bar
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

    let bar = progress(steps.len());
    let mut rows = Vec::with_capacity(steps.len());
    for step in steps {
        bar.set_message(format!("{} {}", step.group.name(), step.name));
        let row = match &step.request {
            Err(reason) => Row {
                group: step.group,
                name: step.name,
                method: String::new(),
                attempts: Vec::new(),
                judgement: Judgement {
                    verdict: Verdict::Skip,
                    detail: (*reason).to_owned(),
                    reply: None,
                },
            },
            Ok(request) => {
                let attempts = sender.deliver(request, step.retry).await;
                let judgement =
                    check::judge(&step.expect, &attempts, &kit, kind, sender.timeout()).await;
                Row {
                    group: step.group,
                    name: step.name,
                    method: request.method.to_string(),
                    attempts,
                    judgement,
                }
            }
        };
        rows.push(row);
        bar.inc(1);
    }
    bar.finish_and_clear();

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
    // A closed pipe (e.g. `| head`) is not worth a panic: write errors are
    // ignored, the exit status still tells.
    if args.json {
        let document = report::json(&heading, &rows);
        let mut out = std::io::stdout().lock();
        let _ = serde_json::to_writer_pretty(&mut out, &document);
        let _ = writeln!(out);
    } else {
        let mut out = anstream::stdout().lock();
        let _ = write!(out, "{}", report::table(&heading, &rows));
    }

    let summary = Summary::of(&rows);
    if summary.failed > 0 || (args.strict && summary.warned > 0) {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}
