//! The platform's error codes that the emulator answers with, each defined once and grouped
//! by the API family that documents it. `docs/protocol.md` lists them with their sources.

/// Messages (`im/v1/messages`, `230xxx`).
pub(crate) mod messages {
    pub(crate) const INVALID_PARAM: i64 = 230_001;
    pub(crate) const BOT_NOT_IN_CHAT: i64 = 230_002;
    pub(crate) const RECALLED: i64 = 230_011;
    pub(crate) const P2P_NOT_SHAREABLE: i64 = 230_015;
    pub(crate) const NOT_RESOURCE_OWNER: i64 = 230_017;
    pub(crate) const TOO_LONG: i64 = 230_025;
    pub(crate) const LACK_PERMISSION: i64 = 230_027;
    pub(crate) const RESIGNED: i64 = 230_029;
    pub(crate) const INVALID_RECEIVE_ID: i64 = 230_034;
    pub(crate) const UNSUPPORTED_TYPE: i64 = 230_054;
    pub(crate) const UPLOAD_TYPE_MISMATCH: i64 = 230_055;
    pub(crate) const NOT_SENDER: i64 = 230_071;
    pub(crate) const EDIT_LIMIT: i64 = 230_072;
    pub(crate) const CARD_FAILED: i64 = 230_099;
}

/// Reactions (`231xxx`).
pub(crate) mod reactions {
    pub(crate) const TYPE_INVALID: i64 = 231_001;
    pub(crate) const NO_PERMISSION: i64 = 231_002;
    pub(crate) const MESSAGE_NOT_FOUND: i64 = 231_003;
}

/// Chats and members (`im/v1/chats`, `232xxx`).
pub(crate) mod chats {
    pub(crate) const INVALID_PARAM: i64 = 232_001;
    pub(crate) const INVALID_CHAT_ID: i64 = 232_006;
    pub(crate) const DISSOLVED: i64 = 232_009;
    pub(crate) const NOT_IN_CHAT: i64 = 232_011;
    pub(crate) const NO_PERMISSION: i64 = 232_017;
    pub(crate) const UNAVAILABLE_IDS: i64 = 232_043;
}

/// Images, files and message resources (`234xxx`).
pub(crate) mod files {
    pub(crate) const INVALID_PARAM: i64 = 234_001;
    pub(crate) const TOO_LARGE: i64 = 234_006;
    pub(crate) const EMPTY: i64 = 234_010;
    pub(crate) const NOT_AN_IMAGE: i64 = 234_011;
    pub(crate) const UNSUPPORTED_RESOURCE: i64 = 234_043;
}

/// The batch message API (`message/v4/batch_send`), which answers its refusals with HTTP 200
/// and codes of its own.
pub(crate) mod batch {
    pub(crate) const INVALID_PARAM: i64 = 10_003;
    pub(crate) const OPEN_ID_NOT_EXIST: i64 = 11_101;
    pub(crate) const IMAGE_KEY_NOT_EXIST: i64 = 11_227;
    pub(crate) const CONTENT_FAILED: i64 = 11_246;
}

/// CardKit (`cardkit/v1`, `200xxx` and `300xxx`).
pub(crate) mod cardkit {
    pub(crate) const INVALID_PARAM: i64 = 10_002;
    /// "Failed to replace element" (the `batch_update` page).
    pub(crate) const REPLACE_FAILED: i64 = 300_121;
    pub(crate) const GENERATION_FAILED: i64 = 200_220;
    pub(crate) const NOT_FOUND: i64 = 200_740;
    pub(crate) const EXPIRED: i64 = 200_750;
    pub(crate) const UUID_CONFLICT: i64 = 200_770;
    pub(crate) const STREAMING_TIMEOUT: i64 = 200_850;
    pub(crate) const TOO_LARGE: i64 = 200_860;
    pub(crate) const DUPLICATE_ELEMENT_ID: i64 = 300_301;
    pub(crate) const NOT_SHARED: i64 = 300_302;
    pub(crate) const SCHEMA_NOT_2: i64 = 300_303;
    pub(crate) const TOO_MANY_COMPONENTS: i64 = 300_305;
    pub(crate) const EMPTY: i64 = 300_307;
    pub(crate) const STREAMING_CLOSED: i64 = 300_309;
    pub(crate) const NOT_TEXT: i64 = 300_310;
    pub(crate) const NOT_OWNED: i64 = 300_311;
    pub(crate) const TAG_CHANGED: i64 = 300_312;
    pub(crate) const PATCH_FAILED: i64 = 300_313;
    pub(crate) const DELETE_FAILED: i64 = 300_314;
    pub(crate) const ADD_FAILED: i64 = 300_315;
    pub(crate) const SEQUENCE_OUT_OF_ORDER: i64 = 300_317;
}
