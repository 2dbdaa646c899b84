//! The test kit's message builders: decrypted callback messages (XML, or
//! the robot's JSON) of the kinds the vendor documents name, each with the
//! current time and a fresh `MsgId` where the kind has one, ready for
//! [`TestKit::post`]. Associated functions of [`TestKit`], kept apart from
//! the kit's request building and reply opening.

use super::{TestKit, fresh_msg_id, now_secs};
use crate::xml;

impl TestKit {
    /// A WeCom text message, as decrypted XML (WeCom doc 消息格式, 文本消息),
    /// with the current time and a fresh `MsgId`.
    pub fn text_message(corp_id: &str, from_user_name: &str, content: &str) -> String {
        Self::wecom_message(corp_id, from_user_name, "text", &[("Content", content)])
    }

    /// A WeCom or WeChat event (WeCom doc 事件格式): `MsgType` `event`,
    /// `Event`, and `extra` elements such as `("EventKey", "menu_1")`.
    pub fn event_message(
        to_user_name: &str,
        from_user_name: &str,
        event: &str,
        extra: &[(&str, &str)],
    ) -> String {
        let mut xml = message_head(to_user_name, from_user_name, "event");
        xml::push_element(&mut xml, "Event", event);
        push_fields(&mut xml, extra);
        xml.push_str("</xml>");
        xml
    }

    /// A WeCom message of `msg_type` with `fields` after the header, a fresh
    /// `MsgId` and `AgentID` 1.
    fn wecom_message(
        corp_id: &str,
        from_user_name: &str,
        msg_type: &str,
        fields: &[(&str, &str)],
    ) -> String {
        let mut xml = message_head(corp_id, from_user_name, msg_type);
        push_fields(&mut xml, fields);
        push_wecom_tail(&mut xml);
        xml
    }

    /// A WeCom picture message (WeCom doc 消息格式, 图片消息): `PicUrl` and
    /// `MediaId`, with the current time and a fresh `MsgId`.
    pub fn image_message(
        corp_id: &str,
        from_user_name: &str,
        pic_url: &str,
        media_id: &str,
    ) -> String {
        Self::wecom_message(
            corp_id,
            from_user_name,
            "image",
            &[("PicUrl", pic_url), ("MediaId", media_id)],
        )
    }

    /// A WeCom location message (WeCom doc 消息格式, 位置消息):
    /// `Location_X` (latitude), `Location_Y` (longitude), `Scale` and
    /// `Label`, with the current time and a fresh `MsgId`.
    pub fn location_message(
        corp_id: &str,
        from_user_name: &str,
        latitude: f64,
        longitude: f64,
        scale: u32,
        label: &str,
    ) -> String {
        let mut xml = message_head(corp_id, from_user_name, "location");
        // The numbers as plain text, not CDATA.
        xml.push_str(&format!(
            "<Location_X>{latitude}</Location_X><Location_Y>{longitude}</Location_Y><Scale>{scale}</Scale>"
        ));
        xml::push_element(&mut xml, "Label", label);
        push_wecom_tail(&mut xml);
        xml
    }

    /// An app event with `AgentID` 1 (WeCom doc 事件格式).
    fn agent_event(corp_id: &str, from_user_name: &str, event: &str, event_key: &str) -> String {
        Self::event_message(
            corp_id,
            from_user_name,
            event,
            &[("EventKey", event_key), ("AgentID", "1")],
        )
    }

    /// The `click` event of a menu item whose key is `event_key` (WeCom doc
    /// 事件格式, 点击菜单拉取消息的事件推送).
    pub fn click_event(corp_id: &str, from_user_name: &str, event_key: &str) -> String {
        Self::agent_event(corp_id, from_user_name, "click", event_key)
    }

    /// The `view` event of a menu item that opens `url` (WeCom doc 事件格式,
    /// 点击菜单跳转链接的事件推送).
    pub fn view_event(corp_id: &str, from_user_name: &str, url: &str) -> String {
        Self::agent_event(corp_id, from_user_name, "view", url)
    }

    /// The `enter_agent` event: the member opened the app (WeCom doc
    /// 事件格式, 进入应用).
    pub fn enter_agent(corp_id: &str, from_user_name: &str) -> String {
        Self::agent_event(corp_id, from_user_name, "enter_agent", "")
    }

    /// A `change_contact` event from `sys` (WeCom doc 通讯录回调通知, e.g.
    /// 更新成员事件): `ChangeType` (`create_user`, `update_user`,
    /// `delete_user`, …) and `UserID`, without `AgentID`.
    pub fn change_contact(corp_id: &str, change_type: &str, user_id: &str) -> String {
        Self::event_message(
            corp_id,
            "sys",
            "change_contact",
            &[("ChangeType", change_type), ("UserID", user_id)],
        )
    }

