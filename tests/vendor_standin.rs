//! The vendor stand-in itself, over real HTTP with a plain hyper client:
//! credentials, token lifetimes and reuse, the WeCom suite and Open
//! Platform chains, the web-login pages and code exchanges, fault
//! injection and counters, redaction, shutdown.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::collections::HashMap;
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, Method, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use wecom_callback::testing::vendor::{
    Consent, Fault, VendorConfig, VendorEndpoint, VendorStandIn, VendorUser,
};

const CORP: &str = "wwcorp0001";
const CORP_SECRET: &str = "corp-secret-Xx9";
const AGENT: i64 = 1_000_002;
const SUITE: &str = "wwsuite0001";
const SUITE_SECRET: &str = "suite-secret-Yy8";
const OA: &str = "wxoa000001";
const OA_SECRET: &str = "oa-secret-Zz7";
const COMPONENT: &str = "wxcomponent1";
const COMPONENT_SECRET: &str = "component-secret-Ww6";
const MIXED: &str = "Hello, 世界! 企业微信回调 test 123. 你好，这是一条消息。abc";

fn config() -> VendorConfig {
    VendorConfig::new()
        .wecom_app(CORP, AGENT, CORP_SECRET)
        .suite(SUITE, SUITE_SECRET)
        .official_account(OA, OA_SECRET)
        .component(COMPONENT, COMPONENT_SECRET)
}

/// The raw answer of one request: status, headers, body.
struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    body: Bytes,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }

    fn location(&self) -> String {
        assert_eq!(self.status, StatusCode::FOUND, "{:?}", self.body);
        self.headers[http::header::LOCATION]
            .to_str()
            .unwrap()
            .to_owned()
    }
}

/// One request on a fresh hyper HTTP/1 connection.
async fn send(method: Method, url: &str, body: Option<Value>) -> Answer {
    let uri: http::Uri = url.parse().unwrap();
    let address = format!("{}:{}", uri.host().unwrap(), uri.port_u16().unwrap());
    let stream = tokio::net::TcpStream::connect(address).await.unwrap();
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .unwrap();
    tokio::spawn(connection);
    let bytes = body.map(|b| b.to_string()).unwrap_or_default();
    let request = http::Request::builder()
        .method(method)
        .uri(uri)
        .header("host", "qyapi.weixin.qq.com")
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(bytes)))
        .unwrap();
    let response = sender.send_request(request).await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    Answer {
        status,
        headers,
        body,
    }
}

async fn get(vendor: &VendorStandIn, path: &str) -> Value {
    let answer = send(Method::GET, &vendor.url(path), None).await;
    assert_eq!(answer.status, StatusCode::OK);
    answer.json()
}

async fn post(vendor: &VendorStandIn, path: &str, body: Value) -> Value {
    let answer = send(Method::POST, &vendor.url(path), Some(body)).await;
    assert_eq!(answer.status, StatusCode::OK);
    answer.json()
}

fn errcode(value: &Value) -> i64 {
    value.get("errcode").and_then(Value::as_i64).unwrap_or(0)
}

fn query_of(location: &str) -> HashMap<String, String> {
    let query = location.split_once('?').unwrap().1;
    form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect()
}

async fn corp_token(vendor: &VendorStandIn) -> String {
    let answer = get(
        vendor,
        &format!("/cgi-bin/gettoken?corpid={CORP}&corpsecret={CORP_SECRET}"),
    )
    .await;
    assert_eq!(errcode(&answer), 0, "{answer}");
    answer["access_token"].as_str().unwrap().to_owned()
}

fn text_message(content: &str) -> Value {
    json!({"touser": "zhangsan", "msgtype": "text", "agentid": AGENT, "text": {"content": content}})
}

#[tokio::test]
async fn gettoken_checks_credentials_and_gives_back_the_live_token() {
    let vendor = VendorStandIn::start(config().expires_in(120))
        .await
        .unwrap();
    let first = get(
        &vendor,
        &format!("/cgi-bin/gettoken?corpid={CORP}&corpsecret={CORP_SECRET}"),
    )
    .await;
    assert_eq!(first["errcode"], 0);
    assert_eq!(first["expires_in"], 120);
    let token = first["access_token"].as_str().unwrap();
    assert_eq!(corp_token(&vendor).await, token);

    let wrong_secret = get(
        &vendor,
        &format!("/cgi-bin/gettoken?corpid={CORP}&corpsecret=x"),
    )
    .await;
    assert_eq!(errcode(&wrong_secret), 40001);
    assert!(wrong_secret["errmsg"].as_str().unwrap().contains("hint: ["));
    let wrong_corp = get(
        &vendor,
        &format!("/cgi-bin/gettoken?corpid=wwother&corpsecret={CORP_SECRET}"),
    )
    .await;
    assert_eq!(errcode(&wrong_corp), 40013);

    assert_eq!(vendor.calls(VendorEndpoint::GetToken), 4);
    assert_eq!(vendor.issued(VendorEndpoint::GetToken), 2);
    vendor.reset_counts();
    assert_eq!(vendor.calls(VendorEndpoint::GetToken), 0);
}

