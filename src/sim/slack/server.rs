//! The simulator's HTTP side: `/api/<method>` for the Web API and the incoming-webhook path,
//! answering as Slack does and recording what arrived.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde_json::{Value, json};

use super::listener::{Connection, CuttableListener};
use super::{AcceptedMessage, Arrival, ArrivalOutcome, Call, Fault, Inner, SimState, Via};
use crate::slack::validate::validate;

/// A request held by a hang switch is released after this long (or when the simulator stops).
const HANG_LIMIT: Duration = Duration::from_secs(300);

/// Slack truncates `text` beyond this and refuses nothing shorter for length.
const SLACK_TEXT_HARD_LIMIT: usize = 40_000;

pub(super) async fn serve(listener: CuttableListener, state: Arc<SimState>) {
    let app = Router::new()
        .route("/api/{method}", any(api))
        .route("/services/{*rest}", any(webhook))
        .fallback(|| async { (StatusCode::NOT_FOUND, "not found") })
        .with_state(state);
    let service = app.into_make_service_with_connect_info::<Connection>();
    if let Err(e) = axum::serve(listener, service).await {
        tracing::error!(error = %e, "the Slack simulator stopped");
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Read,
    Write,
}

fn kind_of(method: &str) -> Option<Kind> {
    match method {
        "auth.test" | "conversations.list" | "users.list" | "users.lookupByEmail" => {
            Some(Kind::Read)
        }
        "chat.postMessage" | "conversations.open" | "conversations.join" => Some(Kind::Write),
        _ => None,
    }
}

/// Slack's answer: always HTTP 200 with `ok`, except rate limiting.
fn ok(mut body: Value) -> Response {
    body["ok"] = json!(true);
    axum::Json(body).into_response()
}

fn error(word: &str) -> Response {
    axum::Json(json!({ "ok": false, "error": word })).into_response()
}

fn error_with(word: &str, extra: Value) -> Response {
    let mut body = json!({ "ok": false, "error": word });
    if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
        for (k, v) in e {
            b.insert(k.clone(), v.clone());
        }
    }
    axum::Json(body).into_response()
}

fn rate_limited(retry_after: Duration, body: Response) -> Response {
    let mut response = body;
    *response.status_mut() = StatusCode::TOO_MANY_REQUESTS;
    if let Ok(v) = HeaderValue::from_str(&retry_after.as_secs().to_string()) {
        response.headers_mut().insert(header::RETRY_AFTER, v);
    }
    response
}

/// Hold the request until the hang limit or the simulator stops.
async fn hang(state: &SimState) {
    let mut stop = state.stop.subscribe();
    tokio::select! {
        _ = tokio::time::sleep(HANG_LIMIT) => {}
        _ = stop.wait_for(|s| *s) => {}
    }
}

/// What a request gave: query parameters, form fields, or a JSON object.
struct Params {
    fields: HashMap<String, Value>,
}

impl Params {
    fn str(&self, key: &str) -> Option<&str> {
        self.fields.get(key).and_then(Value::as_str)
    }
}

