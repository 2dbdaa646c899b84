//! What to send: the URL verification, the callbacks of the kind, the
//! samples and the forged requests, each with what a correct server
//! answers. Every request is built by the crate's test kit.

use bytes::Bytes;
use http::Method;
use wecom_callback::testing::TestKit;
use wecom_callback::{BotMessage, CallbackKind, Message};

use crate::args::{Args, Kind};
use crate::samples::{self, Sample};
use crate::transport::Prepared;

/// A group of checks, in the order they run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Group {
    /// The GET URL verification.
    Verify,
    /// Texts and events built by the test kit.
    Message,
    /// The sample catalog.
    Sample,
    /// Forged requests.
    Forged,
}

impl Group {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Verify => "verify",
            Self::Message => "message",
            Self::Sample => "sample",
            Self::Forged => "forged",
        }
    }
}

/// What a correct server answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Expect {
    /// 200 with this decrypted echostr as the whole body.
    Echo(String),
    /// 200 with the kind's acknowledgement or a passive reply that opens;
    /// an XML reply must be addressed to `reply_to` when it is known.
    Delivered { reply_to: Option<String> },
    /// A 4xx.
    Rejected,
}

/// One check: a request (or why it does not apply to the kind) and what
/// to expect.
#[derive(Debug)]
pub(crate) struct Step {
    pub(crate) group: Group,
    pub(crate) name: String,
    pub(crate) request: Result<Prepared, &'static str>,
    pub(crate) expect: Expect,
    /// Whether WeCom would retry it (callbacks yes, forged requests no).
    pub(crate) retry: bool,
}

/// A fresh 63-bit id (`MsgId`, ticket), like the platform's.
pub(crate) fn fresh_id() -> u64 {
    getrandom::u64().unwrap_or(1) >> 1
}

fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Who a WeCom or WeChat message is addressed to: the corp id for WeCom,
/// the account's original id for WeChat (the test kit's envelope uses
/// `gh_test`).
fn to_user_name(args: &Args) -> &str {
    match args.kind {
        Kind::WecomApp => &args.receive_id,
        Kind::WecomSuiteData => args.data_corp_id(),
        _ => "gh_test",
    }
}

/// The kind's everyday callback with `text`: a text message, a robot text,
/// or, for kinds that only receive system pushes, the push they receive
/// most (`suite_ticket`, `component_verify_ticket`).
fn basic_message(args: &Args, text: &str) -> (String, String, Option<String>) {
    match args.kind {
        Kind::WecomBot => (
            format!("text {text:?}"),
            TestKit::bot_text(&args.from, text),
            None,
        ),
        Kind::WecomSuite => (
            "suite_ticket".to_owned(),
            TestKit::suite_ticket(&args.receive_id, &format!("ticket{}", fresh_id())),
            None,
        ),
        Kind::OpenPlatform => (
            "component_verify_ticket".to_owned(),
            TestKit::component_verify_ticket(&args.receive_id, &format!("ticket@@@{}", fresh_id())),
            None,
        ),
        _ => (
            format!("text {text:?}"),
            TestKit::text_message(to_user_name(args), &args.from, text),
            Some(args.from.clone()),
        ),
    }
}

/// The robot's `enter_chat` event (WeCom doc 智能机器人 接收事件), as JSON.
fn bot_event(from: &str) -> String {
    serde_json::json!({
        "msgid": format!("m{}", fresh_id()),
        "create_time": now_secs(),
        "aibotid": "AIBOTID",
        "from": {"userid": from},
        "msgtype": "event",
        "event": {"eventtype": "enter_chat"},
    })
    .to_string()
}

/// The events the kind receives day to day: (`Event`, extra elements).
fn events(kind: Kind) -> &'static [(&'static str, &'static [(&'static str, &'static str)])] {
    match kind {
        Kind::WecomApp | Kind::WecomSuiteData => &[
            ("subscribe", &[]),
            ("enter_agent", &[("EventKey", "")]),
            ("click", &[("EventKey", "menu_1")]),
        ],
        Kind::OfficialAccountPlain | Kind::OfficialAccountCompat | Kind::OfficialAccountSafe => &[
            ("subscribe", &[("EventKey", "")]),
            ("CLICK", &[("EventKey", "menu_1")]),
            ("VIEW", &[("EventKey", "https://example.com/")]),
        ],
        Kind::WecomSuite | Kind::WecomBot | Kind::OpenPlatform => &[],
    }
}

