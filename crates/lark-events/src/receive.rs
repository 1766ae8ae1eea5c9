//! The core: one pure function from a request's headers, raw body, configuration and the
//! current time to what arrived, or why it was refused.
//!
//! The order is fixed: size, then the signature over the raw bytes (with freshness), then
//! decryption, then the verification token, then parsing. The `url_verification` challenge is
//! the one unsigned request the platform sends; it is answered only once decrypted and its
//! token checked.

use crate::card::CardAction;
use crate::crypto::{
    decrypt, event_signature_hex, legacy_card_signature, signature_matches, token_matches,
};
use crate::error::EventError;
use crate::secret::{EncryptKey, VerificationToken};
use crate::types::{Event, EventEnvelope, EventHeader, KnownEvent, Schema};
use http::HeaderMap;
use lark_content::{AppId, EventId, TenantKey};
use serde::Deserialize;
use serde_json::Value;
use serde_json::value::RawValue;
use std::borrow::Cow;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The default freshness window: 8 hours.
///
/// The platform retries a failed delivery 15 s, 5 min, 1 h and 6 h later — up to 7 h 5 min
/// after the first attempt — and does not document whether a retry is signed anew. Any shorter
/// window could refuse the platform's own retry. Replays inside the window are caught by
/// deduplication, whose default time-to-live is the same 8 hours.
pub const DEFAULT_FRESHNESS: Duration = Duration::from_secs(8 * 3600);

/// How far ahead of the local clock a timestamp may be (clock skew).
pub const MAX_FUTURE_SKEW: Duration = Duration::from_secs(300);

/// The default body size limit: 1 MiB, far above any event the platform sends.
pub const DEFAULT_MAX_BODY: usize = 1024 * 1024;

/// How incoming requests are checked.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct EventConfig {
    /// The Encrypt Key. When set, bodies must be encrypted and signed.
    pub encrypt_key: Option<EncryptKey>,
    /// The Verification Token. When set, every event's token must match, and legacy card
    /// callbacks must carry its sha1 signature.
    pub verification_token: Option<VerificationToken>,
    /// How old a signed request's timestamp may be; `None` turns the check off.
    pub freshness: Option<Duration>,
    /// The largest body accepted.
    pub max_body: usize,
}

impl Default for EventConfig {
    fn default() -> Self {
        Self {
            encrypt_key: None,
            verification_token: None,
            freshness: Some(DEFAULT_FRESHNESS),
            max_body: DEFAULT_MAX_BODY,
        }
    }
}

impl EventConfig {
    /// No key and no token: only for trying things out, or behind a transport that already
    /// authenticates (the long connection).
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the Encrypt Key.
    #[must_use]
    pub fn encrypt_key(mut self, key: impl Into<String>) -> Self {
        self.encrypt_key = Some(EncryptKey::new(key));
        self
    }

    /// Sets the Verification Token.
    #[must_use]
    pub fn verification_token(mut self, token: impl Into<String>) -> Self {
        self.verification_token = Some(VerificationToken::new(token));
        self
    }

    /// Sets (or, with `None`, turns off) the freshness window.
    #[must_use]
    pub fn freshness(mut self, window: Option<Duration>) -> Self {
        self.freshness = window;
        self
    }
}

/// The `url_verification` challenge.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Challenge {
    /// The value to echo.
    pub challenge: String,
}

impl Challenge {
    /// The answer: `{"challenge": "…"}`.
    #[must_use]
    pub fn response_body(&self) -> String {
        serde_json::json!({ "challenge": self.challenge }).to_string()
    }
}

/// What arrived.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum Incoming {
    /// The url verification challenge: echo it.
    Challenge(Challenge),
    /// An event.
    Event(Box<EventEnvelope>),
    /// A card callback: answer it with a [`crate::CardResponse`].
    CardAction(Box<CardAction>),
}

/// The three signature headers, when all are present.
struct Signed<'a> {
    timestamp: &'a str,
    nonce: &'a str,
    signature: &'a str,
}

