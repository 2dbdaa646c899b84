//! Every message sample of `tests/data/samples/` (copied from the vendor docs
//! and from WxJava / wechatpy tests, see `tests/data/samples/SOURCES.md`)
//! through `Message::parse` to its typed variant, with its fields checked;
//! the reply samples against our rendering.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::collections::BTreeSet;
use std::path::PathBuf;

use wecom_callback::message::*;

fn samples_dir(dir: &str) -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/samples/")).join(dir)
}

fn read(dir: &str, name: &str) -> String {
    let path = samples_dir(dir).join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The sample names of `dir` that end with `suffix`, sorted.
fn names(dir: &str, suffix: &str) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(samples_dir(dir))
        .unwrap()
        .map(|entry| entry.unwrap().file_name().into_string().unwrap())
        .filter(|name| name.ends_with(suffix))
        .collect();
    names.sort();
    names
}

/// Parses `dir/name`: it must parse with no problem and not as `Other`,
/// and keep its text.
fn sample(dir: &str, name: &str) -> Message {
    let xml = read(dir, name);
    let message = Message::parse(&xml).unwrap_or_else(|e| panic!("{dir}/{name}: {e}"));
    assert_eq!(message.raw_xml(), xml, "{name}: raw_xml must be the input");
    assert_eq!(message.problem(), None, "{dir}/{name}: {message:?}");
    assert!(
        !matches!(message.kind(), MessageKind::Other(_)),
        "{dir}/{name}: {message:?}"
    );
    message
}

/// Which samples a test checked field by field, to prove every file is
/// covered (`every_sample_is_checked`).
const CHECKED: &[&str] = &[
    "wecom/event_LOCATION.xml",
    "wecom/event_change_contact_update_user.xml",
    "wecom/event_change_external_contact_add.xml",
    "wecom/event_change_external_contact_del.xml",
    "wecom/event_enter_agent.xml",
    "wecom/event_open_approval_change.xml",
    "wecom/event_pic_weixin.xml",
    "wecom/event_subscribe.xml",
    "wecom/event_taskcard_click.xml",
    "wecom/image.xml",
    "wecom/link.xml",
    "wecom/location.xml",
    "wecom/text.xml",
    "wecom/video.xml",
    "wecom/voice.xml",
    "mp/compat_mode_body.xml",
    "mp/event_CLICK.xml",
    "mp/event_LOCATION.xml",
    "mp/event_MASSSENDJOBFINISH.xml",
    "mp/event_SCAN.xml",
    "mp/event_TEMPLATESENDJOBFINISH.xml",
    "mp/event_VIEW.xml",
    "mp/event_location_select.xml",
    "mp/event_pic_photo_or_album.xml",
    "mp/event_pic_sysphoto.xml",
    "mp/event_pic_weixin.xml",
    "mp/event_scancode_push.xml",
    "mp/event_scancode_waitmsg.xml",
    "mp/event_subscribe.xml",
    "mp/event_subscribe_qrscene.xml",
    "mp/image.xml",
    "mp/text.xml",
    "mp/voice.xml",
    "suite/cancel_auth.xml",
    "suite/change_auth.xml",
    "suite/change_contact_create_user.xml",
    "suite/change_contact_update_tag.xml",
    "suite/create_auth.xml",
    "suite/register_corp.xml",
    "suite/reset_permanent_code.xml",
    "suite/suite_ticket.xml",
    "component/authorized.xml",
    "component/component_verify_ticket.xml",
    "component/unauthorized.xml",
    "component/updateauthorized.xml",
    // Not messages: the two broken doc originals and the outer envelope.
    "component/authorized.doc-verbatim.txt",
    "component/updateauthorized.doc-verbatim.txt",
    "component/outer_envelope_real_capture.xml",
];

#[test]
fn every_sample_is_checked() {
    let mut on_disk = BTreeSet::new();
    for dir in ["wecom", "mp", "suite", "component"] {
        for name in names(dir, "") {
            on_disk.insert(format!("{dir}/{name}"));
        }
    }
    let checked: BTreeSet<String> = CHECKED.iter().map(|s| (*s).to_owned()).collect();
    assert_eq!(on_disk, checked);
    assert_eq!(on_disk.len(), 48);
    // Every message sample parses to a typed variant with no problem.
    for path in CHECKED.iter().filter(|p| p.ends_with(".xml")) {
        let (dir, name) = path.split_once('/').unwrap();
        if name != "outer_envelope_real_capture.xml" {
            sample(dir, name);
        }
    }
}