async fn api(
    State(state): State<Arc<SimState>>,
    ConnectInfo(conn): ConnectInfo<Connection>,
    Path(method): Path<String>,
    http_method: Method,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> Response {
    let at = Instant::now();
    let fault = {
        let mut inner = state.lock();
        inner.trim_logs();
        inner.take_fault(&method)
    };
    let channel_hint = || {
        serde_json::from_slice::<Value>(&body)
            .ok()
            .and_then(|v| v.get("channel").and_then(Value::as_str).map(String::from))
    };
    let record_fault = |fault: &Fault| {
        let mut inner = state.lock();
        inner.calls.push(Call {
            at,
            method: method.clone(),
            http_method: http_method.to_string(),
            error: Some(format!("fault: {fault:?}")),
        });
        if method == "chat.postMessage" {
            inner.arrivals.push(Arrival {
                at,
                via: Via::Api,
                channel: channel_hint(),
                outcome: ArrivalOutcome::Fault(fault.clone()),
            });
        }
    };
    match &fault {
        None | Some(Fault::LoseAnswerAfterAccept) => {}
        Some(switch @ Fault::Error(word)) => {
            record_fault(switch);
            return match word.as_str() {
                "missing_scope" => error_with(
                    word,
                    json!({ "needed": needed_scope(&method), "provided": "channels:read,users:read" }),
                ),
                "ratelimited" => rate_limited(Duration::from_secs(1), error(word)),
                _ => error(word),
            };
        }
        Some(other) => {
            record_fault(other);
            return apply_transport_fault(&state, &conn, other, || error("internal_error")).await;
        }
    }
    let response = handle(
        &state,
        &method,
        &http_method,
        &headers,
        query.as_deref(),
        &body,
        at,
    );
    if fault == Some(Fault::LoseAnswerAfterAccept) {
        hang(&state).await;
        conn.cut();
    }
    response
}

/// The switches that act on the transport rather than answer in Slack's words.
async fn apply_transport_fault(
    state: &SimState,
    conn: &Connection,
    fault: &Fault,
    fallback: impl FnOnce() -> Response,
) -> Response {
    match fault {
        Fault::Status(code) => {
            let status = StatusCode::from_u16(*code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            (status, status.canonical_reason().unwrap_or("error")).into_response()
        }
        Fault::HangBeforeAccept => {
            hang(state).await;
            conn.cut();
            fallback()
        }
        Fault::CloseConnection => {
            conn.cut();
            fallback()
        }
        Fault::RateLimited(secs) => rate_limited(Duration::from_secs(*secs), fallback()),
        Fault::LoseAnswerAfterAccept | Fault::Error(_) => fallback(),
    }
}

/// The scope Slack names in `missing_scope` for a method.
fn needed_scope(method: &str) -> &'static str {
    match method {
        "chat.postMessage" => "chat:write",
        "conversations.list" => "channels:read",
        "users.list" => "users:read",
        "users.lookupByEmail" => "users:read.email",
        "conversations.open" => "im:write",
        "conversations.join" => "channels:join",
        _ => "chat:write",
    }
}

fn handle(
    state: &SimState,
    method: &str,
    http_method: &Method,
    headers: &HeaderMap,
    query: Option<&str>,
    body: &[u8],
    at: Instant,
) -> Response {
    let mut inner = state.lock();
    let (response, word) =
        match prepare(state, &mut inner, method, http_method, headers, query, body) {
            Err(word) => {
                let response = error(&word);
                if method == "chat.postMessage" {
                    let channel = serde_json::from_slice::<Value>(body)
                        .ok()
                        .and_then(|v| v.get("channel").and_then(Value::as_str).map(String::from));
                    inner.arrivals.push(Arrival {
                        at,
                        via: Via::Api,
                        channel,
                        outcome: ArrivalOutcome::Refused { word: word.clone() },
                    });
                }
                (response, Some(word))
            }
            Ok(params) => dispatch(state, &mut inner, method, &params, at),
        };
    inner.calls.push(Call {
        at,
        method: method.to_string(),
        http_method: http_method.to_string(),
        error: word,
    });
    response
}

/// Slack's word for why a request is refused; the answer is made from it.
type Refusal = String;

fn refuse(word: &str) -> Refusal {
    word.to_string()
}

/// Authentication, HTTP method, content type and body: everything before the method itself.
fn prepare(
    state: &SimState,
    inner: &mut Inner,
    method: &str,
    http_method: &Method,
    headers: &HeaderMap,
    query: Option<&str>,
    body: &[u8],
) -> Result<Params, Refusal> {
    let Some(kind) = kind_of(method) else {
        return Err(refuse("unknown_method"));
    };
    let mut fields: HashMap<String, Value> = HashMap::new();
    for (k, v) in url::form_urlencoded::parse(query.unwrap_or("").as_bytes()) {
        fields.insert(k.into_owned(), Value::String(v.into_owned()));
    }
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    let (mime, charset) = split_content_type(&content_type);
    match kind {
        Kind::Read => {
            if http_method != Method::GET {
                inner.violations.push(format!(
                    "{method} was called with {http_method}; reads are GET"
                ));
                if mime == "application/x-www-form-urlencoded" {
                    for (k, v) in url::form_urlencoded::parse(body) {
                        fields.insert(k.into_owned(), Value::String(v.into_owned()));
                    }
                }
            }
        }
        Kind::Write => {
            if http_method != Method::POST {
                inner.violations.push(format!(
                    "{method} was called with {http_method}; writes are POST"
                ));
                return Err(refuse("invalid_post_type"));
            }
            if mime != "application/json" {
                inner.violations.push(format!(
                    "{method} was sent as `{content_type}`; writes are application/json"
                ));
                return Err(refuse("invalid_post_type"));
            }
            match charset.as_deref() {
                None => inner.violations.push(format!(
                    "{method}: JSON without `charset=utf-8` (Slack warns missing_charset)"
                )),
                Some("utf-8" | "utf8") => {}
                Some(_) => return Err(refuse("invalid_charset")),
            }
            let value: Value = match serde_json::from_slice(body) {
                Ok(v) => v,
                Err(_) => return Err(refuse("invalid_json")),
            };
            let Value::Object(object) = value else {
                return Err(refuse("invalid_json"));
            };
            if object.contains_key("token") {
                inner
                    .violations
                    .push(format!("{method}: the token was sent in the body"));
            }
            fields.extend(object);
        }
    }
    if fields.contains_key("token") && kind == Kind::Read {
        inner
            .violations
            .push(format!("{method}: the token was sent as a parameter"));
    }
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    match bearer {
        None => Err(refuse("not_authed")),
        Some(token) if token == state.token => Ok(Params { fields }),
        Some(_) => Err(refuse("invalid_auth")),
    }
}

/// `application/json; charset=utf-8` → (`application/json`, `Some("utf-8")`).
fn split_content_type(value: &str) -> (String, Option<String>) {
    let mut parts = value.split(';');
    let mime = parts.next().unwrap_or("").trim().to_string();
    let charset = parts
        .filter_map(|p| {
            p.trim()
                .strip_prefix("charset=")
                .map(|c| c.trim_matches('"').to_string())
        })
        .next();
    (mime, charset)
}

fn dispatch(
    state: &SimState,
    inner: &mut Inner,
    method: &str,
    params: &Params,
    at: Instant,
) -> (Response, Option<String>) {
    let result = match method {
        "auth.test" => Ok(auth_test(inner)),
        "conversations.list" => conversations_list(state, inner, params),
        "users.list" => users_list(state, inner, params),
        "users.lookupByEmail" => lookup_by_email(inner, params),
        "conversations.open" => conversations_open(inner, params),
        "conversations.join" => conversations_join(inner, params),
        "chat.postMessage" => return post_message(inner, params, at),
        _ => Err(refuse("unknown_method")),
    };
    match result {
        Ok(response) => (response, None),
        Err(word) => (error(&word), Some(word)),
    }
}

fn auth_test(inner: &Inner) -> Response {
    let w = &inner.workspace;
    ok(json!({
        "url": format!("https://{}.slack.com/", w.domain),
        "team": w.team,
        "user": w.bot.name,
        "team_id": w.team_id,
        "user_id": w.bot.user_id,
        "bot_id": w.bot.bot_id,
        "is_enterprise_install": false,
    }))
}

/// `limit` as Slack reads it: 1 to 1000, default 100.
fn limit(params: &Params) -> Result<usize, Refusal> {
    match params.fields.get("limit") {
        None => Ok(100),
        Some(v) => {
            let n = match v {
                Value::Number(n) => n.as_u64(),
                Value::String(s) => s.trim().parse::<u64>().ok(),
                _ => None,
            };
            match n {
                Some(n @ 1..=1000) => Ok(n as usize),
                _ => Err(refuse("invalid_limit")),
            }
        }
    }
}

/// Cursors look like Slack's: base64 of `<kind>:<id of the next item>`.
fn cursor_for(kind: &str, id: &str) -> String {
    BASE64.encode(format!("{kind}:{id}"))
}

fn cursor_start(params: &Params, kind: &str, ids: &[&str]) -> Result<usize, Refusal> {
    let Some(cursor) = params.str("cursor").filter(|c| !c.is_empty()) else {
        return Ok(0);
    };
    let decoded = BASE64
        .decode(cursor)
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .ok_or_else(|| refuse("invalid_cursor"))?;
    let id = decoded
        .strip_prefix(kind)
        .and_then(|r| r.strip_prefix(':'))
        .ok_or_else(|| refuse("invalid_cursor"))?;
    ids.iter()
        .position(|i| *i == id)
        .ok_or_else(|| refuse("invalid_cursor"))
}

fn page<'a, T>(
    state: &SimState,
    params: &Params,
    kind: &str,
    items: &'a [T],
    id: impl Fn(&T) -> &str,
) -> Result<(&'a [T], String), Refusal> {
    let size = limit(params)?.min(state.page_size);
    let ids: Vec<&str> = items.iter().map(&id).collect();
    let start = cursor_start(params, kind, &ids)?;
    let end = (start + size).min(items.len());
    let next = items
        .get(end)
        .map(|next| cursor_for(kind, id(next)))
        .unwrap_or_default();
    Ok((&items[start..end], next))
}