fn signed(headers: &HeaderMap) -> Option<Signed<'_>> {
    let get = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    // The signature first: an unsigned delivery is told by one lookup.
    let signature = get("x-lark-signature")?;
    Some(Signed {
        timestamp: get("x-lark-request-timestamp")?,
        nonce: get("x-lark-request-nonce")?,
        signature,
    })
}

/// Checks the timestamp against the window.
fn check_fresh(
    timestamp: &str,
    window: Option<Duration>,
    now: SystemTime,
) -> Result<(), EventError> {
    let Some(window) = window else { return Ok(()) };
    let seconds: u64 = timestamp
        .trim()
        .parse()
        .map_err(|_| EventError::BadTimestamp(timestamp.to_owned()))?;
    let now = now.duration_since(UNIX_EPOCH).unwrap_or_default().as_secs();
    if seconds > now {
        let skew = Duration::from_secs(seconds - now);
        if skew > MAX_FUTURE_SKEW.min(window) {
            return Err(EventError::Stale {
                skew,
                future: true,
                window,
            });
        }
    } else {
        let skew = Duration::from_secs(now - seconds);
        if skew > window {
            return Err(EventError::Stale {
                skew,
                future: false,
                window,
            });
        }
    }
    Ok(())
}

/// Every field any delivery's top level may have. The `event` object is read straight into
/// its typed form when the header came first and names a known type (the platform's order),
/// so the body is read once; otherwise it is kept raw and typed afterwards.
struct Envelope<'a> {
    schema: Option<Cow<'a, str>>,
    header: Option<RawHeader<'a>>,
    event: Option<EventBody<'a>>,
    kind: Option<Cow<'a, str>>,
    token: Option<Cow<'a, str>>,
    challenge: Option<String>,
    uuid: Option<String>,
    ts: Option<String>,
    action: Option<&'a RawValue>,
    open_message_id: Option<Cow<'a, str>>,
    encrypt: Option<Cow<'a, str>>,
}

/// Whether an event id was seen before (a check, not a mark).
pub(crate) type Seen<'s> = Option<&'s (dyn Fn(&str) -> bool + Sync)>;

/// The dedup check made while reading: an event id `seen` knows, in a header carrying the
/// right token, stops the read at the event, which is left unread.
#[derive(Clone, Copy)]
struct SeenCheck<'s> {
    seen: &'s (dyn Fn(&str) -> bool + Sync),
    token: Option<&'s VerificationToken>,
    stopped: &'s std::cell::Cell<bool>,
}

/// The `event` object: typed while reading, or raw.
enum EventBody<'a> {
    Typed(Event),
    Raw(&'a RawValue),
}

/// A string that borrows from the body when it has no escapes.
#[derive(Deserialize)]
struct Text<'a>(#[serde(borrow)] Cow<'a, str>);

#[derive(Deserialize)]
#[serde(field_identifier, rename_all = "snake_case")]
enum Field {
    Schema,
    Header,
    Event,
    #[serde(rename = "type")]
    Kind,
    Token,
    Challenge,
    Uuid,
    Ts,
    Action,
    OpenMessageId,
    Encrypt,
    #[serde(other)]
    Other,
}

/// Reads an [`Envelope`]; with `typed` false the event is always kept raw. With `check`, an
/// event whose header came first with an id already seen stops the read.
struct EnvelopeReader<'s> {
    typed: bool,
    check: Option<SeenCheck<'s>>,
}

/// Stores a field's value, refusing a field given twice.
fn once<T, E: serde::de::Error>(
    slot: &mut Option<T>,
    value: T,
    name: &'static str,
) -> Result<(), E> {
    if slot.is_some() {
        return Err(E::duplicate_field(name));
    }
    *slot = Some(value);
    Ok(())
}