#[tokio::test]
async fn message_send_records_bodies_and_checks_the_token() {
    let vendor = VendorStandIn::start(config()).await.unwrap();
    let token = corp_token(&vendor).await;
    let path = format!("/cgi-bin/message/send?access_token={token}");

    let sent = post(&vendor, &path, text_message(&format!("processed: {MIXED}"))).await;
    assert_eq!(sent["errcode"], 0);
    assert!(sent["msgid"].as_str().is_some_and(|m| !m.is_empty()));
    let recorded = vendor.sent_messages();
    assert_eq!(recorded.len(), 1);
    assert_eq!(
        recorded[0]["text"]["content"],
        format!("processed: {MIXED}")
    );
    assert_eq!(recorded[0]["touser"], "zhangsan");

    // Another app's agentid, unknown token, missing token, GET, not JSON, empty.
    let mut other_agent = text_message("x");
    other_agent["agentid"] = json!(1_000_003);
    assert_eq!(errcode(&post(&vendor, &path, other_agent).await), 301002);
    let unknown = post(
        &vendor,
        "/cgi-bin/message/send?access_token=forged",
        text_message("x"),
    )
    .await;
    assert_eq!(errcode(&unknown), 40014);
    let missing = post(&vendor, "/cgi-bin/message/send", text_message("x")).await;
    assert_eq!(errcode(&missing), 41001);
    assert_eq!(errcode(&get(&vendor, &path).await), 43002);
    let not_json = send(Method::POST, &vendor.url(&path), None).await.json();
    assert_eq!(errcode(&not_json), 44002);
    let garbage = {
        let uri = vendor.url(&path);
        let answer = send(Method::POST, &uri, Some(json!("x"))).await.json();
        errcode(&answer)
    };
    assert_eq!(garbage, 44002, "a JSON string is not a message");
    assert_eq!(
        vendor.sent_messages().len(),
        1,
        "only the good one is recorded"
    );

    // Expired, then killed.
    vendor.expire_tokens();
    assert_eq!(
        errcode(&post(&vendor, &path, text_message("x")).await),
        42001
    );
    let fresh = corp_token(&vendor).await;
    assert_ne!(fresh, token, "an expired token is replaced");
    assert!(vendor.kill_token(&fresh));
    assert!(!vendor.kill_token("never-issued"));
    let killed = post(
        &vendor,
        &format!("/cgi-bin/message/send?access_token={fresh}"),
        text_message("x"),
    )
    .await;
    assert_eq!(errcode(&killed), 40001);
}

#[tokio::test]
async fn tokens_expire_on_the_configured_expires_in() {
    let vendor = VendorStandIn::start(config().expires_in_for(VendorEndpoint::GetToken, 1))
        .await
        .unwrap();
    let token = corp_token(&vendor).await;
    let path = format!("/cgi-bin/message/send?access_token={token}");
    assert_eq!(errcode(&post(&vendor, &path, text_message("a")).await), 0);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(
        errcode(&post(&vendor, &path, text_message("b")).await),
        42001
    );
    assert_ne!(corp_token(&vendor).await, token);
}

#[tokio::test]
async fn official_account_token_kills_the_previous_one_after_the_grace() {
    let vendor = VendorStandIn::start(config().token_grace(Duration::from_secs(1)))
        .await
        .unwrap();
    let fetch =
        format!("/cgi-bin/token?grant_type=client_credential&appid={OA}&secret={OA_SECRET}");
    let first = get(&vendor, &fetch).await;
    assert!(
        first.get("errcode").is_none(),
        "WeChat omits errcode: {first}"
    );
    let first = first["access_token"].as_str().unwrap().to_owned();
    let second = get(&vendor, &fetch).await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_ne!(first, second, "each call issues a new token");

    // The first one still works in the grace period, then answers 40001.
    let probe = |token: &str| format!("/cgi-bin/getcallbackip?access_token={token}");
    assert_eq!(errcode(&get(&vendor, &probe(&first)).await), 0);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(errcode(&get(&vendor, &probe(&first)).await), 40001);
    assert_eq!(errcode(&get(&vendor, &probe(&second)).await), 0);
    let wrong = get(
        &vendor,
        &format!("/cgi-bin/token?grant_type=client_credential&appid={OA}&secret=bad"),
    )
    .await;
    assert_eq!(errcode(&wrong), 40001);
    let grant = get(
        &vendor,
        &format!("/cgi-bin/token?grant_type=password&appid={OA}&secret={OA_SECRET}"),
    )
    .await;
    assert_eq!(errcode(&grant), 40002);
    assert_eq!(vendor.issued(VendorEndpoint::Token), 2);
}