fn conversations_list(
    state: &SimState,
    inner: &Inner,
    params: &Params,
) -> Result<Response, Refusal> {
    let types: Vec<&str> = params
        .str("types")
        .unwrap_or("public_channel")
        .split(',')
        .map(str::trim)
        .collect();
    if types
        .iter()
        .any(|t| !matches!(*t, "public_channel" | "private_channel" | "mpim" | "im"))
    {
        return Err(refuse("invalid_types"));
    }
    let exclude_archived = matches!(
        params.fields.get("exclude_archived"),
        Some(Value::Bool(true))
    ) || matches!(params.str("exclude_archived"), Some("true" | "1"));
    let w = &inner.workspace;
    let visible: Vec<_> = w
        .channels
        .iter()
        .filter(|c| w.visible(c))
        .filter(|c| {
            (c.is_private && types.contains(&"private_channel"))
                || (!c.is_private && types.contains(&"public_channel"))
        })
        .filter(|c| !(exclude_archived && c.is_archived))
        .collect();
    let (items, next) = page(state, params, "channel", &visible, |c| c.id.as_str())?;
    Ok(ok(json!({
        "channels": items.iter().map(|c| c.to_json()).collect::<Vec<_>>(),
        "response_metadata": { "next_cursor": next },
    })))
}

