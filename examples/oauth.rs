//! WeCom web login (网页授权) in front of a page: `GET /me` answers
//! `hello <userid>` once the browser is signed in. It runs until Ctrl-C.
//!
//! ```text
//! WECOM_CORP_ID=wwcorp WECOM_AGENT_ID=1000002 WECOM_CORP_SECRET=... \
//! PUBLIC_URL=https://app.example.com OAUTH_COOKIE_KEY=$(openssl rand -hex 64) \
//! cargo run --example oauth --features oauth
//! ```
//!
//! Inside the WeCom client (`wxwork` in the User-Agent) the browser goes to
//! the in-app authorize page; a desktop browser gets the QR login page.
//!
//! Settings (environment variables):
//!
//! * `WECOM_BIND` (default `127.0.0.1:3005`);
//! * `PUBLIC_URL`: the site's external base URL, from which `redirect_uri`
//!   is built (`{PUBLIC_URL}/oauth/callback`; its host must be the app's
//!   trusted domain, 可信域名). Default `http://{WECOM_BIND}`. With an
//!   `http://` URL the cookies are sent without `Secure` (development on
//!   `http://127.0.0.1` only);
//! * `WECOM_OAUTH_BASE`: the in-app authorize page's host (default
//!   `https://open.weixin.qq.com`); `WECOM_LOGIN_BASE`: the QR login page's
//!   host (default `https://login.work.weixin.qq.com`); `WECOM_API_BASE`:
//!   the API host (default `https://qyapi.weixin.qq.com`);
//! * `WECOM_CORP_ID`, `WECOM_AGENT_ID`, `WECOM_CORP_SECRET` (required);
//! * `OAUTH_COOKIE_KEY`: 128 hex digits (64 bytes) that sign `state` and
//!   encrypt the cookies, the same on every instance. If unset, a random
//!   key is made and a warning logged: sessions then end with the process.

use axum::Router;
use axum::routing::get;
#[path = "support/serve.rs"]
mod serve;

use wecom_callback::client::{BaseUrls, Client, CorpCredential, Transport};
use wecom_callback::oauth::{CookieKey, OAuthLayer, SignedInUser, WeComLogin};

async fn me(user: SignedInUser) -> String {
    tracing::info!(flow = %user.flow(), "hello");
    format!("hello {}", user.id())
}

async fn run() -> Result<(), String> {
    let bind = serve::setting("WECOM_BIND", "127.0.0.1:3005");
    let public_url = serve::setting("PUBLIC_URL", &format!("http://{bind}"));
    let corp_id = serve::required("WECOM_CORP_ID")?;
    let agent_id = serve::required("WECOM_AGENT_ID")?;
    let corp_secret = serve::required("WECOM_CORP_SECRET")?;
    let urls = BaseUrls::default()
        .open_weixin(serve::setting("WECOM_OAUTH_BASE", BaseUrls::OPEN_WEIXIN))
        .wecom_login(serve::setting("WECOM_LOGIN_BASE", BaseUrls::WECOM_LOGIN))
        .wecom_api(serve::setting("WECOM_API_BASE", BaseUrls::WECOM_API));
    let key = match std::env::var("OAUTH_COOKIE_KEY") {
        Ok(hex) => CookieKey::from_hex(&hex).map_err(|e| format!("OAUTH_COOKIE_KEY: {e}"))?,
        Err(_) => {
            tracing::warn!(
                "OAUTH_COOKIE_KEY is not set: using a random key; sessions end with this process \
                 and other instances cannot read them"
            );
            CookieKey::generate().map_err(|e| e.to_string())?
        }
    };
    let transport = Transport::https().map_err(|e| e.to_string())?;
    let client = Client::builder()
        .transport(transport)
        .urls(urls)
        .build()
        .map_err(|e| e.to_string())?;
    let corp = CorpCredential::new(corp_id, corp_secret);
    let login = WeComLogin::from_client(&client, &corp, agent_id);
    let secure = public_url.starts_with("https://");
    if !secure {
        tracing::warn!("PUBLIC_URL is not https: cookies are sent without Secure");
    }
    let layer = OAuthLayer::new(login, &public_url, &key)
        .map_err(|e| format!("PUBLIC_URL: {e}"))?
        .secure_cookies(secure);
    let app = Router::new().route("/me", get(me)).layer(layer);
    serve::listen_and_serve(&bind, "wecom-callback oauth", "/me", app).await
}

#[tokio::main]
async fn main() {
    serve::init_tracing("info");
    serve::exit_on_error("oauth", run().await);
}