#[tokio::test]
async fn stable_token_is_stable_unless_forced() {
    let vendor = VendorStandIn::start(config().token_grace(Duration::ZERO))
        .await
        .unwrap();
    let body = |force: bool| json!({"grant_type": "client_credential", "appid": OA, "secret": OA_SECRET, "force_refresh": force});
    let first = post(&vendor, "/cgi-bin/stable_token", body(false)).await;
    let again = post(&vendor, "/cgi-bin/stable_token", body(false)).await;
    assert_eq!(first["access_token"], again["access_token"]);
    let forced = post(&vendor, "/cgi-bin/stable_token", body(true)).await;
    assert_ne!(forced["access_token"], first["access_token"]);
    let probe = |v: &Value| {
        format!(
            "/cgi-bin/getcallbackip?access_token={}",
            v["access_token"].as_str().unwrap()
        )
    };
    assert_eq!(
        errcode(&get(&vendor, &probe(&first)).await),
        40001,
        "grace 0"
    );
    assert_eq!(errcode(&get(&vendor, &probe(&forced)).await), 0);
    // The normal token and the stable token are independent.
    let normal = get(
        &vendor,
        &format!("/cgi-bin/token?grant_type=client_credential&appid={OA}&secret={OA_SECRET}"),
    )
    .await;
    assert_eq!(errcode(&get(&vendor, &probe(&normal)).await), 0);
    assert_eq!(errcode(&get(&vendor, &probe(&forced)).await), 0);
    let wrong = post(
        &vendor,
        "/cgi-bin/stable_token",
        json!({"grant_type": "client_credential", "appid": "wxnope", "secret": OA_SECRET}),
    )
    .await;
    assert_eq!(errcode(&wrong), 40013);
}

