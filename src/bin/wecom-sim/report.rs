//! The results: a table for people (styled with anstyle; anstream strips
//! the styles when stdout is not a terminal) and a JSON document for
//! machines.

use std::fmt::Write as _;
use std::time::Duration;

use anstyle::{AnsiColor, Style};
use console::{Alignment, measure_text_width, pad_str};
use serde_json::{Value, json};

use crate::check::{Judgement, Verdict};
use crate::plan::Group;
use crate::stop::Stop;
use crate::transport::Attempt;

/// One finished check.
#[derive(Debug, Clone)]
pub(crate) struct Row {
    pub(crate) group: Group,
    pub(crate) name: String,
    /// `GET`, `POST`, `PUT`; empty for a skipped check.
    pub(crate) method: String,
    pub(crate) attempts: Vec<Attempt>,
    pub(crate) judgement: Judgement,
}

impl Row {
    fn status(&self) -> Option<u16> {
        self.attempts.last().and_then(Attempt::status)
    }

    fn elapsed(&self) -> Duration {
        self.attempts.iter().map(|a| a.elapsed).sum()
    }
}

/// The counts of each verdict.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Summary {
    pub(crate) passed: usize,
    pub(crate) warned: usize,
    pub(crate) skipped: usize,
    pub(crate) failed: usize,
}

impl Summary {
    pub(crate) fn of(rows: &[Row]) -> Self {
        let mut summary = Self::default();
        for row in rows {
            match row.judgement.verdict {
                Verdict::Pass => summary.passed += 1,
                Verdict::Warn => summary.warned += 1,
                Verdict::Skip => summary.skipped += 1,
                Verdict::Fail => summary.failed += 1,
            }
        }
        summary
    }
}

/// The run's settings, for the heading and the JSON document.
#[derive(Debug, Clone)]
pub(crate) struct Heading {
    pub(crate) url: String,
    pub(crate) kind: String,
    pub(crate) receive_id: String,
    pub(crate) timeout: Duration,
    pub(crate) retries: u8,
}

fn verdict_style(verdict: Verdict) -> Style {
    match verdict {
        Verdict::Pass => AnsiColor::Green.on_default(),
        Verdict::Warn => AnsiColor::Yellow.on_default().bold(),
        Verdict::Skip => AnsiColor::BrightBlack.on_default(),
        Verdict::Fail => AnsiColor::Red.on_default().bold(),
    }
}

fn styled(style: Style, text: &str) -> String {
    format!("{style}{text}{style:#}")
}

/// The widest a detail gets in the table when the output's width is not
/// known (piped, no `COLUMNS`); the JSON has it whole.
const DETAIL_WIDTH: usize = 72;

/// The narrowest a detail gets on a narrow terminal (lines wrap instead).
const MIN_DETAIL_WIDTH: usize = 24;

const HEADER: [&str; 8] = [
    "#", "group", "check", "HTTP", "tries", "ms", "result", "detail",
];

/// Numbers right-aligned, text left-aligned.
const ALIGN: [Alignment; 8] = [
    Alignment::Right,
    Alignment::Left,
    Alignment::Left,
    Alignment::Right,
    Alignment::Right,
    Alignment::Right,
    Alignment::Left,
    Alignment::Left,
];

/// The columns of a table: fixed before the first row, so that rows can be
/// printed as they finish.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Layout {
    /// Widths of the columns before the detail.
    widths: [usize; 7],
    /// The widest a detail may be (longer ones are cut, codes kept).
    detail: usize,
}