impl EnvelopeReader<'_> {
    /// Reads the `event` value: typed when the header came first and names a known type, raw
    /// otherwise; a redelivery [`SeenCheck`] knows stops the read.
    fn event<'de, A: serde::de::MapAccess<'de>>(
        &self,
        map: &mut A,
        out: &Envelope<'de>,
    ) -> Result<Option<EventBody<'de>>, A::Error> {
        // A card callback's answer is its own, so only events are skipped.
        if let (Some(check), Some(header), Some(_)) = (self.check, &out.header, &out.schema)
            && header.event_type != "card.action.trigger"
            && check.token.is_none_or(|expected| {
                token_matches(expected, header.token.as_deref().unwrap_or(""))
            })
            && (check.seen)(&header.event_id)
        {
            check.stopped.set(true);
            return Err(serde::de::Error::custom("a redelivery, left unread"));
        }
        let known = out
            .header
            .as_ref()
            .map(|header| header.event_type.as_ref())
            .filter(|kind| self.typed && out.schema.is_some() && KnownEvent::knows(kind));
        Ok(match known {
            Some(kind) => Some(EventBody::Typed(map.next_value_seed(KnownEvent(kind))?)),
            None => map
                .next_value::<Option<&'de RawValue>>()?
                .map(EventBody::Raw),
        })
    }
}

impl<'de> serde::de::Visitor<'de> for EnvelopeReader<'_> {
    type Value = Envelope<'de>;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(
        self,
        mut map: A,
    ) -> Result<Envelope<'de>, A::Error> {
        let mut out = Envelope {
            schema: None,
            header: None,
            event: None,
            kind: None,
            token: None,
            challenge: None,
            uuid: None,
            ts: None,
            action: None,
            open_message_id: None,
            encrypt: None,
        };
        let text = |value: Option<Text<'de>>| value.map(|text| text.0);
        let mut seen_event = false;
        while let Some(field) = map.next_key::<Field>()? {
            match field {
                Field::Schema => {
                    let value = text(map.next_value()?);
                    if let Some(value) = value {
                        once(&mut out.schema, value, "schema")?;
                    }
                }
                Field::Header => {
                    if let Some(header) = map.next_value::<Option<RawHeader<'de>>>()? {
                        once(&mut out.header, header, "header")?;
                    }
                }
                Field::Event => {
                    if seen_event {
                        return Err(serde::de::Error::duplicate_field("event"));
                    }
                    seen_event = true;
                    out.event = self.event(&mut map, &out)?;
                }
                Field::Kind => {
                    if let Some(value) = text(map.next_value()?) {
                        once(&mut out.kind, value, "type")?;
                    }
                }
                Field::Token => {
                    if let Some(value) = text(map.next_value()?) {
                        once(&mut out.token, value, "token")?;
                    }
                }
                Field::Challenge => {
                    if let Some(value) = map.next_value()? {
                        once(&mut out.challenge, value, "challenge")?;
                    }
                }
                Field::Uuid => {
                    if let Some(value) = map.next_value()? {
                        once(&mut out.uuid, value, "uuid")?;
                    }
                }
                Field::Ts => {
                    if let Some(value) = map.next_value()? {
                        once(&mut out.ts, value, "ts")?;
                    }
                }
                Field::Action => {
                    if let Some(value) = map.next_value()? {
                        once(&mut out.action, value, "action")?;
                    }
                }
                Field::OpenMessageId => {
                    if let Some(value) = text(map.next_value()?) {
                        once(&mut out.open_message_id, value, "open_message_id")?;
                    }
                }
                Field::Encrypt => {
                    if let Some(value) = text(map.next_value()?) {
                        once(&mut out.encrypt, value, "encrypt")?;
                    }
                }
                Field::Other => {
                    map.next_value::<serde::de::IgnoredAny>()?;
                }
            }
        }
        Ok(out)
    }
}

impl<'de> serde::de::DeserializeSeed<'de> for EnvelopeReader<'_> {
    type Value = Envelope<'de>;

    fn deserialize<D: serde::Deserializer<'de>>(
        self,
        deserializer: D,
    ) -> Result<Envelope<'de>, D::Error> {
        deserializer.deserialize_map(self)
    }
}