#[tokio::test]
async fn suite_chain_from_the_ticket_to_a_corp_token() {
    let vendor = VendorStandIn::start(config().installing_corp("wwinstalled", "安装企业 Corp"))
        .await
        .unwrap();
    let suite_body = |ticket: &str| json!({"suite_id": SUITE, "suite_secret": SUITE_SECRET, "suite_ticket": ticket});
    // No ticket registered yet, then a stale one.
    let none = post(
        &vendor,
        "/cgi-bin/service/get_suite_token",
        suite_body("t1"),
    )
    .await;
    assert_eq!(errcode(&none), 40085);
    vendor.set_suite_ticket(SUITE, "t1");
    vendor.set_suite_ticket(SUITE, "t2");
    let stale = post(
        &vendor,
        "/cgi-bin/service/get_suite_token",
        suite_body("t1"),
    )
    .await;
    assert_eq!(errcode(&stale), 40085);
    let bad_secret = post(
        &vendor,
        "/cgi-bin/service/get_suite_token",
        json!({"suite_id": SUITE, "suite_secret": "x", "suite_ticket": "t2"}),
    )
    .await;
    assert_eq!(errcode(&bad_secret), 40001);
    let suite = post(
        &vendor,
        "/cgi-bin/service/get_suite_token",
        suite_body("t2"),
    )
    .await;
    assert_eq!(suite["errcode"], 0);
    let suite_token = suite["suite_access_token"].as_str().unwrap().to_owned();
    let again = post(
        &vendor,
        "/cgi-bin/service/get_suite_token",
        suite_body("t2"),
    )
    .await;
    assert_eq!(again["suite_access_token"], suite_token.as_str());

    // Pre-auth code, the install page, the permanent code.
    let pre = get(
        &vendor,
        &format!("/cgi-bin/service/get_pre_auth_code?suite_access_token={suite_token}"),
    )
    .await;
    let pre_auth_code = pre["pre_auth_code"].as_str().unwrap();
    let page = send(
        Method::GET,
        &vendor.url(&format!(
            "/3rdapp/install?suite_id={SUITE}&pre_auth_code={pre_auth_code}&redirect_uri=https%3A%2F%2Fapp.example%2Finstalled&state=s1"
        )),
        None,
    )
    .await;
    let location = page.location();
    assert!(
        location.starts_with("https://app.example/installed?"),
        "{location}"
    );
    let params = query_of(&location);
    assert_eq!(params["state"], "s1");
    assert_eq!(params["expires_in"], "1200");
    let auth_code = &params["auth_code"];
    let permanent_path =
        format!("/cgi-bin/service/get_permanent_code?suite_access_token={suite_token}");
    let permanent = post(&vendor, &permanent_path, json!({"auth_code": auth_code})).await;
    assert_eq!(permanent["errcode"], 0, "{permanent}");
    assert_eq!(permanent["auth_corp_info"]["corpid"], "wwinstalled");
    assert_eq!(permanent["auth_corp_info"]["corp_name"], "安装企业 Corp");
    let permanent_code = permanent["permanent_code"].as_str().unwrap().to_owned();
    let reused = post(&vendor, &permanent_path, json!({"auth_code": auth_code})).await;
    assert_eq!(errcode(&reused), 40029, "an auth_code is single use");
    // The push's auth code works the same way.
    let pushed = vendor.issue_suite_auth_code(SUITE);
    assert_eq!(
        errcode(&post(&vendor, &permanent_path, json!({"auth_code": pushed})).await),
        0
    );

    // The corp token, and what it opens.
    let corp_path = format!("/cgi-bin/service/get_corp_token?suite_access_token={suite_token}");
    let corp = post(
        &vendor,
        &corp_path,
        json!({"auth_corpid": "wwinstalled", "permanent_code": permanent_code}),
    )
    .await;
    assert_eq!(corp["errcode"], 0, "{corp}");
    let access_token = corp["access_token"].as_str().unwrap();
    let sent = post(
        &vendor,
        &format!("/cgi-bin/message/send?access_token={access_token}"),
        text_message(MIXED),
    )
    .await;
    assert_eq!(sent["errcode"], 0);
    let wrong_corp = post(
        &vendor,
        &corp_path,
        json!({"auth_corpid": "wwother", "permanent_code": permanent_code}),
    )
    .await;
    assert_eq!(errcode(&wrong_corp), 40084);
    let granted = vendor.grant_permanent_code(SUITE, "wwrestored");
    let restored = post(
        &vendor,
        &corp_path,
        json!({"auth_corpid": "wwrestored", "permanent_code": granted}),
    )
    .await;
    assert_eq!(errcode(&restored), 0);

    // Suite token errors: unknown, expired.
    let forged = get(
        &vendor,
        "/cgi-bin/service/get_pre_auth_code?suite_access_token=forged",
    )
    .await;
    assert_eq!(errcode(&forged), 40082);
    vendor.expire_tokens();
    let expired = post(
        &vendor,
        &corp_path,
        json!({"auth_corpid": "wwinstalled", "permanent_code": permanent_code}),
    )
    .await;
    assert_eq!(errcode(&expired), 42009);
}

