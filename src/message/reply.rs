//! [`Reply`]: the passive reply of WeCom doc 被动回复消息格式.

use std::fmt;

use crate::xml::{push_cdata, push_element as element};

/// Most articles a news reply may carry (WeCom doc 被动回复消息格式, 图文消息).
const MAX_ARTICLES: usize = 8;

/// A passive reply to a message or event (WeCom doc 被动回复消息格式).
///
/// Build one with [`text`](Self::text), [`image`](Self::image),
/// [`voice`](Self::voice), [`video`](Self::video) or [`news`](Self::news) and
/// render it with [`to_xml`](Self::to_xml); the Tower layer does the
/// rendering and encryption for a handler that returns a `Reply`. Media ids
/// come from the 上传临时素材 API. Limits that WeCom enforces itself are not
/// checked here (a text longer than 2048 bytes is truncated by WeCom).
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
    /// "Received, no reply": the layer answers with what the endpoint's
    /// kind expects (`success` for suite instruction callbacks, Official
    /// Accounts and Open Platform; an empty 200 otherwise). A handler that
    /// returns no `Reply` at all (an empty 200) gets the same answer.
    Ack,
    /// A robot reply given as JSON (WeCom doc 智能机器人 被动回复消息), e.g.
    /// `{"msgtype":"template_card","template_card":{…}}`: sealed into the
    /// robot's JSON envelope as is. Only the robot can carry it.
    #[non_exhaustive]
    BotJson {
        /// The reply object.
        value: serde_json::Value,
    },
}

/// One article of a news reply (`Articles.item`).
///
/// ```
/// use wecom_callback::message::Article;
///
/// let article = Article::new("Title")
///     .description("Summary")
///     .url("https://example.com/post")
///     .pic_url("https://example.com/cover.png");
/// assert_eq!(article.url.as_deref(), Some("https://example.com/post"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Article {
    /// `Title`.
    pub title: String,
    /// `Description`, omitted when `None`.
    pub description: Option<String>,
    /// `Url`: where a tap on the article leads, omitted when `None`.
    pub url: Option<String>,
    /// `PicUrl`: the picture shown with the article (JPG or PNG), omitted
    /// when `None`.
    pub pic_url: Option<String>,
}

impl Article {
    /// An article with a title only.
    #[must_use]
    pub fn new(title: impl Into<String>) -> Self {
        Self {
            title: title.into(),
            description: None,
            url: None,
            pic_url: None,
        }
    }

    /// Sets `Description`.
    #[must_use]
    pub fn description(mut self, description: impl Into<String>) -> Self {
        self.description = Some(description.into());
        self
    }

    /// Sets `Url`, the link the article opens.
    #[must_use]
    pub fn url(mut self, url: impl Into<String>) -> Self {
        self.url = Some(url.into());
        self
    }

    /// Sets `PicUrl`, the article's picture.
    #[must_use]
    pub fn pic_url(mut self, pic_url: impl Into<String>) -> Self {
        self.pic_url = Some(pic_url.into());
        self
    }
}

/// [`Reply::news`] was given no article or more than 8.
///
/// ```
/// use wecom_callback::message::{Article, Reply};
///
/// let err = Reply::news(vec![Article::new("a"); 9]).unwrap_err();
/// assert_eq!(err.count(), 9);
/// assert_eq!(err.to_string(), "a news reply takes 1 to 8 articles, got 9");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NewsError {
    count: usize,
}

impl NewsError {
    /// How many articles were given.
    pub fn count(&self) -> usize {
        self.count
    }
}

impl fmt::Display for NewsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "a news reply takes 1 to {MAX_ARTICLES} articles, got {}",
            self.count
        )
    }
}