// ---- WeCom app messages and events (wecom/) --------------------------------

#[test]
fn text() {
    let m = sample("wecom", "text.xml");
    let h = m.header();
    assert_eq!(h.to_user_name, "toUser");
    assert_eq!(h.from_user_name, "fromUser");
    assert_eq!(h.create_time, 1348831860);
    assert_eq!(h.msg_type, "text");
    assert_eq!(h.agent_id, Some(1));
    assert_eq!(h.msg_id, Some(1234567890123456));
    assert_eq!(h.event, None);
    let MessageKind::Text(Text { content, .. }) = m.kind() else {
        panic!("{m:?}")
    };
    assert_eq!(content, "this is a test");
    assert_eq!(m.field("MsgId"), Some("1234567890123456"));
}

#[test]
fn image() {
    let m = sample("wecom", "image.xml");
    assert_eq!(
        (m.create_time(), m.msg_id(), m.agent_id()),
        (1348831860, Some(1234567890123456), Some(1))
    );
    let MessageKind::Image(Image {
        pic_url, media_id, ..
    }) = m.kind()
    else {
        panic!("{m:?}")
    };
    assert_eq!(
        (pic_url.as_str(), media_id.as_str()),
        ("this is a url", "media_id")
    );
}

#[test]
fn voice_and_video() {
    let m = sample("wecom", "voice.xml");
    assert_eq!((m.create_time(), m.agent_id()), (1357290913, Some(1)));
    let MessageKind::Voice(Voice {
        media_id,
        format,
        recognition,
        ..
    }) = m.kind()
    else {
        panic!("{m:?}")
    };
    assert_eq!((media_id.as_str(), format.as_str()), ("media_id", "Format"));
    assert_eq!(recognition, &None);

    let m = sample("wecom", "video.xml");
    let MessageKind::Video(Video {
        media_id,
        thumb_media_id,
        ..
    }) = m.kind()
    else {
        panic!("{m:?}")
    };
    assert_eq!(
        (media_id.as_str(), thumb_media_id.as_str()),
        ("media_id", "thumb_media_id")
    );
}

#[test]
fn location_and_link() {
    let m = sample("wecom", "location.xml");
    assert_eq!(
        (m.create_time(), m.msg_id()),
        (1351776360, Some(1234567890123456))
    );
    let MessageKind::Location(l) = m.kind() else {
        panic!("{m:?}")
    };
    assert_eq!(
        (l.location_x, l.location_y, l.scale),
        (23.134521, 113.358803, 20)
    );
    assert_eq!(l.label, "位置信息");

    let m = sample("wecom", "link.xml");
    let MessageKind::Link(l) = m.kind() else {
        panic!("{m:?}")
    };
    assert_eq!(
        (l.title.as_str(), l.description.as_str()),
        ("公众平台官网链接", "公众平台官网链接")
    );
    assert_eq!(
        (l.url.as_str(), l.pic_url.as_deref()),
        ("url", Some("picurl"))
    );
}

#[test]
fn subscribe_and_unsubscribe() {
    let m = sample("wecom", "event_subscribe.xml");
    assert_eq!((m.to_user_name(), m.from_user_name()), ("toUser", "UserID"));
    assert_eq!(
        (m.create_time(), m.msg_id(), m.agent_id()),
        (1348831860, None, Some(1))
    );
    let MessageKind::Subscribe(s) = m.kind() else {
        panic!("{m:?}")
    };
    assert_eq!((s.event_key.as_deref(), s.qr_scene()), (None, None));

    // The doc: unsubscribe is the same with Event unsubscribe.
    let xml = read("wecom", "event_subscribe.xml").replace("[subscribe]", "[unsubscribe]");
    let m = Message::parse(&xml).unwrap();
    assert_eq!(m.event(), Some("unsubscribe"));
    assert!(matches!(m.kind(), MessageKind::Unsubscribe(_)), "{m:?}");
}