    /// A suite's `suite_ticket` push (WeCom doc 推送suite_ticket).
    pub fn suite_ticket(suite_id: &str, ticket: &str) -> String {
        Self::suite_push(suite_id, "suite_ticket", &[("SuiteTicket", ticket)])
    }

    /// An Open Platform `component_verify_ticket` push (WeChat Open Platform
    /// doc 验证票据).
    pub fn component_verify_ticket(component_appid: &str, ticket: &str) -> String {
        Self::component_push(
            component_appid,
            "component_verify_ticket",
            &[("ComponentVerifyTicket", ticket)],
        )
    }

    /// A suite instruction push of `info_type` with `fields` after
    /// `SuiteId` and `InfoType`, and `TimeStamp` now (WeCom doc 回调通知).
    fn suite_push(suite_id: &str, info_type: &str, fields: &[(&str, &str)]) -> String {
        let mut xml = String::from("<xml>");
        xml::push_element(&mut xml, "SuiteId", suite_id);
        xml::push_element(&mut xml, "InfoType", info_type);
        xml.push_str(&format!("<TimeStamp>{}</TimeStamp>", now_secs()));
        push_fields(&mut xml, fields);
        xml.push_str("</xml>");
        xml
    }

    /// A suite's `create_auth` push: a corp installed the app (WeCom doc
    /// 授权成功通知). `auth_code` is the temporary code (valid 10 minutes)
    /// that the permanent-code exchange (获取企业永久授权码) turns into the
    /// corp's `permanent_code`; `state` the install link's `state`.
    pub fn create_auth(suite_id: &str, auth_code: &str, state: &str) -> String {
        Self::suite_push(
            suite_id,
            "create_auth",
            &[("AuthCode", auth_code), ("State", state)],
        )
    }

    /// A suite's `change_auth` push: the corp `auth_corp_id` changed the
    /// app's authorization (WeCom doc 变更授权通知).
    pub fn change_auth(suite_id: &str, auth_corp_id: &str, state: &str) -> String {
        Self::suite_push(
            suite_id,
            "change_auth",
            &[("AuthCorpId", auth_corp_id), ("State", state)],
        )
    }

    /// A suite's `cancel_auth` push: the corp `auth_corp_id` removed the
    /// app (WeCom doc 取消授权通知).
    pub fn cancel_auth(suite_id: &str, auth_corp_id: &str) -> String {
        Self::suite_push(suite_id, "cancel_auth", &[("AuthCorpId", auth_corp_id)])
    }

    /// An Official Account's `subscribe` event: `openid` followed the
    /// account `to_user_name` (its `gh_` original id) (WeChat doc 关注/取消关注事件).
    pub fn subscribe(to_user_name: &str, openid: &str) -> String {
        Self::event_message(to_user_name, openid, "subscribe", &[])
    }

    /// An Official Account's `subscribe` event by a QR code with a scene:
    /// `EventKey` `qrscene_<scene>` and the code's `Ticket` (WeChat doc
    /// 扫描带参数二维码事件, 用户未关注时).
    pub fn subscribe_by_scan(
        to_user_name: &str,
        openid: &str,
        scene: &str,
        ticket: &str,
    ) -> String {
        let event_key = format!("qrscene_{scene}");
        Self::event_message(
            to_user_name,
            openid,
            "subscribe",
            &[("EventKey", &event_key), ("Ticket", ticket)],
        )
    }

    /// An Official Account's `SCAN` event: a follower scanned a QR code
    /// whose scene is `scene` (WeChat doc 扫描带参数二维码事件, 用户已关注时).
    pub fn scan(to_user_name: &str, openid: &str, scene: &str, ticket: &str) -> String {
        Self::event_message(
            to_user_name,
            openid,
            "SCAN",
            &[("EventKey", scene), ("Ticket", ticket)],
        )
    }

    /// A WeCom app's `template_card_event`: the member tapped the button
    /// `event_key` of the card `task_id` of kind `card_type`
    /// (`button_interaction`, `vote_interaction`, …), with a fresh
    /// `ResponseCode` and, for selection and vote cards, the chosen options
    /// as `(question_key, [option_id, …])` (WeCom doc 模板卡片事件推送).
    pub fn template_card_event(
        corp_id: &str,
        from_user_name: &str,
        card_type: &str,
        task_id: &str,
        event_key: &str,
        selected: &[(&str, &[&str])],
    ) -> String {
        let response_code = format!("rc{}", fresh_msg_id());
        let mut xml = Self::event_message(
            corp_id,
            from_user_name,
            "template_card_event",
            &[
                ("EventKey", event_key),
                ("TaskId", task_id),
                ("CardType", card_type),
                ("ResponseCode", &response_code),
                ("AgentID", "1"),
            ],
        );
        if !selected.is_empty() {
            let mut items = String::from("<SelectedItems>");
            for (question_key, option_ids) in selected {
                items.push_str("<SelectedItem>");
                xml::push_element(&mut items, "QuestionKey", question_key);
                items.push_str("<OptionIds>");
                for option_id in *option_ids {
                    xml::push_element(&mut items, "OptionId", option_id);
                }
                items.push_str("</OptionIds></SelectedItem>");
            }
            items.push_str("</SelectedItems></xml>");
            if let Some(open) = xml.strip_suffix("</xml>") {
                xml = format!("{open}{items}");
            }
        }
        xml
    }

