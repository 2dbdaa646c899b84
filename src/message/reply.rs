//! [`Reply`]: the passive replies of WeCom doc 被动回复消息格式, WeChat doc
//! 被动回复用户消息 and WeCom doc 智能机器人 被动回复消息, and their
//! constructors. Rendering and the per-kind check are in `render.rs`, the
//! parts (articles, music) in `parts.rs`.

use serde_json::Value;

use super::card::{self, CardError};
use super::parts::{Article, MAX_ARTICLES, Music, NewsError};
use super::template_card::TemplateCard;

/// A passive reply to a message or event.
///
/// Build one with a constructor and return it from the handler; the Tower
/// layer renders it for the endpoint's kind and seals it. Which kinds can
/// carry which reply ([`check_for`](Self::check_for)):
///
/// | reply | WeCom app, suite data callback | Official Account | robot | suite instructions, Open Platform |
/// |---|---|---|---|---|
/// | [`text`](Self::text) | XML | XML | JSON | — |
/// | [`image`](Self::image), [`voice`](Self::voice), [`video`](Self::video), [`news`](Self::news) | XML | XML | — | — |
/// | [`update_button`](Self::update_button), [`update_taskcard`](Self::update_taskcard) | XML | — | — | — |
/// | [`update_template_card`](Self::update_template_card) | XML | — | JSON | — |
/// | [`music`](Self::music), [`transfer_customer_service`](Self::transfer_customer_service) | — | XML | — | — |
/// | [`template_card`](Self::template_card), [`stream`](Self::stream), [`bot_json`](Self::bot_json) | — | — | JSON | — |
/// | [`ack`](Self::ack) | empty 200 | `success` | empty 200 | `success` |
///
/// A reply the kind cannot carry is a programming error the layer answers
/// with 500, never a silent drop. Media ids come from the 上传临时素材 API.
/// Limits the platform enforces itself are not checked (WeCom truncates a
/// text beyond 2048 bytes).
///
/// The variants' fields can be read by matching; new variants and fields may
/// be added, so values are made only through the constructors.
///
/// ```
/// use wecom_callback::message::Reply;
///
/// let reply = Reply::video("MEDIA_ID").title("Demo").description("Two minutes");
/// let xml = reply.to_xml("zhangsan", "ww0123", 1700000000);
/// assert!(xml.contains("<Video><MediaId><![CDATA[MEDIA_ID]]></MediaId><Title><![CDATA[Demo]]></Title>"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Reply {
    /// `MsgType` `text`.
    #[non_exhaustive]
    Text {
        /// `Content`: the text shown to the member.
        content: String,
    },
    /// `MsgType` `image`.
    #[non_exhaustive]
    Image {
        /// `Image.MediaId`: media id of an uploaded picture.
        media_id: String,
    },
    /// `MsgType` `voice`.
    #[non_exhaustive]
    Voice {
        /// `Voice.MediaId`: media id of an uploaded voice file.
        media_id: String,
    },
    /// `MsgType` `video`.
    #[non_exhaustive]
    Video {
        /// `Video.MediaId`: media id of an uploaded video.
        media_id: String,
        /// `Video.Title`, omitted when `None`.
        title: Option<String>,
        /// `Video.Description`, omitted when `None`.
        description: Option<String>,
    },
    /// `MsgType` `news` (图文消息): 1 to 8 articles.
    #[non_exhaustive]
    News {
        /// The articles, in display order.
        articles: Vec<Article>,
    },
    /// `MsgType` `music` (Official Account only, 回复音乐消息).
    #[non_exhaustive]
    Music {
        /// The `Music` element.
        music: Music,
    },
    /// `MsgType` `update_button` (WeCom apps only): changes the text of the
    /// template card button the member tapped, for that member
    /// (模板卡片更新消息, 更新点击用户的按钮文案).
    #[non_exhaustive]
    UpdateButton {
        /// `Button.ReplaceName`: the button's new text.
        replace_name: String,
    },
    /// `MsgType` `update_taskcard` (WeCom apps only): changes the tapped
    /// button of a legacy task card (任务卡片更新消息).
    #[non_exhaustive]
    UpdateTaskcard {
        /// `TaskCard.ReplaceName`: the button's new text.
        replace_name: String,
    },
    /// Replaces the whole template card for the member who tapped it: the
    /// XML `update_template_card` reply of a WeCom app (更新点击用户的整张卡片),
    /// or the robot's JSON `{"response_type":"update_template_card",…}`
    /// (模版卡片更新消息).
    #[non_exhaustive]
    UpdateTemplateCard {
        /// The card as the vendor's JSON `TemplateCard` object
        /// (`{"card_type":"button_interaction","main_title":{…},…}`).
        card: Value,
        /// `userids` (robot only): whose card to replace; empty means every
        /// member the message reached.
        user_ids: Vec<String>,
    },
    /// `MsgType` `transfer_customer_service` (Official Account only): hands
    /// the conversation to the 客服 (customer service) system
    /// (将消息转发到客服).
    #[non_exhaustive]
    TransferCustomerService {
        /// `TransInfo.KfAccount`: a specific 客服 account, omitted when
        /// `None`.
        kf_account: Option<String>,
    },
    /// The robot's `{"msgtype":"template_card","template_card":{…}}` (robot
    /// only, on entering the chat or on a message).
    #[non_exhaustive]
    TemplateCard {
        /// The card as the vendor's JSON `TemplateCard` object.
        card: Value,
    },
    /// The robot's streamed answer `{"msgtype":"stream","stream":{…}}`
    /// (robot only, 流式消息回复): the first reply sets `id`; WeCom then asks
    /// again with stream-refresh callbacks, answered with the same `id` and
    /// the text so far, until `finish`.
    #[non_exhaustive]
    Stream {
        /// `stream.id`: the stream's id, chosen by the app.
        id: String,
        /// `stream.content`: everything so far (markdown, at most 20480
        /// bytes).
        content: String,
        /// `stream.finish`: whether this is the last part.
        finish: bool,
    },
    /// "Received, no reply": the layer answers with what the endpoint's
    /// kind expects (`success` for suite instruction callbacks, Official
    /// Accounts and Open Platform; an empty 200 otherwise). A handler that
    /// returns no `Reply` at all (an empty 200) gets the same answer.
    Ack,
    /// A robot reply given as JSON (WeCom doc 智能机器人 被动回复消息), e.g.
    /// `{"msgtype":"stream_with_template_card",…}`: sealed into the robot's
    /// JSON envelope as is. Only the robot can carry it.
    #[non_exhaustive]
    BotJson {
        /// The reply object.
        value: Value,
    },
}