#[test]
fn enter_agent_and_location_report() {
    let m = sample("wecom", "event_enter_agent.xml");
    assert_eq!(
        (m.create_time(), m.agent_id(), m.event()),
        (1408091189, Some(1), Some("enter_agent"))
    );
    let MessageKind::EnterAgent(EnterAgent { event_key, .. }) = m.kind() else {
        panic!("{m:?}")
    };
    assert_eq!(event_key, "");

    let m = sample("wecom", "event_LOCATION.xml");
    let MessageKind::LocationReport(r) = m.kind() else {
        panic!("{m:?}")
    };
    assert_eq!(
        (r.latitude, r.longitude, r.precision),
        (23.137466, 113.352425, Some(119.385040))
    );
    assert_eq!(m.agent_id(), Some(1));
}

#[test]
fn change_contact_update_user() {
    let m = sample("wecom", "event_change_contact_update_user.xml");
    assert_eq!((m.to_user_name(), m.from_user_name()), ("toUser", "sys"));
    assert_eq!((m.create_time(), m.agent_id()), (1403610513, None));
    let MessageKind::ChangeContact(c) = m.kind() else {
        panic!("{m:?}")
    };
    assert_eq!(c.auth_corp_id, None);
    let ContactChange::UpdateUser(u) = &c.change else {
        panic!("{c:?}")
    };
    assert_eq!(u.user_id, "zhangsan");
    assert_eq!(u.new_user_id.as_deref(), Some("zhangsan001"));
    assert_eq!(u.name.as_deref(), Some("张三"));
    assert_eq!(u.department, [1, 2, 3]);
    assert_eq!(u.is_leader_in_dept, [true, false, false]);
    assert_eq!(u.position.as_deref(), Some("产品经理"));
    assert_eq!(u.mobile.as_deref(), Some("15913215421"));
    assert_eq!((u.gender, u.status), (Some(1), Some(1)));
    assert_eq!(u.email.as_deref(), Some("zhangsan@gzdev.com"));
    assert!(
        u.avatar
            .as_deref()
            .unwrap()
            .starts_with("http://wx.qlogo.cn/mmopen/")
    );
    assert_eq!(u.alias.as_deref(), Some("zhangsan"));
    assert_eq!(u.telephone.as_deref(), Some("020-3456788"));
    assert_eq!(u.address.as_deref(), Some("广州市"));
    assert_eq!(u.ext_attr.len(), 2);
    assert_eq!(
        (
            u.ext_attr[0].name.as_str(),
            u.ext_attr[0].attr_type,
            u.ext_attr[0].text.as_deref()
        ),
        ("爱好", Some(0), Some("旅游"))
    );
    assert_eq!(
        (
            u.ext_attr[1].name.as_str(),
            u.ext_attr[1].web_title.as_deref(),
            u.ext_attr[1].web_url.as_deref()
        ),
        ("卡号", Some("企业微信"), Some("https://work.weixin.qq.com"))
    );
}

#[test]
fn change_external_contact_add_and_del() {
    let m = sample("wecom", "event_change_external_contact_add.xml");
    assert_eq!((m.from_user_name(), m.agent_id()), ("sys", None));
    let MessageKind::ChangeExternalContact(c) = m.kind() else {
        panic!("{m:?}")
    };
    assert_eq!(c.change, ExternalContactChange::AddExternalContact);
    assert_eq!(c.change.as_str(), "add_external_contact");
    assert_eq!(c.user_id.as_deref(), Some("zhangsan"));
    assert_eq!(
        c.external_user_id.as_deref(),
        Some("woAJ2GCAAAXtWyujaWJHDDGi0mACH71w")
    );
    assert_eq!(c.state.as_deref(), Some("teststate"));
    assert_eq!(c.welcome_code.as_deref(), Some("WELCOMECODE"));

    let m = sample("wecom", "event_change_external_contact_del.xml");
    let MessageKind::ChangeExternalContact(c) = m.kind() else {
        panic!("{m:?}")
    };
    assert_eq!(c.change, ExternalContactChange::DelExternalContact);
    assert_eq!(
        (c.user_id.as_deref(), c.welcome_code.as_deref()),
        (Some("zhangsan"), None)
    );
}