impl std::error::Error for NewsError {}

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

    /// A news reply (图文消息) with `articles`, in order.
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

    /// The acknowledgement: "received, nothing to say" (see [`Reply::Ack`]).
    pub fn ack() -> Self {
        Self::Ack
    }

    /// A robot reply given as a JSON object (see [`Reply::BotJson`]).
    pub fn bot_json(value: serde_json::Value) -> Self {
        Self::BotJson { value }
    }

    /// The reply's `MsgType`: `text`, `image`, `voice`, `video` or `news`;
    /// `""` for [`Reply::Ack`] and `"json"` for [`Reply::BotJson`].
    pub fn msg_type(&self) -> &'static str {
        match self {
            Self::Text { .. } => "text",
            Self::Image { .. } => "image",
            Self::Voice { .. } => "voice",
            Self::Video { .. } => "video",
            Self::News { .. } => "news",
            Self::Ack => "",
            Self::BotJson { .. } => "json",
        }
    }

    /// Whether the reply is a passive reply in XML (text, image, voice,
    /// video, news).
    pub fn is_xml(&self) -> bool {
        !matches!(self, Self::Ack | Self::BotJson { .. })
    }

    /// Renders the robot's JSON reply (WeCom doc 智能机器人 被动回复消息):
    /// `{"msgtype":"text","text":{"content":…}}` for a text reply, the
    /// object itself for [`Reply::BotJson`]; `None` for replies the robot
    /// cannot carry (image, voice, video, news, ack).
    ///
    /// ```
    /// use wecom_callback::Reply;
    ///
    /// assert_eq!(
    ///     Reply::text("hi \"you\"").to_bot_json().as_deref(),
    ///     Some(r#"{"msgtype":"text","text":{"content":"hi \"you\""}}"#)
    /// );
    /// assert_eq!(Reply::image("MEDIA").to_bot_json(), None);
    /// ```
    pub fn to_bot_json(&self) -> Option<String> {
        match self {
            Self::Text { content } => Some(
                serde_json::json!({"msgtype": "text", "text": {"content": content}}).to_string(),
            ),
            Self::BotJson { value } => Some(value.to_string()),
            _ => None,
        }
    }

    /// Renders the plaintext reply XML of WeCom doc 被动回复消息格式, on one
    /// line, e.g. for a text reply:
    ///
    /// ```text
    /// <xml><ToUserName><![CDATA[member]]></ToUserName><FromUserName><![CDATA[corp]]></FromUserName><CreateTime>1348831860</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[this is a test]]></Content></xml>
    /// ```
    ///
    /// * `to_user_name`: the member's UserID (the message's `FromUserName`);
    /// * `from_user_name`: the corp id (the message's `ToUserName`);
    /// * `create_time`: unix seconds.
    ///
    /// Every string goes into CDATA, so any text is safe: a `]]>` inside is
    /// split across two sections (`]]]]><![CDATA[>`), and `<`, `&`, quotes
    /// need no escaping. Characters that XML 1.0 cannot carry at all (C0
    /// controls other than tab, LF and CR, such as U+0000, and U+FFFE,
    /// U+FFFF) are dropped: no conforming parser would accept the document
    /// otherwise. Note that XML parsers read CR LF and a lone CR as LF, so
    /// those line breaks arrive as LF. A news reply renders its first 8
    /// articles (the constructor never makes more). [`Reply::Ack`] and
    /// [`Reply::BotJson`] have no XML form and render as `""`.
    pub fn to_xml(&self, to_user_name: &str, from_user_name: &str, create_time: u64) -> String {
        if !self.is_xml() {
            return String::new();
        }
        let mut out = String::with_capacity(256);
        out.push_str("<xml><ToUserName>");
        push_cdata(&mut out, to_user_name);
        out.push_str("</ToUserName><FromUserName>");
        push_cdata(&mut out, from_user_name);
        out.push_str("</FromUserName><CreateTime>");
        out.push_str(&create_time.to_string());
        out.push_str("</CreateTime><MsgType>");
        push_cdata(&mut out, self.msg_type());
        out.push_str("</MsgType>");
        match self {
            Self::Text { content } => element(&mut out, "Content", content),
            Self::Image { media_id } => {
                out.push_str("<Image>");
                element(&mut out, "MediaId", media_id);
                out.push_str("</Image>");
            }
            Self::Voice { media_id } => {
                out.push_str("<Voice>");
                element(&mut out, "MediaId", media_id);
                out.push_str("</Voice>");
            }
            Self::Video {
                media_id,
                title,
                description,
            } => {
                out.push_str("<Video>");
                element(&mut out, "MediaId", media_id);
                optional_element(&mut out, "Title", title.as_deref());
                optional_element(&mut out, "Description", description.as_deref());
                out.push_str("</Video>");
            }
            Self::News { articles } => {
                let articles = articles.iter().take(MAX_ARTICLES);
                out.push_str("<ArticleCount>");
                out.push_str(&articles.len().to_string());
                out.push_str("</ArticleCount><Articles>");
                for article in articles {
                    out.push_str("<item>");
                    element(&mut out, "Title", &article.title);
                    optional_element(&mut out, "Description", article.description.as_deref());
                    optional_element(&mut out, "PicUrl", article.pic_url.as_deref());
                    optional_element(&mut out, "Url", article.url.as_deref());
                    out.push_str("</item>");
                }
                out.push_str("</Articles>");
            }
            Self::Ack | Self::BotJson { .. } => {}
        }
        out.push_str("</xml>");
        out
    }
}