/// Reads a body's top level in one pass. An event of a known type that does not read as
/// documented is read again with its event kept raw, so it is kept as [`Event::Malformed`]
/// rather than refused.
/// `None`: a redelivery `check` stopped at.
fn envelope<'b>(
    body: &'b [u8],
    check: Option<SeenCheck<'_>>,
) -> Result<Option<Envelope<'b>>, serde_json::Error> {
    use serde::de::DeserializeSeed as _;
    // UTF-8 is checked once for the whole body, not string by string.
    let Ok(text) = std::str::from_utf8(body) else {
        let mut json = serde_json::Deserializer::from_slice(body);
        let envelope = EnvelopeReader {
            typed: false,
            check: None,
        }
        .deserialize(&mut json)?;
        json.end()?;
        return Ok(Some(envelope));
    };
    let read = |typed: bool| {
        let mut json = serde_json::Deserializer::from_str(text);
        let envelope = EnvelopeReader { typed, check }.deserialize(&mut json)?;
        json.end()?;
        Ok(envelope)
    };
    match read(true) {
        Ok(envelope) => Ok(Some(envelope)),
        Err(_) if check.is_some_and(|check| check.stopped.get()) => Ok(None),
        Err(_) => read(false).map(Some),
    }
}

/// Reads a top level that is never skipped.
fn whole_envelope(body: &[u8]) -> Result<Envelope<'_>, serde_json::Error> {
    envelope(body, None)?
        .ok_or_else(|| serde::de::Error::custom("a read with no check was skipped"))
}

#[derive(Deserialize)]
struct RawHeader<'a> {
    // Borrowed from the body: a redelivery is told from the header without copying it.
    #[serde(borrow, default)]
    event_id: Cow<'a, str>,
    #[serde(borrow, default)]
    event_type: Cow<'a, str>,
    #[serde(borrow, default)]
    create_time: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    tenant_key: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    app_id: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    token: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
struct V1Event {
    #[serde(default, rename = "type")]
    kind: String,
    #[serde(default)]
    app_id: Option<AppId>,
    #[serde(default)]
    tenant_key: Option<TenantKey>,
}

impl Envelope<'_> {
    fn is_legacy_card(&self) -> bool {
        self.schema.is_none() && self.action.is_some() && self.open_message_id.is_some()
    }
}

/// Whether a body may be a legacy card callback, which is signed differently: plain with
/// `action` and `open_message_id`, or encrypted (only decryption can tell).
fn may_be_legacy_card(body: &[u8]) -> bool {
    whole_envelope(body)
        .is_ok_and(|envelope| envelope.encrypt.is_some() || envelope.is_legacy_card())
}

fn bad_json(err: serde_json::Error) -> EventError {
    EventError::BadJson {
        reason: "it does not parse as the JSON of an event".to_owned(),
        source: Some(err),
    }
}

/// Checks and reads one incoming request. Pure: the same inputs always give the same answer.
pub fn receive(
    config: &EventConfig,
    headers: &HeaderMap,
    body: &[u8],
    now: SystemTime,
) -> Result<Incoming, EventError> {
    match receive_unless_seen(config, headers, body, now, None)? {
        Received::Incoming(incoming) => Ok(incoming),
        // Only a `seen` check skips an event, and there is none here.
        Received::Duplicate => Err(EventError::not_an_event(
            "an event was skipped with no dedup check",
        )),
    }
}

/// What [`receive_unless_seen`] found.
pub(crate) enum Received {
    /// A delivery, read.
    Incoming(Incoming),
    /// A v2 event, authenticated, whose id `seen` knows: left unread.
    Duplicate,
}