#[test]
fn pic_weixin_with_two_pic_lists() {
    let m = sample("wecom", "event_pic_weixin.xml");
    assert_eq!(
        (m.to_user_name(), m.from_user_name()),
        ("wx45a0972125658be9", "xiaohe")
    );
    assert_eq!((m.create_time(), m.agent_id()), (1502012364, Some(1000004)));
    let MessageKind::PicWeixin(p) = m.kind() else {
        panic!("{m:?}")
    };
    assert_eq!((p.event_key.as_str(), p.count), ("faceSimilarity", 2));
    assert_eq!(
        p.pic_md5_sums,
        [
            "aef52ae501537e552725c5d7f99c1741",
            "c4564632a4fab91378c39bea6aad6f9e"
        ]
    );
}

#[test]
fn taskcard_click() {
    let m = sample("wecom", "event_taskcard_click.xml");
    assert_eq!((m.create_time(), m.agent_id()), (123456789, Some(1)));
    let MessageKind::TaskcardClick(t) = m.kind() else {
        panic!("{m:?}")
    };
    assert_eq!(
        (t.event_key.as_str(), t.task_id.as_str()),
        ("key111", "taskid111")
    );
}

#[test]
fn open_approval_change_without_cdata() {
    let m = sample("wecom", "event_open_approval_change.xml");
    assert_eq!(
        (m.to_user_name(), m.from_user_name()),
        ("wwddddccc7775555aaa", "sys")
    );
    assert_eq!((m.create_time(), m.agent_id()), (1527838022, Some(1)));
    let MessageKind::OpenApprovalChange(a) = m.kind() else {
        panic!("{m:?}")
    };
    assert_eq!(a.third_no, "201806010001");
    assert_eq!(a.open_sp_name.as_deref(), Some("付款"));
    assert_eq!(a.open_template_id.as_deref(), Some("1234567890"));
    assert_eq!((a.open_sp_status, a.apply_time), (1, Some(1527837645)));
    assert_eq!(a.apply_user_name.as_deref(), Some("xiaoming"));
    assert_eq!(a.apply_user_id.as_deref(), Some("1"));
    assert_eq!(a.apply_user_party.as_deref(), Some("产品部"));
    assert_eq!(
        a.apply_user_image.as_deref(),
        Some("http://www.qq.com/xxx.png")
    );
    assert_eq!(a.approval_nodes.len(), 1);
    let node = &a.approval_nodes[0];
    assert_eq!(
        (node.node_status, node.node_attr, node.node_type),
        (Some(1), Some(1), Some(1))
    );
    assert_eq!(node.items.len(), 1);
    let item = &node.items[0];
    assert_eq!(item.item_name.as_deref(), Some("xiaohong"));
    assert_eq!(item.item_user_id.as_deref(), Some("2"));
    assert_eq!((item.item_status, item.item_op_time), (Some(1), Some(0)));
    assert_eq!(item.item_speech.as_deref(), Some(""));
    assert_eq!(a.notify_nodes.len(), 1);
    assert_eq!(a.notify_nodes[0].item_name.as_deref(), Some("xiaogang"));
    assert_eq!(a.notify_nodes[0].item_user_id.as_deref(), Some("3"));
    assert_eq!(a.approver_step, Some(0));
}

// ---- WeChat Official Account (mp/) -----------------------------------------

#[test]
fn official_account_messages() {
    let m = sample("mp", "text.xml");
    assert!(matches!(m.kind(), MessageKind::Text(t) if t.content == "this is a test"));
    assert_eq!((m.msg_id(), m.agent_id()), (Some(1234567890123456), None));
    let m = sample("mp", "image.xml");
    assert!(matches!(m.kind(), MessageKind::Image(i) if i.media_id == "media_id"));
    let m = sample("mp", "voice.xml");
    assert!(matches!(m.kind(), MessageKind::Voice(v) if v.format == "Format"));
    // The compatible-mode body: the plaintext copy parses as a text
    // message (the layer reads the Encrypt instead).
    let m = sample("mp", "compat_mode_body.xml");
    assert_eq!(m.to_user_name(), "gh_10f6c3c3ac5a");
    assert_eq!(m.msg_id(), Some(6054768590064713728));
    assert!(matches!(m.kind(), MessageKind::Text(t) if t.content == "abcdteT"));
}

