//! The message catalog through `WeComCallbackLayer` (issue 7): every typed
//! `MessageKind` variant reaches the handler typed, from its sample where
//! one exists (tests/data/samples) or else from the element names of
//! MESSAGES.md; authentic messages with missing or odd fields reach the
//! handler as `Other` with the problem instead of a 403; the template-card
//! flow (card event with `ResponseCode` in, card update out, XML and robot
//! JSON); and the replies each kind can or cannot carry.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use std::collections::BTreeSet;
use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use bytes::Bytes;
use common::body_bytes;
use http::{Request, Response, StatusCode};
use http_body_util::Full;
use serde_json::json;
use tower::{ServiceBuilder, ServiceExt, service_fn};
use wecom_callback::message::*;
use wecom_callback::testing::{Opened, TestKit};
use wecom_callback::{
    CallbackBody, Endpoint, FixedClock, Rejection, RejectionKind, WeComCallbackLayer,
};

const PATH: &str = "/cb";
const TOKEN: &str = "QDG6eK";
const KEY: &str = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C";
const CORP: &str = "wx5823bf96d3bd56c7";
const NOW: u64 = 1_700_000_000;

fn app() -> Endpoint {
    Endpoint::wecom_app(TOKEN, KEY, CORP).unwrap()
}

fn suite() -> Endpoint {
    Endpoint::wecom_suite(TOKEN, KEY, "ww4asffe99e54c0f").unwrap()
}

fn official_account() -> Endpoint {
    Endpoint::official_account_safe(TOKEN, KEY, "wx2c2769f8efd9abc2").unwrap()
}

fn open_platform() -> Endpoint {
    Endpoint::open_platform(TOKEN, KEY, "wx6d80ca40ad4e00fc").unwrap()
}

fn bot() -> Endpoint {
    Endpoint::wecom_bot(TOKEN, KEY).unwrap()
}

/// What the handler saw.
#[derive(Default)]
struct Seen {
    calls: AtomicUsize,
    message: std::sync::Mutex<Option<Message>>,
    bot: std::sync::Mutex<Option<BotMessage>>,
}

type Answer = Arc<dyn Fn(Option<&Message>, Option<&BotMessage>) -> Option<Reply> + Send + Sync>;

/// Sends `plaintext` as the platform would for `endpoint`; the handler
/// records the message and answers with `answer`'s reply (none: an empty
/// 200).
async fn send(
    endpoint: &Endpoint,
    plaintext: &str,
    answer: Answer,
) -> (Response<Bytes>, Arc<Seen>) {
    let seen = Arc::new(Seen::default());
    let seen2 = Arc::clone(&seen);
    let layer = WeComCallbackLayer::new(PATH, endpoint.clone())
        .unwrap()
        .clock(FixedClock::from_unix(NOW));
    let service = ServiceBuilder::new().layer(layer).service(service_fn(
        move |req: Request<CallbackBody<Full<Bytes>>>| {
            let seen = Arc::clone(&seen2);
            let answer = Arc::clone(&answer);
            async move {
                seen.calls.fetch_add(1, Ordering::SeqCst);
                let message = req.extensions().get::<Message>().cloned();
                let bot = req.extensions().get::<BotMessage>().cloned();
                let reply = answer(message.as_ref(), bot.as_ref());
                *seen.message.lock().unwrap() = message;
                *seen.bot.lock().unwrap() = bot;
                let mut response = Response::new(Full::<Bytes>::default());
                if let Some(reply) = reply {
                    response.extensions_mut().insert(reply);
                }
                Ok::<_, Infallible>(response)
            }
        },
    ));
    let request = TestKit::new(PATH, endpoint).at(NOW).post(plaintext);
    let response = service.oneshot(request).await.unwrap();
    let (parts, body) = response.into_parts();
    (Response::from_parts(parts, body_bytes(body).await), seen)
}

fn no_reply() -> Answer {
    Arc::new(|_, _| None)
}

/// The message the handler got for `plaintext` (200, called once).
async fn through(endpoint: &Endpoint, plaintext: &str) -> Message {
    let (response, seen) = send(endpoint, plaintext, no_reply()).await;
    assert_eq!(response.status(), StatusCode::OK, "{plaintext}");
    assert_eq!(seen.calls.load(Ordering::SeqCst), 1);
    seen.message.lock().unwrap().clone().unwrap()
}

async fn open(endpoint: &Endpoint, response: Response<Bytes>) -> Opened {
    TestKit::new(PATH, endpoint)
        .at(NOW)
        .open(response.map(Full::new))
        .await
        .unwrap()
}

