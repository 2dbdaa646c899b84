//! [`TemplateCard`]: typed builders for the five template card kinds of
//! WeCom doc 模版卡片类型 (`text_notice`, `news_notice`,
//! `button_interaction`, `vote_interaction`, `multiple_interaction`).

use std::fmt;
use std::marker::PhantomData;

use serde_json::{Map, Value, json};

/// The card kinds, as type parameters of [`TemplateCard`].
pub mod card_kind {
    /// `text_notice` (文本通知模版卡片).
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub struct TextNotice;
    /// `news_notice` (图文展示模版卡片).
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub struct NewsNotice;
    /// `button_interaction` (按钮交互模版卡片).
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub struct ButtonInteraction;
    /// `vote_interaction` (投票选择模版卡片).
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub struct VoteInteraction;
    /// `multiple_interaction` (多项选择模版卡片).
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub struct MultipleInteraction;
}

use card_kind::{ButtonInteraction, MultipleInteraction, NewsNotice, TextNotice, VoteInteraction};

/// A template card of kind `K` ([`card_kind`]), built field by field, for
/// [`Reply::card`](super::Reply::card) (the robot's `template_card` reply)
/// and [`Reply::update_card`](super::Reply::update_card) (a WeCom app's or
/// the robot's `update_template_card`).
///
/// Each kind has its own type, so a setter exists only where the vendor
/// document lists the field for that kind (a button on a `text_notice` does
/// not compile). The result is the vendor's JSON `TemplateCard` object; the
/// raw form ([`Reply::template_card`](super::Reply::template_card),
/// [`Reply::update_template_card`](super::Reply::update_template_card) with
/// a `serde_json::Value`) stays for fields these builders do not cover.
/// Strings may hold any text (Chinese included); an empty optional string
/// (a `desc`, a `selected_id`) is left out. Lengths and counts the platform
/// enforces (at most 6 buttons, 3 selectors, …) are not checked.
///
/// Source: WeCom doc 模版卡片类型 (its structures Source, ActionMenu,
/// MainTitle, EmphasisContent, QuoteArea, HorizontalContent, JumpAction,
/// CardAction, VerticalContent, CardImage, ImageTextArea, SubmitButton,
/// SelectionItem, Button, CheckBox) and WeCom doc 被动回复消息格式
/// (模板卡片更新消息, `replace_text`).
///
/// ```
/// use wecom_callback::message::{Reply, TemplateCard};
///
/// let card = TemplateCard::button_interaction("task_42")
///     .main_title("报销审批 expense", "金额 ¥128.50")
///     .horizontal_content("申请人", "张三 Zhang")
///     .button("同意 approve", "approve")
///     .styled_button("驳回", "reject", 2);
/// let json = card.to_value();
/// assert_eq!(json["card_type"], "button_interaction");
/// assert_eq!(json["button_list"][1]["style"], 2);
///
/// // The robot's reply, and the update of a WeCom app's card.
/// let reply = Reply::card(card.clone());
/// assert_eq!(reply.msg_type(), "template_card");
/// let update = Reply::update_card(card.replace_text("已同意 done"));
/// let xml = update.to_xml("zhangsan", "ww0123", 0);
/// assert!(xml.contains("<ReplaceText><![CDATA[已同意 done]]></ReplaceText>"));
/// ```
#[derive(Clone, PartialEq)]
pub struct TemplateCard<K> {
    fields: Map<String, Value>,
    kind: PhantomData<K>,
}

impl<K> fmt::Debug for TemplateCard<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TemplateCard")
            .field("fields", &self.fields)
            .finish()
    }
}

impl<K> TemplateCard<K> {
    fn new(card_type: &str) -> Self {
        let mut fields = Map::new();
        fields.insert("card_type".to_owned(), Value::from(card_type));
        Self {
            fields,
            kind: PhantomData,
        }
    }

    fn set(mut self, key: &str, value: Value) -> Self {
        self.fields.insert(key.to_owned(), value);
        self
    }

    /// Appends `item` to the array `key`, creating it.
    fn push(mut self, key: &str, item: Value) -> Self {
        append(&mut self.fields, key, item);
        self
    }

    /// The card as the vendor's JSON `TemplateCard` object.
    pub fn to_value(&self) -> Value {
        Value::Object(self.fields.clone())
    }

    /// The card as the vendor's JSON `TemplateCard` object.
    pub fn into_value(self) -> Value {
        Value::Object(self.fields)
    }

    /// `source`: the card's origin line, an icon and a short text (建议不超过
    /// 13个字). An empty `icon_url` is left out.
    #[must_use]
    pub fn source(self, icon_url: impl Into<String>, desc: impl Into<String>) -> Self {
        let value = object(&[("icon_url", icon_url.into()), ("desc", desc.into())]);
        self.set("source", value)
    }