/// [`receive`], skipping the typing of an event whose id `seen` already knows: a redelivery
/// costs the checks (size, signature, decryption, token) and no more.
pub(crate) fn receive_unless_seen(
    config: &EventConfig,
    headers: &HeaderMap,
    body: &[u8],
    now: SystemTime,
    seen: Seen<'_>,
) -> Result<Received, EventError> {
    if body.len() > config.max_body {
        return Err(EventError::TooLarge {
            size: body.len(),
            limit: config.max_body,
        });
    }
    let signature = signed(headers);
    // With a key, a signed request is verified on its raw bytes before anything reads them.
    let verified = verify_signature(config, signature.as_ref(), body, now)?;
    let stopped = std::cell::Cell::new(false);
    let check = |seen| SeenCheck {
        seen,
        token: config.verification_token.as_ref(),
        stopped: &stopped,
    };
    // A plain body is checked for a redelivery as it is read only where plain bodies are
    // accepted (no encrypt key), and after the freshness a signed one must have.
    let plain_check = match (seen, &config.encrypt_key) {
        (Some(seen), None) => {
            if let Some(signed) = &signature {
                check_fresh(signed.timestamp, config.freshness, now)?;
            }
            Some(check(seen))
        }
        _ => None,
    };
    let Some(first) = envelope(body, plain_check).map_err(bad_json)? else {
        return Ok(Received::Duplicate);
    };
    let decrypted: Vec<u8>;
    let (envelope, was_encrypted) = match (&config.encrypt_key, &first.encrypt) {
        (Some(key), Some(encrypted)) => {
            let unverified = signature.is_some() && !verified;
            // A body whose event signature failed may still be an encrypted legacy card
            // callback, signed with sha1 and the verification token (as the official Go and
            // Python SDKs read it). Any failure on that path is the same refusal as a bad
            // signature, so an attacker learns nothing from how decryption went.
            decrypted = match decrypt(key, encrypted) {
                Ok(plain) => plain,
                Err(_) if unverified => return Err(EventError::BadSignature),
                Err(err) => return Err(err),
            };
            // Only a body whose signature verified is checked for a redelivery.
            let inner_check = seen.filter(|_| verified).map(check);
            let inner = match envelope(&decrypted, inner_check) {
                Ok(Some(inner)) => inner,
                Ok(None) => return Ok(Received::Duplicate),
                Err(_) if unverified => return Err(EventError::BadSignature),
                // Bytes that are not JSON at all come from a wrong key more often than from
                // the platform: a wrong key passes the padding check about once in 256 tries.
                Err(err) if err.is_syntax() || err.is_eof() => {
                    return Err(EventError::decrypt(
                        "it decrypted to bytes that are not JSON: the body was encrypted with \
                         another key, or is corrupt",
                    ));
                }
                Err(err) => return Err(bad_json(err)),
            };
            if inner.encrypt.is_some() {
                return Err(EventError::not_an_event(
                    "the decrypted body is encrypted again",
                ));
            }
            if inner.is_legacy_card() {
                return legacy_card(config, headers, body, &decrypted, now).map(Received::Incoming);
            }
            if unverified {
                return Err(EventError::BadSignature);
            }
            (inner, true)
        }
        (None, Some(_)) => return Err(EventError::NoEncryptKey),
        (_, None) => (first, false),
    };

    // The challenge is the one request the platform does not sign. With an encrypt key it
    // comes encrypted, except on the card callback url, which many apps share with the event
    // url: there a plain challenge is answered when it carries the verification token.
    if envelope.kind.as_deref() == Some("url_verification") {
        if config.encrypt_key.is_some() && !was_encrypted && config.verification_token.is_none() {
            return Err(EventError::NotEncrypted);
        }
        check_token(config, envelope.token.as_deref())?;
        let challenge = envelope
            .challenge
            .ok_or_else(|| EventError::not_an_event("url_verification without a challenge"))?;
        return Ok(Received::Incoming(Incoming::Challenge(Challenge {
            challenge,
        })));
    }

    if envelope.is_legacy_card() {
        return legacy_card(config, headers, body, body, now).map(Received::Incoming);
    }

    if config.encrypt_key.is_some() {
        if !was_encrypted {
            return Err(EventError::NotEncrypted);
        }
        if signature.is_none() {
            return Err(EventError::MissingSignature);
        }
    } else if let Some(signed) = &signature {
        // Without a key the signature cannot be checked, but a stale timestamp still can.
        check_fresh(signed.timestamp, config.freshness, now)?;
    }

    if envelope.schema.is_some() {
        return read_v2(config, envelope);
    }
    if envelope.kind.as_deref() == Some("event_callback") {
        return read_v1(config, envelope).map(Received::Incoming);
    }
    Err(EventError::not_an_event(
        "neither a v2 event (schema), a v1 event (type event_callback), a challenge nor a card callback",
    ))
}

