//! Reading answers as the platform does: the status, the acknowledgement
//! or the passive reply (opened with the crate's test kit: signature,
//! receive id, decryption), and the reply's own XML or JSON.

use std::time::Duration;

use http::Response;
use http_body_util::Full;
use wecom_callback::endpoint::ReplyFormat;
use wecom_callback::testing::{Opened, TestKit};
use wecom_callback::{BotMessage, CallbackKind, Message};

use crate::plan::Expect;
use crate::transport::{Answer, Attempt, Outcome, seconds};

/// How a check ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// As a correct server answers.
    Pass,
    /// Delivered, but only after a retry: WeCom would have sent the
    /// callback more than once.
    Warn,
    /// Not applicable to the kind.
    Skip,
    /// Wrong.
    Fail,
}

impl Verdict {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Pass => "pass",
            Self::Warn => "warn",
            Self::Skip => "skip",
            Self::Fail => "FAIL",
        }
    }
}

/// The verdict with its reason, and the opened reply if there was one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Judgement {
    pub(crate) verdict: Verdict,
    pub(crate) detail: String,
    pub(crate) reply: Option<String>,
}

impl Judgement {
    fn new(verdict: Verdict, detail: impl Into<String>) -> Self {
        Self {
            verdict,
            detail: detail.into(),
            reply: None,
        }
    }
}

/// At most `max` characters of `text` on one line, for details.
pub(crate) fn snippet(text: &str, max: usize) -> String {
    let one_line: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let one_line = one_line.trim();
    if one_line.chars().count() <= max {
        one_line.to_owned()
    } else {
        let cut: String = one_line.chars().take(max.saturating_sub(1)).collect();
        format!("{cut}…")
    }
}

/// Judges the attempts of one step against what it expects.
pub(crate) async fn judge(
    expect: &Expect,
    attempts: &[Attempt],
    kit: &TestKit,
    kind: CallbackKind,
    timeout: Duration,
) -> Judgement {
    let Some(last) = attempts.last() else {
        return Judgement::new(Verdict::Fail, "nothing was sent");
    };
    match expect {
        Expect::Rejected => rejected(last, timeout),
        Expect::Echo(echostr) => match &last.outcome {
            Outcome::Answered(answer) if answer.status.as_u16() == 200 => {
                if answer.body.as_ref() == echostr.as_bytes() {
                    // WeCom kinds encrypt echostr; WeChat kinds send it as is.
                    let wechat = matches!(
                        kind,
                        CallbackKind::OfficialAccount(_) | CallbackKind::OpenPlatform
                    );
                    let what = if wechat {
                        "echostr returned"
                    } else {
                        "echostr decrypted and returned"
                    };
                    Judgement::new(Verdict::Pass, what)
                } else {
                    Judgement::new(
                        Verdict::Fail,
                        format!(
                            "expected the echostr {echostr} as the whole body, got {:?}",
                            snippet(&String::from_utf8_lossy(&answer.body), 60)
                        ),
                    )
                }
            }
            _ => Judgement::new(Verdict::Fail, undelivered(last, 1, timeout)),
        },
        Expect::Delivered { reply_to } => {
            let tries = attempts.len();
            let Outcome::Answered(answer) = &last.outcome else {
                return Judgement::new(Verdict::Fail, undelivered(last, tries, timeout));
            };
            if answer.status.as_u16() != 200 {
                return Judgement::new(Verdict::Fail, undelivered(last, tries, timeout));
            }
            let mut judgement = delivered(answer, reply_to.as_deref(), kit, kind).await;
            if tries > 1 && judgement.verdict == Verdict::Pass {
                judgement.verdict = Verdict::Warn;
                judgement.detail = format!(
                    "answered on try {tries} (WeCom would deliver it {tries} times); {}",
                    judgement.detail
                );
            }
            judgement
        }
    }
}

/// Why a callback was not delivered, after `tries` tries.
fn undelivered(last: &Attempt, tries: usize, timeout: Duration) -> String {
    let after = if tries > 1 {
        format!(" (after {tries} tries)")
    } else {
        String::new()
    };
    match &last.outcome {
        Outcome::Answered(answer) => format!(
            "HTTP {}{after}: {:?}",
            answer.status.as_u16(),
            snippet(&String::from_utf8_lossy(&answer.body), 60)
        ),
        Outcome::TimedOut => format!("no answer within {}{after}", seconds(timeout)),
        Outcome::Unreachable(error) | Outcome::Failed(error) => format!("{error}{after}"),
    }
}

