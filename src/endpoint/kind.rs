//! The callback kinds and what each means on the wire: one place for the
//! kind-specific knowledge (acknowledgement, reply format, signature scheme,
//! body format). See the [parent module](super) for the table.

use std::fmt;

/// WeChat Official Account message encryption mode (公众号 消息加解密方式), as
/// chosen in the account's 基本配置 → 服务器配置.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OfficialAccountMode {
    /// 明文模式: no encryption; only the query `signature` (over Token,
    /// `timestamp` and `nonce`) is checked. It does **not** cover the body:
    /// anyone who once saw a signed URL can post any message with it
    /// inside the timestamp window. Use safe mode where you can.
    Plaintext,
    /// 兼容模式: the body carries the plaintext fields *and* `Encrypt`; the
    /// layer verifies `msg_signature`, decrypts, and ignores the plaintext
    /// copy.
    Compatible,
    /// 安全模式: `ToUserName` + `Encrypt` only.
    Safe,
}

/// Which callback a URL serves; fixed by configuration, never by the
/// request. See the [module docs](super) for what each kind means on the
/// wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum CallbackKind {
    /// A WeCom self-built app (企业内部开发) or a 服务商代开发 app: the
    /// "接收消息" URL. Receive id: the corp id. Ack: empty 200.
    WeComApp,
    /// A WeCom third-party suite's instruction callback (指令回调:
    /// `suite_ticket`, `create_auth`, `change_auth`, `cancel_auth`,
    /// `reset_permanent_code`, `register_corp`, third-party `change_contact`
    /// …). Receive id: the suite id (`""` for individual-subject apps). Ack:
    /// the bare body `success`; no passive replies.
    WeComSuite,
    /// A WeCom third-party suite's data callback (数据回调): messages and
    /// events of members of authorized corps. Receive id: the provider's
    /// own corp id on GET, an authorized corp's id on POST. Ack: empty 200.
    WeComSuiteData,
    /// The WeCom intelligent robot (智能机器人, API mode): JSON bodies and
    /// replies, receive id `""`. Ack: empty 200.
    WeComBot,
    /// A WeChat Official Account (公众号/服务号) server URL in the given mode.
    /// Receive id: the appid. Ack: `success`.
    OfficialAccount(OfficialAccountMode),
    /// A WeChat Open Platform component's 授权事件接收URL
    /// (`component_verify_ticket`, `authorized`, `unauthorized`,
    /// `updateauthorized`). Receive id: the component appid. Ack:
    /// `success`; no passive replies.
    OpenPlatform,
}

/// How a kind's `GET` URL verification and `POST` are signed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scheme {
    /// WeCom: `msg_signature` over the encrypted `echostr` / `Encrypt`.
    WeCom,
    /// WeChat: `signature` over Token, `timestamp`, `nonce` on GET (echostr
    /// is echoed); on POST `signature` only (plaintext mode) or
    /// `encrypt_type=aes` + `msg_signature` (compatible and safe modes).
    WeChat { encrypted: bool },
}

impl Scheme {
    /// The query parameter that carries the signature: `signature` for
    /// WeChat's URL verification (`get`) and every request in its plaintext
    /// mode, `msg_signature` otherwise (WeCom doc 接收消息与事件 概述; WeChat
    /// doc 消息推送, 消息加解密说明).
    #[cfg(feature = "layer")]
    pub(crate) fn signature_parameter(self, get: bool) -> &'static str {
        match self {
            Self::WeChat { encrypted: false } => "signature",
            Self::WeChat { encrypted: true } if get => "signature",
            _ => "msg_signature",
        }
    }
}

/// What a kind accepts as a passive reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplyFormat {
    /// No passive reply: only the acknowledgement.
    None,
    /// The XML of WeCom doc 被动回复消息格式 / WeChat doc 被动回复用户消息,
    /// sealed into the XML (or, for JSON endpoints, JSON) envelope.
    Xml,
    /// The XML of a WeChat Official Account in plaintext mode: sent as is.
    PlainXml,
    /// The robot's JSON replies (WeCom doc 智能机器人 被动回复消息).
    Json,
}

impl CallbackKind {
    /// The kind's name as the echo example's `WECOM_KIND` spells it:
    /// `wecom_app`, `wecom_suite`, `wecom_suite_data`, `wecom_bot`,
    /// `official_account_plain`, `official_account_compat`,
    /// `official_account_safe`, `open_platform`.
    pub fn name(self) -> &'static str {
        match self {
            Self::WeComApp => "wecom_app",
            Self::WeComSuite => "wecom_suite",
            Self::WeComSuiteData => "wecom_suite_data",
            Self::WeComBot => "wecom_bot",
            Self::OfficialAccount(OfficialAccountMode::Plaintext) => "official_account_plain",
            Self::OfficialAccount(OfficialAccountMode::Compatible) => "official_account_compat",
            Self::OfficialAccount(OfficialAccountMode::Safe) => "official_account_safe",
            Self::OpenPlatform => "open_platform",
        }
    }

    /// The acknowledgement body: `"success"` for suite instruction
    /// callbacks, Official Accounts and Open Platform (WeCom doc 回调通知
    /// 概述: "必须直接返回字符串 success"; WeChat doc 被动回复用户消息), `""` (an
    /// empty 200) for WeCom apps, data callbacks and the robot (WeCom doc
    /// 接收消息与事件 概述: "直接返回200（即以空串为返回包）").
    pub fn ack_body(self) -> &'static str {
        match self {
            Self::WeComApp | Self::WeComSuiteData | Self::WeComBot => "",
            Self::WeComSuite | Self::OfficialAccount(_) | Self::OpenPlatform => "success",
        }
    }

    /// What passive reply format the kind can carry. Which replies exactly
    /// (an Official Account takes `music` but not `update_button`, a WeCom
    /// app the opposite) is
    /// [`Reply::check_for`](crate::message::Reply::check_for), which the
    /// layer asks before it seals a reply.
    pub fn reply_format(self) -> ReplyFormat {
        match self {
            Self::WeComApp | Self::WeComSuiteData => ReplyFormat::Xml,
            Self::OfficialAccount(OfficialAccountMode::Plaintext) => ReplyFormat::PlainXml,
            Self::OfficialAccount(_) => ReplyFormat::Xml,
            Self::WeComBot => ReplyFormat::Json,
            Self::WeComSuite | Self::OpenPlatform => ReplyFormat::None,
        }
    }

    pub(crate) fn scheme(self) -> Scheme {
        match self {
            Self::WeComApp | Self::WeComSuite | Self::WeComSuiteData | Self::WeComBot => {
                Scheme::WeCom
            }
            Self::OfficialAccount(OfficialAccountMode::Plaintext) => {
                Scheme::WeChat { encrypted: false }
            }
            Self::OfficialAccount(_) | Self::OpenPlatform => Scheme::WeChat { encrypted: true },
        }
    }
}

impl fmt::Display for CallbackKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The body format of an endpoint's POSTs and encrypted replies, fixed by
/// configuration (never guessed from `Content-Type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BodyFormat {
    /// `<xml><ToUserName/><AgentID/><Encrypt/></xml>` in,
    /// `<xml><Encrypt/><MsgSignature/><TimeStamp/><Nonce/></xml>` out.
    Xml,
    /// `{"encrypt": …}` (or `"Encrypt"`, plus optional `tousername` /
    /// `agentid`) in, `{"encrypt","msgsignature","timestamp","nonce"}` out:
    /// the robot and the vendor's JSON callback libraries.
    Json,
}