    /// `main_title`: `title` (一级标题) and `desc` (标题辅助信息; empty: left
    /// out).
    #[must_use]
    pub fn main_title(self, title: impl Into<String>, desc: impl Into<String>) -> Self {
        let value = object(&[("title", title.into()), ("desc", desc.into())]);
        self.set("main_title", value)
    }

    /// `task_id`: the card's id, returned in its
    /// [`TemplateCardEvent`](super::TemplateCardEvent) (digits, letters and
    /// `_-@`, at most 128 bytes; unique per app or robot).
    #[must_use]
    pub fn task_id(self, task_id: impl Into<String>) -> Self {
        self.set("task_id", Value::from(task_id.into()))
    }
}

/// `{"k": "v", …}` without the pairs whose value is empty.
fn object(pairs: &[(&str, String)]) -> Value {
    let map: Map<String, Value> = pairs
        .iter()
        .filter(|(_, value)| !value.is_empty())
        .map(|(key, value)| ((*key).to_owned(), Value::from(value.as_str())))
        .collect();
    Value::Object(map)
}

/// Appends `item` to the array `key` of `map`, creating it (or replacing
/// a value that is no array).
fn append(map: &mut Map<String, Value>, key: &str, item: Value) {
    let slot = map
        .entry(key.to_owned())
        .or_insert_with(|| Value::Array(Vec::new()));
    if let Value::Array(items) = slot {
        items.push(item);
    } else {
        *slot = Value::Array(vec![item]);
    }
}

/// A `SelectionItem` (a drop-down): `question_key`, `title`,
/// `selected_id` (empty: left out) and its `option_list`.
fn selection<I, S, T>(
    question_key: impl Into<String>,
    title: impl Into<String>,
    options_list: I,
    selected_id: impl Into<String>,
) -> Value
where
    I: IntoIterator<Item = (S, T)>,
    S: Into<String>,
    T: Into<String>,
{
    let mut value = object(&[
        ("question_key", question_key.into()),
        ("title", title.into()),
        ("selected_id", selected_id.into()),
    ]);
    if let Value::Object(map) = &mut value {
        map.insert("option_list".to_owned(), options(options_list));
    }
    value
}

/// `option_list`: `{"id", "text"}` objects.
fn options<I, S, T>(list: I) -> Value
where
    I: IntoIterator<Item = (S, T)>,
    S: Into<String>,
    T: Into<String>,
{
    Value::Array(
        list.into_iter()
            .map(|(id, text)| json!({"id": id.into(), "text": text.into()}))
            .collect(),
    )
}

impl TemplateCard<TextNotice> {
    /// A `text_notice` card. The platform needs a
    /// [`card_action_url`](Self::card_action_url), and
    /// [`main_title`](Self::main_title) or
    /// [`sub_title_text`](Self::sub_title_text).
    #[must_use]
    pub fn text_notice() -> Self {
        Self::new("text_notice")
    }

    /// `emphasis_content`: a key figure (`title`, e.g. `"100"`) and what it
    /// means (`desc`).
    #[must_use]
    pub fn emphasis_content(self, title: impl Into<String>, desc: impl Into<String>) -> Self {
        let value = object(&[("title", title.into()), ("desc", desc.into())]);
        self.set("emphasis_content", value)
    }
}

impl TemplateCard<NewsNotice> {
    /// A `news_notice` card. The platform needs
    /// [`main_title`](Self::main_title), a
    /// [`card_action_url`](Self::card_action_url), and a
    /// [`card_image`](Self::card_image) or an
    /// [`image_text_area`](Self::image_text_area).
    #[must_use]
    pub fn news_notice() -> Self {
        Self::new("news_notice")
    }

    /// `card_image`: a picture across the card; `aspect_ratio` is width
    /// over height (1.3 to 2.25).
    #[must_use]
    pub fn card_image(self, url: impl Into<String>, aspect_ratio: f64) -> Self {
        self.set(
            "card_image",
            json!({"url": url.into(), "aspect_ratio": aspect_ratio}),
        )
    }

    /// `image_text_area`: a picture on the left, `title` and `desc` on the
    /// right, opening `url` when tapped (`type` 1).
    #[must_use]
    pub fn image_text_area(
        self,
        title: impl Into<String>,
        desc: impl Into<String>,
        image_url: impl Into<String>,
        url: impl Into<String>,
    ) -> Self {
        let mut value = object(&[
            ("title", title.into()),
            ("desc", desc.into()),
            ("image_url", image_url.into()),
            ("url", url.into()),
        ]);
        if let Value::Object(map) = &mut value {
            map.insert("type".to_owned(), Value::from(1));
        }
        self.set("image_text_area", value)
    }