#[test]
fn official_account_subscribe_scan_and_menu() {
    let m = sample("mp", "event_subscribe.xml");
    assert!(matches!(m.kind(), MessageKind::Subscribe(s) if s.event_key.is_none()));
    let m = sample("mp", "event_subscribe_qrscene.xml");
    let MessageKind::Subscribe(s) = m.kind() else {
        panic!("{m:?}")
    };
    assert_eq!(s.event_key.as_deref(), Some("qrscene_123123"));
    assert_eq!(
        (s.qr_scene(), s.ticket.as_deref()),
        (Some("123123"), Some("TICKET"))
    );

    let m = sample("mp", "event_SCAN.xml");
    assert_eq!(m.event(), Some("SCAN"));
    let MessageKind::Scan(s) = m.kind() else {
        panic!("{m:?}")
    };
    assert_eq!(
        (s.event_key.as_str(), s.ticket.as_deref()),
        ("SCENE_VALUE", Some("TICKET"))
    );

    let m = sample("mp", "event_CLICK.xml");
    assert!(matches!(m.kind(), MessageKind::Click(c) if c.event_key == "EVENTKEY"));
    let m = sample("mp", "event_VIEW.xml");
    let MessageKind::View(v) = m.kind() else {
        panic!("{m:?}")
    };
    assert_eq!(
        (v.event_key.as_str(), v.menu_id.as_deref()),
        ("www.qq.com", Some("MENUID"))
    );

    let m = sample("mp", "event_LOCATION.xml");
    assert!(matches!(m.kind(), MessageKind::LocationReport(r) if r.precision == Some(119.38504)));
}

#[test]
fn official_account_scanner_photo_and_map_events() {
    for (name, result) in [
        ("event_scancode_push.xml", "1"),
        ("event_scancode_waitmsg.xml", "2"),
    ] {
        let m = sample("mp", name);
        let (MessageKind::ScanCodePush(s) | MessageKind::ScanCodeWaitMsg(s)) = m.kind() else {
            panic!("{m:?}")
        };
        assert_eq!(
            (
                s.event_key.as_str(),
                s.scan_type.as_str(),
                s.scan_result.as_str()
            ),
            ("6", "qrcode", result)
        );
    }
    assert!(matches!(
        sample("mp", "event_scancode_push.xml").kind(),
        MessageKind::ScanCodePush(_)
    ));
    assert!(matches!(
        sample("mp", "event_scancode_waitmsg.xml").kind(),
        MessageKind::ScanCodeWaitMsg(_)
    ));

    for (name, md5) in [
        ("event_pic_sysphoto.xml", "1b5f7c23b5bf75682a53e7b6d163e185"),
        (
            "event_pic_photo_or_album.xml",
            "5a75aaca956d97be686719218f275c6b",
        ),
        ("event_pic_weixin.xml", "5a75aaca956d97be686719218f275c6b"),
    ] {
        let m = sample("mp", name);
        let pics = match m.kind() {
            MessageKind::PicSysPhoto(p) if name.contains("sysphoto") => p,
            MessageKind::PicPhotoOrAlbum(p) if name.contains("album") => p,
            MessageKind::PicWeixin(p) if name.contains("weixin") => p,
            other => panic!("{name}: {other:?}"),
        };
        assert_eq!((pics.event_key.as_str(), pics.count), ("6", 1));
        assert_eq!(pics.pic_md5_sums, [md5]);
    }

    let m = sample("mp", "event_location_select.xml");
    let MessageKind::LocationSelect(l) = m.kind() else {
        panic!("{m:?}")
    };
    assert_eq!(l.event_key, "6");
    assert_eq!((l.location_x, l.location_y, l.scale), (23.0, 113.0, 15));
    assert_eq!(l.label, "广州市海珠区客村艺苑路 106号");
    assert_eq!(l.poiname, None);
}

