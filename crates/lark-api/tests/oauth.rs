//! The OAuth calls against the examples of their documentation pages (open.feishu.cn
//! `/document/uAjLw4CM/ukTMukTMukTM/authentication-management/access-token/…`:
//! `obtain-oauth-code`, `get-user-access-token`, `refresh-user-access-token`), and the device
//! flow, the revocation and the access-policy codes as the official `larksuite/cli` sends and
//! names them (`internal/auth/device_flow.go`, `revoke.go`, `errors.go`).

use lark_api::oauth::{
    AccountsUrl, AuthorizationCode, Authorize, CodeVerifier, DeviceAuthorization, DeviceCode,
    DeviceWait, Grant, Pkce, RefreshToken, Revoke, UserAccessToken, UserInfo, oauth_error,
};
use lark_api::{
    AppSecret, BaseUrl, Body, Endpoint, Error, ErrorKind, build_request, codes, parse_response,
};
use lark_content::AppId;
use serde_json::{Value, json};

fn body<E: Endpoint>(endpoint: &E) -> (String, String, Value) {
    let request = build_request(endpoint, &BaseUrl::feishu(), None).unwrap();
    assert!(
        request.headers().get("authorization").is_none(),
        "the token endpoint takes no token"
    );
    let Body::Json(bytes) = request.body() else {
        panic!("a JSON body")
    };
    (
        request.method().to_string(),
        request.uri().to_string(),
        serde_json::from_slice(bytes).unwrap(),
    )
}

fn answer(status: u16, body: &str) -> http::Response<bytes::Bytes> {
    http::Response::builder()
        .status(status)
        .body(bytes::Bytes::from(body.to_owned()))
        .unwrap()
}

#[test]
fn the_authorize_url_is_the_documented_one_with_pkce_added() {
    let url = Authorize::new(
        AppId::new("cli_a5d611352af9d00b"),
        "https://example.com/api/oauth/callback",
    )
    .scopes(["bitable:app:readonly", "contact:contact"])
    .consent()
    .state("RANDOMSTRING")
    .url(&AccountsUrl::feishu())
    .unwrap();
    // The page's example, with its parameters in our order.
    assert_eq!(
        url,
        "https://accounts.feishu.cn/open-apis/authen/v1/authorize?client_id=cli_a5d611352af9d00b&response_type=code&redirect_uri=https%3A%2F%2Fexample.com%2Fapi%2Foauth%2Fcallback&scope=bitable%3Aapp%3Areadonly%20contact%3Acontact&state=RANDOMSTRING&prompt=consent"
    );
    // RFC 7636, appendix B: the verifier and challenge of its example.
    let pkce = Pkce::from_verifier("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk").unwrap();
    assert_eq!(
        pkce.challenge(),
        "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
    );
    let url = Authorize::new(
        AppId::new("cli_a5d611352af9d00b"),
        "http://127.0.0.1:8400/callback",
    )
    .pkce(&pkce)
    .url(&AccountsUrl::lark())
    .unwrap();
    assert!(url.starts_with("https://accounts.larksuite.com/"), "{url}");
    assert!(
        url.ends_with(
            "&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256"
        ),
        "{url}"
    );
}

#[test]
fn bad_scopes_and_verifiers_are_refused_before_anything_is_sent() {
    let base = Authorize::new(AppId::new("cli_1"), "http://127.0.0.1/cb");
    let twice = base
        .clone()
        .scopes(["im:message", "im:message"])
        .url(&AccountsUrl::feishu());
    assert!(twice.unwrap_err().to_string().contains("20067"));
    let many = base
        .clone()
        .scopes((0..51).map(|i| format!("s{i}")))
        .url(&AccountsUrl::feishu());
    assert!(many.unwrap_err().to_string().contains("at most 50"));
    assert!(Pkce::from_verifier("short").is_err());
    assert!(Pkce::from_verifier("a".repeat(43) + "!").is_err());
    assert_eq!(Pkce::from_random([0; 32]).verifier().expose().len(), 43);
}

#[test]
fn the_accounts_host_follows_the_api_base_url() {
    assert_eq!(
        AccountsUrl::for_base(&BaseUrl::feishu()),
        AccountsUrl::feishu()
    );
    assert_eq!(AccountsUrl::for_base(&BaseUrl::lark()), AccountsUrl::lark());
    let emulator = BaseUrl::parse("http://127.0.0.1:9999").unwrap();
    assert_eq!(
        AccountsUrl::for_base(&emulator).as_str(),
        "http://127.0.0.1:9999"
    );
}