    /// Appends to `vertical_content_list` (at most 4): a `title` and its
    /// `desc` below it.
    #[must_use]
    pub fn vertical_content(self, title: impl Into<String>, desc: impl Into<String>) -> Self {
        let value = object(&[("title", title.into()), ("desc", desc.into())]);
        self.push("vertical_content_list", value)
    }
}

impl TemplateCard<ButtonInteraction> {
    /// A `button_interaction` card with its `task_id` (required: the
    /// [`TemplateCardEvent`](super::TemplateCardEvent) of a tap carries it).
    /// Add [`main_title`](Self::main_title) and [`button`](Self::button)s.
    #[must_use]
    pub fn button_interaction(task_id: impl Into<String>) -> Self {
        Self::new("button_interaction").task_id(task_id)
    }

    /// Appends to `button_list` (at most 6) a button showing `text`; a tap
    /// sends `key` as the event's `EventKey`.
    #[must_use]
    pub fn button(self, text: impl Into<String>, key: impl Into<String>) -> Self {
        self.push(
            "button_list",
            json!({"text": text.into(), "key": key.into()}),
        )
    }

    /// As [`button`](Self::button), with `style` (1 to 4: the vendor's
    /// button colours).
    #[must_use]
    pub fn styled_button(self, text: impl Into<String>, key: impl Into<String>, style: u8) -> Self {
        self.push(
            "button_list",
            json!({"text": text.into(), "style": style, "key": key.into()}),
        )
    }

    /// `button_selection`: a drop-down above the buttons, `options` as
    /// `(id, text)` pairs, `selected_id` preselected (empty: none).
    #[must_use]
    pub fn button_selection<I, S, T>(
        self,
        question_key: impl Into<String>,
        title: impl Into<String>,
        options_list: I,
        selected_id: impl Into<String>,
    ) -> Self
    where
        I: IntoIterator<Item = (S, T)>,
        S: Into<String>,
        T: Into<String>,
    {
        let value = selection(question_key, title, options_list, selected_id);
        self.set("button_selection", value)
    }
}

impl TemplateCard<VoteInteraction> {
    /// A `vote_interaction` card: one question (`checkbox`) whose answers
    /// come back under `question_key`, with its `task_id`. Add
    /// [`main_title`](Self::main_title), [`option`](Self::option)s and the
    /// [`submit_button`](Self::submit_button).
    #[must_use]
    pub fn vote_interaction(task_id: impl Into<String>, question_key: impl Into<String>) -> Self {
        Self::new("vote_interaction")
            .task_id(task_id)
            .set("checkbox", json!({"question_key": question_key.into()}))
    }

    fn checkbox_option(mut self, item: Value) -> Self {
        if let Some(Value::Object(checkbox)) = self.fields.get_mut("checkbox") {
            append(checkbox, "option_list", item);
        }
        self
    }

    /// Appends an answer (`id`, shown as `text`) to the question.
    #[must_use]
    pub fn option(self, id: impl Into<String>, text: impl Into<String>) -> Self {
        self.checkbox_option(json!({"id": id.into(), "text": text.into()}))
    }

    /// Appends an answer that starts ticked.
    #[must_use]
    pub fn checked_option(self, id: impl Into<String>, text: impl Into<String>) -> Self {
        self.checkbox_option(json!({"id": id.into(), "text": text.into(), "is_checked": true}))
    }

    /// Lets the member tick several answers (`mode` 1; by default one).
    #[must_use]
    pub fn multiple_choice(mut self) -> Self {
        if let Some(Value::Object(checkbox)) = self.fields.get_mut("checkbox") {
            checkbox.insert("mode".to_owned(), Value::from(1));
        }
        self
    }
}

impl TemplateCard<MultipleInteraction> {
    /// A `multiple_interaction` card (at most 3 drop-downs, each a
    /// [`select`](Self::select)), with its `task_id`. Add
    /// [`main_title`](Self::main_title) and the
    /// [`submit_button`](Self::submit_button).
    #[must_use]
    pub fn multiple_interaction(task_id: impl Into<String>) -> Self {
        Self::new("multiple_interaction").task_id(task_id)
    }

    /// Appends to `select_list` a drop-down titled `title` whose choice
    /// comes back under `question_key`; `options` as `(id, text)` pairs,
    /// `selected_id` preselected (empty: none).
    #[must_use]
    pub fn select<I, S, T>(
        self,
        question_key: impl Into<String>,
        title: impl Into<String>,
        options_list: I,
        selected_id: impl Into<String>,
    ) -> Self
    where
        I: IntoIterator<Item = (S, T)>,
        S: Into<String>,
        T: Into<String>,
    {
        let value = selection(question_key, title, options_list, selected_id);
        self.push("select_list", value)
    }
}