#[test]
fn official_account_job_finish_events() {
    let m = sample("mp", "event_TEMPLATESENDJOBFINISH.xml");
    let MessageKind::TemplateSendJobFinish(t) = m.kind() else {
        panic!("{m:?}")
    };
    assert_eq!((t.msg_id, t.status.as_str()), (200163836, "success"));

    let m = sample("mp", "event_MASSSENDJOBFINISH.xml");
    let MessageKind::MassSendJobFinish(j) = m.kind() else {
        panic!("{m:?}")
    };
    assert_eq!((j.msg_id, j.status.as_str()), (1000001625, "err(30003)"));
    assert_eq!(
        (j.total_count, j.filter_count, j.sent_count, j.error_count),
        (Some(0), Some(0), Some(0), Some(0))
    );
    let check = j.copyright_check.as_ref().unwrap();
    assert_eq!((check.count, check.check_state), (Some(2), Some(2)));
    assert_eq!(check.results.len(), 2);
    let second = &check.results[1];
    assert_eq!(second.article_idx, Some(2));
    assert_eq!(second.original_article_url.as_deref(), Some("Url_2"));
    assert_eq!(
        (
            second.user_declare_state,
            second.audit_state,
            second.original_article_type
        ),
        (Some(0), Some(2), Some(1))
    );
    assert_eq!(
        (
            second.can_reprint,
            second.need_replace_content,
            second.need_show_reprint_source
        ),
        (Some(1), Some(1), Some(1))
    );
    assert_eq!(j.article_urls.len(), 1);
    assert_eq!(
        (
            j.article_urls[0].article_idx,
            j.article_urls[0].article_url.as_deref()
        ),
        (Some(1), Some("Url"))
    );
}

// ---- WeCom suite instruction callbacks (suite/) ----------------------------

#[test]
fn suite_ticket_with_a_space_before_its_cdata() {
    let m = sample("suite", "suite_ticket.xml");
    // The vendor sample has a space before its CDATA: trimmed.
    assert_eq!(m.info_type(), Some("suite_ticket"));
    assert_eq!(
        (m.to_user_name(), m.create_time(), m.msg_type()),
        ("ww4asffe99e54c0fxxxx", 1_403_610_513, "")
    );
    let MessageKind::SuiteTicket(t) = m.kind() else {
        panic!("{m:?}")
    };
    assert_eq!(
        (t.suite_id.as_str(), t.suite_ticket.as_str()),
        ("ww4asffe99e54c0fxxxx", "asdfasfdasdfasdf")
    );
}

#[test]
fn suite_authorization_pushes() {
    let m = sample("suite", "create_auth.xml");
    let MessageKind::CreateAuth(a) = m.kind() else {
        panic!("{m:?}")
    };
    assert_eq!(
        (a.suite_id.as_str(), a.auth_code.as_str()),
        ("ww4asffe9xxx4c0f4c", "AUTHCODE")
    );
    assert_eq!(
        (a.state.as_deref(), a.extra_info.as_deref()),
        (Some("123"), None)
    );

    let m = sample("suite", "change_auth.xml");
    let MessageKind::ChangeAuth(a) = m.kind() else {
        panic!("{m:?}")
    };
    assert_eq!(
        (
            a.suite_id.as_str(),
            a.auth_corp_id.as_str(),
            a.state.as_deref()
        ),
        ("ww4asffe99exxx0f4c", "wxf8b4f85f3a794e77", Some("abc"))
    );

    let m = sample("suite", "cancel_auth.xml");
    let MessageKind::CancelAuth(a) = m.kind() else {
        panic!("{m:?}")
    };
    assert_eq!(
        (a.suite_id.as_str(), a.auth_corp_id.as_str()),
        ("ww4asffe99e54cxxxx", "wxf8b4f85fxx794xxx")
    );

    let m = sample("suite", "reset_permanent_code.xml");
    let MessageKind::ResetPermanentCode(r) = m.kind() else {
        panic!("{m:?}")
    };
    assert_eq!(
        (r.suite_id.as_str(), r.auth_code.as_str()),
        ("dk4asffe9xxx4c0f4c", "AUTHCODE")
    );

    let m = sample("suite", "register_corp.xml");
    assert_eq!(
        (m.to_user_name(), m.create_time()),
        ("wwddddccc7775555aab", 1502682173)
    );
    let MessageKind::RegisterCorp(r) = m.kind() else {
        panic!("{m:?}")
    };
    assert_eq!(r.service_corp_id, "wwddddccc7775555aab");
    assert_eq!(r.register_code, "pIKi3wRPNWCGF-pyP-YU5KWjDDD");
    assert_eq!(r.auth_corp_id, "wwddddccc7775555aaa");
    assert_eq!(
        r.contact_sync_access_token.as_deref(),
        Some("accesstoken000001")
    );
    assert_eq!(r.contact_sync_expires_in, Some(1800));
    assert_eq!(r.auth_user_id.as_deref(), Some("zhangshan"));
    assert_eq!(
        (r.state.as_deref(), r.template_id.as_deref()),
        (Some("state1"), Some("tpl1test"))
    );
}

