//! Command-line arguments (clap derive) and the [`Endpoint`] they describe.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Parser, ValueEnum};
use http::Uri;
use http::uri::{Authority, Scheme};
use wecom_callback::{AuthorizedCorps, CallbackKind, ConfigError, Endpoint};

/// Token of the vendor sample (WeCom doc 加解密方案说明).
pub(crate) const DEMO_TOKEN: &str = "QDG6eK";
/// EncodingAESKey of the vendor sample (WeCom doc 加解密方案说明).
pub(crate) const DEMO_KEY: &str = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C";
/// Corp id of the vendor sample (WeCom doc 加解密方案说明).
pub(crate) const DEMO_CORP_ID: &str = "wx5823bf96d3bd56c7";

const EXAMPLES: &str = "\
Examples:
  # from the crate: the echo example, then the simulator against it
  cargo run --example echo &
  cargo run --features cli --bin wecom-sim -- http://127.0.0.1:3000/wecom/callback

  # your own WeCom app, machine-readable output
  wecom-sim --token T0k3n --encoding-aes-key <43 chars> --corp-id ww0123456789abcdef \\
            --json http://127.0.0.1:8080/wecom/callback

  # a WeChat Official Account in safe mode, with your own sample files
  wecom-sim --kind official_account_safe --receive-id wx0123456789abcdef \\
            --samples ./my-samples http://127.0.0.1:8080/wechat

Exit status: 0 when every check passed, 1 when one failed (or, with --strict,
only warned), 2 for bad arguments or settings.

The callbacks are real: the server's handlers run for each of them. Point it
at a development or staging instance, not at handlers that act on messages.";

/// Acts as WeCom (企业微信) or WeChat against a callback URL, offline.
///
/// Performs the GET URL verification, sends signed and encrypted callbacks
/// of the chosen kind (texts, events and the sample catalog), opens and
/// checks every answer (status, signature, receive id, decryption, XML or
/// JSON, the kind's acknowledgement), then sends forged requests (bad
/// signature, stale timestamp, wrong receive id, oversized body, wrong
/// method, DOCTYPE body) and checks that each one is refused with a 4xx.
/// Like WeCom, it gives every callback 5 seconds and retries it up to three
/// times on a timeout, a connection failure or a status other than 200 (but
/// never a 4xx, which a retry cannot change).
#[derive(Debug, Parser)]
#[command(name = "wecom-sim", version, after_help = EXAMPLES)]
pub(crate) struct Args {
    /// The callback URL, plain HTTP: `http://HOST:PORT/PATH[?QUERY]` (an
    /// existing query is kept after the signature parameters).
    #[arg(value_parser = parse_target)]
    pub(crate) url: Target,

    /// Which callback the URL serves.
    #[arg(long, value_enum, default_value_t = Kind::WecomApp)]
    pub(crate) kind: Kind,

    /// Token (1-32 letters or digits), as set in the console.
    #[arg(long, default_value = DEMO_TOKEN)]
    pub(crate) token: String,

    /// EncodingAESKey (43 letters or digits), as set in the console; unused
    /// by official_account_plain.
    #[arg(long, value_name = "KEY", default_value = DEMO_KEY)]
    pub(crate) encoding_aes_key: String,

