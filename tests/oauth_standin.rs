//! The whole web-login dance over HTTP, for every flow, against the vendor
//! stand-in (`testing::vendor`): the app serves on loopback behind
//! `OAuthLayer`, a cookie-keeping HTTP client plays the browser (follows
//! every 302, keeps cookies per host, drops `#fragments` as browsers do),
//! and the providers call the stand-in's API.
#![cfg(all(feature = "oauth", feature = "axum", feature = "vendor-standin"))]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

#[path = "common/logs.rs"]
mod logs;

use logs::Captured;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use axum::Router;
use axum::routing::get;
use bytes::Bytes;
use http::{HeaderMap, Request, StatusCode, header};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client as HyperClient;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use wecom_callback::client::{
    BaseUrls, Client, ComponentCredential, CorpCredential, MemorySecretStore, Transport,
};
use wecom_callback::oauth::{
    CookieKey, ExchangeErrorKind, LoginProvider, OAuthLayer, OfficialAccountLogin, SignedInUser,
    VendorApi, WeChatScope, WeComLogin, WeComScope,
};
use wecom_callback::testing::vendor::{
    Consent, Fault, VendorConfig, VendorEndpoint, VendorStandIn, VendorUser,
};
use wecom_callback::tickets::{MemoryTicketStore, TicketKind, TicketStore};

const CORP: &str = "wwcorp";
const AGENT: i64 = 1_000_002;
const CORP_SECRET: &str = "corp-secret-不可外泄";
const OA: &str = "wxoa";
const OA_SECRET: &str = "oa-secret";
const COMPONENT: &str = "wxcomponent";
const COMPONENT_SECRET: &str = "component-secret";
const TICKET: &str = "ticket@@@standin";
const AUTHORIZER: &str = "wxauthorizer";
const WECOM_UA: &str = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0) AppleWebKit/605.1.15 wxwork/4.1.22 MicroMessenger/7.0.1 Language/zh";
const DESKTOP_UA: &str =
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/131.0 Safari/537.36";

type Http = HyperClient<HttpConnector, Full<Bytes>>;

fn http() -> Http {
    HyperClient::builder(TokioExecutor::new()).build_http()
}

/// The crate's API client, every host at the stand-in.
fn client(vendor: &VendorStandIn) -> Client {
    Client::builder()
        .transport(Transport::https().unwrap())
        .urls(BaseUrls::all(vendor.base_url()))
        .build()
        .unwrap()
}

fn corp() -> CorpCredential {
    CorpCredential::new(CORP, CORP_SECRET)
}

/// A browser reduced to what web login relies on: it follows redirects,
/// keeps cookies per host (sending back what each host set) and never
/// sends a URL's fragment.
struct HttpBrowser {
    http: Http,
    user_agent: &'static str,
    jar: HashMap<String, BTreeMap<String, String>>,
}

/// One answer on the way.
#[derive(Debug)]
struct Hop {
    url: String,
    status: StatusCode,
    headers: HeaderMap,
    body: String,
}

fn origin(url: &str) -> String {
    let rest = url.split_once("://").unwrap().1;
    let end = rest.find('/').unwrap_or(rest.len());
    format!("{}://{}", url.split_once("://").unwrap().0, &rest[..end])
}

impl HttpBrowser {
    fn new(user_agent: &'static str) -> Self {
        Self {
            http: http(),
            user_agent,
            jar: HashMap::new(),
        }
    }

    async fn fetch(&mut self, url: &str) -> Hop {
        let url = url.split('#').next().unwrap().to_owned();
        let host = origin(&url);
        let mut request = Request::get(&url)
            .header(header::ACCEPT, "text/html,application/xhtml+xml,*/*;q=0.8")
            .header(header::USER_AGENT, self.user_agent);
        if let Some(cookies) = self.jar.get(&host).filter(|c| !c.is_empty()) {
            let line = cookies
                .iter()
                .map(|(n, v)| format!("{n}={v}"))
                .collect::<Vec<_>>()
                .join("; ");
            request = request.header(header::COOKIE, line);
        }
        let response = self
            .http
            .request(request.body(Full::default()).unwrap())
            .await
            .unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        for set in headers.get_all(header::SET_COOKIE) {
            let set = set.to_str().unwrap();
            let pair = set.split(';').next().unwrap();
            let (name, value) = pair.split_once('=').unwrap();
            let jar = self.jar.entry(host.clone()).or_default();
            if set.contains("Max-Age=0") {
                jar.remove(name);
            } else {
                jar.insert(name.to_owned(), value.to_owned());
            }
        }
        let body = response.into_body().collect().await.unwrap().to_bytes();
        Hop {
            url,
            status,
            headers,
            body: String::from_utf8_lossy(&body).into_owned(),
        }
    }