#[test]
fn the_code_and_refresh_exchanges_have_their_documented_bodies() {
    let code = UserAccessToken::new(
        AppId::new("cli_a5ca35a685b0x26e"),
        AppSecret::new("baBqE5um9LbFGDy3X7LcfxQX1sqpXlwy"),
        Grant::AuthorizationCode {
            code: AuthorizationCode::new("a61hb967bd094dge949h79bbexd16dfe"),
            redirect_uri: Some("https://example.com/api/oauth/callback".to_owned()),
            code_verifier: Some(CodeVerifier::new(
                "TxYmzM4PHLBlqm5NtnCmwxMH8mFlRWl_ipie3O0aVzo",
            )),
        },
    );
    let (method, uri, sent) = body(&code);
    assert_eq!(
        (method.as_str(), uri.as_str()),
        (
            "POST",
            "https://open.feishu.cn/open-apis/authen/v2/oauth/token"
        )
    );
    assert_eq!(
        sent,
        json!({
            "grant_type": "authorization_code",
            "client_id": "cli_a5ca35a685b0x26e",
            "client_secret": "baBqE5um9LbFGDy3X7LcfxQX1sqpXlwy",
            "code": "a61hb967bd094dge949h79bbexd16dfe",
            "redirect_uri": "https://example.com/api/oauth/callback",
            "code_verifier": "TxYmzM4PHLBlqm5NtnCmwxMH8mFlRWl_ipie3O0aVzo"
        })
    );
    let refresh = UserAccessToken::new(
        AppId::new("cli_a5ca35a685b0x26e"),
        AppSecret::new("baBqE5um9LbFGDy3X7LcfxQX1sqpXlwy"),
        Grant::RefreshToken(RefreshToken::new(
            "eyJhbGciOiJFUzI1NiIs**********XXOYOZz1mfgIYHwM8ZJA",
        )),
    );
    assert_eq!(
        body(&refresh).2,
        json!({
            "grant_type": "refresh_token",
            "client_id": "cli_a5ca35a685b0x26e",
            "client_secret": "baBqE5um9LbFGDy3X7LcfxQX1sqpXlwy",
            "refresh_token": "eyJhbGciOiJFUzI1NiIs**********XXOYOZz1mfgIYHwM8ZJA"
        })
    );
    let device = UserAccessToken::new(
        AppId::new("cli_1"),
        AppSecret::new("s"),
        Grant::DeviceCode(DeviceCode::new("device-code")),
    );
    let sent = body(&device).2;
    assert_eq!(
        sent["grant_type"],
        "urn:ietf:params:oauth:grant-type:device_code"
    );
    assert_eq!(sent["device_code"], "device-code");
    // Secrets stay out of Debug.
    let debug = format!("{code:?}{refresh:?}{device:?}");
    for secret in [
        "baBqE5um9LbFGDy3X7LcfxQX1sqpXlwy",
        "a61hb967bd094dge949h79bbexd16dfe",
        "TxYmzM4PHLBlqm5NtnCmwxMH8mFlRWl_ipie3O0aVzo",
        "device-code",
    ] {
        assert!(!debug.contains(secret), "{debug}");
    }
}

