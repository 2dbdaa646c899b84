//! The sample catalog: decrypted messages of each kind, built in from
//! `tests/data/samples/` (sources in its SOURCES.md) or read from a
//! directory, and refreshed the way WeCom sends them (a new `MsgId` and the
//! current `CreateTime`).

use std::path::Path;

use quick_xml::Reader;
use quick_xml::events::Event;

use crate::args::Kind;

/// One decrypted message to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Sample {
    /// Where it comes from, e.g. `wecom/text.xml`.
    pub(crate) name: String,
    /// The decrypted XML (or JSON for the robot).
    pub(crate) text: String,
}

macro_rules! embed {
    ($path:literal) => {
        (
            $path,
            include_str!(concat!("../../../tests/data/samples/", $path)),
        )
    };
}

/// `tests/data/samples/wecom/`.
const WECOM: &[(&str, &str)] = &[
    embed!("wecom/event_LOCATION.xml"),
    embed!("wecom/event_change_contact_update_user.xml"),
    embed!("wecom/event_change_external_contact_add.xml"),
    embed!("wecom/event_change_external_contact_del.xml"),
    embed!("wecom/event_enter_agent.xml"),
    embed!("wecom/event_open_approval_change.xml"),
    embed!("wecom/event_pic_weixin.xml"),
    embed!("wecom/event_subscribe.xml"),
    embed!("wecom/event_taskcard_click.xml"),
    embed!("wecom/image.xml"),
    embed!("wecom/link.xml"),
    embed!("wecom/location.xml"),
    embed!("wecom/text.xml"),
    embed!("wecom/video.xml"),
    embed!("wecom/voice.xml"),
];

/// `tests/data/samples/suite/`.
const SUITE: &[(&str, &str)] = &[
    embed!("suite/cancel_auth.xml"),
    embed!("suite/change_auth.xml"),
    embed!("suite/change_contact_create_user.xml"),
    embed!("suite/change_contact_update_tag.xml"),
    embed!("suite/create_auth.xml"),
    embed!("suite/register_corp.xml"),
    embed!("suite/reset_permanent_code.xml"),
    embed!("suite/suite_ticket.xml"),
];

/// `tests/data/samples/mp/`.
const MP: &[(&str, &str)] = &[
    embed!("mp/event_CLICK.xml"),
    embed!("mp/event_LOCATION.xml"),
    embed!("mp/event_MASSSENDJOBFINISH.xml"),
    embed!("mp/event_SCAN.xml"),
    embed!("mp/event_TEMPLATESENDJOBFINISH.xml"),
    embed!("mp/event_VIEW.xml"),
    embed!("mp/event_location_select.xml"),
    embed!("mp/event_pic_photo_or_album.xml"),
    embed!("mp/event_pic_sysphoto.xml"),
    embed!("mp/event_pic_weixin.xml"),
    embed!("mp/event_scancode_push.xml"),
    embed!("mp/event_scancode_waitmsg.xml"),
    embed!("mp/event_subscribe.xml"),
    embed!("mp/event_subscribe_qrscene.xml"),
    embed!("mp/image.xml"),
    embed!("mp/text.xml"),
    embed!("mp/voice.xml"),
];

/// `tests/data/samples/component/`.
const COMPONENT: &[(&str, &str)] = &[
    embed!("component/authorized.xml"),
    embed!("component/component_verify_ticket.xml"),
    embed!("component/unauthorized.xml"),
    embed!("component/updateauthorized.xml"),
];

/// The catalog subdirectory of a kind (`None`: the catalog has no robot
/// samples yet).
pub(crate) fn subdir(kind: Kind) -> Option<&'static str> {
    match kind {
        Kind::WecomApp | Kind::WecomSuiteData => Some("wecom"),
        Kind::WecomSuite => Some("suite"),
        Kind::OfficialAccountPlain | Kind::OfficialAccountCompat | Kind::OfficialAccountSafe => {
            Some("mp")
        }
        Kind::OpenPlatform => Some("component"),
        Kind::WecomBot => None,
    }
}

