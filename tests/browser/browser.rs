//! The WeCom web login in a real headless Chromium, driven through
//! chromedriver (WebDriver, `fantoccini`): cookies, `SameSite`, fragments
//! and 302 chains behave as a browser makes them, which the test clients
//! of `tests/oauth.rs` and `tests/oauth_standin.rs` do not check.
//!
//! The app (`GET /me` behind `OAuthLayer`, as `examples/oauth.rs`) and the
//! vendor stand-in run in this process on loopback. The app is
//! `http://127.0.0.1:PORT` and the stand-in is addressed as
//! `http://localhost:PORT`: another site, so the vendor's redirect back is
//! a cross-site navigation, the case `SameSite=Lax` is for.
//!
//! Needs `CHROMEDRIVER_URL` (e.g. `http://127.0.0.1:9515`) and Chromium;
//! `tests/browser/run.sh` installs both when missing, starts chromedriver
//! and runs this test with `--include-ignored`. It is a workspace member of
//! its own (tests/browser/Cargo.toml), so that fantoccini and its URL stack
//! stay out of the crate's dev-dependencies, which every example builds.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use axum::Router;
use axum::routing::get;
use fantoccini::wd::Capabilities;
use fantoccini::{ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::json;
use wecom_callback::client::{BaseUrls, Client, CorpCredential, Transport};
use wecom_callback::oauth::{CookieKey, OAuthLayer, SignedInUser, WeComLogin};
use wecom_callback::testing::vendor::{VendorConfig, VendorEndpoint, VendorStandIn, VendorUser};

const CORP: &str = "wwcorp";
const AGENT: i64 = 1_000_002;
const WECOM_UA: &str = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) \
                        Chrome/120.0 Safari/537.36 wxwork/4.1.22 MicroMessenger/7.0.1 Language/zh";

/// Starts the app on loopback; returns its base URL.
async fn serve_app(vendor: &VendorStandIn) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let public_url = format!("http://{}", listener.local_addr().unwrap());
    // The stand-in under another name: another site for the browser.
    let vendor_site = vendor.base_url().replace("127.0.0.1", "localhost");
    let client = Client::builder()
        .transport(Transport::https().unwrap())
        .urls(
            BaseUrls::all(vendor.base_url())
                .open_weixin(vendor_site.clone())
                .wecom_login(vendor_site),
        )
        .build()
        .unwrap();
    let login = WeComLogin::from_client(&client, &CorpCredential::new(CORP, "corp-secret"), AGENT);
    let layer = OAuthLayer::new(login, &public_url, &CookieKey::generate().unwrap())
        .unwrap()
        .secure_cookies(false);
    let app = Router::new()
        .route(
            "/me",
            get(|user: SignedInUser| async move { format!("hello {}", user.id()) }),
        )
        .layer(layer);
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    public_url
}

/// A fresh headless Chromium session with `user_agent` and its own
/// profile directory.
async fn chromium(user_agent: &str, profile: &std::path::Path) -> fantoccini::Client {
    let webdriver =
        std::env::var("CHROMEDRIVER_URL").expect("CHROMEDRIVER_URL (run tests/browser/run.sh)");
    let mut args = vec![
        "--headless".to_owned(),
        "--no-sandbox".to_owned(),
        "--disable-gpu".to_owned(),
        "--disable-dev-shm-usage".to_owned(),
        "--disable-quic".to_owned(),
        "--no-first-run".to_owned(),
        "--disable-background-networking".to_owned(),
        "--disable-component-update".to_owned(),
        "--disable-sync".to_owned(),
        format!("--user-data-dir={}", profile.display()),
        format!("--user-agent={user_agent}"),
    ];
    if let Ok(extra) = std::env::var("CHROMIUM_EXTRA_ARGS") {
        args.extend(extra.split_whitespace().map(str::to_owned));
    }
    let mut options = json!({ "args": args });
    if let Ok(binary) = std::env::var("CHROMIUM_BINARY") {
        options["binary"] = json!(binary);
    }
    let mut capabilities = Capabilities::new();
    capabilities.insert("goog:chromeOptions".to_owned(), options);
    ClientBuilder::new(HttpConnector::new())
        .capabilities(capabilities)
        .connect(&webdriver)
        .await
        .expect("a chromedriver session")
}

/// One flow in one browser: open `/me`, follow the vendor's pages, land on
/// `/me` signed in; the session cookie is HttpOnly and SameSite=Lax; a
/// second visit needs no vendor.
async fn sign_in(user_agent: &str, page: VendorEndpoint) {
    let vendor = VendorStandIn::start(
        VendorConfig::new()
            .wecom_app(CORP, AGENT, "corp-secret")
            .user(VendorUser::member("zhangsan")),
    )
    .await
    .unwrap();
    let site = serve_app(&vendor).await;
    let profile = std::env::temp_dir().join(format!(
        "wecom-oauth-chromium-{}-{}",
        std::process::id(),
        page.path().replace('/', "_")
    ));
    let browser = chromium(user_agent, &profile).await;
    let vendor = std::sync::Arc::new(vendor);

    let (browser2, vendor2) = (browser.clone(), std::sync::Arc::clone(&vendor));
    let result = async move {
        let (browser, vendor) = (browser2, vendor2);
        browser.goto(&format!("{site}/me")).await.unwrap();
        let url = browser.current_url().await.unwrap();
        let body = browser
            .find(Locator::Css("body"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert_eq!(body.trim(), "hello zhangsan", "at {url}");
        // The path is /me. Chromium carries the authorize URL's
        // `#wechat_redirect` through the 302s (a redirect without a fragment
        // keeps the request's, RFC 9110 10.2.2): the in-app flow lands on
        // `/me#wechat_redirect`, as pages behind the real vendor do.
        let mut landed = url.clone();
        landed.set_fragment(None);
        assert_eq!(landed.as_str(), format!("{site}/me"));
        if page == VendorEndpoint::Authorize {
            assert_eq!(url.fragment(), Some("wechat_redirect"));
        }
        assert_eq!(vendor.calls(page), 1, "{page:?}");
        assert_eq!(vendor.calls(VendorEndpoint::GetUserInfo), 1);

        let cookies = browser.get_all_cookies().await.unwrap();
        let session = cookies
            .iter()
            .find(|c| c.name() == "wecom_oauth_session")
            .unwrap_or_else(|| panic!("no session cookie in {cookies:?}"));
        assert_eq!(session.http_only(), Some(true));
        assert_eq!(format!("{:?}", session.same_site()), "Some(Lax)");
        assert!(!session.value().contains("zhangsan"));

        // Signed in: the page again, without the vendor.
        browser.goto(&format!("{site}/me")).await.unwrap();
        let body = browser
            .find(Locator::Css("body"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert_eq!(body.trim(), "hello zhangsan");
        assert_eq!(vendor.calls(page), 1);
        assert_eq!(vendor.calls(VendorEndpoint::GetUserInfo), 1);
    };
    let outcome = tokio::spawn(result).await;
    browser.close().await.unwrap();
    let _ = std::fs::remove_dir_all(&profile);
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic.into_panic());
    }
}

#[tokio::test]
#[ignore = "needs chromedriver and Chromium: CHROMEDRIVER_URL (tests/browser/run.sh)"]
async fn wecom_login_in_headless_chromium() {
    // Inside the WeCom client: the in-app authorize page.
    sign_in(WECOM_UA, VendorEndpoint::Authorize).await;
    // A desktop browser: the QR login page (Chromium's own User-Agent).
    sign_in(
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36",
        VendorEndpoint::SsoLogin,
    )
    .await;
}