fn rejection(response: &Response<Bytes>) -> RejectionKind {
    response.extensions().get::<Rejection>().unwrap().kind()
}

fn sample(dir: &str, name: &str) -> String {
    let path = format!(
        "{}/tests/data/samples/{dir}/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// A WeCom app event with the elements `body` after `Event`.
fn event(event: &str, body: &str) -> String {
    format!(
        "<xml><ToUserName><![CDATA[{CORP}]]></ToUserName><FromUserName><![CDATA[zhangsan]]></FromUserName>\
         <CreateTime>{NOW}</CreateTime><MsgType><![CDATA[event]]></MsgType>\
         <Event><![CDATA[{event}]]></Event>{body}<AgentID>1000002</AgentID></xml>"
    )
}

/// A message of `msg_type` with `body` after `MsgType`.
fn message(msg_type: &str, body: &str) -> String {
    format!(
        "<xml><ToUserName><![CDATA[{CORP}]]></ToUserName><FromUserName><![CDATA[zhangsan]]></FromUserName>\
         <CreateTime>{NOW}</CreateTime><MsgType><![CDATA[{msg_type}]]></MsgType>{body}\
         <MsgId>7</MsgId></xml>"
    )
}

/// The variant's name, for the coverage check.
fn variant(kind: &MessageKind) -> &'static str {
    use MessageKind::*;
    match kind {
        Text(_) => "Text",
        Image(_) => "Image",
        Voice(_) => "Voice",
        Video(_) => "Video",
        ShortVideo(_) => "ShortVideo",
        Location(_) => "Location",
        Link(_) => "Link",
        Subscribe(_) => "Subscribe",
        Unsubscribe(_) => "Unsubscribe",
        EnterAgent(_) => "EnterAgent",
        LocationReport(_) => "LocationReport",
        Click(_) => "Click",
        View(_) => "View",
        ViewMiniprogram(_) => "ViewMiniprogram",
        ScanCodePush(_) => "ScanCodePush",
        ScanCodeWaitMsg(_) => "ScanCodeWaitMsg",
        PicSysPhoto(_) => "PicSysPhoto",
        PicPhotoOrAlbum(_) => "PicPhotoOrAlbum",
        PicWeixin(_) => "PicWeixin",
        LocationSelect(_) => "LocationSelect",
        BatchJobResult(_) => "BatchJobResult",
        ChangeContact(_) => "ChangeContact",
        OpenApprovalChange(_) => "OpenApprovalChange",
        SysApprovalChange(_) => "SysApprovalChange",
        TaskcardClick(_) => "TaskcardClick",
        TemplateCardEvent(_) => "TemplateCardEvent",
        TemplateCardMenuEvent(_) => "TemplateCardMenuEvent",
        ChangeExternalContact(_) => "ChangeExternalContact",
        ChangeExternalChat(_) => "ChangeExternalChat",
        ChangeExternalTag(_) => "ChangeExternalTag",
        KfMsgOrEvent(_) => "KfMsgOrEvent",
        Scan(_) => "Scan",
        MassSendJobFinish(_) => "MassSendJobFinish",
        TemplateSendJobFinish(_) => "TemplateSendJobFinish",
        SuiteTicket(_) => "SuiteTicket",
        CreateAuth(_) => "CreateAuth",
        ChangeAuth(_) => "ChangeAuth",
        CancelAuth(_) => "CancelAuth",
        ResetPermanentCode(_) => "ResetPermanentCode",
        RegisterCorp(_) => "RegisterCorp",
        ComponentVerifyTicket(_) => "ComponentVerifyTicket",
        Authorized(_) => "Authorized",
        UpdateAuthorized(_) => "UpdateAuthorized",
        Unauthorized(_) => "Unauthorized",
        Other(_) => "Other",
        _ => "new variant: add it here",
    }
}

/// Plaintexts that MESSAGES.md lists without a sample, built from its
/// element names (and the shapes of WxJava's tests), one per typed variant
/// that has no sample file.
fn constructed() -> Vec<(Endpoint, String)> {
    vec![
        (
            app(),
            message(
                "shortvideo",
                "<MediaId>m</MediaId><ThumbMediaId>t</ThumbMediaId>",
            ),
        ),
        (
            app(),
            event(
                "view_miniprogram",
                "<EventKey><![CDATA[pages/index]]></EventKey>",
            ),
        ),
        (
            app(),
            event(
                "batch_job_result",
                "<BatchJob><JobId><![CDATA[S0MrnndvRG5fadSlLwiBqiDDbM143UqTmKP3152FZk4]]></JobId>\
                 <JobType><![CDATA[sync_user]]></JobType><ErrCode>0</ErrCode><ErrMsg><![CDATA[ok]]></ErrMsg></BatchJob>",
            ),
        ),
        (
            app(),
            event(
                "sys_approval_change",
                "<ApprovalInfo><SpNo>201910220003</SpNo><SpName><![CDATA[示例模板]]></SpName><SpStatus>2</SpStatus>\
                 <TemplateId><![CDATA[tpl]]></TemplateId><ApplyTime>1571728713</ApplyTime>\
                 <Applyer><UserId><![CDATA[WuJunJie]]></UserId><Party><![CDATA[1]]></Party></Applyer>\
                 <SpRecord><SpStatus>2</SpStatus><ApproverAttr>1</ApproverAttr>\
                 <Details><Approver><UserId><![CDATA[WangXiaoMing]]></UserId></Approver><Speech><![CDATA[ok]]></Speech>\
                 <SpStatus>2</SpStatus><SpTime>1571732272</SpTime></Details></SpRecord>\
                 <Notifyer><UserId><![CDATA[LiSi]]></UserId></Notifyer><StatuChangeEvent>2</StatuChangeEvent></ApprovalInfo>",
            ),
        ),
        (app(), card_event("ResponseCode-1")),
        (
            app(),
            event(
                "template_card_menu_event",
                "<EventKey><![CDATA[menu_a]]></EventKey><TaskId><![CDATA[t1]]></TaskId>\
                 <CardType><![CDATA[text_notice]]></CardType><ResponseCode><![CDATA[rc2]]></ResponseCode>",
            ),
        ),
        (
            app(),
            event(
                "change_external_chat",
                "<ChatId><![CDATA[wrOgQhDgAAMYQiS5ol9G7gK9JVAAAA]]></ChatId><ChangeType><![CDATA[update]]></ChangeType>\
                 <UpdateDetail><![CDATA[add_member]]></UpdateDetail><JoinScene>1</JoinScene><MemChangeCnt>2</MemChangeCnt>\
                 <MemChangeList><Item><![CDATA[wm1]]></Item><Item><![CDATA[wm2]]></Item></MemChangeList>",
            ),
        ),
        (
            app(),
            event(
                "change_external_tag",
                "<Id><![CDATA[etXXX]]></Id><TagType><![CDATA[tag]]></TagType>\
                 <ChangeType><![CDATA[create]]></ChangeType><StrategyId>1</StrategyId>",
            ),
        ),
        (
            app(),
            event(
                "kf_msg_or_event",
                "<Token><![CDATA[ENCApHxnGDNAVNY4AaSJKj4Tb5mwsEMzxhFmHVGcra996NR]]></Token>\
                 <OpenKfId><![CDATA[wkxxxx]]></OpenKfId>",
            ),
        ),
    ]
}

/// A WeCom app `template_card_event` with `ResponseCode` and selections.
fn card_event(response_code: &str) -> String {
    event(
        "template_card_event",
        &format!(
            "<EventKey><![CDATA[approve]]></EventKey><TaskId><![CDATA[task-42]]></TaskId>\
             <CardType><![CDATA[button_interaction]]></CardType><ResponseCode><![CDATA[{response_code}]]></ResponseCode>\
             <SelectedItems><SelectedItem><QuestionKey><![CDATA[q1]]></QuestionKey>\
             <OptionIds><OptionId><![CDATA[o1]]></OptionId><OptionId><![CDATA[o2]]></OptionId></OptionIds>\
             </SelectedItem></SelectedItems>"
        ),
    )
}

#[tokio::test]
async fn every_typed_variant_reaches_the_handler_through_the_layer() {
    let mut cases: Vec<(Endpoint, String)> = Vec::new();
    for (dir, endpoint) in [
        ("wecom", app()),
        ("mp", official_account()),
        ("suite", suite()),
        ("component", open_platform()),
    ] {
        let dir_path = format!("{}/tests/data/samples/{dir}", env!("CARGO_MANIFEST_DIR"));
        for entry in std::fs::read_dir(dir_path).unwrap() {
            let name = entry.unwrap().file_name().into_string().unwrap();
            if name.ends_with(".xml") && name != "outer_envelope_real_capture.xml" {
                cases.push((endpoint.clone(), sample(dir, &name)));
            }
        }
    }
    // The unsubscribe event of the doc (the subscribe sample's twin).
    cases.push((
        app(),
        sample("wecom", "event_subscribe.xml").replace("[subscribe]", "[unsubscribe]"),
    ));
    cases.extend(constructed());
    let mut covered = BTreeSet::new();
    for (endpoint, plaintext) in &cases {
        let m = through(endpoint, plaintext).await;
        assert_eq!(m.problem(), None, "{m:?}");
        let name = variant(m.kind());
        assert_ne!(name, "Other", "{plaintext}");
        covered.insert(name);
    }
    let all: BTreeSet<&str> = [
        "Text",
        "Image",
        "Voice",
        "Video",
        "ShortVideo",
        "Location",
        "Link",
        "Subscribe",
        "Unsubscribe",
        "EnterAgent",
        "LocationReport",
        "Click",
        "View",
        "ViewMiniprogram",
        "ScanCodePush",
        "ScanCodeWaitMsg",
        "PicSysPhoto",
        "PicPhotoOrAlbum",
        "PicWeixin",
        "LocationSelect",
        "BatchJobResult",
        "ChangeContact",
        "OpenApprovalChange",
        "SysApprovalChange",
        "TaskcardClick",
        "TemplateCardEvent",
        "TemplateCardMenuEvent",
        "ChangeExternalContact",
        "ChangeExternalChat",
        "ChangeExternalTag",
        "KfMsgOrEvent",
        "Scan",
        "MassSendJobFinish",
        "TemplateSendJobFinish",
        "SuiteTicket",
        "CreateAuth",
        "ChangeAuth",
        "CancelAuth",
        "ResetPermanentCode",
        "RegisterCorp",
        "ComponentVerifyTicket",
        "Authorized",
        "UpdateAuthorized",
        "Unauthorized",
    ]
    .into_iter()
    .collect();
    assert_eq!(all.len(), 44);
    assert_eq!(covered, all);
}

#[tokio::test]
async fn constructed_variants_carry_their_fields() {
    let mut kinds = Vec::new();
    for (endpoint, plaintext) in constructed() {
        kinds.push(through(&endpoint, &plaintext).await.kind().clone());
    }
    let mut found = 0;
    for kind in &kinds {
        match kind {
            MessageKind::ShortVideo(v) => {
                assert_eq!((v.media_id.as_str(), v.thumb_media_id.as_str()), ("m", "t"))
            }
            MessageKind::ViewMiniprogram(v) => assert_eq!(v.event_key, "pages/index"),
            MessageKind::BatchJobResult(j) => {
                assert_eq!(j.job_id, "S0MrnndvRG5fadSlLwiBqiDDbM143UqTmKP3152FZk4");
                assert_eq!(
                    (j.job_type.as_str(), j.err_code, j.err_msg.as_deref()),
                    ("sync_user", Some(0), Some("ok"))
                );
            }
            MessageKind::SysApprovalChange(a) => {
                assert_eq!(
                    (a.sp_no.as_str(), a.sp_status, a.statu_change_event),
                    ("201910220003", 2, Some(2))
                );
                assert_eq!(a.sp_name.as_deref(), Some("示例模板"));
                assert_eq!(
                    (a.applyer_user_id.as_deref(), a.applyer_party.as_deref()),
                    (Some("WuJunJie"), Some("1"))
                );
                assert_eq!(a.sp_records.len(), 1);
                let detail = &a.sp_records[0].details[0];
                assert_eq!(detail.approver_user_id.as_deref(), Some("WangXiaoMing"));
                assert_eq!(
                    (detail.sp_status, detail.sp_time),
                    (Some(2), Some(1571732272))
                );
                assert_eq!(a.notifyer_user_ids, ["LiSi"]);
            }
            MessageKind::TemplateCardEvent(e) => {
                assert_eq!(
                    (e.event_key.as_str(), e.task_id.as_str()),
                    ("approve", "task-42")
                );
                assert_eq!(e.card_type.as_deref(), Some("button_interaction"));
                assert_eq!(e.response_code.as_deref(), Some("ResponseCode-1"));
                assert_eq!(e.selected_items.len(), 1);
                assert_eq!(e.selected_items[0].question_key, "q1");
                assert_eq!(e.selected_items[0].option_ids, ["o1", "o2"]);
            }
            MessageKind::TemplateCardMenuEvent(e) => {
                assert_eq!((e.event_key.as_str(), e.task_id.as_str()), ("menu_a", "t1"));
                assert_eq!(
                    (e.card_type.as_deref(), e.response_code.as_deref()),
                    (Some("text_notice"), Some("rc2"))
                );
            }
            MessageKind::ChangeExternalChat(c) => {
                assert_eq!(
                    (c.chat_id.as_str(), &c.change),
                    (
                        "wrOgQhDgAAMYQiS5ol9G7gK9JVAAAA",
                        &ExternalChatChange::Update
                    )
                );
                assert_eq!(c.update_detail.as_deref(), Some("add_member"));
                assert_eq!(
                    (c.join_scene, c.quit_scene, c.mem_change_cnt),
                    (Some(1), None, Some(2))
                );
                assert_eq!(c.mem_change_list, ["wm1", "wm2"]);
            }
            MessageKind::ChangeExternalTag(t) => {
                assert_eq!(
                    (t.id.as_deref(), t.tag_type.as_deref()),
                    (Some("etXXX"), Some("tag"))
                );
                assert_eq!(
                    (&t.change, t.strategy_id),
                    (&ExternalTagChange::Create, Some(1))
                );
            }
            MessageKind::KfMsgOrEvent(k) => {
                assert_eq!(k.token, "ENCApHxnGDNAVNY4AaSJKj4Tb5mwsEMzxhFmHVGcra996NR");
                assert_eq!(k.open_kf_id.as_deref(), Some("wkxxxx"));
            }
            other => panic!("{other:?}"),
        }
        found += 1;
    }
    assert_eq!(found, 9);
}

#[test]
fn every_change_type_is_typed() {
    let contact = |change: &str, body: &str| {
        let m = Message::parse(&event(
            "change_contact",
            &format!("<ChangeType>{change}</ChangeType>{body}"),
        ))
        .unwrap();
        let MessageKind::ChangeContact(c) = m.kind() else {
            panic!("{m:?}")
        };
        c.change.clone()
    };
    let ContactChange::CreateUser(user) = contact(
        "create_user",
        "<UserID>u1</UserID><Department>1</Department>",
    ) else {
        panic!()
    };
    assert_eq!(
        (user.user_id.as_str(), user.department.as_slice()),
        ("u1", &[1][..])
    );
    assert!(matches!(
        contact("update_user", "<UserID>u1</UserID>"),
        ContactChange::UpdateUser(_)
    ));
    assert_eq!(
        contact("delete_user", "<UserID>u1</UserID>"),
        ContactChange::DeleteUser("u1".into())
    );
    let ContactChange::CreateParty(party) = contact(
        "create_party",
        "<Id>2</Id><Name>R&amp;D</Name><ParentId>1</ParentId><Order>1</Order>",
    ) else {
        panic!()
    };
    assert_eq!(
        (
            party.id,
            party.name.as_deref(),
            party.parent_id,
            party.order
        ),
        (2, Some("R&D"), Some(1), Some(1))
    );
    assert!(
        matches!(contact("update_party", "<Id>2</Id>"), ContactChange::UpdateParty(p) if p.id == 2)
    );
    assert_eq!(
        contact("delete_party", "<Id>2</Id>"),
        ContactChange::DeleteParty(2)
    );
    assert!(
        matches!(contact("update_tag", "<TagId>3</TagId>"), ContactChange::UpdateTag(t) if t.add_user_items.is_empty())
    );
    assert_eq!(
        contact("new_kind", ""),
        ContactChange::Other("new_kind".into())
    );

    for (text, change) in [
        (
            "add_external_contact",
            ExternalContactChange::AddExternalContact,
        ),
        (
            "edit_external_contact",
            ExternalContactChange::EditExternalContact,
        ),
        (
            "add_half_external_contact",
            ExternalContactChange::AddHalfExternalContact,
        ),
        (
            "del_external_contact",
            ExternalContactChange::DelExternalContact,
        ),
        ("del_follow_user", ExternalContactChange::DelFollowUser),
        ("transfer_fail", ExternalContactChange::TransferFail),
        (
            "msg_audit_approved",
            ExternalContactChange::Other("msg_audit_approved".into()),
        ),
    ] {
        let m = Message::parse(&event(
            "change_external_contact",
            &format!("<ChangeType>{text}</ChangeType><UserID>u</UserID><FailReason>customer_refused</FailReason>"),
        ))
        .unwrap();
        let MessageKind::ChangeExternalContact(c) = m.kind() else {
            panic!("{m:?}")
        };
        assert_eq!((&c.change, c.change.as_str()), (&change, text));
        assert_eq!(c.fail_reason.as_deref(), Some("customer_refused"));
    }
    for (text, change) in [
        ("create", ExternalChatChange::Create),
        ("update", ExternalChatChange::Update),
        ("dismiss", ExternalChatChange::Dismiss),
    ] {
        let m = Message::parse(&event(
            "change_external_chat",
            &format!("<ChatId>c</ChatId><ChangeType>{text}</ChangeType>"),
        ))
        .unwrap();
        assert!(matches!(m.kind(), MessageKind::ChangeExternalChat(c) if c.change == change));
    }
    for (text, change) in [
        ("create", ExternalTagChange::Create),
        ("update", ExternalTagChange::Update),
        ("delete", ExternalTagChange::Delete),
        ("shuffle", ExternalTagChange::Shuffle),
    ] {
        let m = Message::parse(&event(
            "change_external_tag",
            &format!("<ChangeType>{text}</ChangeType>"),
        ))
        .unwrap();
        assert!(matches!(m.kind(), MessageKind::ChangeExternalTag(t) if t.change == change));
    }
    // The suite form of change_external_contact carries AuthCorpId.
    let m = Message::parse(
        "<xml><SuiteId>s</SuiteId><AuthCorpId>corp1</AuthCorpId><InfoType>change_external_contact</InfoType>\
         <TimeStamp>1</TimeStamp><ChangeType>del_follow_user</ChangeType><UserID>u</UserID>\
         <ExternalUserID>e</ExternalUserID></xml>",
    )
    .unwrap();
    let MessageKind::ChangeExternalContact(c) = m.kind() else {
        panic!("{m:?}")
    };
    assert_eq!(
        (c.auth_corp_id.as_deref(), &c.change),
        (Some("corp1"), &ExternalContactChange::DelFollowUser)
    );
}

/// Authentic, well-formed, but a field is missing or odd: the handler gets
/// it (as `Other` with the problem), the platform gets its 200.
#[tokio::test]
async fn authentic_messages_with_odd_fields_reach_the_handler() {
    for (plaintext, element) in [
        (event("click", ""), "EventKey"),
        (
            event("LOCATION", "<Latitude>x</Latitude><Longitude>1</Longitude>"),
            "Latitude",
        ),
        (
            message("video", "<ThumbMediaId>t</ThumbMediaId>"),
            "MediaId",
        ),
        (
            event("template_card_event", "<EventKey>k</EventKey>"),
            "TaskId",
        ),
        (
            event(
                "pic_weixin",
                "<EventKey>k</EventKey><SendPicsInfo><Count>many</Count></SendPicsInfo>",
            ),
            "Count",
        ),
        (
            "<xml><MsgType>text</MsgType></xml>".to_owned(),
            "ToUserName",
        ),
    ] {
        let m = through(&app(), &plaintext).await;
        let MessageKind::Other(other) = m.kind() else {
            panic!("{m:?}")
        };
        assert_eq!(m.problem().unwrap().element(), Some(element), "{plaintext}");
        assert!(other.problem.is_some() || element == "ToUserName", "{m:?}");
    }
    // An empty Precision is no precision: still typed.
    let m = through(
        &app(),
        &event(
            "LOCATION",
            "<Latitude>23.1</Latitude><Longitude>113.3</Longitude><Precision></Precision>",
        ),
    )
    .await;
    assert!(
        matches!(m.kind(), MessageKind::LocationReport(r) if r.precision.is_none()),
        "{m:?}"
    );
    // Lower/upper case and padded names.
    let m = through(
        &app(),
        &event(" Click ", "<EventKey><![CDATA[k]]></EventKey>"),
    )
    .await;
    assert!(
        matches!(m.kind(), MessageKind::Click(c) if c.event_key == "k"),
        "{m:?}"
    );
}

/// Not well-formed or unsafe: still refused (403, the handler never runs).
#[tokio::test]
async fn non_xml_and_unsafe_plaintexts_are_still_refused() {
    let text = message("text", "<Content>hi</Content>");
    for plaintext in [
        "not xml at all".to_owned(),
        format!("<!DOCTYPE xml>{text}"),
        text.replace("hi", "&xxe;"),
        text.replace("hi", "\u{1}"),
        text.replace("hi", "<![CDATA[a]]>b]]>"),
        format!("{text}<xml/>"),
        text.replace("hi", &format!("{}{}", "<a>".repeat(40), "</a>".repeat(40))),
        text.replace("</xml>", ""),
    ] {
        let (response, seen) = send(&app(), &plaintext, no_reply()).await;
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "{plaintext}");
        assert_eq!(rejection(&response), RejectionKind::MalformedMessage);
        assert_eq!(seen.calls.load(Ordering::SeqCst), 0);
    }
}