    /// Navigates to `url` and follows redirects (at most 10: a loop fails
    /// the test).
    async fn navigate(&mut self, url: &str) -> Vec<Hop> {
        let mut hops = Vec::new();
        let mut next = url.to_owned();
        for _ in 0..10 {
            let hop = self.fetch(&next).await;
            let location = hop
                .headers
                .get(header::LOCATION)
                .map(|l| l.to_str().unwrap().to_owned());
            let from = origin(&hop.url);
            hops.push(hop);
            match location {
                Some(location) if location.starts_with('/') => next = format!("{from}{location}"),
                Some(location) => next = location,
                None => return hops,
            }
        }
        panic!(
            "redirect loop: {:?}",
            hops.iter().map(|h| &h.url).collect::<Vec<_>>()
        );
    }
}

fn vendor_config() -> VendorConfig {
    VendorConfig::new()
        .wecom_app(CORP, AGENT, CORP_SECRET)
        .official_account(OA, OA_SECRET)
        .component(COMPONENT, COMPONENT_SECRET)
        .authorizer(AUTHORIZER)
        .user(VendorUser::member("zhangsan"))
}

/// The app on loopback: `/me` answers `hello <id>`, `/profile` the
/// profile fields present.
async fn serve(provider: impl LoginProvider) -> (String, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let public_url = format!("http://{}", listener.local_addr().unwrap());
    let layer = OAuthLayer::new(provider, &public_url, &CookieKey::generate().unwrap())
        .unwrap()
        .secure_cookies(false);
    let app = Router::new()
        .route(
            "/me",
            get(|user: SignedInUser| async move { format!("hello {}", user.id()) }),
        )
        .route(
            "/profile",
            get(|user: SignedInUser| async move {
                let p = user.profile();
                format!(
                    "{} mobile={} nickname={} union={}",
                    user.id(),
                    p.mobile.as_deref().unwrap_or("-"),
                    p.nickname.as_deref().unwrap_or("-"),
                    user.union_id().unwrap_or("-")
                )
            }),
        )
        .layer(layer);
    let task = tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    (public_url, task)
}

fn wecom(vendor: &VendorStandIn) -> WeComLogin {
    WeComLogin::from_client(&client(vendor), &corp(), AGENT)
}

fn official_account(vendor: &VendorStandIn) -> OfficialAccountLogin {
    OfficialAccountLogin::from_client(&client(vendor), OA, OA_SECRET)
}

fn paths(hops: &[Hop]) -> Vec<String> {
    hops.iter()
        .map(|h| {
            h.url
                .split_once("://")
                .unwrap()
                .1
                .split_once('/')
                .map_or("/".to_owned(), |(_, p)| {
                    format!("/{}", p.split('?').next().unwrap())
                })
        })
        .collect()
}