impl Reply {
    /// A text reply showing `content`.
    #[must_use]
    pub fn text(content: impl Into<String>) -> Self {
        Self::Text {
            content: content.into(),
        }
    }

    /// An image reply; `media_id` is an uploaded picture's media id.
    #[must_use]
    pub fn image(media_id: impl Into<String>) -> Self {
        Self::Image {
            media_id: media_id.into(),
        }
    }

    /// A voice reply; `media_id` is an uploaded voice file's media id.
    #[must_use]
    pub fn voice(media_id: impl Into<String>) -> Self {
        Self::Voice {
            media_id: media_id.into(),
        }
    }

    /// A video reply without title or description; add them with
    /// [`title`](Self::title) and [`description`](Self::description).
    #[must_use]
    pub fn video(media_id: impl Into<String>) -> Self {
        Self::Video {
            media_id: media_id.into(),
            title: None,
            description: None,
        }
    }

    /// Sets the title of a video reply. Other replies are returned
    /// unchanged.
    #[must_use]
    pub fn title(mut self, title: impl Into<String>) -> Self {
        if let Self::Video { title: slot, .. } = &mut self {
            *slot = Some(title.into());
        }
        self
    }

    /// Sets the description of a video reply. Other replies are returned
    /// unchanged.
    #[must_use]
    pub fn description(mut self, description: impl Into<String>) -> Self {
        if let Self::Video {
            description: slot, ..
        } = &mut self
        {
            *slot = Some(description.into());
        }
        self
    }

    /// A news reply (图文消息) with `articles`, in order. For one article
    /// or a literal array, [`news_one`](Self::news_one) and
    /// [`news_array`](Self::news_array) need no `Result`.
    ///
    /// # Errors
    /// [`NewsError`] unless there are 1 to 8 articles (the limit of WeCom doc
    /// 被动回复消息格式; more are not truncated silently).
    pub fn news(articles: impl IntoIterator<Item = Article>) -> Result<Self, NewsError> {
        let articles: Vec<Article> = articles.into_iter().collect();
        if articles.is_empty() || articles.len() > MAX_ARTICLES {
            return Err(NewsError {
                count: articles.len(),
            });
        }
        Ok(Self::News { articles })
    }

    /// A news reply with one article: the common case, which cannot break
    /// the 1-to-8 rule of [`news`](Self::news).
    ///
    /// ```
    /// use wecom_callback::message::{Article, Reply};
    ///
    /// let reply = Reply::news_one(Article::new("周报 weekly").url("https://example.com/w"));
    /// assert_eq!(reply.msg_type(), "news");
    /// ```
    #[must_use]
    pub fn news_one(article: Article) -> Self {
        Self::News {
            articles: vec![article],
        }
    }

