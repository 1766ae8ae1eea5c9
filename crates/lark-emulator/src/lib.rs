#![doc = include_str!("../README.md")]

mod codes;
mod config;
mod control;
mod convert;
mod crypto;
mod events;
mod faults;
mod quota;
mod routes;
mod rules;
mod server;
mod simulate;
mod state;
mod util;
mod ws;

pub use config::{AppConfig, ChatConfig, EmulatorConfig, Subscription, UserConfig, WebhookConfig};
pub use control::CONTROL_PREFIX;
pub use events::EmittedEvent;
pub use faults::{Fault, FaultRule, Matcher, Trigger};
pub use quota::QuotaConfig;
pub use simulate::{ClickOutcome, EmulatorError};
pub use state::{DeliveryRecord, RecordedRequest};
pub use ws::{WsAck, WsConfig, WsRefusal};

use bytes::Bytes;
use serde_json::Value;
use server::Shared;
use simulate::Membership;
use state::State;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// A user of the emulated tenant, with all their ids.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct UserInfo {
    /// The display name.
    pub name: String,
    /// The open_id.
    pub open_id: String,
    /// The union_id.
    pub union_id: String,
    /// The user_id.
    pub user_id: String,
    /// The email address.
    pub email: String,
}

/// A running emulator. Dropping it stops the server and closes every connection.
pub struct Emulator {
    shared: Arc<Shared>,
    addr: SocketAddr,
    shutdown: Option<oneshot::Sender<()>>,
    server: JoinHandle<()>,
    delivery: JoinHandle<()>,
}

impl std::fmt::Debug for Emulator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Emulator")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