#[tokio::test]
async fn wecom_in_app_login() {
    let vendor = VendorStandIn::start(vendor_config()).await.unwrap();
    let (site, _server) = serve(wecom(&vendor)).await;
    let mut browser = HttpBrowser::new(WECOM_UA);
    let hops = browser.navigate(&format!("{site}/me")).await;
    assert_eq!(
        paths(&hops),
        ["/me", "/connect/oauth2/authorize", "/oauth/callback", "/me"]
    );
    let authorize = &hops[1].url;
    assert!(
        authorize.contains("appid=wwcorp&redirect_uri="),
        "{authorize}"
    );
    assert!(
        authorize.contains("&scope=snsapi_base&state="),
        "{authorize}"
    );
    assert!(authorize.contains("&agentid=1000002"), "{authorize}");
    let last = hops.last().unwrap();
    assert_eq!(last.status, StatusCode::OK);
    assert_eq!(last.body, "hello zhangsan");
    assert_eq!(vendor.calls(VendorEndpoint::GetUserInfo), 1);
    assert_eq!(vendor.calls(VendorEndpoint::GetUserDetail), 0);
    let callback = hops[2].url.clone();

    // Signed in: no more vendor calls.
    let hops = browser.navigate(&format!("{site}/me")).await;
    assert_eq!(hops.len(), 1);
    assert_eq!(hops[0].body, "hello zhangsan");

    // Reloading the callback URL (back button, a leaked URL): the code is
    // not exchanged again.
    let replay = browser.navigate(&callback).await;
    assert_eq!(replay.len(), 1);
    assert_eq!(replay[0].status, StatusCode::FORBIDDEN);
    assert!(
        replay[0].body.contains("already used"),
        "{}",
        replay[0].body
    );
    assert_eq!(vendor.calls(VendorEndpoint::GetUserInfo), 1);
}

#[tokio::test]
async fn wecom_in_app_login_with_privateinfo() {
    let vendor = VendorStandIn::start(vendor_config()).await.unwrap();
    let (site, _server) = serve(wecom(&vendor).scope(WeComScope::PrivateInfo)).await;
    let mut browser = HttpBrowser::new(WECOM_UA);
    let hops = browser.navigate(&format!("{site}/profile")).await;
    assert!(hops[1].url.contains("scope=snsapi_privateinfo"));
    assert_eq!(
        hops.last().unwrap().body,
        "zhangsan mobile=13800000000 nickname=zhangsan union=-"
    );
    assert_eq!(vendor.calls(VendorEndpoint::GetUserDetail), 1);
}

#[tokio::test]
async fn wecom_qr_login_for_desktop_browsers() {
    let vendor = VendorStandIn::start(vendor_config()).await.unwrap();
    let (site, _server) = serve(wecom(&vendor)).await;
    let mut browser = HttpBrowser::new(DESKTOP_UA);
    let hops = browser.navigate(&format!("{site}/me")).await;
    assert_eq!(
        paths(&hops),
        ["/me", "/wwlogin/sso/login", "/oauth/callback", "/me"]
    );
    assert!(
        hops[1]
            .url
            .contains("login_type=CorpApp&appid=wwcorp&agentid=1000002&redirect_uri=")
    );
    assert_eq!(hops.last().unwrap().body, "hello zhangsan");
}

#[tokio::test]
async fn official_account_login_with_userinfo_and_refresh() {
    let vendor = VendorStandIn::start(vendor_config()).await.unwrap();
    vendor.set_user(
        VendorUser::wechat("oWeChatUser1")
            .with_unionid("uUnion1")
            .with_nickname("小明 Ming"),
    );
    let login = official_account(&vendor).scope(WeChatScope::UserInfo);
    let (site, _server) = serve(login.clone()).await;
    let mut browser = HttpBrowser::new(WECOM_UA);
    let hops = browser.navigate(&format!("{site}/profile")).await;
    assert_eq!(
        paths(&hops),
        [
            "/profile",
            "/connect/oauth2/authorize",
            "/oauth/callback",
            "/profile"
        ]
    );
    assert!(hops[1].url.contains("appid=wxoa&redirect_uri="));
    assert!(
        hops[1].url.contains("&scope=snsapi_userinfo&state="),
        "{}",
        hops[1].url
    );
    assert_eq!(
        hops.last().unwrap().body,
        "oWeChatUser1 mobile=- nickname=小明 Ming union=uUnion1"
    );
    assert_eq!(vendor.calls(VendorEndpoint::SnsAccessToken), 1);
    assert_eq!(vendor.calls(VendorEndpoint::SnsUserInfo), 1);

    // Refresh: a user token from a code, renewed with its refresh_token.
    let code = consent_code(&vendor, &format!("appid={OA}&scope=snsapi_userinfo")).await;
    let url = format!(
        "{}/sns/oauth2/access_token?appid={OA}&secret={OA_SECRET}&code={code}&grant_type=authorization_code",
        vendor.base_url()
    );
    let first = VendorApi::get_json(&client(&vendor), url).await.unwrap();
    let refreshed = login
        .refresh(first["refresh_token"].as_str().unwrap())
        .await
        .unwrap();
    assert_eq!(refreshed.open_id, "oWeChatUser1");
    assert_eq!(vendor.calls(VendorEndpoint::SnsRefreshToken), 1);
    assert!(!format!("{refreshed:?}").contains(&refreshed.access_token));
    assert!(!format!("{refreshed:?}").contains(&refreshed.refresh_token));
    let profile = login.user_info(&refreshed).await.unwrap();
    assert_eq!(profile["nickname"], "小明 Ming");
    let error = login.refresh("not-a-refresh-token").await.unwrap_err();
    assert!(
        matches!(error.kind(), ExchangeErrorKind::Vendor(_)),
        "{error:?}"
    );
}