fn users_list(state: &SimState, inner: &Inner, params: &Params) -> Result<Response, Refusal> {
    let w = &inner.workspace;
    let (items, next) = page(state, params, "user", &w.users, |u| u.id.as_str())?;
    Ok(ok(json!({
        "members": items.iter().map(|u| u.to_json(&w.team_id)).collect::<Vec<_>>(),
        "cache_ts": 1_700_000_000,
        "response_metadata": { "next_cursor": next },
    })))
}

fn lookup_by_email(inner: &Inner, params: &Params) -> Result<Response, Refusal> {
    let Some(email) = params.str("email").filter(|e| !e.trim().is_empty()) else {
        return Err(refuse("invalid_email"));
    };
    let w = &inner.workspace;
    // Deactivated accounts are not found by e-mail (Slack's documented behaviour).
    match w.users.iter().find(|u| {
        !u.deleted
            && u.email
                .as_deref()
                .is_some_and(|e| e.eq_ignore_ascii_case(email.trim()))
    }) {
        Some(u) => Ok(ok(json!({ "user": u.to_json(&w.team_id) }))),
        None => Err(refuse("users_not_found")),
    }
}

fn conversations_open(inner: &mut Inner, params: &Params) -> Result<Response, Refusal> {
    let Some(users) = params.str("users") else {
        return Err(refuse("user_not_found"));
    };
    if users.contains(',') {
        inner.violations.push(
            "conversations.open with several users (a group DM); the notifier opens one".into(),
        );
        return Err(refuse("not_implemented"));
    }
    let user = match inner.workspace.user_by_id(users.trim()) {
        None => return Err(refuse("user_not_found")),
        Some(u) if u.deleted => return Err(refuse("user_disabled")),
        Some(u) if u.is_bot => return Err(refuse("cannot_dm_bot")),
        Some(u) => u.id.clone(),
    };
    let id = match inner.workspace.dm_of(&user) {
        Some(d) => d.to_string(),
        None => {
            let id = inner.next_id('D');
            inner.workspace.dms.push((user, id.clone()));
            id
        }
    };
    Ok(ok(json!({ "channel": { "id": id } })))
}