/// The template-card flow of a WeCom app: a card event with `ResponseCode`
/// in, the whole card updated for the member out (and the button-only
/// update).
#[tokio::test]
async fn template_card_event_in_update_out() {
    let answer: Answer = Arc::new(|message, _| {
        let MessageKind::TemplateCardEvent(event) = message?.kind() else {
            return None;
        };
        let card = json!({
            "card_type": event.card_type.clone().unwrap_or_default(),
            "main_title": {"title": "Request approved", "desc": format!("by code {}", event.response_code.as_deref()?)},
            "button_list": [{"text": "Approved", "style": 1, "key": "done"}],
            "replace_text": "Approved",
            "task_id": event.task_id,
        });
        Some(Reply::update_template_card(card).unwrap())
    });
    let (response, seen) = send(&app(), &card_event("RC-77"), answer).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(seen.calls.load(Ordering::SeqCst), 1);
    let Opened::Reply(xml) = open(&app(), response).await else {
        panic!("no reply")
    };
    let reply = Message::parse(&xml).unwrap();
    assert_eq!(
        (
            reply.msg_type(),
            reply.to_user_name(),
            reply.from_user_name()
        ),
        ("update_template_card", "zhangsan", CORP)
    );
    assert_eq!(reply.create_time(), NOW);
    assert!(
        xml.contains("<TemplateCard><CardType><![CDATA[button_interaction]]></CardType>"),
        "{xml}"
    );
    assert!(
        xml.contains("<Desc><![CDATA[by code RC-77]]></Desc>"),
        "{xml}"
    );
    assert!(xml.contains("<ButtonList>"), "{xml}");
    assert!(
        xml.contains("<TaskId><![CDATA[task-42]]></TaskId>"),
        "{xml}"
    );

    let answer: Answer = Arc::new(|_, _| Some(Reply::update_button("Approved")));
    let (response, _) = send(&app(), &card_event("RC-78"), answer).await;
    let Opened::Reply(xml) = open(&app(), response).await else {
        panic!("no reply")
    };
    assert!(xml.ends_with(
        "<MsgType><![CDATA[update_button]]></MsgType><Button><ReplaceName><![CDATA[Approved]]></ReplaceName></Button></xml>"
    ), "{xml}");
}