/// A v2 envelope: an event, or a new-style card callback.
fn read_v2(config: &EventConfig, envelope: Envelope<'_>) -> Result<Received, EventError> {
    let header = envelope
        .header
        .ok_or_else(|| EventError::not_an_event("a v2 event without a header"))?;
    check_token(config, header.token.as_deref())?;
    let event = envelope
        .event
        .ok_or_else(|| EventError::not_an_event("a v2 event without an event"))?;
    let header = EventHeader {
        event_id: EventId::new(header.event_id.into_owned()),
        event_type: header.event_type.into_owned(),
        create_time: header.create_time.map(Cow::into_owned),
        tenant_key: header
            .tenant_key
            .map(|key| TenantKey::new(key.into_owned())),
        app_id: header.app_id.map(|id| AppId::new(id.into_owned())),
        schema: Schema::V2,
    };
    let event = match event {
        EventBody::Typed(event) => event,
        EventBody::Raw(event) if header.event_type == "card.action.trigger" => {
            let event: Value = serde_json::from_str(event.get()).map_err(bad_json)?;
            return Ok(Received::Incoming(Incoming::CardAction(Box::new(
                CardAction::from_trigger(header, event),
            ))));
        }
        EventBody::Raw(event) => Event::parse(&header, event),
    };
    Ok(Received::Incoming(Incoming::Event(Box::new(
        EventEnvelope { header, event },
    ))))
}

/// A v1 envelope: `{"uuid","token","type":"event_callback","event":{"type",…}}`.
fn read_v1(config: &EventConfig, envelope: Envelope<'_>) -> Result<Incoming, EventError> {
    check_token(config, envelope.token.as_deref())?;
    let event = envelope
        .event
        .ok_or_else(|| EventError::not_an_event("a v1 event without an event"))?;
    // A v1 event names its type inside the event, so it is always read raw first.
    let EventBody::Raw(event) = event else {
        return Err(EventError::not_an_event("a v1 event read as typed"));
    };
    let v1: V1Event = serde_json::from_str(event.get()).map_err(bad_json)?;
    let header = EventHeader {
        event_id: EventId::new(envelope.uuid.unwrap_or_default()),
        event_type: v1.kind,
        create_time: envelope.ts,
        tenant_key: v1.tenant_key,
        app_id: v1.app_id,
        schema: Schema::V1,
    };
    let event = Event::parse(&header, event);
    Ok(Incoming::Event(Box::new(EventEnvelope { header, event })))
}

/// Verifies a signed body on its raw bytes, when a key is configured; whether it verified.
fn verify_signature(
    config: &EventConfig,
    signature: Option<&Signed<'_>>,
    body: &[u8],
    now: SystemTime,
) -> Result<bool, EventError> {
    let (Some(key), Some(signed)) = (&config.encrypt_key, signature) else {
        return Ok(false);
    };
    check_fresh(signed.timestamp, config.freshness, now)?;
    let expected = event_signature_hex(signed.timestamp, signed.nonce, key, body);
    if signature_matches(
        std::str::from_utf8(&expected).unwrap_or_default(),
        signed.signature,
    ) {
        Ok(true)
    } else if may_be_legacy_card(body) {
        // A legacy card callback is signed differently; it is checked on its own path, and
        // anything else that failed here is refused there.
        Ok(false)
    } else {
        Err(EventError::BadSignature)
    }
}

fn check_token(config: &EventConfig, given: Option<&str>) -> Result<(), EventError> {
    match &config.verification_token {
        Some(expected) if !token_matches(expected, given.unwrap_or("")) => {
            Err(EventError::BadToken)
        }
        _ => Ok(()),
    }
}