#[test]
fn suite_change_contact() {
    let m = sample("suite", "change_contact_create_user.xml");
    assert_eq!(m.info_type(), Some("change_contact"));
    let MessageKind::ChangeContact(c) = m.kind() else {
        panic!("{m:?}")
    };
    assert_eq!(c.auth_corp_id.as_deref(), Some("wxf8b4f85f3axxxxxx"));
    let ContactChange::CreateUser(u) = &c.change else {
        panic!("{c:?}")
    };
    assert_eq!(
        (u.user_id.as_str(), u.name.as_deref()),
        ("zhangsan", Some("张三"))
    );
    assert_eq!(
        (u.department.as_slice(), u.main_department),
        (&[1, 2, 3][..], Some(1))
    );
    assert_eq!(u.mobile.as_deref(), Some("11111111111"));
    assert_eq!(u.ext_attr.len(), 2);

    let m = sample("suite", "change_contact_update_tag.xml");
    let MessageKind::ChangeContact(c) = m.kind() else {
        panic!("{m:?}")
    };
    let ContactChange::UpdateTag(t) = &c.change else {
        panic!("{c:?}")
    };
    assert_eq!(t.tag_id, 1);
    assert_eq!(t.add_user_items, ["zhangsan", "lisi"]);
    assert_eq!(t.del_user_items, ["zhangsan1", "lisi1"]);
    assert_eq!(
        (t.add_party_items.as_slice(), t.del_party_items.as_slice()),
        (&[1, 2][..], &[3, 4][..])
    );
}

// ---- Open Platform (component/) --------------------------------------------

#[test]
fn open_platform_pushes() {
    let m = sample("component", "component_verify_ticket.xml");
    assert_eq!(
        (m.to_user_name(), m.create_time()),
        ("some_appid", 1_413_192_605)
    );
    let MessageKind::ComponentVerifyTicket(t) = m.kind() else {
        panic!("{m:?}")
    };
    assert_eq!(
        (t.app_id.as_str(), t.component_verify_ticket.as_str()),
        ("some_appid", "some_verify_ticket")
    );

    for (name, updated) in [("authorized.xml", false), ("updateauthorized.xml", true)] {
        let m = sample("component", name);
        let a = match m.kind() {
            MessageKind::Authorized(a) if !updated => a,
            MessageKind::UpdateAuthorized(a) if updated => a,
            other => panic!("{name}: {other:?}"),
        };
        assert_eq!(a.app_id, "第三方平台appid");
        assert_eq!(a.authorizer_appid, "公众号appid");
        assert_eq!(a.authorization_code, "授权码");
        // The doc's placeholder is text, not a time.
        assert_eq!(
            a.authorization_code_expired_time.as_deref(),
            Some("过期时间")
        );
        assert_eq!(a.expires_at(), None);
        assert_eq!(a.pre_auth_code.as_deref(), Some("预授权码"));
    }

    let m = sample("component", "unauthorized.xml");
    let MessageKind::Unauthorized(u) = m.kind() else {
        panic!("{m:?}")
    };
    assert_eq!(
        (u.app_id.as_str(), u.authorizer_appid.as_str()),
        ("第三方平台appid", "公众号appid")
    );
}

#[test]
fn vendor_broken_originals_are_a_clear_error_and_the_envelope_no_message() {
    for name in names("component", ".doc-verbatim.txt") {
        let err = Message::parse(&read("component", &name)).unwrap_err();
        assert_eq!(err.kind(), MessageErrorKind::Xml, "{name}");
        assert_eq!(
            err.to_string(),
            "decrypted message refused: XML is not well-formed"
        );
    }
    // The outer POST body of a component push is an envelope, not a
    // message: it parses as `Other`, lacking MsgType.
    let m = Message::parse(&read("component", "outer_envelope_real_capture.xml")).unwrap();
    assert!(matches!(m.kind(), MessageKind::Other(_)));
    assert_eq!(m.problem().unwrap().element(), Some("MsgType"));
}