fn conversations_join(inner: &mut Inner, params: &Params) -> Result<Response, Refusal> {
    let Some(id) = params.str("channel") else {
        return Err(refuse("channel_not_found"));
    };
    let Some(channel) = inner.workspace.channels.iter_mut().find(|c| c.id == id) else {
        return Err(refuse("channel_not_found"));
    };
    if channel.is_private {
        // A private channel the bot is not in cannot be seen at all.
        return Err(refuse(if channel.bot_member {
            "method_not_supported_for_channel_type"
        } else {
            "channel_not_found"
        }));
    }
    if channel.is_archived {
        return Err(refuse("is_archived"));
    }
    let already = channel.bot_member;
    channel.bot_member = true;
    let mut body = json!({ "channel": channel.to_json() });
    if already {
        body["warning"] = json!("already_in_channel");
        body["response_metadata"] = json!({ "warnings": ["already_in_channel"] });
    }
    Ok(ok(body))
}

/// Where a message may go, or Slack's word for why not.
fn check_channel(inner: &Inner, channel: Option<&str>) -> Result<String, String> {
    let Some(id) = channel.map(str::trim).filter(|c| !c.is_empty()) else {
        return Err("channel_not_found".into());
    };
    let w = &inner.workspace;
    if id.starts_with('D') {
        return match w.dm_owner(id) {
            Some(_) => Ok(id.to_string()),
            None => Err("channel_not_found".into()),
        };
    }
    match w.channel_by_id(id) {
        None => Err("channel_not_found".into()),
        Some(c) if c.is_private && !c.bot_member => Err("channel_not_found".into()),
        Some(c) if c.is_archived => Err("is_archived".into()),
        Some(c) if !c.bot_member => Err("not_in_channel".into()),
        Some(c) => Ok(c.id.clone()),
    }
}

/// The checks on a message's content both doors share: text, Block Kit limits, and the
/// contract of §6.4 (`unfurl_*` false, no `link_names` or `parse`). `Err` is Slack's word with
/// its `[ERROR] …` messages.
fn check_content(
    inner: &mut Inner,
    door: &str,
    body: &Value,
    strict_fields: bool,
) -> Result<(), (String, Vec<String>)> {
    let text = body.get("text");
    let has_blocks = body.get("blocks").is_some_and(|b| !b.is_null());
    let has_attachments = body.get("attachments").is_some_and(|a| !a.is_null());
    match text {
        Some(Value::String(t)) if !t.trim().is_empty() => {
            if t.chars().count() > SLACK_TEXT_HARD_LIMIT {
                return Err(("msg_too_long".into(), Vec::new()));
            }
        }
        Some(Value::String(_)) | None | Some(Value::Null) => {
            if !has_blocks && !has_attachments {
                return Err(("no_text".into(), Vec::new()));
            }
            inner.violations.push(format!(
                "{door}: no top-level text (the notification fallback)"
            ));
        }
        Some(_) => return Err(("invalid_arguments".into(), Vec::new())),
    }
    let mut block_errors = Vec::new();
    let mut attachment_errors = Vec::new();
    for v in validate(body) {
        if v.pointer.starts_with("/blocks") {
            block_errors.push(format!("[ERROR] {v}"));
        } else if v.pointer.starts_with("/attachments") {
            attachment_errors.push(format!("[ERROR] {v}"));
        } else if v.pointer == "/text" {
            inner
                .violations
                .push(format!("{door}: /text {}", v.message));
        }
    }
    if !block_errors.is_empty() {
        return Err(("invalid_blocks".into(), block_errors));
    }
    if !attachment_errors.is_empty() {
        return Err(("invalid_attachments".into(), attachment_errors));
    }
    if strict_fields {
        for key in ["link_names", "parse"] {
            if body.get(key).is_some() {
                inner.violations.push(format!(
                    "{door}: `{key}` was sent (the product never sends it)"
                ));
            }
        }
        for key in ["unfurl_links", "unfurl_media"] {
            if body.get(key) != Some(&Value::Bool(false)) {
                inner
                    .violations
                    .push(format!("{door}: `{key}` is not false"));
            }
        }
    }
    Ok(())
}