/// The built-in samples of `kind`: every decrypted message of its catalog
/// directory (envelopes and verbatim doc copies left out).
pub(crate) fn built_in(kind: Kind) -> Vec<Sample> {
    let table: &[(&str, &str)] = match subdir(kind) {
        Some("wecom") => WECOM,
        Some("suite") => SUITE,
        Some("mp") => MP,
        Some("component") => COMPONENT,
        _ => &[],
    };
    table
        .iter()
        .map(|(name, text)| Sample {
            name: (*name).to_owned(),
            text: (*text).to_owned(),
        })
        .collect()
}

/// The `*.xml` files (`*.json` for the robot) of `dir`, or of its
/// subdirectory for `kind` when it has one (so the catalog root works too),
/// sorted by name.
///
/// # Errors
/// The directory or a file cannot be read, or it holds no sample.
pub(crate) fn from_dir(dir: &Path, kind: Kind) -> Result<Vec<Sample>, String> {
    let dir = match subdir(kind).map(|sub| dir.join(sub)) {
        Some(sub) if sub.is_dir() => sub,
        _ => dir.to_path_buf(),
    };
    let extension = if kind == Kind::WecomBot {
        "json"
    } else {
        "xml"
    };
    let entries =
        std::fs::read_dir(&dir).map_err(|e| format!("cannot read {}: {e}", dir.display()))?;
    let mut paths = Vec::new();
    for entry in entries {
        let path = entry
            .map_err(|e| format!("cannot read {}: {e}", dir.display()))?
            .path();
        if path.is_file() && path.extension().is_some_and(|e| e == extension) {
            paths.push(path);
        }
    }
    paths.sort();
    if paths.is_empty() {
        return Err(format!("no *.{extension} sample in {}", dir.display()));
    }
    paths
        .into_iter()
        .map(|path| {
            let text = std::fs::read_to_string(&path)
                .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
            let name = path.file_name().map_or_else(
                || path.display().to_string(),
                |n| n.to_string_lossy().into_owned(),
            );
            Ok(Sample { name, text })
        })
        .collect()
}

/// `xml` with the text of its top-level `CreateTime` and `TimeStamp`
/// replaced by `now` and of `MsgId` by `msg_id`, where that text is a
/// decimal number; every other byte (layout, CDATA, odd closing tags) is
/// kept. Returned unchanged when it is not well-formed.
pub(crate) fn refresh_xml(xml: &str, now: u64, msg_id: u64) -> String {
    let mut reader = Reader::from_str(xml);
    let mut depth = 0usize;
    let mut element = String::new();
    let mut edits: Vec<(usize, usize, String)> = Vec::new();
    loop {
        let start = reader.buffer_position();
        match reader.read_event() {
            Ok(Event::Start(e)) => {
                depth += 1;
                if depth == 2 {
                    element = AsRef::<str>::as_ref(&e.name()).to_owned();
                }
            }
            Ok(Event::End(_)) => {
                if depth == 2 {
                    element.clear();
                }
                depth = depth.saturating_sub(1);
            }
            Ok(Event::Text(text)) if depth == 2 => {
                let digits = AsRef::<str>::as_ref(&text).trim();
                let value = match element.as_str() {
                    "CreateTime" | "TimeStamp" => now,
                    "MsgId" => msg_id,
                    _ => continue,
                };
                if digits.is_empty() || !digits.chars().all(|c| c.is_ascii_digit()) {
                    continue;
                }
                let (Ok(start), Ok(end)) = (
                    usize::try_from(start),
                    usize::try_from(reader.buffer_position()),
                ) else {
                    return xml.to_owned();
                };
                edits.push((start, end, value.to_string()));
            }
            Ok(Event::Eof) => break,
            Err(_) => return xml.to_owned(),
            Ok(_) => {}
        }
    }
    let mut out = xml.to_owned();
    for (start, end, value) in edits.into_iter().rev() {
        if out.get(start..end).is_some() {
            out.replace_range(start..end, &value);
        }
    }
    out
}