fn optional_element(out: &mut String, name: &str, text: Option<&str>) {
    if let Some(text) = text {
        element(out, name, text);
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;
    use crate::xml::parse;

    #[test]
    fn text_layout() {
        assert_eq!(
            Reply::text("this is a test").to_xml("toUser", "fromUser", 1348831860),
            "<xml><ToUserName><![CDATA[toUser]]></ToUserName><FromUserName><![CDATA[fromUser]]></FromUserName>\
             <CreateTime>1348831860</CreateTime><MsgType><![CDATA[text]]></MsgType>\
             <Content><![CDATA[this is a test]]></Content></xml>"
        );
    }

    #[test]
    fn media_layouts() {
        let head = "<xml><ToUserName><![CDATA[toUser]]></ToUserName><FromUserName><![CDATA[fromUser]]></FromUserName>\
                    <CreateTime>1348831860</CreateTime>";
        assert_eq!(
            Reply::image("media_id").to_xml("toUser", "fromUser", 1348831860),
            format!(
                "{head}<MsgType><![CDATA[image]]></MsgType><Image><MediaId><![CDATA[media_id]]></MediaId></Image></xml>"
            )
        );
        assert_eq!(
            Reply::voice("v").to_xml("toUser", "fromUser", 1348831860),
            format!(
                "{head}<MsgType><![CDATA[voice]]></MsgType><Voice><MediaId><![CDATA[v]]></MediaId></Voice></xml>"
            )
        );
        assert_eq!(
            Reply::video("m").to_xml("toUser", "fromUser", 1348831860),
            format!(
                "{head}<MsgType><![CDATA[video]]></MsgType><Video><MediaId><![CDATA[m]]></MediaId></Video></xml>"
            )
        );
        assert_eq!(
            Reply::video("m")
                .description("d")
                .title("t")
                .to_xml("toUser", "fromUser", 1348831860),
            format!(
                "{head}<MsgType><![CDATA[video]]></MsgType><Video><MediaId><![CDATA[m]]></MediaId>\
                 <Title><![CDATA[t]]></Title><Description><![CDATA[d]]></Description></Video></xml>"
            )
        );
    }

    #[test]
    fn video_setters_ignore_other_kinds() {
        assert_eq!(
            Reply::text("x").title("t").description("d"),
            Reply::text("x")
        );
        let Reply::Video {
            title, description, ..
        } = Reply::video("m").title("t")
        else {
            panic!("not a video")
        };
        assert_eq!((title.as_deref(), description), (Some("t"), None));
    }

    #[test]
    fn news_layout_and_limits() {
        let reply = Reply::news([
            Article::new("title")
                .description("description")
                .pic_url("picUrl")
                .url("url"),
            Article::new("only title"),
        ])
        .unwrap();
        assert_eq!(reply.msg_type(), "news");
        assert_eq!(
            reply.to_xml("toUser", "fromUser", 1122),
            "<xml><ToUserName><![CDATA[toUser]]></ToUserName><FromUserName><![CDATA[fromUser]]></FromUserName>\
             <CreateTime>1122</CreateTime><MsgType><![CDATA[news]]></MsgType><ArticleCount>2</ArticleCount>\
             <Articles><item><Title><![CDATA[title]]></Title><Description><![CDATA[description]]></Description>\
             <PicUrl><![CDATA[picUrl]]></PicUrl><Url><![CDATA[url]]></Url></item>\
             <item><Title><![CDATA[only title]]></Title></item></Articles></xml>"
        );
        assert_eq!(Reply::news([]).unwrap_err().count(), 0);
        assert_eq!(
            Reply::news(vec![Article::new("a"); 9]).unwrap_err().count(),
            9
        );
        let eight = Reply::news(vec![Article::new("a"); 8]).unwrap();
        assert!(
            eight
                .to_xml("u", "c", 0)
                .contains("<ArticleCount>8</ArticleCount>")
        );
    }

    #[test]
    fn news_renders_at_most_eight_even_if_grown() {
        let mut reply = Reply::news([Article::new("a")]).unwrap();
        if let Reply::News { articles } = &mut reply {
            articles.extend(vec![Article::new("b"); 20]);
        }
        let doc = reply.to_xml("u", "c", 0);
        assert!(doc.contains("<ArticleCount>8</ArticleCount>"));
        assert_eq!(doc.matches("<item>").count(), 8);
    }

    #[test]
    fn any_text_round_trips_through_the_reader() {
        let nasty = "a]]>b ]]]]> <tag attr=\"v\"> & &amp; 'q' \"dq\"\nline2\ttab 中文 😀 ]]";
        let to = "user]]><x>";
        let from = "corp&id";
        let out = Reply::text(nasty).to_xml(to, from, u64::MAX);
        let doc = parse(&out).unwrap();
        assert_eq!(doc.root, "xml");
        assert_eq!(doc.get("Content").unwrap().text, nasty);
        assert_eq!(doc.get("ToUserName").unwrap().text, to);
        assert_eq!(doc.get("FromUserName").unwrap().text, from);
        assert_eq!(doc.get("CreateTime").unwrap().text, u64::MAX.to_string());
        assert_eq!(doc.get("MsgType").unwrap().text, "text");
    }

    #[test]
    fn characters_xml_cannot_carry_are_dropped_and_line_ends_normalised() {
        let out =
            Reply::text("a\u{0}b\u{1}c\u{1f}d\u{fffe}e\u{ffff}f\u{7f}\u{85}").to_xml("u", "c", 0);
        assert!(
            out.contains("<Content><![CDATA[abcdef\u{7f}\u{85}]]></Content>"),
            "{out:?}"
        );
        assert_eq!(
            parse(&out).unwrap().get("Content").unwrap().text,
            "abcdef\u{7f}\u{85}"
        );
        let out = Reply::text("1\r\n2\r3\n").to_xml("u", "c", 0);
        assert_eq!(
            parse(&out).unwrap().get("Content").unwrap().text,
            "1\n2\n3\n"
        );
    }

    #[test]
    fn news_strings_are_escaped_too() {
        let reply = Reply::news([Article::new("]]>")
            .description("<d>")
            .url("https://a/?x=1&y=2")
            .pic_url("\u{0}p")])
        .unwrap();
        let out = reply.to_xml("u", "c", 0);
        assert!(parse(&out).is_ok(), "{out}");
        assert!(
            out.contains("<Title><![CDATA[]]]]><![CDATA[>]]></Title>"),
            "{out}"
        );
        assert!(
            out.contains("<Url><![CDATA[https://a/?x=1&y=2]]></Url>"),
            "{out}"
        );
        assert!(out.contains("<PicUrl><![CDATA[p]]></PicUrl>"), "{out}");
    }
}