/// The robot's template card event in, its JSON card update out.
#[tokio::test]
async fn robot_template_card_event_in_json_update_out() {
    let event = json!({
        "msgid": "CAIQ16HMjQYY", "create_time": 1700000000, "aibotid": "AIBOTID",
        "from": {"userid": "USERID"}, "chattype": "single", "msgtype": "event",
        "event": {"eventtype": "template_card_event", "template_card_event": {
            "card_type": "vote_interaction", "event_key": "submit", "task_id": "task-9",
            "selected_items": {"selected_item": [{"question_key": "q", "option_ids": {"option_id": ["one"]}}]}
        }}
    })
    .to_string();
    let answer: Answer = Arc::new(|_, bot| {
        let bot = bot?;
        let task_id = bot.raw()["event"]["template_card_event"]["task_id"].as_str()?;
        let card = json!({"card_type": "text_notice", "main_title": {"title": "Thanks"}, "task_id": task_id});
        Some(
            Reply::update_template_card(card)
                .unwrap()
                .for_users([bot.from_user_id()?]),
        )
    });
    let (response, seen) = send(&bot(), &event, answer).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        seen.bot.lock().unwrap().as_ref().unwrap().event_type(),
        Some("template_card_event")
    );
    let Opened::Reply(json) = open(&bot(), response).await else {
        panic!("no reply")
    };
    let json: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(
        json,
        json!({"response_type": "update_template_card", "userids": ["USERID"],
               "template_card": {"card_type": "text_notice", "main_title": {"title": "Thanks"}, "task_id": "task-9"}})
    );

    // A text message answered with a stream, then with a template card.
    let text = json!({"msgid": "m2", "aibotid": "AIBOTID", "from": {"userid": "USERID"},
                      "chattype": "single", "msgtype": "text", "text": {"content": "weather?"}})
    .to_string();
    for (reply, expected) in [
        (
            Reply::stream("s-1", "**Sunny**", false),
            json!({"msgtype": "stream", "stream": {"id": "s-1", "finish": false, "content": "**Sunny**"}}),
        ),
        (
            Reply::template_card(json!({"card_type": "text_notice", "main_title": {"title": "T"}}))
                .unwrap(),
            json!({"msgtype": "template_card", "template_card": {"card_type": "text_notice", "main_title": {"title": "T"}}}),
        ),
    ] {
        let answer: Answer = Arc::new(move |_, _| Some(reply.clone()));
        let (response, _) = send(&bot(), &text, answer).await;
        let Opened::Reply(json) = open(&bot(), response).await else {
            panic!("no reply")
        };
        assert_eq!(
            serde_json::from_str::<serde_json::Value>(&json).unwrap(),
            expected
        );
    }
}

