//! The parts of some replies: news articles (with the article limit) and
//! music.

use std::fmt;

/// Most articles a news reply may carry (WeCom doc 被动回复消息格式, 图文消息).
pub(super) const MAX_ARTICLES: usize = 8;

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

/// The `Music` element of a music reply (WeChat doc 被动回复用户消息, 回复音乐消息).
///
/// ```
/// use wecom_callback::message::{Music, Reply};
///
/// let reply = Reply::music(
///     Music::new("THUMB_MEDIA_ID").title("Song").music_url("https://example.com/a.mp3"),
/// );
/// assert!(reply.to_xml("openid", "gh_1", 0).contains("<MusicUrl><![CDATA[https://example.com/a.mp3]]></MusicUrl>"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Music {
    /// `Title`, omitted when `None`.
    pub title: Option<String>,
    /// `Description`, omitted when `None`.
    pub description: Option<String>,
    /// `MusicUrl`: the music link, omitted when `None`.
    pub music_url: Option<String>,
    /// `HQMusicUrl`: the high-quality link (played on Wi-Fi), omitted when
    /// `None`.
    pub hq_music_url: Option<String>,
    /// `ThumbMediaId`: media id of the cover picture.
    pub thumb_media_id: String,
}

impl Music {
    /// Music with a cover picture (`ThumbMediaId`) only.
    #[must_use]
    pub fn new(thumb_media_id: impl Into<String>) -> Self {
        Self {
            title: None,
            description: None,
            music_url: None,
            hq_music_url: None,
            thumb_media_id: thumb_media_id.into(),
        }
    }

    /// Sets `Title`.
    #[must_use]
    pub fn title(mut self, title: impl Into<String>) -> Self {
        self.title = Some(title.into());
        self
    }

    /// Sets `Description`.
    #[must_use]
    pub fn description(mut self, description: impl Into<String>) -> Self {
        self.description = Some(description.into());
        self
    }

    /// Sets `MusicUrl`.
    #[must_use]
    pub fn music_url(mut self, url: impl Into<String>) -> Self {
        self.music_url = Some(url.into());
        self
    }

    /// Sets `HQMusicUrl`.
    #[must_use]
    pub fn hq_music_url(mut self, url: impl Into<String>) -> Self {
        self.hq_music_url = Some(url.into());
        self
    }
}

/// [`Reply::news`](super::Reply::news) was given no article or more than 8.
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
    pub(super) count: usize,
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