fn post_message(inner: &mut Inner, params: &Params, at: Instant) -> (Response, Option<String>) {
    let body = Value::Object(params.fields.clone().into_iter().collect());
    let asked = params.str("channel").map(String::from);
    let refused = |inner: &mut Inner, response: Response, word: String| {
        inner.arrivals.push(Arrival {
            at,
            via: Via::Api,
            channel: asked.clone(),
            outcome: ArrivalOutcome::Refused { word: word.clone() },
        });
        (response, Some(word))
    };
    // Rate limiting comes first, as at Slack: a refused message still counts nothing.
    if let Some(channel) = &asked
        && let Err(retry_after) = inner.admit(channel, at)
    {
        inner.arrivals.push(Arrival {
            at,
            via: Via::Api,
            channel: asked.clone(),
            outcome: ArrivalOutcome::RateLimited { retry_after },
        });
        return (
            rate_limited(retry_after, error("ratelimited")),
            Some("ratelimited".into()),
        );
    }
    let channel = match check_channel(inner, asked.as_deref()) {
        Ok(c) => c,
        Err(word) => return refused(inner, error(&word), word),
    };
    if let Err((word, messages)) = check_content(inner, "chat.postMessage", &body, true) {
        let response = if messages.is_empty() {
            error(&word)
        } else {
            let errors: Vec<String> = messages
                .iter()
                .map(|m| m.trim_start_matches("[ERROR] ").to_string())
                .collect();
            error_with(
                &word,
                json!({ "errors": errors, "response_metadata": { "messages": messages } }),
            )
        };
        return refused(inner, response, word);
    }
    let ts = inner.next_ts();
    let w = &inner.workspace;
    let message = json!({
        "type": "message",
        "user": w.bot.user_id,
        "bot_id": w.bot.bot_id,
        "text": body.get("text").cloned().unwrap_or(Value::Null),
        "ts": ts,
    });
    inner.accepted.push(AcceptedMessage {
        at,
        via: Via::Api,
        channel: channel.clone(),
        ts: ts.clone(),
        payload: body,
    });
    inner.arrivals.push(Arrival {
        at,
        via: Via::Api,
        channel: Some(channel.clone()),
        outcome: ArrivalOutcome::Accepted { ts: ts.clone() },
    });
    (
        ok(json!({ "channel": channel, "ts": ts, "message": message })),
        None,
    )
}

/// The HTTP status an incoming webhook answers a word with (Slack's "Handling errors" table).
fn webhook_status(word: &str) -> StatusCode {
    match word {
        "channel_not_found" | "no_service" | "no_team" => StatusCode::NOT_FOUND,
        "channel_is_archived" | "team_disabled" => StatusCode::GONE,
        "action_prohibited" | "posting_to_general_channel_denied" | "invalid_token" => {
            StatusCode::FORBIDDEN
        }
        "rate_limited" => StatusCode::TOO_MANY_REQUESTS,
        "internal_error" | "fatal_error" => StatusCode::INTERNAL_SERVER_ERROR,
        "service_unavailable" => StatusCode::SERVICE_UNAVAILABLE,
        _ => StatusCode::BAD_REQUEST,
    }
}

fn webhook_answer(word: &str) -> Response {
    (webhook_status(word), word.to_string()).into_response()
}

async fn webhook(
    State(state): State<Arc<SimState>>,
    ConnectInfo(conn): ConnectInfo<Connection>,
    http_method: Method,
    headers: HeaderMap,
    axum::extract::OriginalUri(uri): axum::extract::OriginalUri,
    body: Bytes,
) -> Response {
    let at = Instant::now();
    state.lock().trim_logs();
    if uri.path() != state.webhook_path {
        return webhook_answer("no_service");
    }
    let channel_id = state
        .lock()
        .workspace
        .channel_by_name(&state.webhook_channel)
        .map(|c| c.id.clone());
    let fault = state.lock().take_fault("webhook");
    let record = |outcome: ArrivalOutcome| {
        state.lock().arrivals.push(Arrival {
            at,
            via: Via::Webhook,
            channel: channel_id.clone(),
            outcome,
        });
    };
    match &fault {
        None | Some(Fault::LoseAnswerAfterAccept) => {}
        Some(Fault::Error(word)) => {
            record(ArrivalOutcome::Fault(Fault::Error(word.clone())));
            let response = webhook_answer(word);
            return if word == "rate_limited" {
                rate_limited(Duration::from_secs(1), response)
            } else {
                response
            };
        }
        Some(other) => {
            record(ArrivalOutcome::Fault(other.clone()));
            return apply_transport_fault(&state, &conn, other, || {
                webhook_answer("internal_error")
            })
            .await;
        }
    }
    let response = webhook_accept(&state, http_method, &headers, &body, channel_id.clone(), at);
    if fault == Some(Fault::LoseAnswerAfterAccept) {
        hang(&state).await;
        conn.cut();
    }
    response
}

