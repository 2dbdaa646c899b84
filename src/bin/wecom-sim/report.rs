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

/// The widest a detail gets in the table (the JSON has it whole).
const DETAIL_WIDTH: usize = 72;

/// The table, with ANSI styles (print it through anstream, which removes
/// them where colour is off).
pub(crate) fn table(heading: &Heading, rows: &[Row]) -> String {
    let bold = Style::new().bold();
    let dim = AnsiColor::BrightBlack.on_default();
    let header = [
        "#", "group", "check", "HTTP", "tries", "ms", "result", "detail",
    ];
    let mut cells: Vec<[String; 8]> = Vec::with_capacity(rows.len());
    for (index, row) in rows.iter().enumerate() {
        let verdict = row.judgement.verdict;
        let tries = row.attempts.len();
        cells.push([
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
            console::truncate_str(&row.judgement.detail, DETAIL_WIDTH, "…").into_owned(),
        ]);
    }
    let mut widths = header.map(measure_text_width);
    for row in &cells {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(measure_text_width(cell));
        }
    }
    // Numbers right-aligned, text left-aligned.
    let align = [
        Alignment::Right,
        Alignment::Left,
        Alignment::Left,
        Alignment::Right,
        Alignment::Right,
        Alignment::Right,
        Alignment::Left,
        Alignment::Left,
    ];
    let line = |cells: &[String]| -> String {
        let last = cells.len().saturating_sub(1);
        let mut out = String::new();
        for (i, ((cell, width), align)) in cells.iter().zip(&widths).zip(&align).enumerate() {
            if i > 0 {
                out.push_str("  ");
            }
            if i == last {
                out.push_str(cell);
            } else {
                out.push_str(&pad_str(cell, *width, *align, None));
            }
        }
        out.trim_end().to_owned()
    };

    let mut out = String::new();
    let _ = writeln!(
        out,
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
    );
    out.push('\n');
    let header: Vec<String> = header.iter().map(|h| styled(bold, h)).collect();
    let _ = writeln!(out, "{}", line(&header));
    for row in &cells {
        let _ = writeln!(out, "{}", line(row));
    }
    let summary = Summary::of(rows);
    out.push('\n');
    let _ = writeln!(out, "{}", summary_line(summary));
    out
}

/// `24 passed, 0 failed, 1 skipped, 0 warned`, styled.
pub(crate) fn summary_line(summary: Summary) -> String {
    let part = |count: usize, word: &str, verdict: Verdict| {
        let text = format!("{count} {word}");
        if count > 0 {
            styled(verdict_style(verdict), &text)
        } else {
            text
        }
    };
    format!(
        "{}, {}, {}, {}",
        part(summary.passed, "passed", Verdict::Pass),
        part(summary.failed, "failed", Verdict::Fail),
        part(summary.skipped, "skipped", Verdict::Skip),
        part(summary.warned, "warned", Verdict::Warn),
    )
}

/// The JSON document of `--json`.
pub(crate) fn json(heading: &Heading, rows: &[Row]) -> Value {
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
        let styled = table(&heading(), &rows());
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
        let plain = anstream::adapter::strip_str(&table(&heading(), &rows)).to_string();
        assert!(
            plain.lines().all(|l| measure_text_width(l) < 140),
            "{plain}"
        );
        assert!(plain.contains('…'));
        assert_eq!(
            json(&heading(), &rows)["checks"][0]["detail"],
            long.as_str()
        );
    }

    #[test]
    fn the_json_document_counts_and_lists_every_check() {
        let doc = json(&heading(), &rows());
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
}