    /// A news reply with the `N` articles of an array, `N` from 1 to 8,
    /// checked when the program compiles: no `Result` to handle.
    ///
    /// ```
    /// use wecom_callback::message::{Article, Reply};
    ///
    /// let reply = Reply::news_array([Article::new("一"), Article::new("two")]);
    /// assert_eq!(reply.msg_type(), "news");
    /// ```
    ///
    /// Nine articles (or none) do not compile:
    ///
    /// ```compile_fail
    /// use wecom_callback::message::{Article, Reply};
    ///
    /// let reply = Reply::news_array(std::array::from_fn::<_, 9, _>(|_| Article::new("x")));
    /// ```
    #[must_use]
    pub fn news_array<const N: usize>(articles: [Article; N]) -> Self {
        const {
            assert!(
                N >= 1 && N <= MAX_ARTICLES,
                "a news reply takes 1 to 8 articles"
            );
        }
        Self::News {
            articles: Vec::from(articles),
        }
    }

    /// A music reply (Official Account only).
    #[must_use]
    pub fn music(music: Music) -> Self {
        Self::Music { music }
    }

    /// Changes the tapped template card button's text to `replace_name`
    /// for the member who tapped it (WeCom apps only; the answer to a
    /// [`TemplateCardEvent`](super::TemplateCardEvent)).
    #[must_use]
    pub fn update_button(replace_name: impl Into<String>) -> Self {
        Self::UpdateButton {
            replace_name: replace_name.into(),
        }
    }

    /// Changes the tapped task card button's text to `replace_name` (WeCom
    /// apps only; the answer to a [`TaskcardClick`](super::TaskcardClick)).
    #[must_use]
    pub fn update_taskcard(replace_name: impl Into<String>) -> Self {
        Self::UpdateTaskcard {
            replace_name: replace_name.into(),
        }
    }

    /// Replaces the tapped template card with `card`, the vendor's JSON
    /// `TemplateCard` object: the raw form, for fields the typed builders
    /// ([`update_card`](Self::update_card) with a [`TemplateCard`]) do not
    /// cover (WeCom apps: rendered as the XML `TemplateCard`,
    /// each key in the XML's spelling, `card_type` → `CardType`, arrays as
    /// repeated elements; the robot: sent as JSON). For the robot, keep the
    /// card's `task_id` the one the event carried.
    ///
    /// ```
    /// use serde_json::json;
    /// use wecom_callback::message::Reply;
    ///
    /// let reply = Reply::update_template_card(json!({
    ///     "card_type": "button_interaction",
    ///     "main_title": {"title": "Approved"},
    ///     "button_list": [{"text": "Done", "key": "done"}],
    ///     "replace_text": "Approved",
    /// }))?;
    /// let xml = reply.to_xml("zhangsan", "ww0123", 0);
    /// assert!(xml.contains("<MsgType><![CDATA[update_template_card]]></MsgType><TemplateCard><CardType><![CDATA[button_interaction]]></CardType>"));
    /// assert!(xml.contains("<MainTitle><Title><![CDATA[Approved]]></Title></MainTitle>"));
    /// # Ok::<(), wecom_callback::message::CardError>(())
    /// ```
    ///
    /// # Errors
    /// [`CardError`] unless `card` is an object with a string `card_type`,
    /// keys made of ASCII letters, digits and `_`, nesting at most 16 deep.
    pub fn update_template_card(card: Value) -> Result<Self, CardError> {
        card::check(&card)?;
        Ok(Self::UpdateTemplateCard {
            card,
            user_ids: Vec::new(),
        })
    }

    /// Replaces the tapped template card with a typed `card` (see
    /// [`TemplateCard`]), as [`update_template_card`](Self::update_template_card)
    /// does with a raw one; the typed card needs no check.
    ///
    /// ```
    /// use wecom_callback::message::{Reply, TemplateCard};
    ///
    /// let card = TemplateCard::vote_interaction("task_7", "lunch")
    ///     .main_title("午饭 lunch?", "")
    ///     .option("noodles", "面条")
    ///     .submit_button("提交", "submit")
    ///     .replace_text("已投票 voted");
    /// let xml = Reply::update_card(card).to_xml("zhangsan", "ww0123", 0);
    /// assert!(xml.contains("<TemplateCard><CardType><![CDATA[vote_interaction]]></CardType>"));
    /// assert!(xml.contains("<CheckBox><OptionList><Id><![CDATA[noodles]]></Id><Text><![CDATA[面条]]></Text></OptionList>"));
    /// ```
    #[must_use]
    pub fn update_card<K>(card: TemplateCard<K>) -> Self {
        Self::UpdateTemplateCard {
            card: card.into_value(),
            user_ids: Vec::new(),
        }
    }