/// A code from the stand-in's authorize page, without the layer.
async fn consent_code(vendor: &VendorStandIn, params: &str) -> String {
    let url = format!(
        "{}/connect/oauth2/authorize?{params}&redirect_uri=http%3A%2F%2F127.0.0.1%2Fcb&response_type=code&state=S",
        vendor.base_url()
    );
    let hop = HttpBrowser::new(WECOM_UA).fetch(&url).await;
    let location = hop.headers[header::LOCATION].to_str().unwrap().to_owned();
    form_urlencoded::parse(location.split_once('?').unwrap().1.as_bytes())
        .find(|(k, _)| k == "code")
        .unwrap()
        .1
        .into_owned()
}

#[tokio::test]
async fn open_platform_login_on_behalf_of_an_authorizer() {
    let vendor = VendorStandIn::start(vendor_config()).await.unwrap();
    vendor.set_component_verify_ticket(COMPONENT, TICKET);
    vendor.set_user(VendorUser::wechat("oAuthorizerFan"));
    let tickets = Arc::new(MemoryTicketStore::new());
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    tickets
        .save(COMPONENT, TicketKind::ComponentVerifyTicket, TICKET, now)
        .await
        .unwrap();
    let secrets = Arc::new(MemorySecretStore::new());
    let component = ComponentCredential::new(COMPONENT, COMPONENT_SECRET, tickets, secrets);
    let login =
        OfficialAccountLogin::on_behalf_from_client(&client(&vendor), AUTHORIZER, &component);
    let (site, _server) = serve(login).await;
    let mut browser = HttpBrowser::new(WECOM_UA);
    let hops = browser.navigate(&format!("{site}/me")).await;
    assert_eq!(
        paths(&hops),
        ["/me", "/connect/oauth2/authorize", "/oauth/callback", "/me"]
    );
    assert!(
        hops[1]
            .url
            .contains(&format!("appid={AUTHORIZER}&redirect_uri="))
    );
    assert!(
        hops[1]
            .url
            .contains(&format!("&component_appid={COMPONENT}"))
    );
    assert_eq!(hops.last().unwrap().body, "hello oAuthorizerFan");
    assert_eq!(vendor.calls(VendorEndpoint::SnsComponentAccessToken), 1);
    assert_eq!(vendor.calls(VendorEndpoint::SnsAccessToken), 0);
}

/// The user declines: the vendor comes back without a code; a 403 page,
/// no loop, no exchange.
#[tokio::test]
async fn declined_consent_ends_on_a_page() {
    let vendor = VendorStandIn::start(vendor_config()).await.unwrap();
    vendor.set_consent(Consent::Deny);
    let (site, _server) = serve(wecom(&vendor)).await;
    let mut browser = HttpBrowser::new(WECOM_UA);
    let hops = browser.navigate(&format!("{site}/me")).await;
    assert_eq!(
        paths(&hops),
        ["/me", "/connect/oauth2/authorize", "/oauth/callback"]
    );
    let last = hops.last().unwrap();
    assert_eq!(last.status, StatusCode::FORBIDDEN);
    assert!(last.body.contains("cancelled"), "{}", last.body);
    assert_eq!(vendor.calls(VendorEndpoint::GetUserInfo), 0);
}