fn rejected(last: &Attempt, timeout: Duration) -> Judgement {
    match &last.outcome {
        Outcome::Answered(answer) => {
            let status = answer.status;
            if status.is_client_error() {
                Judgement::new(
                    Verdict::Pass,
                    format!(
                        "rejected: {} {}",
                        status.as_u16(),
                        status.canonical_reason().unwrap_or("")
                    ),
                )
            } else if status.is_success() {
                Judgement::new(
                    Verdict::Fail,
                    format!("accepted (HTTP {}): expected a 4xx", status.as_u16()),
                )
            } else {
                Judgement::new(
                    Verdict::Fail,
                    format!("HTTP {}: expected a 4xx", status.as_u16()),
                )
            }
        }
        Outcome::TimedOut => Judgement::new(
            Verdict::Fail,
            format!("no answer within {}: expected a 4xx", seconds(timeout)),
        ),
        Outcome::Unreachable(error) | Outcome::Failed(error) => {
            Judgement::new(Verdict::Fail, format!("{error}: expected a 4xx answer"))
        }
    }
}

/// A 200 to a callback: the kind's acknowledgement, or a reply that opens
/// and reads.
async fn delivered(
    answer: &Answer,
    reply_to: Option<&str>,
    kit: &TestKit,
    kind: CallbackKind,
) -> Judgement {
    let must_say_success = matches!(kind, CallbackKind::WeComSuite | CallbackKind::OpenPlatform);
    if must_say_success && answer.body.is_empty() {
        return Judgement::new(
            Verdict::Fail,
            format!("{kind} must answer the bare string `success`, got an empty body"),
        );
    }
    let mut response = Response::new(Full::new(answer.body.clone()));
    *response.status_mut() = answer.status;
    *response.headers_mut() = answer.headers.clone();
    match kit.open(response).await {
        Err(error) => Judgement::new(Verdict::Fail, error.to_string()),
        Ok(Opened::Ack) => Judgement::new(
            Verdict::Pass,
            if answer.body.is_empty() {
                "acknowledged (empty 200)"
            } else {
                "acknowledged (success)"
            },
        ),
        Ok(Opened::Reply(plain)) => {
            let mut judgement = reply(&plain, reply_to, kind);
            judgement.reply = Some(plain);
            judgement
        }
        Ok(_) => Judgement::new(Verdict::Fail, "an answer this simulator cannot read"),
    }
}

