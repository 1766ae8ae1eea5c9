//! The token endpoints (`/open-apis/auth/v3/…`). They take no token, and answer at the top level
//! with no `data` wrapper.

use crate::answer::endpoint;
use crate::answer::{Nothing, TopLevel};
use crate::endpoint::{Auth, Body, Endpoint};
use crate::error::BuildError;
use crate::secret::{AccessToken, AppSecret, AppTicket};
use http::Method;
use lark_content::{AppId, TenantKey};
use serde::Deserialize;
use std::time::Duration;

/// A tenant access token and how long it lives.
#[derive(Clone, Debug, Deserialize)]
#[non_exhaustive]
pub struct TenantToken {
    /// The token (`t-…`).
    pub tenant_access_token: AccessToken,
    /// Seconds it stays valid.
    pub expire: u64,
}

impl TenantToken {
    /// How long it stays valid.
    #[must_use]
    pub fn expires_in(&self) -> Duration {
        Duration::from_secs(self.expire)
    }
}

/// An app access token and how long it lives. The self-built endpoint also returns a tenant
/// token.
#[derive(Clone, Debug, Deserialize)]
#[non_exhaustive]
pub struct AppToken {
    /// The token.
    pub app_access_token: AccessToken,
    /// The tenant token (self-built apps only).
    #[serde(default)]
    pub tenant_access_token: Option<AccessToken>,
    /// Seconds it stays valid.
    pub expire: u64,
}

impl AppToken {
    /// How long it stays valid.
    #[must_use]
    pub fn expires_in(&self) -> Duration {
        Duration::from_secs(self.expire)
    }
}

pub(crate) fn check_credentials(app_id: &AppId, app_secret: &AppSecret) -> Result<(), BuildError> {
    if app_id.is_empty() {
        return Err(BuildError::InvalidParam {
            field: "app_id",
            reason: "is empty; it is the cli_… id from the developer console".to_owned(),
        });
    }
    if app_secret.is_empty() {
        return Err(BuildError::InvalidParam {
            field: "app_secret",
            reason: "is empty; copy it from the developer console".to_owned(),
        });
    }
    Ok(())
}

fn json(value: &serde_json::Value) -> Body {
    Body::json(value)
}

/// The body of a call that sends the app's id and secret, and `extra` when given.
fn credentials_body(
    app_id: &AppId,
    app_secret: &AppSecret,
    extra: Option<(&str, &str)>,
) -> Result<Body, BuildError> {
    check_credentials(app_id, app_secret)?;
    let mut body = serde_json::json!({
        "app_id": app_id,
        "app_secret": app_secret.expose(),
    });
    if let Some((name, value)) = extra {
        body[name] = value.into();
    }
    Ok(json(&body))
}

/// Declares a token call that sends the app's id and secret and nothing else.
macro_rules! credentials_call {
    ($(#[$doc:meta])* $name:ident, $path:literal => $answer:ty, $new_doc:literal) => {
        $(#[$doc])*
        #[derive(Clone, Debug)]
        #[must_use]
        pub struct $name {
            /// The app.
            pub app_id: AppId,
            /// Its secret.
            pub app_secret: AppSecret,
        }

        impl $name {
            #[doc = $new_doc]
            pub fn new(app_id: AppId, app_secret: AppSecret) -> Self {
                Self { app_id, app_secret }
            }
        }

        impl Endpoint for $name {
            type Output = <$answer as crate::answer::Answer>::Output;
            type Answer = $answer;
            const METHOD: Method = Method::POST;
            const PATH: &'static str = $path;
            const AUTH: Auth = Auth::None;

            fn body(&self) -> Result<Body, BuildError> {
                credentials_body(&self.app_id, &self.app_secret, None)
            }

            fn is_idempotent(&self) -> bool {
                true
            }
        }
    };
}

credentials_call! {
    /// `POST /open-apis/auth/v3/tenant_access_token/internal`: a self-built app's tenant token.
    TenantAccessTokenInternal, "/open-apis/auth/v3/tenant_access_token/internal"
        => TopLevel<TenantToken>, "The request for `app_id`'s tenant token."
}

credentials_call! {
    /// `POST /open-apis/auth/v3/app_access_token/internal`: a self-built app's app token.
    AppAccessTokenInternal, "/open-apis/auth/v3/app_access_token/internal"
        => TopLevel<AppToken>, "The request for `app_id`'s app token."
}

/// `POST /open-apis/auth/v3/app_access_token`: a marketplace app's app token, from its ticket.
#[derive(Clone, Debug)]
#[must_use]
pub struct AppAccessToken {
    /// The app.
    pub app_id: AppId,
    /// Its secret.
    pub app_secret: AppSecret,
    /// The latest app ticket the platform pushed.
    pub app_ticket: AppTicket,
}

impl AppAccessToken {
    /// The request for a marketplace app's app token.
    pub fn new(app_id: AppId, app_secret: AppSecret, app_ticket: AppTicket) -> Self {
        Self {
            app_id,
            app_secret,
            app_ticket,
        }
    }
}

endpoint!(AppAccessToken: POST "/open-apis/auth/v3/app_access_token" => TopLevel<AppToken> {
    const AUTH: Auth = Auth::None;

    fn body(&self) -> Result<Body, BuildError> {
        credentials_body(
            &self.app_id,
            &self.app_secret,
            Some(("app_ticket", self.app_ticket.expose())),
        )
    }

    fn is_idempotent(&self) -> bool {
        true
    }
});

/// `POST /open-apis/auth/v3/tenant_access_token`: a marketplace app's token for one tenant.
#[derive(Clone, Debug)]
#[must_use]
pub struct TenantAccessToken {
    /// The app token.
    pub app_access_token: AccessToken,
    /// The tenant.
    pub tenant_key: TenantKey,
}

impl TenantAccessToken {
    /// The request for `tenant_key`'s token.
    pub fn new(app_access_token: AccessToken, tenant_key: TenantKey) -> Self {
        Self {
            app_access_token,
            tenant_key,
        }
    }
}

endpoint!(TenantAccessToken: POST "/open-apis/auth/v3/tenant_access_token" => TopLevel<TenantToken> {
    const AUTH: Auth = Auth::None;

    fn body(&self) -> Result<Body, BuildError> {
        Ok(json(&serde_json::json!({
            "app_access_token": self.app_access_token.expose(),
            "tenant_key": self.tenant_key,
        })))
    }

    fn is_idempotent(&self) -> bool {
        true
    }
});

credentials_call! {
    /// `POST /open-apis/auth/v3/app_ticket/resend`: asks the platform to push the app ticket again
    /// (marketplace apps; a self-built app gets 10016).
    AppTicketResend, "/open-apis/auth/v3/app_ticket/resend" => Nothing, "The resend request."
}