/// `request` with the signature it depends on (`msg_signature` where the
/// query has one, else `signature`) changed in its last digit.
fn with_bad_signature(mut request: Prepared) -> Prepared {
    let (path, query) = match request.path_and_query.split_once('?') {
        Some((path, query)) => (path.to_owned(), query.to_owned()),
        None => (request.path_and_query.clone(), String::new()),
    };
    let pairs: Vec<(String, String)> = form_urlencoded::parse(query.as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let target = if pairs.iter().any(|(k, _)| k == "msg_signature") {
        "msg_signature"
    } else {
        "signature"
    };
    let mut serializer = form_urlencoded::Serializer::new(String::new());
    for (key, value) in &pairs {
        if key == target {
            let mut forged = value.clone();
            let last = forged.pop();
            forged.push(if last == Some('0') { '1' } else { '0' });
            serializer.append_pair(key, &forged);
        } else {
            serializer.append_pair(key, value);
        }
    }
    request.path_and_query = format!("{path}?{}", serializer.finish());
    request
}

/// A step that sends one sample: refreshed, with the sender read from it.
async fn sample_step(kit: &TestKit, kind: Kind, sample: &Sample, now: u64) -> Step {
    let (text, reply_to, not_a_message) = if kind == Kind::WecomBot {
        let text = samples::refresh_json(&sample.text, fresh_id());
        let parsed = BotMessage::parse(&text).ok();
        (text, None, parsed.is_none())
    } else {
        let text = samples::refresh_xml(&sample.text, now, fresh_id());
        let parsed = Message::parse(&text).ok();
        let encrypted = parsed
            .as_ref()
            .is_some_and(|m| m.field("Encrypt").is_some());
        let from = parsed
            .as_ref()
            .map(|m| m.from_user_name().to_owned())
            .filter(|from| !from.is_empty());
        (text, from, encrypted)
    };
    let request = if not_a_message {
        Err("not a decrypted message (an envelope, or not parseable)")
    } else {
        Ok(Prepared::from_request(kit.post(&text)).await)
    };
    Step {
        group: Group::Sample,
        name: sample.name.clone(),
        request,
        expect: Expect::Delivered { reply_to },
        retry: true,
    }
}

/// Every step for `args`, in order: verification, messages, samples,
/// forged requests.
pub(crate) async fn plan(args: &Args, kit: &TestKit, samples: &[Sample]) -> Vec<Step> {
    let kind = args.kind;
    let now = now_secs();
    let mut steps = Vec::new();

    let echostr = fresh_id().to_string();
    steps.push(Step {
        group: Group::Verify,
        name: "GET URL verification".to_owned(),
        request: Ok(Prepared::from_request(kit.verify_url(&echostr)).await),
        expect: Expect::Echo(echostr),
        retry: false,
    });

    let mut messages = Vec::new();
    match kind {
        Kind::WecomSuite | Kind::OpenPlatform => messages.push(basic_message(args, "")),
        _ => {
            for text in &args.texts {
                messages.push(basic_message(args, text));
            }
        }
    }
    for (event, extra) in events(kind) {
        messages.push((
            format!("event {event}"),
            TestKit::event_message(to_user_name(args), &args.from, event, extra),
            Some(args.from.clone()),
        ));
    }
    if kind == Kind::WecomBot {
        messages.push(("event enter_chat".to_owned(), bot_event(&args.from), None));
    }
    for (name, message, reply_to) in messages {
        steps.push(Step {
            group: Group::Message,
            name,
            request: Ok(Prepared::from_request(kit.post(&message)).await),
            expect: Expect::Delivered { reply_to },
            retry: true,
        });
    }

    for sample in samples {
        steps.push(sample_step(kit, kind, sample, now).await);
    }

    if !args.no_forged {
        steps.extend(forged(args, kit, now).await);
    }
    steps
}

/// The forged requests: each one wrong in a single way.
async fn forged(args: &Args, kit: &TestKit, now: u64) -> Vec<Step> {
    let kind = args.kind;
    let probe = || basic_message(args, "forged").1;
    let step = |name: &str, request: Result<Prepared, &'static str>| Step {
        group: Group::Forged,
        name: name.to_owned(),
        request,
        expect: Expect::Rejected,
        retry: false,
    };
    let mut steps = Vec::new();

    let request = Prepared::from_request(kit.post(&probe())).await;
    steps.push(step("bad signature", Ok(with_bad_signature(request))));

    let request = Prepared::from_request(kit.verify_url(&fresh_id().to_string())).await;
    steps.push(step(
        "GET with bad signature",
        Ok(with_bad_signature(request)),
    ));

    let stale = kit.clone().at(now.saturating_sub(3600));
    let request = Prepared::from_request(stale.post(&probe())).await;
    steps.push(step("stale timestamp (1 h old)", Ok(request)));

    let request = if kind.callback_kind()
        == CallbackKind::OfficialAccount(wecom_callback::OfficialAccountMode::Plaintext)
    {
        Err("plaintext mode carries no receive id")
    } else {
        let other = kit.clone().receive_id("wx0000000000000000");
        Ok(Prepared::from_request(other.post(&probe())).await)
    };
    steps.push(step("wrong receive id", request));

    let big = "x".repeat(args.oversize_bytes);
    let oversized = match kind {
        Kind::WecomBot => TestKit::bot_text(&args.from, &big),
        _ => TestKit::text_message(to_user_name(args), &args.from, &big),
    };
    let request = Prepared::from_request(kit.post(&oversized)).await;
    steps.push(step(
        &format!("oversized body ({} bytes)", request.body.len()),
        Ok(request),
    ));

    let mut request = Prepared::from_request(kit.post(&probe())).await;
    request.method = Method::PUT;
    steps.push(step("wrong method (PUT)", Ok(request)));

    let mut request = Prepared::from_request(kit.post(&probe())).await;
    let mut body = b"<?xml version=\"1.0\"?><!DOCTYPE xml [<!ENTITY e \"x\">]>".to_vec();
    body.extend_from_slice(&request.body);
    request.body = Bytes::from(body);
    steps.push(step("DOCTYPE body", Ok(request)));

    steps
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    fn args(extra: &[&str]) -> Args {
        let mut all = vec!["wecom-sim"];
        all.extend_from_slice(extra);
        all.push("http://127.0.0.1:9/wecom/callback");
        Args::try_parse_from(all).unwrap()
    }

    async fn steps_for(extra: &[&str]) -> Vec<Step> {
        let args = args(extra);
        let endpoint = args.endpoint().unwrap();
        let kit = TestKit::new(&args.url.path, &endpoint);
        let samples = samples::built_in(args.kind);
        plan(&args, &kit, &samples).await
    }

    #[tokio::test]
    async fn a_wecom_app_run_covers_every_group_in_order() {
        let steps = steps_for(&["--text", "a", "--text", "b"]).await;
        let groups: Vec<Group> = steps.iter().map(|s| s.group).collect();
        let mut sorted = groups.clone();
        sorted.sort_by_key(|g| *g as u8);
        assert_eq!(groups, sorted, "groups in order");
        assert_eq!(steps[0].group, Group::Verify);
        let names: Vec<&str> = steps
            .iter()
            .filter(|s| s.group == Group::Message)
            .map(|s| s.name.as_str())
            .collect();
        assert_eq!(
            names,
            [
                "text \"a\"",
                "text \"b\"",
                "event subscribe",
                "event enter_agent",
                "event click"
            ]
        );
        assert_eq!(
            steps.iter().filter(|s| s.group == Group::Sample).count(),
            samples::built_in(Kind::WecomApp).len()
        );
        assert_eq!(steps.iter().filter(|s| s.group == Group::Forged).count(), 7);
        assert!(steps.iter().all(|s| s.request.is_ok()));
        assert!(
            steps
                .iter()
                .all(|s| s.retry == matches!(s.group, Group::Message | Group::Sample))
        );
    }

    #[tokio::test]
    async fn samples_are_refreshed_and_their_sender_expected_in_the_reply() {
        let steps = steps_for(&[]).await;
        let text = steps.iter().find(|s| s.name == "wecom/text.xml").unwrap();
        assert_eq!(
            text.expect,
            Expect::Delivered {
                reply_to: Some("fromUser".to_owned())
            }
        );
    }

    #[tokio::test]
    async fn the_bad_signature_differs_only_in_the_signature() {
        let args = args(&["--kind", "official_account_safe"]);
        let endpoint = args.endpoint().unwrap();
        let kit = TestKit::new("/wecom/callback", &endpoint);
        let good = Prepared::from_request(kit.post("<xml><MsgType>text</MsgType></xml>")).await;
        let bad = with_bad_signature(good.clone());
        let pairs = |p: &Prepared| -> Vec<(String, String)> {
            let query = p.path_and_query.split_once('?').unwrap().1.to_owned();
            form_urlencoded::parse(query.as_bytes())
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect()
        };
        let (good_pairs, bad_pairs) = (pairs(&good), pairs(&bad));
        assert_eq!(good_pairs.len(), bad_pairs.len());
        let differing: Vec<&str> = good_pairs
            .iter()
            .zip(&bad_pairs)
            .filter(|(g, b)| g != b)
            .map(|(g, _)| g.0.as_str())
            .collect();
        assert_eq!(differing, ["msg_signature"]);
        assert_eq!(bad.body, good.body);
    }

    #[tokio::test]
    async fn plaintext_mode_skips_the_receive_id_check() {
        let steps = steps_for(&["--kind", "official_account_plain"]).await;
        let skipped: Vec<&str> = steps
            .iter()
            .filter(|s| s.request.is_err())
            .map(|s| s.name.as_str())
            .collect();
        assert_eq!(skipped, ["wrong receive id"]);
    }

    #[tokio::test]
    async fn system_push_kinds_send_their_push_not_texts() {
        let steps = steps_for(&["--kind", "wecom_suite", "--no-forged"]).await;
        let messages: Vec<&str> = steps
            .iter()
            .filter(|s| s.group == Group::Message)
            .map(|s| s.name.as_str())
            .collect();
        assert_eq!(messages, ["suite_ticket"]);
        let steps = steps_for(&["--kind", "wecom_bot"]).await;
        let messages: Vec<&str> = steps
            .iter()
            .filter(|s| s.group == Group::Message)
            .map(|s| s.name.as_str())
            .collect();
        assert_eq!(
            messages,
            ["text \"hello from wecom-sim\"", "event enter_chat"]
        );
    }
}