#[test]
fn the_documented_answers_read_as_a_token_pair_or_a_refusal() {
    let refresh = UserAccessToken::new(
        AppId::new("cli_1"),
        AppSecret::new("s"),
        Grant::RefreshToken(RefreshToken::new("r")),
    );
    // The success example of the token pages (its comments removed).
    let tokens = parse_response(
        &refresh,
        answer(200, r#"{"code":0,"access_token":"eyJhbGciOiJFUzI1NiIs**********X6wrZHYKDxJkWwhdkrYg","expires_in":7200,"refresh_token":"eyJhbGciOiJFUzI1NiIs**********VXOYOZYZmfgIYHWM0ZJA","refresh_token_expires_in":604800,"scope":"auth:user.id:read offline_access task:task:read user_profile","token_type":"Bearer"}"#),
    )
    .unwrap();
    assert_eq!(tokens.expires_in, 7200);
    assert_eq!(tokens.refresh_token_expires_in, Some(604_800));
    assert_eq!(
        tokens.refresh_token.unwrap().expose(),
        "eyJhbGciOiJFUzI1NiIs**********VXOYOZYZmfgIYHWM0ZJA"
    );
    // The failure example.
    let Err(Error::Api(error)) = parse_response(
        &refresh,
        answer(
            500,
            r#"{"code":20050,"error":"server_error","error_description":"An unexpected server error occurred. Please retry your request."}"#,
        ),
    ) else {
        panic!("a refusal")
    };
    assert_eq!(error.code, 20_050);
    assert_eq!(oauth_error(&error), Some("server_error"));
    assert!(!error.is_terminal());
    // A spent refresh token: sign in again.
    let Err(Error::Api(error)) = parse_response(
        &refresh,
        answer(
            400,
            r#"{"code":20064,"error":"invalid_grant","error_description":"The refresh token has been revoked. Please note that a refresh token can only be used once."}"#,
        ),
    ) else {
        panic!("a refusal")
    };
    assert_eq!(error.kind(), ErrorKind::SignInAgain);
    assert!(error.is_terminal());
    assert!(error.to_string().contains("sign in again"), "{error}");
    for code in [20_026, 20_037, 20_064, 20_073] {
        let Err(Error::Api(error)) = parse_response(
            &refresh,
            answer(
                400,
                &format!(r#"{{"code":{code},"error":"invalid_grant"}}"#),
            ),
        ) else {
            panic!("a refusal")
        };
        assert_eq!(error.kind(), ErrorKind::SignInAgain, "{code}");
    }
}

#[test]
fn device_polls_tell_waiting_from_a_final_refusal() {
    let poll = UserAccessToken::new(
        AppId::new("cli_1"),
        AppSecret::new("s"),
        Grant::DeviceCode(DeviceCode::new("d")),
    );
    let wait = |body: &str| {
        let error = parse_response(&poll, answer(400, body)).unwrap_err();
        DeviceWait::of(&error)
    };
    assert_eq!(
        wait(r#"{"error":"authorization_pending"}"#),
        Some(DeviceWait::Pending)
    );
    assert_eq!(
        wait(r#"{"error":"slow_down","error_description":"poll less often"}"#),
        Some(DeviceWait::SlowDown)
    );
    assert_eq!(wait(r#"{"error":"access_denied"}"#), None);
    assert_eq!(wait(r#"{"error":"expired_token"}"#), None);
}

#[test]
fn the_device_authorization_is_a_form_with_basic_credentials_on_the_accounts_host() {
    let request = DeviceAuthorization::new(
        AppId::new("cli_1"),
        AppSecret::new("secret"),
        ["im:message"],
    )
    .request(&AccountsUrl::feishu())
    .unwrap();
    assert_eq!(
        request.uri(),
        "https://accounts.feishu.cn/oauth/v1/device_authorization"
    );
    assert_eq!(
        request.headers()["content-type"],
        "application/x-www-form-urlencoded"
    );
    // base64("cli_1:secret")
    assert_eq!(request.headers()["authorization"], "Basic Y2xpXzE6c2VjcmV0");
    assert!(request.headers()["authorization"].is_sensitive());
    assert_eq!(
        request.body().as_ref(),
        b"client_id=cli_1&scope=im%3Amessage%20offline_access"
    );
    let grant = DeviceAuthorization::parse(answer(
        200,
        r#"{"device_code":"dc","user_code":"ABCD-EFGH","verification_uri":"https://accounts.feishu.cn/device","expires_in":240,"interval":5}"#,
    ))
    .unwrap();
    assert_eq!(
        (grant.user_code.as_str(), grant.interval, grant.expires_in),
        ("ABCD-EFGH", 5, 240)
    );
}

#[test]
fn user_info_is_asked_with_a_user_token() {
    assert_eq!(UserInfo::AUTH, lark_api::Auth::User);
    let user = parse_response(
        &UserInfo,
        answer(200, r#"{"code":0,"msg":"success","data":{"name":"Tom","open_id":"ou_7d8a6e6df7621556ce0d21922b676706ccs","tenant_key":"736588c9260f175e"}}"#),
    )
    .unwrap();
    assert_eq!(
        user.open_id.as_str(),
        "ou_7d8a6e6df7621556ce0d21922b676706ccs"
    );
}

#[test]
fn revoking_is_a_form_on_the_accounts_host_and_an_empty_answer_is_success() {
    let request = Revoke::new(
        AppId::new("cli_1"),
        AppSecret::new("secret"),
        RefreshToken::new("ur-1"),
    )
    .request(&AccountsUrl::lark())
    .unwrap();
    assert_eq!(
        request.uri(),
        "https://accounts.larksuite.com/oauth/v1/revoke"
    );
    assert_eq!(request.method(), http::Method::POST);
    assert_eq!(
        request.body().as_ref(),
        b"client_id=cli_1&client_secret=secret&token=ur-1&token_type_hint=refresh_token"
    );
    Revoke::parse(answer(200, "")).unwrap();
    Revoke::parse(answer(200, r#"{"code":0}"#)).unwrap();
    let refused = Revoke::parse(answer(
        400,
        r#"{"code":20002,"error":"invalid_client","error_description":"client secret is wrong"}"#,
    ))
    .unwrap_err();
    assert_eq!(refused.as_api().map(|api| api.code), Some(20_002));
}

#[test]
fn access_policy_refusals_are_permission_failures() {
    for code in [codes::ACCESS_POLICY_CHALLENGE, codes::ACCESS_POLICY_DENIED] {
        let error = parse_response(
            &UserInfo,
            answer(
                400,
                &format!(r#"{{"code":{code},"msg":"access denied by access control policy"}}"#),
            ),
        )
        .unwrap_err();
        assert_eq!(error.kind(), ErrorKind::Permission, "{code}");
    }
}