/// The vendor answers an `errcode`: a 403 page, no loop.
#[tokio::test]
async fn vendor_errcode_ends_on_a_page() {
    let vendor = VendorStandIn::start(vendor_config()).await.unwrap();
    vendor.inject(VendorEndpoint::GetUserInfo, Fault::ErrCode(40029));
    let (site, _server) = serve(wecom(&vendor)).await;
    let mut browser = HttpBrowser::new(WECOM_UA);
    let hops = browser.navigate(&format!("{site}/me")).await;
    let last = hops.last().unwrap();
    assert_eq!(last.status, StatusCode::FORBIDDEN);
    assert!(last.body.contains("refused"), "{}", last.body);
    assert_eq!(hops.len(), 3);
    // Starting again works.
    let hops = browser.navigate(&format!("{site}/me")).await;
    assert_eq!(hops.last().unwrap().body, "hello zhangsan");
}

/// The vendor rejects the cached corp token (another instance refreshed it,
/// or it was revoked): the login drops exactly that token, fetches a new
/// one and retries getuserinfo once; the user notices nothing.
#[tokio::test]
async fn rejected_corp_token_is_refreshed_once() {
    let vendor = VendorStandIn::start(vendor_config()).await.unwrap();
    let client = client(&vendor);
    let login = WeComLogin::from_client(&client, &corp(), AGENT);
    let (site, _server) = serve(login).await;
    let token = client.token(&corp()).await.unwrap();
    assert!(vendor.kill_token(token.secret()));
    let mut browser = HttpBrowser::new(WECOM_UA);
    let hops = browser.navigate(&format!("{site}/me")).await;
    assert_eq!(hops.last().unwrap().body, "hello zhangsan");
    assert_eq!(vendor.calls(VendorEndpoint::GetUserInfo), 2);
    assert_eq!(vendor.issued(VendorEndpoint::GetToken), 2);
}

/// Secrets stay out of logs and `Debug` through a whole dance: the corp
/// secret, the Official Account's secret, the corp `access_token`, the
/// codes and the user's sns tokens.
#[tokio::test]
async fn secrets_stay_out_of_logs_and_debug() {
    let (captured, _guard) = capture();
    let vendor = VendorStandIn::start(vendor_config()).await.unwrap();
    let client = client(&vendor);
    let wecom_login = WeComLogin::from_client(&client, &corp(), AGENT);
    let oa_login = official_account(&vendor).scope(WeChatScope::UserInfo);
    let debug = format!("{wecom_login:?} {oa_login:?}");
    let (site, _server) = serve(wecom_login).await;
    let hops = HttpBrowser::new(WECOM_UA)
        .navigate(&format!("{site}/me"))
        .await;
    assert_eq!(hops.last().unwrap().body, "hello zhangsan");
    let wecom_code = code_of(&hops[2].url);
    let token = client.token(&corp()).await.unwrap();

    vendor.set_user(VendorUser::wechat("oWeChatUser2"));
    let (oa_site, _oa_server) = serve(oa_login).await;
    let hops = HttpBrowser::new(WECOM_UA)
        .navigate(&format!("{oa_site}/me"))
        .await;
    assert_eq!(hops.last().unwrap().body, "hello oWeChatUser2");
    let oa_code = code_of(&hops[2].url);

    let log = captured.text();
    assert!(log.contains("signed in"), "{log}");
    for secret in [
        CORP_SECRET,
        OA_SECRET,
        token.secret(),
        &wecom_code,
        &oa_code,
    ] {
        assert!(!log.contains(secret), "{secret} in the log:\n{log}");
        assert!(!debug.contains(secret), "{secret} in {debug}");
    }
}

fn code_of(url: &str) -> String {
    let query = url.split_once('?').unwrap().1;
    form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == "code")
        .unwrap()
        .1
        .into_owned()
}

/// The binary's one capturing subscriber (see `logs::global`).
fn capture() -> (Captured, ()) {
    (logs::global(tracing::Level::TRACE), ())
}