/// The Official Account's own replies, sealed and opened.
#[tokio::test]
async fn official_account_replies() {
    let text = sample("mp", "text.xml");
    for (reply, tail) in [
        (
            Reply::music(
                Music::new("THUMB")
                    .title("Song")
                    .hq_music_url("https://example.com/hq.mp3"),
            ),
            "<Music><Title><![CDATA[Song]]></Title><HQMusicUrl><![CDATA[https://example.com/hq.mp3]]></HQMusicUrl>\
             <ThumbMediaId><![CDATA[THUMB]]></ThumbMediaId></Music></xml>",
        ),
        (
            Reply::transfer_customer_service(),
            "<MsgType><![CDATA[transfer_customer_service]]></MsgType></xml>",
        ),
        (
            Reply::transfer_to_kf_account("kf1@gh"),
            "<TransInfo><KfAccount><![CDATA[kf1@gh]]></KfAccount></TransInfo></xml>",
        ),
        (
            Reply::news([Article::new("A").url("https://example.com/a")]).unwrap(),
            "<ArticleCount>1</ArticleCount><Articles><item><Title><![CDATA[A]]></Title>\
             <Url><![CDATA[https://example.com/a]]></Url></item></Articles></xml>",
        ),
    ] {
        let answer: Answer = Arc::new(move |_, _| Some(reply.clone()));
        let (response, _) = send(&official_account(), &text, answer).await;
        assert_eq!(response.status(), StatusCode::OK);
        let Opened::Reply(xml) = open(&official_account(), response).await else {
            panic!("no reply")
        };
        assert!(xml.starts_with("<xml><ToUserName><![CDATA[fromUser]]></ToUserName><FromUserName><![CDATA[toUser]]></FromUserName>"), "{xml}");
        assert!(xml.ends_with(tail), "{xml}");
    }
}

