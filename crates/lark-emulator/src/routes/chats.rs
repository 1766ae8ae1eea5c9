//! `/open-apis/im/v1/chats/…`: chats and their members.

use super::auth::{Caller, authenticate};
use super::{page_json, page_size, page_slice};
use crate::codes::chats::{
    DISSOLVED as CHAT_DISSOLVED, INVALID_CHAT_ID, INVALID_PARAM, NO_PERMISSION, NOT_IN_CHAT,
    UNAVAILABLE_IDS,
};
use crate::events::{Outgoing, envelope_v2};
use crate::rules::{BOTS_PER_CALL_MAX, USERS_PER_CALL_MAX, UUID_MAX_CHARS};
use crate::server::{Fail, Reply, Request, Shared};
use crate::state::{CHAT_UUID_WINDOW, Chat, ChatMode, State, default_chat_settings};
use crate::util::{new_id, now_millis};
use http::{Method, StatusCode};
use serde_json::{Value, json};

pub(crate) fn route(shared: &Shared, request: &Request, rest: &[&str]) -> Result<Reply, Fail> {
    let caller = authenticate(shared, request)?;
    let method = &request.method;
    match rest {
        [] if method == Method::POST => create(shared, request, &caller),
        [] if method == Method::GET => list(shared, request, &caller),
        [id] if method == Method::GET => get(shared, request, &caller, id),
        [id] if method == Method::PUT => update(shared, request, &caller, id),
        [id] if method == Method::DELETE => delete(shared, &caller, id),
        [id, "members"] if method == Method::POST => add_members(shared, request, &caller, id),
        [id, "members"] if method == Method::DELETE => remove_members(shared, request, &caller, id),
        [id, "members"] if method == Method::GET => list_members(shared, request, &caller, id),
        [id, "members", "is_in_chat"] if method == Method::GET => is_in_chat(shared, &caller, id),
        _ => Err(Fail::new(StatusCode::NOT_FOUND, 404, "404 page not found")),
    }
}

fn user_id_type(request: &Request, name: &'static str) -> Result<String, Fail> {
    let kind = request.query(name).unwrap_or("open_id");
    if matches!(kind, "open_id" | "union_id" | "user_id" | "app_id") {
        Ok(kind.to_owned())
    } else {
        Err(Fail::field(
            INVALID_PARAM,
            name,
            format!("`{kind}` is not open_id, union_id or user_id"),
        ))
    }
}

/// The chat, alive, with the bot in it.
pub(crate) fn member_chat<'a>(
    state: &'a State,
    caller: &Caller,
    id: &str,
) -> Result<&'a Chat, Fail> {
    let chat = state.chats.get(id).ok_or_else(|| {
        Fail::bad_request(
            INVALID_CHAT_ID,
            "Your request specifies a chat_id which is invalid.",
        )
    })?;
    if chat.dissolved {
        return Err(Fail::bad_request(
            CHAT_DISSOLVED,
            "Your request specifies a chat which has already been dissolved.",
        ));
    }
    if !chat.has_bot(&caller.app_id) {
        return Err(Fail::bad_request(
            NOT_IN_CHAT,
            "Operator can NOT be out of the chat.",
        ));
    }
    Ok(chat)
}

/// A user's id of the given kind.
fn user_id_as(state: &State, open_id: &str, kind: &str) -> String {
    state.user_by("open_id", open_id).map_or_else(
        || open_id.to_owned(),
        |user| match kind {
            "union_id" => user.union_id.clone(),
            "user_id" => user.user_id.clone(),
            _ => user.open_id.clone(),
        },
    )
}

pub(crate) fn chat_json(state: &State, chat: &Chat, id_kind: &str, with_id: bool) -> Value {
    let (owner_id, owner_id_type) = if state.apps.contains_key(&chat.owner) {
        (chat.owner.clone(), "app_id".to_owned())
    } else {
        (user_id_as(state, &chat.owner, id_kind), id_kind.to_owned())
    };
    let mut object = chat.settings.clone();
    object.insert(
        "avatar".to_owned(),
        json!("https://p3-lark-file.byteimg.com/img/lark-avatar-staging/default-avatar_44ae0ca3-e140-494b-956f-78091e348435~100x100.jpg"),
    );
    object.insert("name".to_owned(), json!(chat.name));
    object.insert("description".to_owned(), json!(chat.description));
    object.insert("owner_id".to_owned(), json!(owner_id));
    object.insert("owner_id_type".to_owned(), json!(owner_id_type));
    object.insert(
        "chat_mode".to_owned(),
        json!(if chat.mode == ChatMode::P2p {
            "p2p"
        } else {
            "group"
        }),
    );
    object.insert("tenant_key".to_owned(), json!(state.tenant_key()));
    object.insert("user_count".to_owned(), json!(chat.users.len().to_string()));
    object.insert("bot_count".to_owned(), json!(chat.bots.len().to_string()));
    object.insert(
        "chat_status".to_owned(),
        json!(if chat.dissolved {
            "dissolved"
        } else {
            "normal"
        }),
    );
    object.entry("external".to_owned()).or_insert(json!(false));
    if with_id {
        object.insert("chat_id".to_owned(), json!(chat.chat_id));
    }
    Value::Object(object)
}