    /// The receive id: the corp id (wecom_app), the suite id (wecom_suite),
    /// the provider's corp id (wecom_suite_data), the appid (Official
    /// Accounts) or the component appid (open_platform); unused by
    /// wecom_bot.
    #[arg(
        long,
        value_name = "ID",
        visible_alias = "corp-id",
        default_value = DEMO_CORP_ID
    )]
    pub(crate) receive_id: String,

    /// wecom_suite_data: the authorized corp the data callbacks come from
    /// [default: the receive id].
    #[arg(long, value_name = "CORP_ID")]
    pub(crate) authorized_corp_id: Option<String>,

    /// The sender (`FromUserName`: a member's UserID or a user's openid).
    #[arg(long, default_value = "zhangsan")]
    pub(crate) from: String,

    /// A text message to send; repeat for several. wecom_suite and
    /// open_platform receive system pushes only: they get a suite_ticket or
    /// a component_verify_ticket instead.
    #[arg(
        long = "text",
        value_name = "TEXT",
        default_value = "hello from wecom-sim"
    )]
    pub(crate) texts: Vec<String>,

    /// Send the sample files of DIR (its subdirectory wecom/, suite/, mp/
    /// or component/ for the kind, when there is one) instead of the
    /// built-in catalog: decrypted messages, *.xml (*.json for wecom_bot).
    #[arg(long, value_name = "DIR", conflicts_with = "no_samples")]
    pub(crate) samples: Option<PathBuf>,

    /// Do not send the sample catalog.
    #[arg(long)]
    pub(crate) no_samples: bool,

    /// Do not send the forged requests.
    #[arg(long)]
    pub(crate) no_forged: bool,

    /// Seconds to wait for each answer (WeCom: 5).
    #[arg(long, value_name = "SECONDS", default_value = "5", value_parser = parse_timeout)]
    pub(crate) timeout: Duration,

    /// Retries of a callback after a timeout, a connection failure or a
    /// status other than 200 and 4xx (WeCom: 3). Forged requests are never
    /// retried.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u8).range(0..=10))]
    pub(crate) retries: u8,

    /// Size in bytes of the message text in the oversized-body request. The
    /// default (96 KiB, about 130 KiB once encrypted) is over the layer's
    /// 64 KiB default limit yet small enough to fit the socket buffers: a
    /// server that refuses by `Content-Length` and closes at once cannot
    /// turn the answer into a broken pipe on the sending side.
    #[arg(long, value_name = "BYTES", default_value_t = 96 * 1024)]
    pub(crate) oversize_bytes: usize,

    /// Send every check even when the URL verification or the first
    /// callback shows that the rest cannot tell more (the server is
    /// unreachable, never answers, or refuses them with a 4xx): by default
    /// the run stops there with a diagnosis.
    #[arg(long)]
    pub(crate) keep_going: bool,

    /// Print one JSON document instead of the table.
    #[arg(long)]
    pub(crate) json: bool,

    /// Count warnings (a callback answered only after a retry) as failures.
    #[arg(long)]
    pub(crate) strict: bool,

    /// When to colour the table.
    #[arg(long, value_enum, default_value_t = ColorWhen::Auto)]
    pub(crate) color: ColorWhen,
}

/// The callback kinds, spelled as the echo example's `WECOM_KIND`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
#[value(rename_all = "snake_case")]
pub(crate) enum Kind {
    /// A WeCom self-built app: receive id = corp id, empty-200 ack.
    WecomApp,
    /// A WeCom third-party suite's instruction callback: `success` ack.
    WecomSuite,
    /// A WeCom third-party suite's data callback.
    WecomSuiteData,
    /// The WeCom intelligent robot: JSON bodies and replies.
    WecomBot,
    /// A WeChat Official Account in plaintext mode.
    OfficialAccountPlain,
    /// A WeChat Official Account in compatible mode.
    OfficialAccountCompat,
    /// A WeChat Official Account in safe mode.
    OfficialAccountSafe,
    /// A WeChat Open Platform component: `success` ack.
    OpenPlatform,
}

/// `--color`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum ColorWhen {
    /// Colour when stdout is a terminal (and `NO_COLOR` is unset).
    Auto,
    /// Always colour.
    Always,
    /// Never colour.
    Never,
}

impl ColorWhen {
    pub(crate) fn choice(self) -> anstream::ColorChoice {
        match self {
            Self::Auto => anstream::ColorChoice::Auto,
            Self::Always => anstream::ColorChoice::Always,
            Self::Never => anstream::ColorChoice::Never,
        }
    }
}

/// Where the callbacks go: scheme and authority for the client, path and
/// query for the test kit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Target {
    pub(crate) scheme: Scheme,
    pub(crate) authority: Authority,
    pub(crate) path: String,
    pub(crate) query: Option<String>,
}