/// A reply the kind cannot carry is a 500 `UnsupportedReply`, not a
/// silent drop, and `Reply::check_for` says so where it is built.
#[tokio::test]
async fn replies_a_kind_cannot_carry_are_refused_when_sealed() {
    let card = json!({"card_type": "text_notice", "main_title": {"title": "T"}});
    let cases: Vec<(Endpoint, String, Reply)> = vec![
        (
            official_account(),
            sample("mp", "event_CLICK.xml"),
            Reply::update_button("Done"),
        ),
        (
            official_account(),
            sample("mp", "event_CLICK.xml"),
            Reply::update_template_card(card.clone()).unwrap(),
        ),
        (
            official_account(),
            sample("mp", "event_CLICK.xml"),
            Reply::update_taskcard("Done"),
        ),
        (app(), card_event("rc"), Reply::music(Music::new("m"))),
        (app(), card_event("rc"), Reply::transfer_customer_service()),
        (
            app(),
            card_event("rc"),
            Reply::template_card(card.clone()).unwrap(),
        ),
        (app(), card_event("rc"), Reply::stream("s", "c", true)),
        (
            suite(),
            sample("suite", "suite_ticket.xml"),
            Reply::update_button("x"),
        ),
        (
            open_platform(),
            sample("component", "component_verify_ticket.xml"),
            Reply::text("x"),
        ),
    ];
    for (endpoint, plaintext, reply) in cases {
        let err = reply.check_for(endpoint.kind()).unwrap_err();
        assert_eq!(err.msg_type(), reply.msg_type());
        let answer: Answer = Arc::new(move |_, _| Some(reply.clone()));
        let (response, seen) = send(&endpoint, &plaintext, answer).await;
        assert_eq!(seen.calls.load(Ordering::SeqCst), 1);
        assert_eq!(
            response.status(),
            StatusCode::INTERNAL_SERVER_ERROR,
            "{err}"
        );
        assert_eq!(
            rejection(&response),
            RejectionKind::UnsupportedReply,
            "{err}"
        );
    }
}

/// The vendor's JSON callback format carries nested elements as objects
/// and arrays: they are typed the same way.
#[tokio::test]
async fn json_callbacks_are_typed_too() {
    let endpoint = app().json();
    let json = json!({
        "ToUserName": CORP, "FromUserName": "zhangsan", "CreateTime": NOW, "MsgType": "event",
        "Event": "scancode_waitmsg", "EventKey": "scan", "AgentID": 1,
        "ScanCodeInfo": {"ScanType": "qrcode", "ScanResult": "https://example.com/x"}
    })
    .to_string();
    let m = through(&endpoint, &json).await;
    let MessageKind::ScanCodeWaitMsg(s) = m.kind() else {
        panic!("{m:?}")
    };
    assert_eq!(
        (
            s.event_key.as_str(),
            s.scan_type.as_str(),
            s.scan_result.as_str()
        ),
        ("scan", "qrcode", "https://example.com/x")
    );
    assert_eq!(m.agent_id(), Some(1));
}