fn create(shared: &Shared, request: &Request, caller: &Caller) -> Result<Reply, Fail> {
    let kind = user_id_type(request, "user_id_type")?;
    let uuid = request.query("uuid").map(str::to_owned);
    if uuid
        .as_ref()
        .is_some_and(|u| u.chars().count() > UUID_MAX_CHARS)
    {
        return Err(Fail::field(
            INVALID_PARAM,
            "uuid",
            format!("is longer than {UUID_MAX_CHARS} characters"),
        ));
    }
    let body = request.json()?;
    let (user_ids, bot_ids) = requested_members(&body)?;
    let mut state = shared.state();
    let owner_given = body
        .get("owner_id")
        .and_then(Value::as_str)
        .filter(|o| !o.is_empty());
    let owner = match owner_given {
        Some(id) => state
            .user_by(&kind, id)
            .map(|u| u.open_id.clone())
            .ok_or_else(|| {
                Fail::bad_request(UNAVAILABLE_IDS, "Your request contains unavailable ids.")
            })?,
        None => caller.app_id.clone(),
    };
    if let Some(uuid) = &uuid
        && let Some((chat_id, at)) =
            state
                .chat_uuids
                .get(&(caller.app_id.clone(), uuid.clone(), owner.clone()))
        && state.now().saturating_duration_since(*at) < CHAT_UUID_WINDOW
        && let Some(chat) = state.chats.get(chat_id)
    {
        return Ok(Reply::data(chat_json(&state, chat, &kind, true)));
    }
    let (users, bots) = initial_members(&state, caller, &kind, &owner, &user_ids, bot_ids)?;
    let mut settings = default_chat_settings();
    for (key, value) in &body {
        if !matches!(
            key.as_str(),
            "name"
                | "description"
                | "owner_id"
                | "user_id_list"
                | "bot_id_list"
                | "avatar"
                | "chat_mode"
        ) {
            settings.insert(key.clone(), value.clone());
        }
    }
    let now = now_millis();
    let chat = Chat {
        chat_id: new_id("oc_"),
        mode: ChatMode::Group,
        name: body
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned(),
        description: body
            .get("description")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned(),
        owner: owner.clone(),
        users,
        bots,
        dissolved: false,
        created_ms: now,
        last_active_ms: now,
        settings,
    };
    let json = chat_json(&state, &chat, &kind, true);
    if let Some(uuid) = uuid {
        let now = state.now();
        state.chat_uuids.insert(
            (caller.app_id.clone(), uuid, owner),
            (chat.chat_id.clone(), now),
        );
    }
    state.chats.insert(chat.chat_id.clone(), chat);
    drop(state);
    shared.changed.notify_waiters();
    Ok(Reply::data(json))
}