/// Setters of the fields several kinds share, stamped onto each kind that
/// has them.
macro_rules! notice_fields {
    ($($kind:ty),*) => {$(
        impl TemplateCard<$kind> {
            /// `action_menu`: the card's top-right menu, `desc` and
            /// `(text, key)` entries (1 to 3); a tap sends the entry's key
            /// as a [`TemplateCardMenuEvent`](super::TemplateCardMenuEvent).
            /// The platform then needs a `task_id`.
            #[must_use]
            pub fn action_menu<I, S, T>(self, desc: impl Into<String>, entries: I) -> Self
            where
                I: IntoIterator<Item = (S, T)>,
                S: Into<String>,
                T: Into<String>,
            {
                let list: Vec<Value> = entries
                    .into_iter()
                    .map(|(text, key)| json!({"text": text.into(), "key": key.into()}))
                    .collect();
                self.set("action_menu", json!({"desc": desc.into(), "action_list": list}))
            }

            /// `quote_area`: a quoted passage, `title` and `quote_text`
            /// (may hold `\n`).
            #[must_use]
            pub fn quote_area(self, title: impl Into<String>, quote_text: impl Into<String>) -> Self {
                let value = object(&[("title", title.into()), ("quote_text", quote_text.into())]);
                self.set("quote_area", value)
            }

            /// Appends to `horizontal_content_list` (at most 6) a line
            /// `keyname` (二级标题) : `value` (二级文本).
            #[must_use]
            pub fn horizontal_content(self, keyname: impl Into<String>, value: impl Into<String>) -> Self {
                let item = object(&[("keyname", keyname.into()), ("value", value.into())]);
                self.push("horizontal_content_list", item)
            }

            /// As [`horizontal_content`](Self::horizontal_content), the
            /// value opening `url` when tapped (`type` 1).
            #[must_use]
            pub fn horizontal_link(
                self,
                keyname: impl Into<String>,
                value: impl Into<String>,
                url: impl Into<String>,
            ) -> Self {
                self.push(
                    "horizontal_content_list",
                    json!({"keyname": keyname.into(), "value": value.into(), "type": 1, "url": url.into()}),
                )
            }

            /// `card_action`: tapping the card opens `url` (`type` 1).
            #[must_use]
            pub fn card_action_url(self, url: impl Into<String>) -> Self {
                self.set("card_action", json!({"type": 1, "url": url.into()}))
            }
        }
    )*};
}

notice_fields!(TextNotice, NewsNotice, ButtonInteraction);

macro_rules! jump_and_subtitle {
    (jump: $($jump:ty),*; subtitle: $($sub:ty),*) => {
        $(
            impl TemplateCard<$jump> {
                /// Appends to `jump_list` (at most 3) a link `title` that
                /// opens `url` (`type` 1).
                #[must_use]
                pub fn jump_url(self, title: impl Into<String>, url: impl Into<String>) -> Self {
                    self.push("jump_list", json!({"type": 1, "title": title.into(), "url": url.into()}))
                }
            }
        )*
        $(
            impl TemplateCard<$sub> {
                /// `sub_title_text`: the plain text under the title
                /// (建议不超过112个字).
                #[must_use]
                pub fn sub_title_text(self, text: impl Into<String>) -> Self {
                    self.set("sub_title_text", Value::from(text.into()))
                }
            }
        )*
    };
}

jump_and_subtitle!(jump: TextNotice, NewsNotice; subtitle: TextNotice, ButtonInteraction);

macro_rules! interaction_fields {
    ($($kind:ty),*) => {$(
        impl TemplateCard<$kind> {
            /// `replace_text`: for an update
            /// ([`Reply::update_card`](super::Reply::update_card)), the
            /// grey, untappable text shown instead of the buttons.
            #[must_use]
            pub fn replace_text(self, text: impl Into<String>) -> Self {
                self.set("replace_text", Value::from(text.into()))
            }
        }
    )*};
}

interaction_fields!(ButtonInteraction, VoteInteraction, MultipleInteraction);

macro_rules! submit_button {
    ($($kind:ty),*) => {$(
        impl TemplateCard<$kind> {
            /// `submit_button`: the button that sends the answers, showing
            /// `text`; its `key` comes back as the event's `EventKey`.
            #[must_use]
            pub fn submit_button(self, text: impl Into<String>, key: impl Into<String>) -> Self {
                self.set("submit_button", json!({"text": text.into(), "key": key.into()}))
            }
        }
    )*};
}

submit_button!(VoteInteraction, MultipleInteraction);

#[cfg(test)]
#[path = "template_card_tests.rs"]
mod tests;