impl Layout {
    /// Columns for a run of `names` (every check, in order) whose slowest
    /// check takes at most `max_elapsed`, on a line of `width` columns
    /// (`None`: unknown).
    pub(crate) fn for_plan<'a>(
        names: impl IntoIterator<Item = &'a str>,
        max_elapsed: Duration,
        width: Option<usize>,
    ) -> Self {
        let mut widths = Self::header_widths();
        let mut count = 0usize;
        for name in names {
            count += 1;
            widths[2] = widths[2].max(measure_text_width(name));
        }
        widths[0] = widths[0].max(count.to_string().len());
        widths[1] = widths[1].max(GROUP_WIDTH);
        widths[3] = widths[3].max(3);
        // A try can run a little past its timeout before it is cut.
        let ms = max_elapsed.as_millis().saturating_add(1000);
        widths[5] = widths[5].max(ms.to_string().len());
        widths[6] = widths[6].max(4);
        Self::with_widths(widths, width)
    }

    /// Columns that fit `rows` exactly.
    #[cfg(test)]
    pub(crate) fn for_rows(rows: &[Row], width: Option<usize>) -> Self {
        let mut widths = Self::header_widths();
        for (index, row) in rows.iter().enumerate() {
            for (w, cell) in widths.iter_mut().zip(cells(index, row, 0)) {
                *w = (*w).max(measure_text_width(&cell));
            }
        }
        Self::with_widths(widths, width)
    }

    /// The widths of the header's cells before the detail.
    fn header_widths() -> [usize; 7] {
        let mut widths = [0; 7];
        for (w, h) in widths.iter_mut().zip(HEADER) {
            *w = measure_text_width(h);
        }
        widths
    }

    fn with_widths(widths: [usize; 7], width: Option<usize>) -> Self {
        let detail = match width {
            None => DETAIL_WIDTH,
            Some(width) => {
                let used: usize = widths.iter().sum::<usize>() + 2 * widths.len();
                width.saturating_sub(used).max(MIN_DETAIL_WIDTH)
            }
        };
        Self { widths, detail }
    }

    fn line(&self, cells: &[String; 8]) -> String {
        let mut out = String::new();
        for (i, cell) in cells.iter().enumerate() {
            if i > 0 {
                out.push_str("  ");
            }
            match (self.widths.get(i), ALIGN.get(i)) {
                (Some(width), Some(align)) => out.push_str(&pad_str(cell, *width, *align, None)),
                _ => out.push_str(cell),
            }
        }
        out.trim_end().to_owned()
    }

    /// The header row, bold.
    pub(crate) fn header(&self) -> String {
        let bold = Style::new().bold();
        self.line(&HEADER.map(|h| styled(bold, h)))
    }

    /// Row `index` (from 0), its detail fitted to the column.
    pub(crate) fn row(&self, index: usize, row: &Row) -> String {
        self.line(&cells(index, row, self.detail))
    }
}

/// The widest group name (`message`).
const GROUP_WIDTH: usize = 7;

/// The cells of a row; the detail fitted to `detail` columns (0: whole).
fn cells(index: usize, row: &Row, detail: usize) -> [String; 8] {
    let verdict = row.judgement.verdict;
    let tries = row.attempts.len();
    [
        (index + 1).to_string(),
        row.group.name().to_owned(),
        row.name.clone(),
        row.status()
            .map_or_else(|| "-".to_owned(), |s| s.to_string()),
        if tries == 0 {
            "-".to_owned()
        } else if tries > 1 {
            styled(AnsiColor::Yellow.on_default(), &tries.to_string())
        } else {
            tries.to_string()
        },
        if tries == 0 {
            "-".to_owned()
        } else {
            row.elapsed().as_millis().to_string()
        },
        styled(verdict_style(verdict), verdict.name()),
        if detail == 0 {
            row.judgement.detail.clone()
        } else {
            fit(&row.judgement.detail, detail)
        },
    ]
}

/// `text` in at most `width` columns, cut with `…`; the error codes it
/// carries (WXBizMsgCrypt's `-40001`…, `os error 111`) stay visible: a code
/// the cut would drop is kept after the ellipsis, even past `width`.
pub(crate) fn fit(text: &str, width: usize) -> String {
    if measure_text_width(text) <= width {
        return text.to_owned();
    }
    let head = console::truncate_str(text, width, "…");
    let kept = head.strip_suffix('…').unwrap_or(&head);
    let mut lost: Vec<&str> = Vec::new();
    for code in codes(text) {
        if !kept.contains(code) && !lost.contains(&code) {
            lost.push(code);
        }
    }
    if lost.is_empty() {
        return head.into_owned();
    }
    let tail = format!(" {}", lost.join(" "));
    let room = width.saturating_sub(measure_text_width(&tail)).max(2);
    format!("{}{tail}", console::truncate_str(text, room, "…"))
}