#[test]
fn problems_never_show_values() {
    let secret = "TOP-SECRET-VALUE";
    for xml in [
        format!(
            "<xml><ToUserName>c</ToUserName><FromUserName>u</FromUserName><CreateTime>{secret}</CreateTime><MsgType>text</MsgType></xml>"
        ),
        format!(
            "<xml><ToUserName>c</ToUserName><FromUserName>u</FromUserName><CreateTime>1</CreateTime><MsgType>event</MsgType><Event>LOCATION</Event><Latitude>{secret}</Latitude></xml>"
        ),
        format!("<{secret}><MsgType>text</MsgType></{secret}>"),
        format!("<xml><ToUserName>{secret}</ToUserName><ToUserName>{secret}</ToUserName></xml>"),
    ] {
        let m = Message::parse(&xml).unwrap();
        let problem = m.problem().unwrap();
        assert!(!problem.to_string().contains(secret), "{problem}");
        assert!(!format!("{problem:?}").contains(secret), "{problem:?}");
    }
    let err = Message::parse(&format!("<xml><{secret}>")).unwrap_err();
    assert!(!err.to_string().contains(secret), "{err}");
    assert!(!format!("{err:?}").contains(secret), "{err:?}");
}

// ---- Replies (replies/) ----------------------------------------------------

/// The elements of an XML text as (path, text) pairs, sorted: compares the
/// parsed structure, ignoring layout whitespace and element order.
fn elements(xml: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut path: Vec<String> = Vec::new();
    let mut rest = xml;
    while let Some(start) = rest.find('<') {
        let text_before = &rest[..start];
        if let Some(last) = out.last_mut().filter(|_| !text_before.trim().is_empty()) {
            let (_, text): &mut (String, String) = last;
            text.push_str(text_before.trim());
        }
        let tail = &rest[start + 1..];
        if let Some(cdata) = tail.strip_prefix("![CDATA[") {
            let end = cdata.find("]]>").unwrap();
            out.last_mut().unwrap().1.push_str(&cdata[..end]);
            rest = &cdata[end + 3..];
            continue;
        }
        let end = tail.find('>').unwrap();
        let tag = tail[..end].trim();
        rest = &tail[end + 1..];
        if let Some(closing) = tag.strip_prefix('/') {
            assert_eq!(path.pop().as_deref(), Some(closing.trim()));
        } else {
            path.push(tag.to_owned());
            out.push((path.join("/"), String::new()));
        }
    }
    out.sort();
    out
}

#[test]
fn replies_match_the_reply_samples() {
    let ours = Reply::text("this is a test").to_xml("toUser", "fromUser", 1348831860);
    assert_eq!(
        elements(&ours),
        elements(&read("replies", "wecom_text.xml"))
    );

    let ours = Reply::image("media_id").to_xml("toUser", "fromUser", 1348831860);
    assert_eq!(
        elements(&ours),
        elements(&read("replies", "wecom_image.xml"))
    );

    let article = Article::new("title")
        .description("description")
        .pic_url("picUrl")
        .url("url");
    let ours = Reply::news([article.clone(), article])
        .unwrap()
        .to_xml("toUser", "fromUser", 1122);
    assert_eq!(
        elements(&ours),
        elements(&read("replies", "wecom_news_wxjava.xml"))
    );

    // WxJava's serializer output, byte for byte.
    let ours = Reply::update_taskcard("已驳回").to_xml("to", "from", 1122);
    assert_eq!(
        ours,
        read("replies", "wecom_update_taskcard_wxjava.xml").trim_end()
    );
}

#[test]
fn replies_read_back_as_messages() {
    let content = "]]> <b>&amp;</b> & \"quoted\" 'single'\nsecond line\n第三行 中文 😀 ]]]]>>";
    let xml = Reply::text(content).to_xml("zhang]]>san", "ww<corp>&", 1700000000);
    let back = Message::parse(&xml).unwrap();
    assert_eq!(
        (back.to_user_name(), back.from_user_name()),
        ("zhang]]>san", "ww<corp>&")
    );
    assert_eq!((back.create_time(), back.msg_type()), (1700000000, "text"));
    let MessageKind::Text(text) = back.kind() else {
        panic!("{back:?}")
    };
    assert_eq!(text.content, content);

    let xml = Reply::text("nul\u{0}bell\u{7}esc\u{1b}end").to_xml("u", "c", 1);
    assert!(!xml.contains('\u{0}'));
    assert_eq!(
        Message::parse(&xml).unwrap().field("Content"),
        Some("nulbellescend")
    );
}