impl std::fmt::Display for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}://{}{}", self.scheme, self.authority, self.path)?;
        match &self.query {
            Some(query) => write!(f, "?{query}"),
            None => Ok(()),
        }
    }
}

fn parse_target(url: &str) -> Result<Target, String> {
    let uri: Uri = url.parse().map_err(|e| format!("not a URL: {e}"))?;
    let scheme = uri
        .scheme()
        .cloned()
        .ok_or("give the whole URL, e.g. http://127.0.0.1:3000/wecom/callback")?;
    if scheme != Scheme::HTTP {
        return Err(format!(
            "only plain http:// is supported (got {scheme}://); point it at the server's HTTP port"
        ));
    }
    let authority = uri.authority().cloned().ok_or("the URL has no host")?;
    let path = match uri.path() {
        "" => "/".to_owned(),
        path => path.to_owned(),
    };
    Ok(Target {
        scheme,
        authority,
        path,
        query: uri.query().filter(|q| !q.is_empty()).map(str::to_owned),
    })
}

fn parse_timeout(seconds: &str) -> Result<Duration, String> {
    let value: f64 = seconds
        .parse()
        .map_err(|_| format!("`{seconds}` is not a number of seconds"))?;
    if !(value > 0.0 && value <= 600.0) {
        return Err("the timeout must be more than 0 and at most 600 seconds".to_owned());
    }
    Ok(Duration::from_secs_f64(value))
}

impl Kind {
    /// The crate's kind.
    pub(crate) fn callback_kind(self) -> CallbackKind {
        use wecom_callback::OfficialAccountMode as Mode;
        match self {
            Self::WecomApp => CallbackKind::WeComApp,
            Self::WecomSuite => CallbackKind::WeComSuite,
            Self::WecomSuiteData => CallbackKind::WeComSuiteData,
            Self::WecomBot => CallbackKind::WeComBot,
            Self::OfficialAccountPlain => CallbackKind::OfficialAccount(Mode::Plaintext),
            Self::OfficialAccountCompat => CallbackKind::OfficialAccount(Mode::Compatible),
            Self::OfficialAccountSafe => CallbackKind::OfficialAccount(Mode::Safe),
            Self::OpenPlatform => CallbackKind::OpenPlatform,
        }
    }
}

impl Args {
    /// The authorized corp of data callbacks (the receive id by default).
    pub(crate) fn data_corp_id(&self) -> &str {
        self.authorized_corp_id
            .as_deref()
            .unwrap_or(&self.receive_id)
    }