    /// The robot's template card reply with a typed `card` (see
    /// [`TemplateCard`]; robot only), as [`template_card`](Self::template_card)
    /// does with a raw one.
    #[must_use]
    pub fn card<K>(card: TemplateCard<K>) -> Self {
        Self::TemplateCard {
            card: card.into_value(),
        }
    }

    /// Sets `userids` of a robot's [`Reply::UpdateTemplateCard`]: replace the
    /// card for these members only. Other replies are returned unchanged.
    #[must_use]
    pub fn for_users<I, S>(mut self, user_ids: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        if let Self::UpdateTemplateCard { user_ids: slot, .. } = &mut self {
            *slot = user_ids.into_iter().map(Into::into).collect();
        }
        self
    }

    /// Hands the conversation to the 客服 system, any free account
    /// (Official Account only).
    #[must_use]
    pub fn transfer_customer_service() -> Self {
        Self::TransferCustomerService { kf_account: None }
    }

    /// Hands the conversation to the 客服 account `kf_account`
    /// (`account@wechat_id`; Official Account only).
    #[must_use]
    pub fn transfer_to_kf_account(kf_account: impl Into<String>) -> Self {
        Self::TransferCustomerService {
            kf_account: Some(kf_account.into()),
        }
    }

    /// The robot's template card reply, `card` being the vendor's JSON
    /// `TemplateCard` object (robot only): the raw form of
    /// [`card`](Self::card).
    ///
    /// # Errors
    /// As [`Reply::update_template_card`].
    pub fn template_card(card: Value) -> Result<Self, CardError> {
        card::check(&card)?;
        Ok(Self::TemplateCard { card })
    }

    /// The robot's streamed answer (robot only): `content` so far, `finish`
    /// on the last part; see [`Reply::Stream`].
    ///
    /// ```
    /// use serde_json::{Value, json};
    /// use wecom_callback::Reply;
    ///
    /// let json = Reply::stream("s1", "**Hi**", false).to_bot_json().unwrap();
    /// assert_eq!(
    ///     serde_json::from_str::<Value>(&json)?,
    ///     json!({"msgtype": "stream", "stream": {"id": "s1", "finish": false, "content": "**Hi**"}})
    /// );
    /// # Ok::<(), serde_json::Error>(())
    /// ```
    #[must_use]
    pub fn stream(id: impl Into<String>, content: impl Into<String>, finish: bool) -> Self {
        Self::Stream {
            id: id.into(),
            content: content.into(),
            finish,
        }
    }

    /// The acknowledgement: "received, nothing to say" (see [`Reply::Ack`]).
    pub fn ack() -> Self {
        Self::Ack
    }

    /// A robot reply given as a JSON object (see [`Reply::BotJson`]).
    pub fn bot_json(value: Value) -> Self {
        Self::BotJson { value }
    }

    /// The reply's `MsgType` (`text`, `image`, `voice`, `video`, `news`,
    /// `music`, `update_button`, `update_taskcard`, `update_template_card`,
    /// `transfer_customer_service`), or the robot's `msgtype`
    /// (`template_card`, `stream`); `""` for [`Reply::Ack`] and `"json"`
    /// for [`Reply::BotJson`].
    pub fn msg_type(&self) -> &'static str {
        match self {
            Self::Text { .. } => "text",
            Self::Image { .. } => "image",
            Self::Voice { .. } => "voice",
            Self::Video { .. } => "video",
            Self::News { .. } => "news",
            Self::Music { .. } => "music",
            Self::UpdateButton { .. } => "update_button",
            Self::UpdateTaskcard { .. } => "update_taskcard",
            Self::UpdateTemplateCard { .. } => "update_template_card",
            Self::TransferCustomerService { .. } => "transfer_customer_service",
            Self::TemplateCard { .. } => "template_card",
            Self::Stream { .. } => "stream",
            Self::Ack => "",
            Self::BotJson { .. } => "json",
        }
    }

    /// Whether the reply has an XML form ([`to_xml`](Self::to_xml) is not
    /// empty): every reply but the acknowledgement and the robot-only ones.
    pub fn is_xml(&self) -> bool {
        !matches!(
            self,
            Self::Ack | Self::BotJson { .. } | Self::TemplateCard { .. } | Self::Stream { .. }
        )
    }
}

#[cfg(test)]
#[path = "reply_tests.rs"]
mod tests;