fn webhook_accept(
    state: &SimState,
    http_method: Method,
    headers: &HeaderMap,
    body: &[u8],
    channel_id: Option<String>,
    at: Instant,
) -> Response {
    let mut inner = state.lock();
    let refused = |inner: &mut Inner, word: &str| {
        inner.arrivals.push(Arrival {
            at,
            via: Via::Webhook,
            channel: channel_id.clone(),
            outcome: ArrivalOutcome::Refused { word: word.into() },
        });
        webhook_answer(word)
    };
    let Some(channel) = channel_id.clone() else {
        return refused(&mut inner, "channel_not_found");
    };
    if let Err(retry_after) = inner.admit(&channel, at) {
        inner.arrivals.push(Arrival {
            at,
            via: Via::Webhook,
            channel: Some(channel),
            outcome: ArrivalOutcome::RateLimited { retry_after },
        });
        return rate_limited(retry_after, webhook_answer("rate_limited"));
    }
    if http_method != Method::POST {
        return refused(&mut inner, "invalid_payload");
    }
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    let (mime, charset) = split_content_type(&content_type);
    if mime != "application/json" {
        inner.violations.push(format!(
            "webhook: sent as `{content_type}`, not application/json"
        ));
        return refused(&mut inner, "invalid_payload");
    }
    if charset.is_none() {
        inner
            .violations
            .push("webhook: JSON without `charset=utf-8`".into());
    }
    let payload: Value = match serde_json::from_slice(body) {
        Ok(v @ Value::Object(_)) => v,
        _ => return refused(&mut inner, "invalid_payload"),
    };
    let archived = inner
        .workspace
        .channel_by_id(&channel)
        .is_some_and(|c| c.is_archived);
    if archived {
        return refused(&mut inner, "channel_is_archived");
    }
    if let Err((word, _)) = check_content(&mut inner, "webhook", &payload, true) {
        let word = if word == "invalid_arguments" {
            "invalid_payload".to_string()
        } else {
            word
        };
        return refused(&mut inner, &word);
    }
    let ts = inner.next_ts();
    inner.accepted.push(AcceptedMessage {
        at,
        via: Via::Webhook,
        channel: channel.clone(),
        ts: ts.clone(),
        payload,
    });
    inner.arrivals.push(Arrival {
        at,
        via: Via::Webhook,
        channel: Some(channel),
        outcome: ArrivalOutcome::Accepted { ts },
    });
    (StatusCode::OK, "ok").into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_types_are_split_into_mime_and_charset() {
        assert_eq!(
            split_content_type("application/json; charset=utf-8"),
            ("application/json".into(), Some("utf-8".into()))
        );
        assert_eq!(
            split_content_type("application/json"),
            ("application/json".into(), None)
        );
        assert_eq!(
            split_content_type("application/json;charset=\"iso-8859-1\""),
            ("application/json".into(), Some("iso-8859-1".into()))
        );
    }

    #[test]
    fn cursors_round_trip_and_refuse_garbage() {
        let params = |c: &str| Params {
            fields: [("cursor".to_string(), json!(c))].into_iter().collect(),
        };
        let ids = ["C1", "C2", "C3"];
        let c = cursor_for("channel", "C2");
        assert_eq!(cursor_start(&params(&c), "channel", &ids).ok(), Some(1));
        assert!(cursor_start(&params("!!!"), "channel", &ids).is_err());
        assert!(cursor_start(&params(&cursor_for("user", "C2")), "channel", &ids).is_err());
        assert!(cursor_start(&params(&cursor_for("channel", "C9")), "channel", &ids).is_err());
    }

    #[test]
    fn webhook_words_have_slacks_statuses() {
        assert_eq!(webhook_status("invalid_payload"), StatusCode::BAD_REQUEST);
        assert_eq!(webhook_status("channel_not_found"), StatusCode::NOT_FOUND);
        assert_eq!(webhook_status("channel_is_archived"), StatusCode::GONE);
        assert_eq!(webhook_status("action_prohibited"), StatusCode::FORBIDDEN);
    }
}