/// The error codes in `text`: `-` and five digits (the vendor's -40001 to
/// -40011 and the like), and `os error N`.
fn codes(text: &str) -> Vec<&str> {
    let bytes = text.as_bytes();
    let digits_from = |start: usize| {
        bytes.get(start..).map_or(0, |rest| {
            rest.iter().take_while(|b| b.is_ascii_digit()).count()
        })
    };
    let mut found = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let before_ok = i == 0 || bytes.get(i - 1).is_some_and(|b| !b.is_ascii_alphanumeric());
        if bytes.get(i) == Some(&b'-') && before_ok && digits_from(i + 1) == 5 {
            if let Some(code) = text.get(i..i + 6) {
                found.push(code);
            }
            i += 6;
        } else if before_ok && text.get(i..).is_some_and(|r| r.starts_with("os error ")) {
            let n = digits_from(i + 9);
            if n > 0 {
                if let Some(code) = text.get(i..i + 9 + n) {
                    found.push(code);
                }
            }
            i += 9 + n;
        } else {
            i += 1;
        }
    }
    found
}

/// The heading line: URL and settings.
pub(crate) fn heading_line(heading: &Heading) -> String {
    let bold = Style::new().bold();
    let dim = AnsiColor::BrightBlack.on_default();
    format!(
        "{} {}  {}",
        styled(bold, "wecom-sim →"),
        heading.url,
        styled(
            dim,
            &format!(
                "(kind {}, receive id {:?}, {} per try, {} retries)",
                heading.kind,
                heading.receive_id,
                crate::transport::seconds(heading.timeout),
                heading.retries
            )
        )
    )
}

/// What ends the table: hints about failures the run went on after, the
/// stop's diagnosis and hint (if the run stopped), then the counts.
pub(crate) fn ending(rows: &[Row], stopped: Option<&Stopped>, hints: &[String]) -> String {
    let mut out = String::new();
    if !hints.is_empty() {
        let bold = Style::new().bold();
        for hint in hints {
            let _ = writeln!(out, "{} {hint}.", styled(bold, "hint:"));
        }
        out.push('\n');
    }
    if let Some(stopped) = stopped {
        let red = AnsiColor::Red.on_default().bold();
        let bold = Style::new().bold();
        let _ = writeln!(
            out,
            "{} after check {} of {}: {}.",
            styled(red, "stopped"),
            stopped.after,
            stopped.after + stopped.not_sent,
            stopped.stop.diagnosis
        );
        let _ = writeln!(out, "{} {}.", styled(bold, "hint:"), stopped.stop.hint);
        if stopped.not_sent > 0 {
            let _ = writeln!(
                out,
                "The other {} checks were not sent: they cannot tell more until this is \
                 fixed (--keep-going sends them anyway).",
                stopped.not_sent
            );
        }
        out.push('\n');
    }
    let _ = writeln!(
        out,
        "{}",
        summary_line(Summary::of(rows), stopped.map_or(0, |s| s.not_sent))
    );
    out
}

/// A run that stopped early: after which check (from 1), why, and how
/// many checks were not sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Stopped {
    pub(crate) after: usize,
    pub(crate) not_sent: usize,
    pub(crate) stop: Stop,
}

/// The whole table at once, with ANSI styles (print it through anstream,
/// which removes them where colour is off), on a line of `width` columns
/// (`None`: unknown). The run prints it row by row instead.
#[cfg(test)]
pub(crate) fn table(
    heading: &Heading,
    rows: &[Row],
    stopped: Option<&Stopped>,
    width: Option<usize>,
) -> String {
    let layout = Layout::for_rows(rows, width);
    let mut out = String::new();
    let _ = writeln!(out, "{}", heading_line(heading));
    out.push('\n');
    let _ = writeln!(out, "{}", layout.header());
    for (index, row) in rows.iter().enumerate() {
        let _ = writeln!(out, "{}", layout.row(index, row));
    }
    out.push('\n');
    out.push_str(&ending(rows, stopped, &[]));
    out
}

