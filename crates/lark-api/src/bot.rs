//! The bot's own identity: its name and open_id, so that it can tell its own mentions and
//! messages apart.

use crate::answer::Answer;
use crate::endpoint::{Endpoint, parse_top_level};
use crate::error::Error;
use bytes::Bytes;
use http::Method;
use lark_content::OpenId;
use serde::Deserialize;

/// What the platform says about the calling app's bot.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, serde::Serialize)]
#[non_exhaustive]
pub struct BotInfo {
    /// The bot's open_id: how mentions and senders name it.
    pub open_id: OpenId,
    /// The app's name.
    #[serde(default)]
    pub app_name: String,
    /// The avatar's url.
    #[serde(default)]
    pub avatar_url: Option<String>,
    /// The app's state: 0 not installed, 1 not activated, 2 activated, 3 stopped, 4 not
    /// activated in the tenant.
    #[serde(default)]
    pub activate_status: Option<i64>,
    /// The addresses the app's calls must come from, when the app sets any.
    #[serde(default, deserialize_with = "crate::pagination::null_as_empty")]
    pub ip_white_list: Vec<String>,
}

/// The answer of [`GetBotInfo`]: `bot`, beside `code` and `msg` at the top level.
#[derive(Debug)]
pub struct BotAnswer;

impl Answer for BotAnswer {
    type Output = BotInfo;

    fn read(response: http::Response<Bytes>) -> Result<BotInfo, Error> {
        #[derive(Deserialize)]
        struct Top {
            bot: BotInfo,
        }
        parse_top_level::<Top>(&response).map(|top| top.bot)
    }
}

/// `GET /open-apis/bot/v3/info`: the calling app's bot (a tenant token).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[must_use]
pub struct GetBotInfo;

impl Endpoint for GetBotInfo {
    type Output = BotInfo;
    type Answer = BotAnswer;
    const METHOD: Method = Method::GET;
    const PATH: &'static str = "/open-apis/bot/v3/info";
}