    /// The endpoint the server is expected to be configured with.
    ///
    /// # Errors
    /// The constructor's [`ConfigError`] for a bad Token, key or id.
    pub(crate) fn endpoint(&self) -> Result<Endpoint, ConfigError> {
        let (token, key, id) = (
            self.token.as_str(),
            self.encoding_aes_key.as_str(),
            self.receive_id.as_str(),
        );
        match self.kind {
            Kind::WecomApp => Endpoint::wecom_app(token, key, id),
            Kind::WecomSuite => Endpoint::wecom_suite(token, key, id),
            Kind::WecomSuiteData => Endpoint::wecom_suite_data(
                token,
                key,
                id,
                AuthorizedCorps::list([self.data_corp_id()]),
            ),
            Kind::WecomBot => Endpoint::wecom_bot(token, key),
            Kind::OfficialAccountPlain => Endpoint::official_account_plain(token, id),
            Kind::OfficialAccountCompat => Endpoint::official_account_compat(token, key, id),
            Kind::OfficialAccountSafe => Endpoint::official_account_safe(token, key, id),
            Kind::OpenPlatform => Endpoint::open_platform(token, key, id),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    fn parse(args: &[&str]) -> Result<Args, clap::Error> {
        Args::try_parse_from(std::iter::once("wecom-sim").chain(args.iter().copied()))
    }

    #[test]
    fn clap_definition_is_consistent() {
        Args::command().debug_assert();
    }

    #[test]
    fn defaults_are_the_vendor_demo_and_wecoms_timing() {
        let args = parse(&["http://127.0.0.1:3000/wecom/callback"]).unwrap();
        assert_eq!(args.kind, Kind::WecomApp);
        assert_eq!(args.token, "QDG6eK");
        assert_eq!(
            args.encoding_aes_key,
            "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C"
        );
        assert_eq!(args.receive_id, "wx5823bf96d3bd56c7");
        assert_eq!(args.timeout, Duration::from_secs(5));
        assert_eq!(args.retries, 3);
        assert_eq!(args.texts, ["hello from wecom-sim"]);
        assert!(!args.json && !args.no_samples && !args.no_forged && !args.strict);
        assert_eq!(args.url.authority.as_str(), "127.0.0.1:3000");
        assert_eq!(args.url.path, "/wecom/callback");
        assert_eq!(args.url.query, None);
        assert_eq!(args.endpoint().unwrap().kind(), CallbackKind::WeComApp);
    }

    #[test]
    fn kinds_are_spelled_like_wecom_kind() {
        for kind in Kind::value_variants() {
            let name = kind.to_possible_value().unwrap().get_name().to_owned();
            assert_eq!(name, kind.callback_kind().name());
            let args = parse(&["--kind", &name, "http://h/cb"]).unwrap();
            assert_eq!(args.endpoint().unwrap().kind(), kind.callback_kind());
        }
        assert!(parse(&["--kind", "wecom-app", "http://h/cb"]).is_err());
    }

    #[test]
    fn corp_id_is_an_alias_of_receive_id_and_texts_repeat() {
        let args = parse(&[
            "--corp-id",
            "ww0123456789abcdef",
            "--text",
            "a",
            "--text",
            "你好",
            "http://h:1/x?app=2",
        ])
        .unwrap();
        assert_eq!(args.receive_id, "ww0123456789abcdef");
        assert_eq!(args.texts, ["a", "你好"]);
        assert_eq!(args.url.query.as_deref(), Some("app=2"));
        assert_eq!(args.url.to_string(), "http://h:1/x?app=2");
    }

    #[test]
    fn data_callbacks_default_to_the_receive_id_as_authorized_corp() {
        let args = parse(&["--kind", "wecom_suite_data", "http://h/cb"]).unwrap();
        assert_eq!(args.data_corp_id(), "wx5823bf96d3bd56c7");
        let args = parse(&[
            "--kind",
            "wecom_suite_data",
            "--authorized-corp-id",
            "wwcorp",
            "http://h/cb",
        ])
        .unwrap();
        assert_eq!(args.data_corp_id(), "wwcorp");
    }

    #[test]
    fn refuses_what_it_cannot_send() {
        assert!(parse(&[]).is_err());
        assert!(parse(&["https://h/cb"]).is_err());
        assert!(parse(&["/wecom/callback"]).is_err());
        assert!(parse(&["--timeout", "0", "http://h/cb"]).is_err());
        assert!(parse(&["--timeout", "soon", "http://h/cb"]).is_err());
        assert!(parse(&["--retries", "11", "http://h/cb"]).is_err());
        assert!(parse(&["--samples", "d", "--no-samples", "http://h/cb"]).is_err());
        assert_eq!(
            parse(&["--timeout", "0.25", "http://h/cb"])
                .unwrap()
                .timeout,
            Duration::from_millis(250)
        );
        assert_eq!(parse(&["http://h"]).unwrap().url.path, "/");
    }

    #[test]
    fn bad_settings_are_configuration_errors() {
        let args = parse(&["--token", "no spaces allowed", "http://h/cb"]).unwrap();
        assert!(args.endpoint().is_err());
        let args = parse(&["--encoding-aes-key", "short", "http://h/cb"]).unwrap();
        assert!(args.endpoint().is_err());
    }
}