    /// An Open Platform push of `info_type` to `component_appid`, with
    /// `fields` after `AppId`, `CreateTime` now and `InfoType` (WeChat Open
    /// Platform docs 验证票据, 授权变更通知推送).
    fn component_push(component_appid: &str, info_type: &str, fields: &[(&str, &str)]) -> String {
        let mut xml = String::from("<xml>");
        xml::push_element(&mut xml, "AppId", component_appid);
        xml.push_str(&format!("<CreateTime>{}</CreateTime>", now_secs()));
        xml::push_element(&mut xml, "InfoType", info_type);
        push_fields(&mut xml, fields);
        xml.push_str("</xml>");
        xml
    }

    /// The authorization fields of `authorized` and `updateauthorized`:
    /// the code, its expiry an hour from now, the pre-auth code.
    fn authorization_push(
        component_appid: &str,
        info_type: &str,
        authorizer_appid: &str,
        authorization_code: &str,
    ) -> String {
        let expires = (now_secs() + 3600).to_string();
        Self::component_push(
            component_appid,
            info_type,
            &[
                ("AuthorizerAppid", authorizer_appid),
                ("AuthorizationCode", authorization_code),
                ("AuthorizationCodeExpiredTime", &expires),
                ("PreAuthCode", "preauthcode@@@test"),
            ],
        )
    }

    /// An Open Platform `authorized` push: the account `authorizer_appid`
    /// authorized the component; `authorization_code` is what 使用授权码获取授权信息
    /// exchanges for its `authorizer_refresh_token` (WeChat Open Platform
    /// doc 授权变更通知推送).
    pub fn authorized(
        component_appid: &str,
        authorizer_appid: &str,
        authorization_code: &str,
    ) -> String {
        Self::authorization_push(
            component_appid,
            "authorized",
            authorizer_appid,
            authorization_code,
        )
    }

    /// An Open Platform `updateauthorized` push: the account changed the
    /// permissions it grants (same fields as [`authorized`](Self::authorized)).
    pub fn updateauthorized(
        component_appid: &str,
        authorizer_appid: &str,
        authorization_code: &str,
    ) -> String {
        Self::authorization_push(
            component_appid,
            "updateauthorized",
            authorizer_appid,
            authorization_code,
        )
    }

    /// An Open Platform `unauthorized` push: the account `authorizer_appid`
    /// withdrew its authorization.
    pub fn unauthorized(component_appid: &str, authorizer_appid: &str) -> String {
        Self::component_push(
            component_appid,
            "unauthorized",
            &[("AuthorizerAppid", authorizer_appid)],
        )
    }

    /// A robot text message (WeCom doc 智能机器人 接收消息), as decrypted JSON,
    /// with a fresh `msgid`.
    pub fn bot_text(from_user_id: &str, content: &str) -> String {
        serde_json::json!({
            "msgid": format!("m{}", fresh_msg_id()),
            "aibotid": "AIBOTID",
            "chattype": "single",
            "from": {"userid": from_user_id},
            "response_url": "https://example.invalid/response",
            "msgtype": "text",
            "text": {"content": content},
        })
        .to_string()
    }
}

/// `<xml>` and the header of every WeCom and WeChat message and event:
/// `ToUserName`, `FromUserName`, `CreateTime` (now, in seconds) and
/// `MsgType` (WeCom doc 消息格式).
fn message_head(to_user_name: &str, from_user_name: &str, msg_type: &str) -> String {
    let mut xml = String::from("<xml>");
    xml::push_element(&mut xml, "ToUserName", to_user_name);
    xml::push_element(&mut xml, "FromUserName", from_user_name);
    xml.push_str(&format!("<CreateTime>{}</CreateTime>", now_secs()));
    xml::push_element(&mut xml, "MsgType", msg_type);
    xml
}

/// Appends each `(name, text)` as an element with its text in CDATA.
fn push_fields(xml: &mut String, fields: &[(&str, &str)]) {
    for (name, text) in fields {
        xml::push_element(xml, name, text);
    }
}

/// Closes a WeCom app message: a fresh `MsgId`, `AgentID` 1 and `</xml>`.
fn push_wecom_tail(xml: &mut String) {
    xml.push_str(&format!(
        "<MsgId>{}</MsgId><AgentID>1</AgentID></xml>",
        fresh_msg_id()
    ));
}