impl Emulator {
    /// Starts an emulator on `config.addr` (port 0 picks a free port). Needs a Tokio runtime.
    /// A configuration that registers no app is refused.
    pub async fn start(config: EmulatorConfig) -> std::io::Result<Self> {
        if config.apps.is_empty() {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                "the emulator configuration registers no app; add one to `apps`",
            ));
        }
        let listener = TcpListener::bind(config.addr).await?;
        let addr = listener.local_addr()?;
        let (bus, events) = events::EventBus::new();
        let shared = Arc::new(Shared::new(
            State::new(config),
            bus,
            format!("http://{addr}"),
        ));
        let (shutdown, stop) = oneshot::channel();
        let server = tokio::spawn(server::serve(listener, shared.clone(), stop));
        let delivery = tokio::spawn(events::run(Arc::downgrade(&shared), events));
        Ok(Self {
            shared,
            addr,
            shutdown: Some(shutdown),
            server,
            delivery,
        })
    }

    /// Starts an emulator with the default configuration.
    pub async fn start_default() -> std::io::Result<Self> {
        Self::start(EmulatorConfig::default()).await
    }

    /// The address it listens on.
    #[must_use]
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The base url to point a client at, e.g. `http://127.0.0.1:41234`.
    #[must_use]
    pub fn base_url(&self) -> String {
        self.shared.base_url.clone()
    }

    /// The configuration it runs with (the webhook as last set).
    #[must_use]
    pub fn config(&self) -> EmulatorConfig {
        self.shared.state().config.clone()
    }

    /// The first app's id.
    #[must_use]
    pub fn app_id(&self) -> String {
        self.shared.state().config.app().app_id.clone()
    }

    /// The first app's secret.
    #[must_use]
    pub fn app_secret(&self) -> String {
        self.shared.state().config.app().app_secret.clone()
    }

    /// The first app's bot open_id.
    #[must_use]
    pub fn bot_open_id(&self) -> String {
        self.shared.state().config.app().bot_open_id.clone()
    }

    /// The first configured chat.
    #[must_use]
    pub fn default_chat(&self) -> String {
        control::default_chat(&self.shared.state())
    }

    /// Every user.
    #[must_use]
    pub fn users(&self) -> Vec<UserInfo> {
        control::users(&self.shared.state())
    }

    /// A user by name.
    #[must_use]
    pub fn user(&self, name: &str) -> Option<UserInfo> {
        self.users().into_iter().find(|u| u.name == name)
    }

    /// Registers an app, or replaces the one with its app_id. Refused without an app_id and an
    /// app_secret.
    pub fn add_app(&self, app: AppConfig) -> Result<(), EmulatorError> {
        control::add_app(&self.shared, app)
    }

    /// Adds a user of the tenant; the ids left empty are made up. Refused without a name, or
    /// with an open_id that is taken or does not start with `ou_`.
    pub fn add_user(&self, user: &UserConfig) -> Result<UserInfo, EmulatorError> {
        control::add_user(&self.shared, user)
    }

    /// Adds a group chat. Its members (open_ids) and bots (app_ids) must exist; its chat_id,
    /// made up when empty, must be new. Returns the chat_id.
    pub fn add_chat(&self, chat: &ChatConfig) -> Result<String, EmulatorError> {
        control::add_chat(&self.shared, chat)
    }

    /// Returns to the configuration the emulator started with: its apps, users and chats, and
    /// no messages, tokens, faults, records or open long connections. Deliveries already on
    /// their way finish.
    pub fn reset(&self) {
        control::reset(&self.shared);
    }

    /// Sets (or removes) where events and card callbacks go for apps in webhook mode. Apps
    /// under test usually start after the emulator, so the url is only known then.
    pub fn set_webhook(&self, webhook: Option<WebhookConfig>) {
        self.shared.state().config.webhook = webhook;
    }

    /// Sets how `app_id` receives events and card callbacks, as the developer console does.
    /// Events already waiting for a long connection keep waiting for one.
    pub fn set_subscription(
        &self,
        app_id: &str,
        subscription: Subscription,
    ) -> Result<(), EmulatorError> {
        control::set_subscription(&self.shared, app_id, subscription)
    }

    // ------------------------------------------------------------------ inspection

    /// Every request answered so far.
    #[must_use]
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.shared.state().requests.clone()
    }

    /// How many times `app_id` asked for a token (every token endpoint counts).
    #[must_use]
    pub fn token_fetches(&self, app_id: &str) -> u64 {
        self.shared
            .state()
            .token_fetches
            .get(app_id)
            .copied()
            .unwrap_or(0)
    }

    /// The messages of a chat in order, as the REST endpoints write them, cards as sent.
    #[must_use]
    pub fn messages_in(&self, chat_id: &str) -> Vec<Value> {
        control::messages_in(&self.shared.state(), chat_id)
    }

    /// One message, as the REST endpoints write it, card as sent.
    #[must_use]
    pub fn message(&self, message_id: &str) -> Option<Value> {
        control::message(&self.shared.state(), message_id)
    }

    /// How many messages exist with this idempotency uuid (a correct client never makes two).
    #[must_use]
    pub fn messages_with_uuid(&self, uuid: &str) -> usize {
        self.shared
            .state()
            .messages
            .values()
            .filter(|m| m.uuid.as_deref() == Some(uuid))
            .count()
    }

    /// How many send/reply/forward requests carried this uuid (retries included).
    #[must_use]
    pub fn uuid_attempts(&self, uuid: &str) -> u64 {
        self.shared
            .state()
            .uuid_attempts
            .get(uuid)
            .copied()
            .unwrap_or(0)
    }

    /// The number of messages stored, in every chat.
    #[must_use]
    pub fn message_count(&self) -> usize {
        self.shared.state().messages.len()
    }

    /// Every event produced, in order.
    #[must_use]
    pub fn emitted_events(&self) -> Vec<EmittedEvent> {
        self.shared.state().emitted.clone()
    }

    /// Events emitted whose delivery has not ended: still being delivered, waiting for a retry,
    /// for a copy, or (in long-connection mode) for a connection. Tests wait for 0 before they
    /// check that nothing more arrives.
    #[must_use]
    pub fn deliveries_in_flight(&self) -> usize {
        self.shared.events.in_flight()
    }

    /// Every delivery attempt, in order.
    #[must_use]
    pub fn deliveries(&self) -> Vec<DeliveryRecord> {
        self.shared.state().deliveries.clone()
    }

    /// Toasts the app answered card clicks with.
    #[must_use]
    pub fn toasts(&self) -> Vec<Value> {
        self.shared.state().toasts.clone()
    }

    /// The bytes of an uploaded image or file.
    #[must_use]
    pub fn upload(&self, key: &str) -> Option<Bytes> {
        let state = self.shared.state();
        state
            .images
            .get(key)
            .or_else(|| state.files.get(key))
            .map(|blob| blob.bytes.clone())
    }

    /// Waits until `condition` holds, re-checking whenever the state changes; false when
    /// `timeout` passes first. The timeout is a ceiling for a test that would otherwise hang,
    /// not a pace: the check runs on every change, however slow or fast the machine.
    pub async fn wait_until(
        &self,
        timeout: Duration,
        mut condition: impl FnMut(&Self) -> bool,
    ) -> bool {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let changed = self.shared.changed.notified();
            tokio::pin!(changed);
            changed.as_mut().enable();
            if condition(self) {
                return true;
            }
            if tokio::time::timeout_at(deadline, changed).await.is_err() {
                return condition(self);
            }
        }
    }

    // ------------------------------------------------------------------ faults

    /// Adds a fault rule.
    pub fn inject(&self, rule: FaultRule) {
        self.shared.state().faults.push(rule);
    }

    /// Removes every fault rule.
    pub fn clear_faults(&self) {
        self.shared.state().faults.clear();
    }

    /// The fault rules, with how often each matched and fired.
    #[must_use]
    pub fn fault_rules(&self) -> Vec<FaultRule> {
        self.shared.state().faults.rules().to_vec()
    }

    /// A CardKit card entity as it is now: `card_id`, `app_id`, `card` (its JSON 2.0),
    /// `sequence` (the last operation's), `streaming`, `message_id` (once sent), `text` (its
    /// `markdown` and `plain_text` components' text, one per line) and `timeline`: every
    /// operation that changed it, oldest first, each with `operation`, `sequence`, `at_ms`,
    /// `streaming` and the `text` after it, which is what a reader saw from then on.
    #[must_use]
    pub fn card(&self, card_id: &str) -> Option<Value> {
        control::card(&self.shared.state(), card_id)
    }

    /// The ids of every card entity, in no order.
    #[must_use]
    pub fn card_ids(&self) -> Vec<String> {
        self.shared.state().cards.keys().cloned().collect()
    }

    /// How many card operations were refused for the limit of 10 a second on one card.
    #[must_use]
    pub fn card_rate_refusals(&self) -> u64 {
        self.shared.state().card_rate_refusals
    }

    /// `user` (a name or an open_id) signs in through `authorize_url`, the url an app built
    /// for `{base_url}/open-apis/authen/v1/authorize`, and consents: answers the url the
    /// browser is sent back to, with a new code (valid once, for 5 minutes) and the `state`.
    ///
    /// # Errors
    /// [`EmulatorError::Content`] for a url the accounts page would refuse, or an unknown user
    /// or app.
    pub fn consent(&self, user: &str, authorize_url: &str) -> Result<String, EmulatorError> {
        control::consent(&self.shared, user, authorize_url)
    }

    /// [`consent`](Self::consent), answering only the code the redirect carries.
    ///
    /// # Errors
    /// As [`consent`](Self::consent).
    pub fn consent_code(&self, user: &str, authorize_url: &str) -> Result<String, EmulatorError> {
        let redirect = self.consent(user, authorize_url)?;
        let query = redirect.split_once('?').map_or("", |(_, query)| query);
        server::parse_query(query)
            .remove("code")
            .ok_or_else(|| EmulatorError::Content(format!("the redirect {redirect} has no code")))
    }

    /// `user` enters `user_code` on the device flow's verification page and approves it
    /// (`approve`) or denies it.
    ///
    /// # Errors
    /// [`EmulatorError::Content`] for an unknown user or user code.
    pub fn decide_device(
        &self,
        user: &str,
        user_code: &str,
        approve: bool,
    ) -> Result<(), EmulatorError> {
        control::decide_device(&self.shared, user, user_code, approve)
    }

    /// Revokes every user token and refresh token `app_id` holds for `user` (an open_id).
    pub fn revoke_user_tokens(&self, app_id: &str, user: &str) {
        control::revoke_user_tokens(&self.shared, app_id, user);
    }

    /// How many revocation requests (`POST /oauth/v1/revoke`) were answered.
    #[must_use]
    pub fn oauth_revocations(&self) -> u64 {
        self.shared.state().oauth.revocations
    }

    /// How many token requests were answered with a new pair, for the grant
    /// `authorization_code`, `refresh_token` or `device_code`.
    #[must_use]
    pub fn oauth_grants(&self, grant: &str) -> u64 {
        self.shared
            .state()
            .oauth
            .grants
            .get(grant)
            .copied()
            .unwrap_or(0)
    }

    /// The seconds a device flow asks clients to wait between polls (5 unless changed).
    pub fn set_device_interval(&self, seconds: u64) {
        self.shared.state().oauth.device_interval = Some(seconds);
    }

    /// Stops the emulator's clock (`true`), or lets it run again (`false`), when it catches up
    /// with the real clock. While it is stopped, time moves only by
    /// [`advance_time`](Self::advance_time), so limits counted per second can be tested
    /// without depending on how fast the test runs.
    pub fn stop_time(&self, stopped: bool) {
        control::stop_time(&mut self.shared.state(), stopped);
    }

    /// Moves the emulator's clock forward by `by`: tokens expire and idempotency windows close
    /// as if that much time had passed, without a test waiting for it.
    pub fn advance_time(&self, by: Duration) {
        control::advance_time(&self.shared, by);
    }

    /// Moves the emulator's clock back by `by`: messages and events that follow are stamped
    /// that much earlier, as the deliveries a platform retried for hours while the app was
    /// down arrive with the time they were first created. Card entities pace and expire on
    /// the same clock, so set it back while no card is being streamed.
    pub fn rewind_time(&self, by: Duration) {
        control::rewind_time(&self.shared, by);
    }

    /// Every reaction added or removed so far, oldest first, by the bot or a user: `{message_id,
    /// action ("added" or "removed"), reaction_id, emoji_type, operator_type ("app" or
    /// "user"), operator_id, at (ms)}`. A reaction that came and went is in it twice, which
    /// [`Emulator::message`] alone cannot show.
    #[must_use]
    pub fn reaction_timeline(&self) -> Vec<Value> {
        self.shared.state().reaction_log.clone()
    }

    /// Revokes every token of `app_id`, as if the secret had been rotated.
    pub fn revoke_tokens(&self, app_id: &str) {
        self.shared.state().revoke_tokens(app_id);
    }

    /// Delivers every later event `copies` extra times, as the platform's at-least-once
    /// delivery sometimes does.
    pub fn duplicate_deliveries(&self, copies: u32) {
        self.shared.state().extra_copies = copies;
    }

    /// Delivers an already emitted event once more; false when no such event was emitted.
    #[must_use = "false means no event had this id"]
    pub fn redeliver(&self, event_id: &str) -> bool {
        simulate::redeliver(&self.shared, event_id)
    }

    // ------------------------------------------------------------------ long connection

    /// The long connections open now, as `(app_id, device_id)`.
    #[must_use]
    pub fn ws_connections(&self) -> Vec<(String, String)> {
        self.shared.state().ws.connections()
    }

    /// Every acknowledgement clients sent, in order.
    #[must_use]
    pub fn ws_acks(&self) -> Vec<WsAck> {
        self.shared.state().ws.acks.clone()
    }

    /// How many pings clients sent.
    #[must_use]
    pub fn ws_pings(&self) -> u64 {
        self.shared.state().ws.pings
    }

    /// Pushes `payload`, as it is, in an `event` frame to one of `app_id`'s connections, and
    /// returns the ack the client sent within the ack budget: for testing what a client does
    /// with a push it cannot read. `None` when no connection is open or nothing was acked.
    pub async fn ws_push_raw(&self, app_id: &str, payload: impl AsRef<[u8]>) -> Option<WsAck> {
        crate::ws::push_raw(&self.shared, app_id, payload.as_ref()).await
    }

    /// Turns quota mode on with `quota`, or off with `None`.
    pub fn set_quota(&self, quota: Option<QuotaConfig>) {
        self.shared.state().config.quota = quota;
    }

    /// The calls quota mode refused, by code (99991400, 230020).
    #[must_use]
    pub fn quota_refusals(&self) -> std::collections::HashMap<i64, u64> {
        self.shared.state().quotas.refused.clone()
    }

    /// Sends one data frame with exactly `headers` (`type`, `message_id`, `sum`, `seq`, …) and
    /// `payload` to one of `app_id`'s connections, waiting for no ack: for testing what a
    /// client does with fragments that never complete. False when no connection is open.
    #[must_use]
    pub fn ws_push_frame(&self, app_id: &str, headers: &[(&str, &str)], payload: &[u8]) -> bool {
        crate::ws::push_frame(&self.shared, app_id, headers, payload)
    }

    /// Drops every open connection without a close frame, as a network failure would.
    pub fn ws_kill_connections(&self) {
        control::kill_connections(&self.shared);
    }

    /// Makes every open connection silent: pings go unanswered and nothing is pushed on it,
    /// while the socket stays open. Connections made later are not silent.
    pub fn ws_silence_connections(&self) {
        self.shared.state().ws.silence_all();
    }

    /// Refuses the next `count` handshakes with `refusal`.
    pub fn ws_refuse_handshakes(&self, count: usize, refusal: &WsRefusal) {
        self.shared.state().ws.refuse(count, refusal);
    }

    /// Replaces the long-connection settings: handed out at discovery from now on, and sent to
    /// connected clients in every pong.
    pub fn ws_set_config(&self, config: WsConfig) {
        self.shared.state().config.ws = config;
    }

    // ------------------------------------------------------------------ simulated users

    /// A user sends a message of `msg_type` with `content` (the JSON object the message
    /// carries, as a string) to a chat. Text mentions written as `<at user_id="…">name</at>`
    /// become `@_user_N` placeholders, as the platform delivers them. Returns the message id.
    pub fn user_says(
        &self,
        chat_id: &str,
        user_open_id: &str,
        msg_type: &str,
        content: &str,
    ) -> Result<String, EmulatorError> {
        simulate::user_says(&self.shared, chat_id, user_open_id, msg_type, content)
    }

    /// A user replies to a message with `msg_type` and `content`, as [`Emulator::user_says`]
    /// takes them: in the message's thread when it is in one, or starting one when
    /// `in_thread`. Returns the reply's id.
    pub fn user_replies(
        &self,
        parent_id: &str,
        user_open_id: &str,
        msg_type: &str,
        content: &str,
        in_thread: bool,
    ) -> Result<String, EmulatorError> {
        simulate::user_replies(
            &self.shared,
            parent_id,
            user_open_id,
            msg_type,
            content,
            in_thread,
        )
    }

    /// A user sends a text.
    pub fn user_says_text(
        &self,
        chat_id: &str,
        user_open_id: &str,
        text: &str,
    ) -> Result<String, EmulatorError> {
        let content = serde_json::json!({ "text": text }).to_string();
        self.user_says(chat_id, user_open_id, "text", &content)
    }

    /// A user sends an image; the bot can download it through the message resource endpoint.
    pub fn user_sends_image(
        &self,
        chat_id: &str,
        user_open_id: &str,
        file_name: &str,
        bytes: impl Into<Bytes>,
    ) -> Result<String, EmulatorError> {
        simulate::user_sends_resource(
            &self.shared,
            chat_id,
            user_open_id,
            "image",
            file_name,
            bytes.into(),
        )
    }

    /// A user sends a file.
    pub fn user_sends_file(
        &self,
        chat_id: &str,
        user_open_id: &str,
        file_name: &str,
        bytes: impl Into<Bytes>,
    ) -> Result<String, EmulatorError> {
        simulate::user_sends_resource(
            &self.shared,
            chat_id,
            user_open_id,
            "file",
            file_name,
            bytes.into(),
        )
    }

    /// A user opens the bot's p2p chat: `bot_p2p_chat_entered`. Returns the chat id.
    pub fn user_opens_p2p(&self, user_open_id: &str) -> Result<String, EmulatorError> {
        let app_id = self.app_id();
        simulate::user_opens_p2p(&self.shared, &app_id, user_open_id)
    }

    /// A user reacts to a message. Returns the reaction id.
    pub fn user_reacts(
        &self,
        message_id: &str,
        user_open_id: &str,
        emoji_type: &str,
    ) -> Result<String, EmulatorError> {
        simulate::user_reacts(&self.shared, message_id, user_open_id, emoji_type, true)
    }

    /// A user takes a reaction back.
    pub fn user_unreacts(
        &self,
        message_id: &str,
        user_open_id: &str,
        emoji_type: &str,
    ) -> Result<String, EmulatorError> {
        simulate::user_reacts(&self.shared, message_id, user_open_id, emoji_type, false)
    }

    /// A message is recalled by its sender.
    pub fn user_recalls(&self, message_id: &str) -> Result<(), EmulatorError> {
        simulate::user_recalls(&self.shared, message_id)
    }

    /// The pins of a chat, newest first, as the platform describes each
    /// (`{message_id, chat_id, operator_id, operator_id_type, create_time}`).
    #[must_use]
    pub fn pins(&self, chat_id: &str) -> Vec<Value> {
        control::pins(&self.shared.state(), chat_id)
    }

    /// The urgent notifications sent, oldest first: `{message_id, channel, open_ids, at}`, where
    /// `channel` is `urgent_app`, `urgent_sms` or `urgent_phone` and `open_ids` are the members
    /// reached.
    #[must_use]
    pub fn urgent_notifications(&self) -> Vec<Value> {
        self.shared.state().urgent.clone()
    }

    /// A user reads messages: each gets a read receipt (`read_users`), and the bot's own
    /// messages in its p2p chat with the reader raise `im.message.message_read_v1`.
    pub fn user_reads(
        &self,
        user_open_id: &str,
        message_ids: &[String],
    ) -> Result<(), EmulatorError> {
        simulate::user_reads(&self.shared, user_open_id, message_ids)
    }

    /// `operator` adds `user` to a chat.
    pub fn add_user_to_chat(
        &self,
        chat_id: &str,
        operator: &str,
        user: &str,
    ) -> Result<(), EmulatorError> {
        simulate::membership(&self.shared, chat_id, operator, user, Membership::UserAdded)
    }

    /// `operator` removes `user` from a chat.
    pub fn remove_user_from_chat(
        &self,
        chat_id: &str,
        operator: &str,
        user: &str,
    ) -> Result<(), EmulatorError> {
        simulate::membership(
            &self.shared,
            chat_id,
            operator,
            user,
            Membership::UserRemoved,
        )
    }

    /// `user` leaves a chat.
    pub fn user_leaves_chat(&self, chat_id: &str, user: &str) -> Result<(), EmulatorError> {
        simulate::membership(&self.shared, chat_id, user, user, Membership::UserLeft)
    }

    /// `operator` adds the bot of `app_id` to a chat.
    pub fn add_bot_to_chat(
        &self,
        chat_id: &str,
        operator: &str,
        app_id: &str,
    ) -> Result<(), EmulatorError> {
        simulate::membership(
            &self.shared,
            chat_id,
            operator,
            app_id,
            Membership::BotAdded,
        )
    }

    /// `operator` removes the bot of `app_id` from a chat.
    pub fn remove_bot_from_chat(
        &self,
        chat_id: &str,
        operator: &str,
        app_id: &str,
    ) -> Result<(), EmulatorError> {
        simulate::membership(
            &self.shared,
            chat_id,
            operator,
            app_id,
            Membership::BotRemoved,
        )
    }

    /// `operator` disbands a chat.
    pub fn disband_chat(&self, chat_id: &str, operator: &str) -> Result<(), EmulatorError> {
        simulate::membership(
            &self.shared,
            chat_id,
            operator,
            operator,
            Membership::Disbanded,
        )
    }

    /// `operator` renames a chat: `im.chat.updated_v1`.
    pub fn rename_chat(
        &self,
        chat_id: &str,
        operator: &str,
        name: &str,
    ) -> Result<(), EmulatorError> {
        simulate::rename_chat(&self.shared, chat_id, operator, name)
    }

    /// A user clicks a button on a bot's card, with the button's callback `value`.
    pub async fn click(
        &self,
        message_id: &str,
        user_open_id: &str,
        value: Value,
    ) -> Result<ClickOutcome, EmulatorError> {
        simulate::click(&self.shared, message_id, user_open_id, value, None).await
    }

    /// A user submits a card form.
    pub async fn submit_form(
        &self,
        message_id: &str,
        user_open_id: &str,
        value: Value,
        form_value: Value,
    ) -> Result<ClickOutcome, EmulatorError> {
        simulate::click(
            &self.shared,
            message_id,
            user_open_id,
            value,
            Some(form_value),
        )
        .await
    }

    /// A user clicks a button, delivered as the legacy `card.action.trigger_v1` callback.
    pub async fn click_legacy(
        &self,
        message_id: &str,
        user_open_id: &str,
        value: Value,
    ) -> Result<ClickOutcome, EmulatorError> {
        simulate::click_legacy(&self.shared, message_id, user_open_id, value).await
    }

    /// Sends the `url_verification` challenge to the webhook and checks the echo.
    pub async fn verify_url(&self) -> Result<(), EmulatorError> {
        simulate::verify_url(&self.shared).await
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        self.shared.state().ws.kill_all();
        self.server.abort();
        self.delivery.abort();
    }
}