#[tokio::test]
async fn open_platform_chain_from_the_ticket_to_an_authorizer_token() {
    let vendor = VendorStandIn::start(
        config()
            .authorizer("wxauthorizer")
            .rotate_authorizer_refresh_token(true),
    )
    .await
    .unwrap();
    let body = |ticket: &str| json!({"component_appid": COMPONENT, "component_appsecret": COMPONENT_SECRET, "component_verify_ticket": ticket});
    let path = "/cgi-bin/component/api_component_token";
    assert_eq!(
        errcode(&post(&vendor, path, body("ticket@@@a")).await),
        61006
    );
    vendor.set_component_verify_ticket(COMPONENT, "ticket@@@a");
    let unknown = post(
        &vendor,
        path,
        json!({"component_appid": "wxnope", "component_appsecret": "x", "component_verify_ticket": "ticket@@@a"}),
    )
    .await;
    assert_eq!(errcode(&unknown), 61011);
    let component = post(&vendor, path, body("ticket@@@a")).await;
    assert!(component.get("errcode").is_none(), "{component}");
    let component_token = component["component_access_token"]
        .as_str()
        .unwrap()
        .to_owned();

    let pre = post(
        &vendor,
        &format!(
            "/cgi-bin/component/api_create_preauthcode?component_access_token={component_token}"
        ),
        json!({"component_appid": COMPONENT}),
    )
    .await;
    assert_eq!(pre["expires_in"], 1800);
    let pre_auth_code = pre["pre_auth_code"].as_str().unwrap();
    let page = send(
        Method::GET,
        &vendor.url(&format!(
            "/cgi-bin/componentloginpage?component_appid={COMPONENT}&pre_auth_code={}&redirect_uri=https%3A%2F%2Fapp.example%2Fauthorized%3Ffrom%3Dpage&auth_type=3",
            form_urlencoded::byte_serialize(pre_auth_code.as_bytes()).collect::<String>()
        )),
        None,
    )
    .await;
    let location = page.location();
    assert!(
        location.starts_with("https://app.example/authorized?from=page&auth_code="),
        "{location}"
    );
    let params = query_of(&location);
    assert_eq!(params["expires_in"], "600");
    let bad_page = send(
        Method::GET,
        &vendor.url(&format!(
            "/cgi-bin/componentloginpage?component_appid={COMPONENT}&pre_auth_code=forged&redirect_uri=https%3A%2F%2Fapp.example%2F"
        )),
        None,
    )
    .await;
    assert_eq!(bad_page.status, StatusCode::BAD_REQUEST);

    let query_path =
        format!("/cgi-bin/component/api_query_auth?component_access_token={component_token}");
    let auth = post(
        &vendor,
        &query_path,
        json!({"component_appid": COMPONENT, "authorization_code": params["auth_code"]}),
    )
    .await;
    let info = &auth["authorization_info"];
    assert_eq!(info["authorizer_appid"], "wxauthorizer", "{auth}");
    let authorizer_token = info["authorizer_access_token"].as_str().unwrap();
    assert_eq!(
        errcode(
            &get(
                &vendor,
                &format!("/cgi-bin/getcallbackip?access_token={authorizer_token}")
            )
            .await
        ),
        0
    );
    let refresh = info["authorizer_refresh_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let reused = post(
        &vendor,
        &query_path,
        json!({"component_appid": COMPONENT, "authorization_code": params["auth_code"]}),
    )
    .await;
    assert_eq!(errcode(&reused), 40029);

    // Refresh with rotation: the old refresh token is dead afterwards.
    let refresh_path =
        format!("/cgi-bin/component/api_authorizer_token?component_access_token={component_token}");
    let refresh_body = |token: &str| json!({"component_appid": COMPONENT, "authorizer_appid": "wxauthorizer", "authorizer_refresh_token": token});
    let refreshed = post(&vendor, &refresh_path, refresh_body(&refresh)).await;
    let rotated = refreshed["authorizer_refresh_token"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_ne!(rotated, refresh);
    assert_ne!(
        refreshed["authorizer_access_token"],
        info["authorizer_access_token"]
    );
    assert_eq!(
        errcode(&post(&vendor, &refresh_path, refresh_body(&refresh)).await),
        61023
    );
    assert_eq!(
        errcode(&post(&vendor, &refresh_path, refresh_body(&rotated)).await),
        0
    );
    assert_eq!(
        errcode(&post(&vendor, &refresh_path, refresh_body("lost")).await),
        61023
    );

    // The push's authorization code, a restored refresh token.
    let pushed = vendor.issue_authorization_code(COMPONENT);
    let pushed_auth = post(
        &vendor,
        &query_path,
        json!({"component_appid": COMPONENT, "authorization_code": pushed}),
    )
    .await;
    assert!(pushed_auth["authorization_info"]["authorizer_refresh_token"].is_string());
    let restored = vendor.grant_authorizer_refresh_token(COMPONENT, "wxauthorizer");
    assert_eq!(
        errcode(&post(&vendor, &refresh_path, refresh_body(&restored)).await),
        0
    );

    // Component token errors.
    let forged = post(
        &vendor,
        "/cgi-bin/component/api_create_preauthcode?component_access_token=forged",
        json!({"component_appid": COMPONENT}),
    )
    .await;
    assert_eq!(errcode(&forged), 40014);
}

async fn login_redirect(vendor: &VendorStandIn, path: &str) -> HashMap<String, String> {
    let page = send(Method::GET, &vendor.url(path), None).await;
    let location = page.location();
    assert!(
        location.starts_with("https://app.example/cb?"),
        "{location}"
    );
    query_of(&location)
}

#[tokio::test]
async fn wecom_web_login_codes_are_single_use_and_bound_to_the_user() {
    let vendor = VendorStandIn::start(config()).await.unwrap();
    let token = corp_token(&vendor).await;
    let authorize = |scope: &str| {
        format!(
            "/connect/oauth2/authorize?appid={CORP}&redirect_uri=https%3A%2F%2Fapp.example%2Fcb&response_type=code&scope={scope}&state=Ab12&agentid={AGENT}"
        )
    };
    let params = login_redirect(&vendor, &authorize("snsapi_base")).await;
    assert_eq!(params["state"], "Ab12");
    let who = |code: &str| format!("/cgi-bin/auth/getuserinfo?access_token={token}&code={code}");
    let user = get(&vendor, &who(&params["code"])).await;
    assert_eq!(user["userid"], "zhangsan", "{user}");
    assert!(user.get("user_ticket").is_none());
    assert_eq!(
        errcode(&get(&vendor, &who(&params["code"])).await),
        40029,
        "single use"
    );
    assert_eq!(errcode(&get(&vendor, &who("forged")).await), 40029);

    // snsapi_privateinfo: a user_ticket, then the details.
    let params = login_redirect(&vendor, &authorize("snsapi_privateinfo")).await;
    let user = get(&vendor, &who(&params["code"])).await;
    let ticket = user["user_ticket"].as_str().unwrap();
    let detail = post(
        &vendor,
        &format!("/cgi-bin/auth/getuserdetail?access_token={token}"),
        json!({"user_ticket": ticket}),
    )
    .await;
    assert_eq!(detail["userid"], "zhangsan");
    assert_eq!(detail["mobile"], "13800000000");

    // A code keeps the user it was issued for; a non-member answers openid.
    let before = login_redirect(&vendor, &authorize("snsapi_base")).await;
    vendor.set_user(VendorUser::wechat("oNonMember").with_external_userid("wmExt"));
    let after = login_redirect(&vendor, &authorize("snsapi_base")).await;
    assert_eq!(
        get(&vendor, &who(&before["code"])).await["userid"],
        "zhangsan"
    );
    let outsider = get(&vendor, &who(&after["code"])).await;
    assert_eq!(outsider["openid"], "oNonMember");
    assert_eq!(outsider["external_userid"], "wmExt");
    assert!(outsider.get("userid").is_none());

    // The QR login page, refusal, bad requests.
    vendor.set_user(VendorUser::member("lisi"));
    let sso = login_redirect(
        &vendor,
        &format!("/wwlogin/sso/login?login_type=CorpApp&appid={CORP}&agentid={AGENT}&redirect_uri=https%3A%2F%2Fapp.example%2Fcb&state=Qr9"),
    )
    .await;
    assert_eq!(sso["state"], "Qr9");
    assert_eq!(get(&vendor, &who(&sso["code"])).await["userid"], "lisi");
    vendor.set_consent(Consent::Deny);
    let denied = login_redirect(&vendor, &authorize("snsapi_base")).await;
    assert!(!denied.contains_key("code"));
    assert_eq!(denied["state"], "Ab12");
    vendor.set_consent(Consent::Grant);
    let unknown_app = send(
        Method::GET,
        &vendor.url("/connect/oauth2/authorize?appid=wwnope&redirect_uri=https%3A%2F%2Fapp.example%2Fcb&response_type=code&scope=snsapi_base"),
        None,
    )
    .await;
    assert_eq!(unknown_app.status, StatusCode::BAD_REQUEST);
    assert_eq!(vendor.issued(VendorEndpoint::Authorize), 4);
    assert_eq!(vendor.calls(VendorEndpoint::Authorize), 6);
}

#[tokio::test]
async fn codes_expire_after_the_code_lifetime() {
    let vendor = VendorStandIn::start(config().code_lifetime(Duration::from_millis(200)))
        .await
        .unwrap();
    let token = corp_token(&vendor).await;
    let params = login_redirect(
        &vendor,
        &format!("/connect/oauth2/authorize?appid={CORP}&redirect_uri=https%3A%2F%2Fapp.example%2Fcb&response_type=code&scope=snsapi_base&state=x"),
    )
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let late = get(
        &vendor,
        &format!(
            "/cgi-bin/auth/getuserinfo?access_token={token}&code={}",
            params["code"]
        ),
    )
    .await;
    assert_eq!(errcode(&late), 40029);
}

#[tokio::test]
async fn official_account_web_login_with_refresh_and_profile() {
    let vendor = VendorStandIn::start(
        config().user(
            VendorUser::wechat("oUser1")
                .with_unionid("uUnion1")
                .with_nickname("小明 Ming"),
        ),
    )
    .await
    .unwrap();
    let authorize = |scope: &str| {
        format!(
            "/connect/oauth2/authorize?appid={OA}&redirect_uri=https%3A%2F%2Fapp.example%2Fcb&response_type=code&scope={scope}&state=s"
        )
    };
    let exchange = |code: &str| {
        format!(
            "/sns/oauth2/access_token?appid={OA}&secret={OA_SECRET}&code={code}&grant_type=authorization_code"
        )
    };
    let params = login_redirect(&vendor, &authorize("snsapi_userinfo")).await;
    let grant = get(&vendor, &exchange(&params["code"])).await;
    assert_eq!(grant["openid"], "oUser1", "{grant}");
    assert_eq!(grant["scope"], "snsapi_userinfo");
    assert_eq!(grant["unionid"], "uUnion1");
    assert_eq!(
        errcode(&get(&vendor, &exchange(&params["code"])).await),
        40163,
        "code been used"
    );
    let sns_token = grant["access_token"].as_str().unwrap();
    let profile = get(
        &vendor,
        &format!("/sns/userinfo?access_token={sns_token}&openid=oUser1&lang=zh_CN"),
    )
    .await;
    assert_eq!(profile["nickname"], "小明 Ming");
    assert_eq!(profile["unionid"], "uUnion1");
    let other = get(
        &vendor,
        &format!("/sns/userinfo?access_token={sns_token}&openid=oOther"),
    )
    .await;
    assert_eq!(errcode(&other), 40003);
    // The sns token is not an API token, and the other way round.
    assert_eq!(
        errcode(
            &get(
                &vendor,
                &format!("/cgi-bin/getcallbackip?access_token={sns_token}")
            )
            .await
        ),
        40014
    );

    let refresh = grant["refresh_token"].as_str().unwrap();
    let refreshed = get(
        &vendor,
        &format!(
            "/sns/oauth2/refresh_token?appid={OA}&grant_type=refresh_token&refresh_token={refresh}"
        ),
    )
    .await;
    assert_ne!(refreshed["access_token"], grant["access_token"]);
    assert_eq!(refreshed["refresh_token"], refresh);
    let bad_refresh = get(
        &vendor,
        &format!(
            "/sns/oauth2/refresh_token?appid={OA}&grant_type=refresh_token&refresh_token=nope"
        ),
    )
    .await;
    assert_eq!(errcode(&bad_refresh), 40030);

    // snsapi_base opens no profile.
    let base = login_redirect(&vendor, &authorize("snsapi_base")).await;
    let base_grant = get(&vendor, &exchange(&base["code"])).await;
    let base_token = base_grant["access_token"].as_str().unwrap();
    let refused = get(
        &vendor,
        &format!("/sns/userinfo?access_token={base_token}&openid=oUser1"),
    )
    .await;
    assert_eq!(errcode(&refused), 48001);
    let wrong_secret = get(
        &vendor,
        &format!(
            "/sns/oauth2/access_token?appid={OA}&secret=bad&code=x&grant_type=authorization_code"
        ),
    )
    .await;
    assert_eq!(errcode(&wrong_secret), 40001);
}

#[tokio::test]
async fn component_web_login_on_behalf_of_an_authorizer() {
    let vendor = VendorStandIn::start(config().user(VendorUser::wechat("oViaComponent")))
        .await
        .unwrap();
    vendor.set_component_verify_ticket(COMPONENT, "ticket@@@c");
    let component = post(
        &vendor,
        "/cgi-bin/component/api_component_token",
        json!({"component_appid": COMPONENT, "component_appsecret": COMPONENT_SECRET, "component_verify_ticket": "ticket@@@c"}),
    )
    .await;
    let component_token = component["component_access_token"].as_str().unwrap();
    let params = login_redirect(
        &vendor,
        &format!("/connect/oauth2/authorize?appid=wxauthorizer&redirect_uri=https%3A%2F%2Fapp.example%2Fcb&response_type=code&scope=snsapi_base&state=c&component_appid={COMPONENT}"),
    )
    .await;
    let exchange = |code: &str| {
        format!(
            "/sns/oauth2/component/access_token?appid=wxauthorizer&code={code}&grant_type=authorization_code&component_appid={COMPONENT}&component_access_token={component_token}"
        )
    };
    // The plain OA exchange does not take a component's code.
    let plain = get(
        &vendor,
        &format!("/sns/oauth2/access_token?appid={OA}&secret={OA_SECRET}&code={}&grant_type=authorization_code", params["code"]),
    )
    .await;
    assert_eq!(errcode(&plain), 40029);
    let grant = get(&vendor, &exchange(&params["code"])).await;
    assert_eq!(grant["openid"], "oViaComponent", "{grant}");
    assert_eq!(
        errcode(&get(&vendor, &exchange(&params["code"])).await),
        40163
    );
}

#[tokio::test]
async fn injected_faults_come_in_order_then_normal_answers() {
    let vendor = VendorStandIn::start(config()).await.unwrap();
    let fetch = vendor.url(&format!(
        "/cgi-bin/gettoken?corpid={CORP}&corpsecret={CORP_SECRET}"
    ));
    vendor.inject(VendorEndpoint::GetToken, Fault::INVALID_CREDENTIAL);
    vendor.inject(VendorEndpoint::GetToken, Fault::ACCESS_TOKEN_EXPIRED);
    vendor.inject(VendorEndpoint::GetToken, Fault::QUOTA);
    vendor.inject(VendorEndpoint::GetToken, Fault::BUSY);
    vendor.inject_n(VendorEndpoint::GetToken, Fault::Status(502), 2);
    vendor.inject(VendorEndpoint::GetToken, Fault::MalformedJson);
    vendor.inject(
        VendorEndpoint::GetToken,
        Fault::Delay(Duration::from_millis(300)),
    );

    for expected in [40001, 42001, 45009, -1] {
        let answer = send(Method::GET, &fetch, None).await;
        assert_eq!(answer.status, StatusCode::OK, "vendor errors are HTTP 200");
        assert_eq!(errcode(&answer.json()), expected);
    }
    for _ in 0..2 {
        assert_eq!(
            send(Method::GET, &fetch, None).await.status,
            StatusCode::BAD_GATEWAY
        );
    }
    let malformed = send(Method::GET, &fetch, None).await;
    assert_eq!(malformed.status, StatusCode::OK);
    assert!(serde_json::from_slice::<Value>(&malformed.body).is_err());
    let started = std::time::Instant::now();
    let slow = send(Method::GET, &fetch, None).await;
    assert!(started.elapsed() >= Duration::from_millis(300));
    assert_eq!(
        errcode(&slow.json()),
        0,
        "a delay answers normally afterwards"
    );
    assert_eq!(errcode(&send(Method::GET, &fetch, None).await.json()), 0);

    assert_eq!(vendor.calls(VendorEndpoint::GetToken), 9);
    assert_eq!(vendor.issued(VendorEndpoint::GetToken), 2);
    // Faults are per endpoint; clear_faults empties every queue.
    vendor.inject_n(VendorEndpoint::MessageSend, Fault::QUOTA, 3);
    assert_eq!(errcode(&send(Method::GET, &fetch, None).await.json()), 0);
    vendor.clear_faults();
    let token = corp_token(&vendor).await;
    let sent = post(
        &vendor,
        &format!("/cgi-bin/message/send?access_token={token}"),
        text_message("x"),
    )
    .await;
    assert_eq!(errcode(&sent), 0);
}

#[tokio::test]
async fn concurrent_fetches_share_the_live_token() {
    let vendor = VendorStandIn::start(config()).await.unwrap();
    let url = vendor.url(&format!(
        "/cgi-bin/gettoken?corpid={CORP}&corpsecret={CORP_SECRET}"
    ));
    let fetches = (0..50).map(|_| {
        let url = url.clone();
        tokio::spawn(async move { send(Method::GET, &url, None).await.json() })
    });
    let mut tokens = std::collections::HashSet::new();
    for fetch in fetches {
        tokens.insert(
            fetch.await.unwrap()["access_token"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    assert_eq!(tokens.len(), 1);
    assert_eq!(vendor.calls(VendorEndpoint::GetToken), 50);
}

#[tokio::test]
async fn debug_shows_no_secret_or_token() {
    let config = config().provider("wwprovider", "provider-secret-Vv5");
    let shown = format!("{config:?}");
    for secret in [
        CORP_SECRET,
        SUITE_SECRET,
        OA_SECRET,
        COMPONENT_SECRET,
        "provider-secret-Vv5",
    ] {
        assert!(!shown.contains(secret), "{shown}");
    }
    assert!(shown.contains(CORP) && shown.contains(COMPONENT));
    let vendor = VendorStandIn::start(config).await.unwrap();
    let token = corp_token(&vendor).await;
    vendor.set_suite_ticket(SUITE, "suite-ticket-secret");
    let shown = format!("{vendor:?}");
    assert!(
        !shown.contains(&token)
            && !shown.contains("suite-ticket-secret")
            && !shown.contains(CORP_SECRET)
    );
    assert!(shown.contains(vendor.base_url()));
}

#[tokio::test]
async fn unknown_paths_answer_404_and_shutdown_stops_the_server() {
    let vendor = VendorStandIn::start(config()).await.unwrap();
    assert_eq!(
        send(Method::GET, &vendor.url("/cgi-bin/nope"), None)
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    assert!(vendor.base_url().starts_with("http://127.0.0.1:"));
    assert!(!vendor.base_url().ends_with('/'));
    let address = vendor.local_addr();
    vendor.shutdown().await;
    assert!(tokio::net::TcpStream::connect(address).await.is_err());

    let dropped = VendorStandIn::start(config()).await.unwrap();
    let address = dropped.local_addr();
    drop(dropped);
    let mut refused = false;
    for _ in 0..50 {
        if tokio::net::TcpStream::connect(address).await.is_err() {
            refused = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(refused, "a dropped stand-in stops listening");
}