/// The legacy callback: signed with sha1 and the verification token over the raw body as
/// received (`raw`); `plain` is that body, decrypted when it came encrypted.
fn legacy_card(
    config: &EventConfig,
    headers: &HeaderMap,
    raw: &[u8],
    plain: &[u8],
    now: SystemTime,
) -> Result<Incoming, EventError> {
    if config.encrypt_key.is_some() && config.verification_token.is_none() {
        // Only the verification token can prove a legacy callback; without it, a plain body in
        // this shape must not slip past the encryption requirement.
        return Err(EventError::MissingSignature);
    }
    if let Some(token) = &config.verification_token {
        let signed = signed(headers).ok_or(EventError::MissingSignature)?;
        check_fresh(signed.timestamp, config.freshness, now)?;
        let expected = legacy_card_signature(signed.timestamp, signed.nonce, token, raw);
        if !signature_matches(&expected, signed.signature) {
            return Err(EventError::BadSignature);
        }
    }
    let value: Value = serde_json::from_slice(plain).map_err(bad_json)?;
    Ok(Incoming::CardAction(Box::new(CardAction::from_legacy(
        value,
    ))))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// The documented `im.message.receive_v1` payload's header (docs/protocol.md §5.7), in the
    /// platform's order: schema, header, event.
    fn delivery(event_type: &str, event: &Value) -> Vec<u8> {
        let header = json!({
            "event_id": "5e3702a84e847582be8db7fb73283c02",
            "event_type": event_type,
            "create_time": "1608725989000",
            "token": "rvaYgkND1GOiu5MM0E1rncYC6PLtF7JV",
            "app_id": "cli_9f5343c580712544",
            "tenant_key": "2ca1d211f64f6438",
        });
        format!(r#"{{"schema":"2.0","header":{header},"event":{event}}}"#).into_bytes()
    }

    fn config() -> EventConfig {
        EventConfig::new().verification_token("rvaYgkND1GOiu5MM0E1rncYC6PLtF7JV")
    }

    fn read(body: &[u8], config: &EventConfig, seen: Seen<'_>) -> Result<Received, EventError> {
        receive_unless_seen(config, &HeaderMap::new(), body, SystemTime::now(), seen)
    }

    #[test]
    fn a_body_that_does_not_parse_keeps_the_parsers_error_as_its_source() {
        let err = receive(
            &config(),
            &HeaderMap::new(),
            b"{\"schema\":",
            SystemTime::now(),
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "the body is not a Lark event: it does not parse as the JSON of an event"
        );
        let cause = std::error::Error::source(&err)
            .and_then(|cause| cause.downcast_ref::<serde_json::Error>())
            .expect("the parser's error is the source");
        assert!(cause.is_eof(), "{cause}");

        let Err(err) = read(b"{}", &config(), None) else {
            panic!("an empty object is not an event");
        };
        assert!(
            matches!(err, EventError::BadJson { source: None, .. }),
            "{err}"
        );
    }

    #[test]
    fn a_seen_event_is_answered_without_reading_its_body() {
        // A body that does not read as a received message: unread, it cannot fail.
        let body = delivery("im.message.receive_v1", &json!({"message": 42}));
        let all = |_: &str| true;
        assert!(matches!(
            read(&body, &config(), Some(&all)),
            Ok(Received::Duplicate)
        ));
        let none = |_: &str| false;
        let Ok(Received::Incoming(Incoming::Event(event))) = read(&body, &config(), Some(&none))
        else {
            panic!("a new event is read")
        };
        let crate::Event::Malformed { error, raw, .. } = &event.event else {
            panic!("a known event that does not read is kept as Malformed, not lost")
        };
        assert_eq!(raw["message"], 42);
        assert!(error.contains("invalid type"), "{error}");
    }

    #[test]
    fn a_seen_event_with_the_wrong_token_is_still_refused() {
        let body = delivery("im.message.receive_v1", &json!({}));
        let all = |_: &str| true;
        let config = EventConfig::new().verification_token("another token");
        assert!(matches!(
            read(&body, &config, Some(&all)),
            Err(EventError::BadToken)
        ));
    }

    #[test]
    fn a_card_callback_is_never_skipped() {
        let body = delivery("card.action.trigger", &json!({"action": {"value": {}}}));
        let all = |_: &str| true;
        assert!(matches!(
            read(&body, &config(), Some(&all)),
            Ok(Received::Incoming(Incoming::CardAction(_)))
        ));
    }

    #[test]
    fn an_event_before_its_header_is_read_in_full() {
        // Not the platform's order: the event cannot be checked before it is read.
        let body = br#"{"event":{},"schema":"2.0","header":{"event_id":"e1","event_type":"x.y","token":"rvaYgkND1GOiu5MM0E1rncYC6PLtF7JV"}}"#;
        let all = |_: &str| true;
        assert!(matches!(
            read(body, &config(), Some(&all)),
            Ok(Received::Incoming(Incoming::Event(_)))
        ));
    }
}