/// `user_id_list` and `bot_id_list`, within their limits.
fn requested_members(
    body: &serde_json::Map<String, Value>,
) -> Result<(Vec<String>, Vec<String>), Fail> {
    let strings = |name: &str| -> Vec<String> {
        body.get(name)
            .and_then(Value::as_array)
            .map(|ids| {
                ids.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default()
    };
    let user_ids = strings("user_id_list");
    let bot_ids = strings("bot_id_list");
    if user_ids.len() > USERS_PER_CALL_MAX {
        return Err(Fail::field(
            INVALID_PARAM,
            "user_id_list",
            format!("holds more than {USERS_PER_CALL_MAX} users"),
        ));
    }
    if bot_ids.len() > BOTS_PER_CALL_MAX {
        return Err(Fail::field(
            INVALID_PARAM,
            "bot_id_list",
            format!("holds more than {BOTS_PER_CALL_MAX} bots"),
        ));
    }
    Ok((user_ids, bot_ids))
}

/// The users and bots a new chat starts with: the owner, the listed users, the calling bot and
/// the listed bots.
fn initial_members(
    state: &State,
    caller: &Caller,
    kind: &str,
    owner: &str,
    user_ids: &[String],
    bot_ids: Vec<String>,
) -> Result<(Vec<String>, Vec<String>), Fail> {
    let mut users = Vec::new();
    if state.user_by("open_id", owner).is_some() {
        users.push(owner.to_owned());
    }
    for id in user_ids {
        let open_id = state
            .user_by(kind, id)
            .map(|u| u.open_id.clone())
            .ok_or_else(|| {
                Fail::bad_request(
                    UNAVAILABLE_IDS,
                    format!("Your request contains unavailable ids: {id}"),
                )
            })?;
        if !users.contains(&open_id) {
            users.push(open_id);
        }
    }
    let mut bots = vec![caller.app_id.clone()];
    for id in bot_ids {
        if !state.apps.contains_key(&id) {
            return Err(Fail::bad_request(
                UNAVAILABLE_IDS,
                format!("Your request contains unavailable ids: {id}"),
            ));
        }
        if !bots.contains(&id) {
            bots.push(id);
        }
    }
    Ok((users, bots))
}

fn get(shared: &Shared, request: &Request, caller: &Caller, id: &str) -> Result<Reply, Fail> {
    let kind = user_id_type(request, "user_id_type")?;
    let state = shared.state();
    let chat = member_chat(&state, caller, id)?;
    Ok(Reply::data(chat_json(&state, chat, &kind, false)))
}

fn update(shared: &Shared, request: &Request, caller: &Caller, id: &str) -> Result<Reply, Fail> {
    let kind = user_id_type(request, "user_id_type")?;
    let body = request.json()?;
    let mut state = shared.state();
    member_chat(&state, caller, id)?;
    let new_owner = match body.get("owner_id").and_then(Value::as_str) {
        Some(owner) => Some(
            state
                .user_by(&kind, owner)
                .map(|u| u.open_id.clone())
                .ok_or_else(|| {
                    Fail::bad_request(UNAVAILABLE_IDS, "Your request contains unavailable ids.")
                })?,
        ),
        None => None,
    };
    let Some(chat) = state.chats.get_mut(id) else {
        return Err(Fail::bad_request(
            INVALID_CHAT_ID,
            "Your request specifies a chat_id which is invalid.",
        ));
    };
    if let Some(owner) = new_owner {
        if !chat.has_user(&owner) {
            return Err(Fail::field(
                INVALID_PARAM,
                "owner_id",
                "the new owner must be a member of the chat",
            ));
        }
        chat.owner = owner;
    }
    for (key, value) in &body {
        match key.as_str() {
            "name" => value.as_str().unwrap_or("").clone_into(&mut chat.name),
            "description" => value
                .as_str()
                .unwrap_or("")
                .clone_into(&mut chat.description),
            "owner_id" => {}
            _ => {
                chat.settings.insert(key.clone(), value.clone());
            }
        }
    }
    drop(state);
    shared.changed.notify_waiters();
    Ok(Reply::empty())
}

fn delete(shared: &Shared, caller: &Caller, id: &str) -> Result<Reply, Fail> {
    let mut state = shared.state();
    let chat = member_chat(&state, caller, id)?;
    if chat.owner != caller.app_id {
        return Err(Fail::bad_request(
            NO_PERMISSION,
            "No Permission: If the operator is NOT owner or creator with the scope, the operator can NOT complete the request.",
        ));
    }
    if let Some(chat) = state.chats.get_mut(id) {
        chat.dissolved = true;
    }
    drop(state);
    shared.changed.notify_waiters();
    Ok(Reply::empty())
}

fn list(shared: &Shared, request: &Request, caller: &Caller) -> Result<Reply, Fail> {
    let kind = user_id_type(request, "user_id_type")?;
    let size = page_size(request, 20, 100, INVALID_PARAM)?;
    let state = shared.state();
    let mut chats: Vec<&Chat> = state
        .chats
        .values()
        .filter(|chat| {
            chat.has_bot(&caller.app_id) && !chat.dissolved && chat.mode == ChatMode::Group
        })
        .collect();
    match request.query("sort_type") {
        None | Some("ByCreateTimeAsc") => chats.sort_by_key(|c| (c.created_ms, c.chat_id.clone())),
        Some("ByActiveTimeDesc") => {
            chats.sort_by_key(|c| std::cmp::Reverse((c.last_active_ms, c.chat_id.clone())));
        }
        Some(other) => {
            return Err(Fail::field(
                INVALID_PARAM,
                "sort_type",
                format!("`{other}` is not ByCreateTimeAsc or ByActiveTimeDesc"),
            ));
        }
    }
    let (page, has_more, token) =
        page_slice(&chats, request.query("page_token"), size, INVALID_PARAM)?;
    let items = page
        .iter()
        .map(|chat| {
            let full = chat_json(&state, chat, &kind, true);
            let mut summary = serde_json::Map::new();
            for key in [
                "chat_id",
                "avatar",
                "name",
                "description",
                "owner_id",
                "owner_id_type",
                "external",
                "tenant_key",
                "chat_status",
            ] {
                if let Some(value) = full.get(key) {
                    summary.insert(key.to_owned(), value.clone());
                }
            }
            Value::Object(summary)
        })
        .collect();
    Ok(Reply::data(page_json(items, has_more, token)))
}

fn id_list(request: &Request) -> Result<Vec<String>, Fail> {
    let body = request.json()?;
    let ids: Vec<String> = body
        .get("id_list")
        .and_then(Value::as_array)
        .map(|ids| {
            ids.iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    if ids.is_empty() {
        return Err(Fail::bad_request(
            232_027,
            "There are no valid members in the ID list specified in your request.",
        ));
    }
    if ids.len() > USERS_PER_CALL_MAX {
        return Err(Fail::field(
            INVALID_PARAM,
            "id_list",
            format!("holds more than {USERS_PER_CALL_MAX} ids"),
        ));
    }
    Ok(ids)
}

fn member_event(
    state: &State,
    caller: &Caller,
    chat: &Chat,
    event_type: &str,
    users: &[String],
) -> Outgoing {
    let app = &state.apps[&caller.app_id];
    let token = state
        .config
        .webhook
        .as_ref()
        .map(|w| w.verification_token.clone())
        .unwrap_or_default();
    let users: Vec<Value> = users
        .iter()
        .filter_map(|open_id| state.user_by("open_id", open_id))
        .map(|user| json!({ "name": user.name, "tenant_key": state.tenant_key(), "user_id": user.ids() }))
        .collect();
    let event = json!({
        "chat_id": chat.chat_id,
        "operator_id": { "open_id": app.config.bot_open_id },
        "external": false,
        "operator_tenant_key": state.tenant_key(),
        "users": users,
        "name": chat.name,
        "i18n_names": chat.settings.get("i18n_names").cloned().unwrap_or_else(|| json!({})),
    });
    let (event_id, payload) = envelope_v2(
        &caller.app_id,
        &state.tenant_key(),
        &token,
        (event_type, state.now_millis()),
        event,
    );
    Outgoing {
        app_id: caller.app_id.clone(),
        event_id,
        event_type: event_type.to_owned(),
        payload,
        duplicates: 0,
        redelivery: false,
    }
}

/// `POST /chats/:chat_id/members`. Ids that name nobody are "not existed"; ids of resigned
/// users are unusable. `succeed_type` says what they do to the call: 0 fails it on ids that name
/// nobody and skips resigned users; 1 adds whoever can be added and lists the rest; 2 fails it
/// on any unusable id.
fn add_members(
    shared: &Shared,
    request: &Request,
    caller: &Caller,
    id: &str,
) -> Result<Reply, Fail> {
    let kind = user_id_type(request, "member_id_type")?;
    let succeed_type = request.query("succeed_type").unwrap_or("0");
    if !matches!(succeed_type, "0" | "1" | "2") {
        return Err(Fail::field(
            INVALID_PARAM,
            "succeed_type",
            "must be 0, 1 or 2",
        ));
    }
    let ids = id_list(request)?;
    let mut state = shared.state();
    member_chat(&state, caller, id)?;
    let mut users = Vec::new();
    let mut bots = Vec::new();
    let mut resigned = Vec::new();
    let mut not_existed = Vec::new();
    for member in ids {
        if kind == "app_id" {
            if state.apps.contains_key(&member) {
                bots.push(member);
            } else {
                not_existed.push(member);
            }
        } else {
            match state.user_by(&kind, &member) {
                Some(user) if user.resigned => resigned.push(member),
                Some(user) => users.push(user.open_id.clone()),
                None => not_existed.push(member),
            }
        }
    }
    let refused: Vec<String> = match succeed_type {
        "0" => not_existed.clone(),
        "2" => not_existed.iter().chain(&resigned).cloned().collect(),
        _ => Vec::new(),
    };
    if !refused.is_empty() {
        return Err(Fail::bad_request(
            UNAVAILABLE_IDS,
            format!(
                "Your request contains unavailable ids: {}",
                refused.join(", ")
            ),
        ));
    }
    let Some(chat) = state.chats.get_mut(id) else {
        return Err(Fail::bad_request(
            INVALID_CHAT_ID,
            "Your request specifies a chat_id which is invalid.",
        ));
    };
    let mut added = Vec::new();
    for user in users {
        if !chat.has_user(&user) {
            chat.users.push(user.clone());
            added.push(user);
        }
    }
    for bot in bots {
        if !chat.has_bot(&bot) {
            chat.bots.push(bot);
        }
    }
    let chat = chat.clone();
    let event = (!added.is_empty()).then(|| {
        member_event(
            &state,
            caller,
            &chat,
            "im.chat.member.user.added_v1",
            &added,
        )
    });
    drop(state);
    shared.publish(event);
    Ok(Reply::data(json!({
        "invalid_id_list": resigned,
        "not_existed_id_list": not_existed,
        "pending_approval_id_list": [],
    })))
}

fn remove_members(
    shared: &Shared,
    request: &Request,
    caller: &Caller,
    id: &str,
) -> Result<Reply, Fail> {
    let kind = user_id_type(request, "member_id_type")?;
    let ids = id_list(request)?;
    let mut state = shared.state();
    member_chat(&state, caller, id)?;
    let mut invalid = Vec::new();
    let mut users = Vec::new();
    let mut bots = Vec::new();
    for member in ids {
        if kind == "app_id" {
            bots.push(member);
        } else {
            match state.user_by(&kind, &member) {
                Some(user) => users.push(user.open_id.clone()),
                None => invalid.push(member),
            }
        }
    }
    if bots.len() > BOTS_PER_CALL_MAX {
        return Err(Fail::field(
            INVALID_PARAM,
            "id_list",
            format!("removes more than {BOTS_PER_CALL_MAX} bots"),
        ));
    }
    let Some(chat) = state.chats.get_mut(id) else {
        return Err(Fail::bad_request(
            INVALID_CHAT_ID,
            "Your request specifies a chat_id which is invalid.",
        ));
    };
    let removed: Vec<String> = users.into_iter().filter(|u| chat.has_user(u)).collect();
    chat.users.retain(|u| !removed.contains(u));
    chat.bots.retain(|b| !bots.contains(b));
    let chat = chat.clone();
    let event = (!removed.is_empty() && chat.has_bot(&caller.app_id)).then(|| {
        member_event(
            &state,
            caller,
            &chat,
            "im.chat.member.user.deleted_v1",
            &removed,
        )
    });
    drop(state);
    shared.publish(event);
    Ok(Reply::data(json!({ "invalid_id_list": invalid })))
}

fn list_members(
    shared: &Shared,
    request: &Request,
    caller: &Caller,
    id: &str,
) -> Result<Reply, Fail> {
    let kind = user_id_type(request, "member_id_type")?;
    let size = page_size(request, 20, 100, INVALID_PARAM)?;
    let state = shared.state();
    let chat = member_chat(&state, caller, id)?;
    let (page, has_more, token) = page_slice(
        &chat.users,
        request.query("page_token"),
        size,
        INVALID_PARAM,
    )?;
    let items: Vec<Value> = page
        .iter()
        .map(|open_id| {
            json!({
                "member_id_type": kind,
                "member_id": user_id_as(&state, open_id, &kind),
                "name": state.user_name(open_id),
                "tenant_key": state.tenant_key(),
            })
        })
        .collect();
    let mut data = page_json(items, has_more, token);
    data["member_total"] = json!(chat.users.len());
    Ok(Reply::data(data))
}

fn is_in_chat(shared: &Shared, caller: &Caller, id: &str) -> Result<Reply, Fail> {
    let state = shared.state();
    let chat = state.chats.get(id).ok_or_else(|| {
        Fail::bad_request(
            INVALID_CHAT_ID,
            "Your request specifies a chat_id which is invalid.",
        )
    })?;
    Ok(Reply::data(
        json!({ "is_in_chat": chat.has_bot(&caller.app_id) && !chat.dissolved }),
    ))
}