/// `24 passed, 0 failed, 1 skipped, 0 warned`, styled, and `, 26 not
/// sent` after a stop.
pub(crate) fn summary_line(summary: Summary, not_sent: usize) -> String {
    let part = |count: usize, word: &str, verdict: Verdict| {
        let text = format!("{count} {word}");
        if count > 0 {
            styled(verdict_style(verdict), &text)
        } else {
            text
        }
    };
    let mut line = format!(
        "{}, {}, {}, {}",
        part(summary.passed, "passed", Verdict::Pass),
        part(summary.failed, "failed", Verdict::Fail),
        part(summary.skipped, "skipped", Verdict::Skip),
        part(summary.warned, "warned", Verdict::Warn),
    );
    if not_sent > 0 {
        let _ = write!(line, ", {not_sent} not sent");
    }
    line
}

/// The JSON document of `--json`. After an early stop, `stopped` holds
/// `after` (the check, from 1), `reason` (`unreachable`, `no_answer`,
/// `refused`), `status` (of a refusal), `diagnosis` and `hint`, and
/// `not_sent` counts the checks not sent; both are `null` and 0 otherwise.
/// `hints` lists what a failure the run went on after points to.
pub(crate) fn json(
    heading: &Heading,
    rows: &[Row],
    stopped: Option<&Stopped>,
    hints: &[String],
) -> Value {
    let summary = Summary::of(rows);
    let checks: Vec<Value> = rows
        .iter()
        .map(|row| {
            let attempts: Vec<Value> = row
                .attempts
                .iter()
                .map(|a| {
                    json!({
                        "status": a.status(),
                        "result": a.describe(heading.timeout),
                        "elapsed_ms": u64::try_from(a.elapsed.as_millis()).unwrap_or(u64::MAX),
                    })
                })
                .collect();
            json!({
                "group": row.group.name(),
                "name": row.name,
                "method": row.method,
                "status": row.status(),
                "tries": row.attempts.len(),
                "elapsed_ms": u64::try_from(row.elapsed().as_millis()).unwrap_or(u64::MAX),
                "verdict": row.judgement.verdict.name().to_ascii_lowercase(),
                "detail": row.judgement.detail,
                "reply": row.judgement.reply,
                "attempts": attempts,
            })
        })
        .collect();
    json!({
        "url": heading.url,
        "kind": heading.kind,
        "receive_id": heading.receive_id,
        "timeout_ms": u64::try_from(heading.timeout.as_millis()).unwrap_or(u64::MAX),
        "retries": heading.retries,
        "passed": summary.passed,
        "failed": summary.failed,
        "skipped": summary.skipped,
        "warned": summary.warned,
        "not_sent": stopped.map_or(0, |s| s.not_sent),
        "hints": hints,
        "stopped": stopped.map(|s| json!({
            "after": s.after,
            "reason": s.stop.reason.name(),
            "status": s.stop.reason.status(),
            "diagnosis": s.stop.diagnosis,
            "hint": s.stop.hint,
        })),
        "checks": checks,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transport::{Answer, Outcome};
    use bytes::Bytes;
    use http::{HeaderMap, StatusCode};

    fn heading() -> Heading {
        Heading {
            url: "http://127.0.0.1:3000/wecom/callback".to_owned(),
            kind: "wecom_app".to_owned(),
            receive_id: "wx5823bf96d3bd56c7".to_owned(),
            timeout: Duration::from_secs(5),
            retries: 3,
        }
    }

    fn answered(status: u16, ms: u64) -> Attempt {
        Attempt {
            outcome: Outcome::Answered(Answer {
                status: StatusCode::from_u16(status).unwrap(),
                headers: HeaderMap::new(),
                body: Bytes::new(),
            }),
            elapsed: Duration::from_millis(ms),
        }
    }

    fn row(
        group: Group,
        name: &str,
        attempts: Vec<Attempt>,
        verdict: Verdict,
        detail: &str,
    ) -> Row {
        Row {
            group,
            name: name.to_owned(),
            method: "POST".to_owned(),
            attempts,
            judgement: Judgement {
                verdict,
                detail: detail.to_owned(),
                reply: (verdict == Verdict::Pass).then(|| "<xml/>".to_owned()),
            },
        }
    }

    fn rows() -> Vec<Row> {
        vec![
            row(
                Group::Verify,
                "GET URL verification",
                vec![answered(200, 2)],
                Verdict::Pass,
                "echostr decrypted and returned",
            ),
            row(
                Group::Message,
                "text \"你好\"",
                vec![
                    Attempt {
                        outcome: Outcome::TimedOut,
                        elapsed: Duration::from_secs(5),
                    },
                    answered(200, 3),
                ],
                Verdict::Warn,
                "answered on try 2",
            ),
            row(
                Group::Forged,
                "wrong receive id",
                vec![],
                Verdict::Skip,
                "plaintext mode carries no receive id",
            ),
            row(
                Group::Forged,
                "bad signature",
                vec![answered(200, 1)],
                Verdict::Fail,
                "accepted (HTTP 200): expected a 4xx",
            ),
        ]
    }

    #[test]
    fn the_table_is_aligned_and_plain_once_stripped() {
        let styled = table(&heading(), &rows(), None, None);
        assert!(
            styled.contains("\u{1b}["),
            "styles present before stripping"
        );
        let plain = anstream::adapter::strip_str(&styled).to_string();
        assert!(!plain.contains('\u{1b}'));
        let lines: Vec<&str> = plain.lines().collect();
        assert!(lines[0].starts_with("wecom-sim → http://127.0.0.1:3000/wecom/callback"));
        let header = lines[2];
        let result_col = header.find("result").unwrap();
        // Every row's verdict starts in the result column, in display
        // columns (the CJK text is two columns per character).
        for (line, verdict) in lines[3..7].iter().zip(["pass", "warn", "skip", "FAIL"]) {
            let byte = line.find(verdict).unwrap();
            assert_eq!(measure_text_width(&line[..byte]), result_col, "{line}");
        }
        assert_eq!(lines[4].split_whitespace().nth(4), Some("200"));
        assert!(lines[4].contains("  2  5003  warn"), "{}", lines[4]);
        assert!(lines[5].contains("-  skip"), "{}", lines[5]);
        assert_eq!(
            lines.last(),
            Some(&"1 passed, 1 failed, 1 skipped, 1 warned")
        );
    }

    #[test]
    fn long_details_are_cut_in_the_table_only() {
        let long = "x".repeat(200);
        let rows = vec![row(
            Group::Message,
            "m",
            vec![answered(200, 1)],
            Verdict::Fail,
            &long,
        )];
        let plain = anstream::adapter::strip_str(&table(&heading(), &rows, None, None)).to_string();
        assert!(
            plain.lines().all(|l| measure_text_width(l) < 140),
            "{plain}"
        );
        assert!(plain.contains('…'));
        assert_eq!(
            json(&heading(), &rows, None, &[])["checks"][0]["detail"],
            long.as_str()
        );
    }

    #[test]
    fn the_json_document_counts_and_lists_every_check() {
        let doc = json(&heading(), &rows(), None, &[]);
        assert_eq!(doc["stopped"], Value::Null);
        assert_eq!(doc["not_sent"], 0);
        assert_eq!(doc["passed"], 1);
        assert_eq!(doc["failed"], 1);
        assert_eq!(doc["skipped"], 1);
        assert_eq!(doc["warned"], 1);
        assert_eq!(doc["kind"], "wecom_app");
        assert_eq!(doc["timeout_ms"], 5000);
        let checks = doc["checks"].as_array().unwrap();
        assert_eq!(checks.len(), 4);
        assert_eq!(checks[0]["verdict"], "pass");
        assert_eq!(checks[0]["reply"], "<xml/>");
        assert_eq!(checks[1]["tries"], 2);
        assert_eq!(checks[1]["attempts"][0]["status"], Value::Null);
        assert_eq!(checks[1]["attempts"][0]["result"], "no answer within 5 s");
        assert_eq!(checks[1]["attempts"][1]["status"], 200);
        assert_eq!(checks[2]["status"], Value::Null);
        assert_eq!(checks[3]["verdict"], "fail");
        assert_eq!(checks[3]["group"], "forged");
    }

    #[test]
    fn fitting_keeps_error_codes_visible() {
        let detail = "the reply does not open: the signature in the reply does not match the one computed from the Token (-40001)";
        let fitted = fit(detail, 50);
        assert!(fitted.ends_with("… -40001"), "{fitted}");
        assert_eq!(measure_text_width(&fitted), 50, "{fitted}");
        let refused = "cannot connect: tcp connect error: Connection refused (os error 111)";
        let fitted = fit(refused, 40);
        assert!(fitted.ends_with("… os error 111"), "{fitted}");
        // A code inside the kept part is not repeated; short texts stay whole.
        let early = format!("code -40005 then {}", "x".repeat(80));
        let fitted = fit(&early, 30);
        assert_eq!(fitted.matches("-40005").count(), 1, "{fitted}");
        assert!(fitted.ends_with('…'));
        assert_eq!(
            fit("HTTP 403: \"forbidden\"", 30),
            "HTTP 403: \"forbidden\""
        );
        // Mixed Chinese and ASCII: display columns, not bytes.
        let mixed = "回调 Hello, 世界! 企业微信回调 test 123. 你好，这是一条消息。abc (-40007)";
        let fitted = fit(mixed, 30);
        assert!(fitted.ends_with(" -40007"), "{fitted}");
        assert!(measure_text_width(&fitted) <= 30, "{fitted}");
        // Too narrow for the codes: the codes win over the width.
        assert!(fit(refused, 5).contains("os error 111"));
        assert_eq!(
            codes("a-40001 b (-40002) -400012 os error 98"),
            ["-40002", "os error 98"]
        );
    }

    #[test]
    fn the_detail_column_fills_the_given_width() {
        let long = format!("{} (-40001)", "y".repeat(300));
        let rows = vec![row(
            Group::Message,
            "m",
            vec![answered(403, 1)],
            Verdict::Fail,
            &long,
        )];
        for width in [80, 120, 200] {
            let plain = anstream::adapter::strip_str(&table(&heading(), &rows, None, Some(width)))
                .to_string();
            let line = plain.lines().find(|l| l.contains("FAIL")).unwrap();
            assert_eq!(measure_text_width(line), width, "{line}");
            assert!(line.ends_with("… -40001"), "{line}");
        }
    }

    #[test]
    fn a_planned_layout_fits_rows_not_yet_run() {
        let rows = rows();
        let names: Vec<&str> = rows.iter().map(|r| r.name.as_str()).collect();
        let planned = Layout::for_plan(names, Duration::from_secs(20), Some(100));
        let header = anstream::adapter::strip_str(&planned.header()).to_string();
        let result_col = header.find("result").unwrap();
        for (index, row) in rows.iter().enumerate() {
            let line = anstream::adapter::strip_str(&planned.row(index, row)).to_string();
            let verdict = row.judgement.verdict.name();
            let byte = line.find(verdict).unwrap();
            assert_eq!(measure_text_width(&line[..byte]), result_col, "{line}");
            assert!(measure_text_width(&line) <= 100, "{line}");
        }
    }

    #[test]
    fn a_stop_is_explained_and_counted() {
        let stopped = Stopped {
            after: 1,
            not_sent: 26,
            stop: Stop {
                reason: crate::stop::Reason::Refused(403),
                diagnosis: "the server refused it".to_owned(),
                hint: "check --token".to_owned(),
            },
        };
        let rows = &rows()[..1];
        let plain = anstream::adapter::strip_str(&table(&heading(), rows, Some(&stopped), None))
            .to_string();
        assert!(
            plain.contains("stopped after check 1 of 27: the server refused it."),
            "{plain}"
        );
        assert!(plain.contains("hint: check --token."), "{plain}");
        assert!(
            plain.contains("The other 26 checks were not sent"),
            "{plain}"
        );
        assert_eq!(
            plain.lines().last(),
            Some("1 passed, 0 failed, 0 skipped, 0 warned, 26 not sent")
        );
        let doc = json(&heading(), rows, Some(&stopped), &[]);
        assert_eq!(doc["not_sent"], 26);
        assert_eq!(doc["stopped"]["after"], 1);
        assert_eq!(doc["stopped"]["reason"], "refused");
        assert_eq!(doc["stopped"]["status"], 403);
        assert_eq!(doc["stopped"]["hint"], "check --token");
    }
}