/// A robot sample with a fresh `msgid` (a JSON object; anything else is
/// returned unchanged).
pub(crate) fn refresh_json(json: &str, msg_id: u64) -> String {
    match serde_json::from_str::<serde_json::Value>(json) {
        Ok(serde_json::Value::Object(mut map)) => {
            if map.contains_key("msgid") {
                map.insert("msgid".to_owned(), format!("m{msg_id}").into());
            }
            serde_json::Value::Object(map).to_string()
        }
        _ => json.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CATALOG: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/samples");

    #[test]
    fn built_in_catalog_is_every_message_file_of_the_directory() {
        for kind in [
            Kind::WecomApp,
            Kind::WecomSuite,
            Kind::OfficialAccountSafe,
            Kind::OpenPlatform,
        ] {
            let sub = subdir(kind).unwrap();
            let mut on_disk: Vec<Sample> = from_dir(Path::new(CATALOG), kind)
                .unwrap()
                .into_iter()
                // Envelopes (a message with Encrypt) are not decrypted messages.
                .filter(|s| !s.text.contains("<Encrypt>"))
                .map(|s| Sample {
                    name: format!("{sub}/{}", s.name),
                    ..s
                })
                .collect();
            on_disk.sort_by(|a, b| a.name.cmp(&b.name));
            let mut built = built_in(kind);
            built.sort_by(|a, b| a.name.cmp(&b.name));
            assert_eq!(built, on_disk, "{sub}");
            assert!(built.len() >= 4);
        }
        assert!(built_in(Kind::WecomBot).is_empty());
    }

    #[test]
    fn refresh_replaces_only_times_and_ids_keeping_every_other_byte() {
        let xml = "<xml>\n <ToUserName><![CDATA[toUser]]></ToUserName>\n <CreateTime>1348831860</CreateTime>\n <MsgId>1234567890123456</MsgId>\n <TaskId >t</TaskId >\n <Nested><CreateTime>5</CreateTime></Nested>\n</xml >";
        let fresh = refresh_xml(xml, 1_700_000_000, 42);
        assert_eq!(
            fresh,
            "<xml>\n <ToUserName><![CDATA[toUser]]></ToUserName>\n <CreateTime>1700000000</CreateTime>\n <MsgId>42</MsgId>\n <TaskId >t</TaskId >\n <Nested><CreateTime>5</CreateTime></Nested>\n</xml >"
        );
        let suite = built_in(Kind::WecomSuite)
            .into_iter()
            .find(|s| s.name == "suite/suite_ticket.xml")
            .unwrap();
        let fresh = refresh_xml(&suite.text, 1_700_000_000, 42);
        assert!(fresh.contains("<TimeStamp>1700000000</TimeStamp>"));
        assert!(fresh.contains("<InfoType> <![CDATA[suite_ticket]]></InfoType>"));
    }

    #[test]
    fn refresh_leaves_malformed_xml_and_non_numbers_alone() {
        assert_eq!(
            refresh_xml("<xml><MsgId>1</xml>", 9, 9),
            "<xml><MsgId>1</xml>"
        );
        assert_eq!(
            refresh_xml("<xml><MsgId>abc</MsgId></xml>", 9, 9),
            "<xml><MsgId>abc</MsgId></xml>"
        );
    }

    #[test]
    fn refresh_json_replaces_msgid() {
        let fresh = refresh_json(r#"{"msgid":"old","msgtype":"text"}"#, 7);
        let value: serde_json::Value = serde_json::from_str(&fresh).unwrap();
        assert_eq!(value["msgid"], "m7");
        assert_eq!(value["msgtype"], "text");
        assert_eq!(refresh_json("[1]", 7), "[1]");
    }

    #[test]
    fn from_dir_reports_an_empty_or_missing_directory() {
        assert!(from_dir(Path::new("/nonexistent-wecom-sim-dir"), Kind::WecomApp).is_err());
        let err = from_dir(&Path::new(CATALOG).join("wecom"), Kind::WecomBot).unwrap_err();
        assert!(err.contains("*.json"), "{err}");
    }
}