/// Reads an opened passive reply: allowed for the kind, well-formed, with
/// a message type, addressed to the sender.
fn reply(plain: &str, reply_to: Option<&str>, kind: CallbackKind) -> Judgement {
    match kind.reply_format() {
        ReplyFormat::None => Judgement::new(
            Verdict::Fail,
            format!(
                "{kind} takes only the acknowledgement, got a passive reply {:?}",
                snippet(plain, 40)
            ),
        ),
        ReplyFormat::Json => match BotMessage::parse(plain) {
            Err(error) => Judgement::new(Verdict::Fail, format!("reply JSON: {error}")),
            Ok(reply) if reply.msg_type().is_empty() => {
                Judgement::new(Verdict::Fail, "reply JSON has no msgtype")
            }
            Ok(reply) => {
                let what = match reply.text_content() {
                    Some(content) => format!("text: {}", snippet(content, 50)),
                    None => reply.msg_type().to_owned(),
                };
                Judgement::new(Verdict::Pass, format!("reply {what}"))
            }
        },
        ReplyFormat::Xml | ReplyFormat::PlainXml => match Message::parse(plain) {
            Err(error) => Judgement::new(Verdict::Fail, format!("reply XML: {error}")),
            Ok(reply) if reply.msg_type().is_empty() => {
                Judgement::new(Verdict::Fail, "reply XML has no MsgType")
            }
            Ok(reply) => match reply_to {
                Some(to) if reply.to_user_name() != to => Judgement::new(
                    Verdict::Fail,
                    format!(
                        "reply ToUserName {:?}, expected the sender {to:?}",
                        reply.to_user_name()
                    ),
                ),
                _ => {
                    let what = match reply.field("Content") {
                        Some(content) => format!("text: {}", snippet(content, 50)),
                        None => reply.msg_type().to_owned(),
                    };
                    Judgement::new(Verdict::Pass, format!("reply {what}"))
                }
            },
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use http::{HeaderMap, StatusCode};
    use wecom_callback::{Endpoint, Reply};

    const TOKEN: &str = "QDG6eK";
    const KEY: &str = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C";
    const CORP: &str = "wx5823bf96d3bd56c7";

    fn attempt(status: u16, body: &str) -> Attempt {
        Attempt {
            outcome: Outcome::Answered(Answer {
                status: StatusCode::from_u16(status).unwrap(),
                headers: HeaderMap::new(),
                body: Bytes::from(body.to_owned()),
            }),
            elapsed: Duration::from_millis(1),
        }
    }

    fn timeout() -> Attempt {
        Attempt {
            outcome: Outcome::TimedOut,
            elapsed: Duration::from_secs(5),
        }
    }

    const FIVE: Duration = Duration::from_secs(5);

    #[tokio::test]
    async fn forged_requests_pass_only_when_refused_with_a_4xx() {
        let endpoint = Endpoint::wecom_app(TOKEN, KEY, CORP).unwrap();
        let kit = TestKit::new("/cb", &endpoint);
        let kind = endpoint.kind();
        let j = judge(
            &Expect::Rejected,
            &[attempt(403, "forbidden")],
            &kit,
            kind,
            FIVE,
        )
        .await;
        assert_eq!(j.verdict, Verdict::Pass);
        assert_eq!(j.detail, "rejected: 403 Forbidden");
        for (status, body) in [(200, ""), (500, "oops")] {
            let j = judge(
                &Expect::Rejected,
                &[attempt(status, body)],
                &kit,
                kind,
                FIVE,
            )
            .await;
            assert_eq!(j.verdict, Verdict::Fail, "{status}");
        }
        let j = judge(&Expect::Rejected, &[timeout()], &kit, kind, FIVE).await;
        assert_eq!(j.verdict, Verdict::Fail);
    }

    #[tokio::test]
    async fn url_verification_needs_the_exact_echostr() {
        let endpoint = Endpoint::wecom_app(TOKEN, KEY, CORP).unwrap();
        let kit = TestKit::new("/cb", &endpoint);
        let expect = Expect::Echo("12345".to_owned());
        let kind = endpoint.kind();
        let j = judge(&expect, &[attempt(200, "12345")], &kit, kind, FIVE).await;
        assert_eq!(
            (j.verdict, j.detail.as_str()),
            (Verdict::Pass, "echostr decrypted and returned")
        );
        let oa = CallbackKind::OfficialAccount(wecom_callback::OfficialAccountMode::Safe);
        let j = judge(&expect, &[attempt(200, "12345")], &kit, oa, FIVE).await;
        assert_eq!(
            (j.verdict, j.detail.as_str()),
            (Verdict::Pass, "echostr returned")
        );
        let j = judge(&expect, &[attempt(200, "12345\n")], &kit, kind, FIVE).await;
        assert_eq!(j.verdict, Verdict::Fail);
        let j = judge(&expect, &[attempt(403, "forbidden")], &kit, kind, FIVE).await;
        assert_eq!(j.verdict, Verdict::Fail);
        assert!(j.detail.contains("HTTP 403"), "{}", j.detail);
    }

    #[tokio::test]
    async fn acknowledgements_follow_the_kind() {
        let delivered = Expect::Delivered { reply_to: None };
        let app = Endpoint::wecom_app(TOKEN, KEY, CORP).unwrap();
        let kit = TestKit::new("/cb", &app);
        let j = judge(&delivered, &[attempt(200, "")], &kit, app.kind(), FIVE).await;
        assert_eq!(j.verdict, Verdict::Pass);
        // `success` is not an acknowledgement of a WeCom app.
        let j = judge(
            &delivered,
            &[attempt(200, "success")],
            &kit,
            app.kind(),
            FIVE,
        )
        .await;
        assert_eq!(j.verdict, Verdict::Fail);

        let suite = Endpoint::wecom_suite(TOKEN, KEY, CORP).unwrap();
        let kit = TestKit::new("/cb", &suite);
        let j = judge(
            &delivered,
            &[attempt(200, "success")],
            &kit,
            suite.kind(),
            FIVE,
        )
        .await;
        assert_eq!(j.verdict, Verdict::Pass);
        assert_eq!(j.detail, "acknowledged (success)");
        let j = judge(&delivered, &[attempt(200, "")], &kit, suite.kind(), FIVE).await;
        assert_eq!(j.verdict, Verdict::Fail);
    }

    #[tokio::test]
    async fn a_retried_delivery_warns_and_an_undelivered_one_fails() {
        let delivered = Expect::Delivered { reply_to: None };
        let app = Endpoint::wecom_app(TOKEN, KEY, CORP).unwrap();
        let kit = TestKit::new("/cb", &app);
        let j = judge(
            &delivered,
            &[timeout(), attempt(200, "")],
            &kit,
            app.kind(),
            FIVE,
        )
        .await;
        assert_eq!(j.verdict, Verdict::Warn);
        assert!(j.detail.starts_with("answered on try 2"), "{}", j.detail);
        let j = judge(
            &delivered,
            &[timeout(), timeout(), timeout(), timeout()],
            &kit,
            app.kind(),
            FIVE,
        )
        .await;
        assert_eq!(j.verdict, Verdict::Fail);
        assert_eq!(j.detail, "no answer within 5 s (after 4 tries)");
    }

    #[test]
    fn replies_are_read_as_xml_and_addressed_to_the_sender() {
        let kind = CallbackKind::WeComApp;
        let good = "<xml><ToUserName><![CDATA[zhangsan]]></ToUserName><FromUserName><![CDATA[wx]]></FromUserName><CreateTime>1</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[hi]]></Content></xml>";
        let j = reply(good, Some("zhangsan"), kind);
        assert_eq!(
            (j.verdict, j.detail.as_str()),
            (Verdict::Pass, "reply text: hi")
        );
        let j = reply(good, Some("lisi"), kind);
        assert_eq!(j.verdict, Verdict::Fail);
        assert_eq!(reply("<xml><a></xml>", None, kind).verdict, Verdict::Fail);
        assert_eq!(
            reply(good, None, CallbackKind::WeComSuite).verdict,
            Verdict::Fail
        );
        let bot = r#"{"msgtype":"text","text":{"content":"hi"}}"#;
        let j = reply(bot, None, CallbackKind::WeComBot);
        assert_eq!(
            (j.verdict, j.detail.as_str()),
            (Verdict::Pass, "reply text: hi")
        );
        assert_eq!(
            reply("[]", None, CallbackKind::WeComBot).verdict,
            Verdict::Fail
        );
    }

    #[tokio::test]
    async fn sealed_replies_open_with_the_kit() {
        // A reply sealed by the crate's own layer, through axum.
        use axum::{Router, routing::post};
        use tower::ServiceExt;
        use wecom_callback::WeComCallbackLayer;
        let endpoint = Endpoint::wecom_app(TOKEN, KEY, CORP).unwrap();
        let kit = TestKit::new("/cb", &endpoint);
        let app = Router::new()
            .route("/cb", post(|_m: Message| async { Reply::text("pong") }))
            .layer(WeComCallbackLayer::new("/cb", endpoint.clone()).unwrap());
        let request = kit.post(&TestKit::text_message(CORP, "zhangsan", "ping"));
        let response = app.oneshot(request).await.unwrap();
        let status = response.status().as_u16();
        let body = http_body_util::BodyExt::collect(response.into_body())
            .await
            .unwrap()
            .to_bytes();
        let answer = attempt(status, std::str::from_utf8(&body).unwrap());
        let expect = Expect::Delivered {
            reply_to: Some("zhangsan".to_owned()),
        };
        let j = judge(
            &expect,
            std::slice::from_ref(&answer),
            &kit,
            endpoint.kind(),
            FIVE,
        )
        .await;
        assert_eq!(
            (j.verdict, j.detail.as_str()),
            (Verdict::Pass, "reply text: pong")
        );
        // Opened with another key, the same reply fails.
        let other = Endpoint::wecom_app(TOKEN, &"A".repeat(43), CORP).unwrap();
        let other_kit = TestKit::new("/cb", &other);
        let j = judge(&expect, &[answer], &other_kit, other.kind(), FIVE).await;
        assert_eq!(j.verdict, Verdict::Fail);
    }
}
