//! The simulator's HTTP side: `POST /api/token` with both grants, the lookups, lists sorted
//! and paged by offset, objects by id, saved searches paged by `cursorMark`, each with the
//! `with=` expansions a real instance has (and a 500 for one it lacks). A middleware records
//! every arrival, applies the fault switches and checks bearer tokens.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, Request, State as AxumState};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use rand::Rng;
use serde_json::{Value, json};

use crate::threatq::wire::format_date;

use super::dataset::{INDICATOR_STATUSES, SimObject};
use super::{Arrival, Fault, Shape, SimKind, SimRef, State};

type Shared = Arc<Mutex<State>>;

fn lock(state: &Shared) -> MutexGuard<'_, State> {
    state.lock().unwrap_or_else(|p| p.into_inner())
}

pub(super) fn router(state: Shared) -> Router {
    Router::new()
        .route("/api/token", post(token))
        .route("/api/indicator/types", get(indicator_types))
        .route("/api/indicator/statuses", get(indicator_statuses))
        .route("/api/event/types", get(event_types))
        .route("/api/{collection}", get(list))
        .route("/api/{collection}/{id}", get(one))
        .route("/api/{collection}/query/hash/{hash}", get(query_hash))
        .fallback(|| async {
            (
                StatusCode::NOT_FOUND,
                axum::Json(json!({"errors": ["Not found"]})),
            )
        })
        .layer(middleware::from_fn_with_state(state.clone(), gate))
        .with_state(state)
}

fn json_response(status: StatusCode, body: Value) -> Response {
    (status, axum::Json(body)).into_response()
}

fn validation(field: &str, message: &str) -> Response {
    json_response(
        StatusCode::BAD_REQUEST,
        json!({"data": {"errors": {field: [message]}}}),
    )
}

/// Record, apply faults, check the bearer token (everything but `/api/token`).
async fn gate(AxumState(state): AxumState<Shared>, request: Request, next: Next) -> Response {
    let path = request.uri().path().to_string();
    let index = {
        let mut s = lock(&state);
        s.arrivals.push(Arrival {
            at: Instant::now(),
            method: request.method().to_string(),
            path: path.clone(),
            query: request.uri().query().unwrap_or_default().to_string(),
            status: None,
        });
        s.arrivals.len() - 1
    };
    let fault = {
        let mut s = lock(&state);
        let hit = s
            .faults
            .iter_mut()
            .find(|f| f.remaining > 0 && path.starts_with(&f.path_prefix));
        hit.and_then(|f| {
            if f.skip > 0 {
                f.skip -= 1;
                return None;
            }
            f.remaining -= 1;
            Some(f.fault)
        })
    };
    let response = match fault {
        Some(Fault::Unauthorized) => {
            let now = Instant::now();
            for expiry in lock(&state).tokens.values_mut() {
                *expiry = now;
            }
            json_response(
                StatusCode::UNAUTHORIZED,
                json!({"message": "Unauthenticated."}),
            )
        }
        Some(Fault::ServerError) => json_response(
            StatusCode::INTERNAL_SERVER_ERROR,
            json!({"errors": ["Server Error"]}),
        ),
        Some(Fault::MalformedJson) => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "application/json")],
            "{\"total\": 3, \"data\": [{\"id\": 1, \"value\": \"",
        )
            .into_response(),
        Some(Fault::ErrorsIn200) => json_response(
            StatusCode::OK,
            json!({"data": {"errors": {"with": ["The selected with is invalid."]}}}),
        ),
        Some(Fault::Slow(delay)) => {
            tokio::time::sleep(delay).await;
            authorized_or_401(&state, &path, request, next).await
        }
        None => authorized_or_401(&state, &path, request, next).await,
    };
    if let Some(a) = lock(&state).arrivals.get_mut(index) {
        a.status = Some(response.status().as_u16());
    }
    response
}

async fn authorized_or_401(state: &Shared, path: &str, request: Request, next: Next) -> Response {
    if path != "/api/token" {
        let token = request
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::to_string);
        let valid = token.is_some_and(|t| {
            lock(state)
                .tokens
                .get(&t)
                .is_some_and(|expiry| *expiry > Instant::now())
        });
        if !valid {
            return json_response(
                StatusCode::UNAUTHORIZED,
                json!({"message": "Unauthenticated."}),
            );
        }
    }
    next.run(request).await
}

fn random_token() -> String {
    let mut rng = rand::rng();
    (0..40)
        .map(|_| char::from_digit(rng.random_range(0..16), 16).unwrap_or('0'))
        .collect()
}

/// `POST /api/token`: `?grant_type=client_credentials` with HTTP Basic, or a JSON body with
/// the password grant.
async fn token(
    AxumState(state): AxumState<Shared>,
    Query(query): Query<std::collections::HashMap<String, String>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let json_body: Option<Value> = serde_json::from_slice(&body).ok();
    let form: Vec<(String, String)> = url::form_urlencoded::parse(&body).into_owned().collect();
    let form_get = |k: &str| {
        form.iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.clone())
    };
    let json_get = |k: &str| {
        json_body
            .as_ref()
            .and_then(|b| b.get(k))
            .and_then(Value::as_str)
            .map(str::to_string)
    };
    let grant = query
        .get("grant_type")
        .cloned()
        .or_else(|| json_get("grant_type"))
        .or_else(|| form_get("grant_type"));
    let mut s = lock(&state);
    let accepted = match grant.as_deref() {
        Some("client_credentials") => {
            let basic = headers
                .get(header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.strip_prefix("Basic "))
                .and_then(|b| STANDARD.decode(b.trim()).ok())
                .and_then(|b| String::from_utf8(b).ok());
            let expected = format!("{}:{}", s.options.client_id, s.options.client_secret);
            if basic.as_deref() != Some(expected.as_str()) {
                return json_response(
                    StatusCode::UNAUTHORIZED,
                    json!({"error": "invalid_client", "message": "Client authentication failed"}),
                );
            }
            true
        }
        Some("password") => {
            let client_id = json_get("client_id").or_else(|| query.get("client_id").cloned());
            let ok = json_get("email").as_deref() == Some(s.options.email.as_str())
                && json_get("password").as_deref() == Some(s.options.password.as_str())
                && client_id.as_deref() == Some(s.options.client_id.as_str());
            if !ok {
                return json_response(
                    StatusCode::BAD_REQUEST,
                    json!({"error": "invalid_grant", "message": "The user credentials were incorrect."}),
                );
            }
            true
        }
        _ => false,
    };
    if !accepted {
        return json_response(
            StatusCode::BAD_REQUEST,
            json!({"error": "unsupported_grant_type",
                   "message": "The authorization grant type is not supported by the authorization server."}),
        );
    }
    let access = random_token();
    let lifetime = s.token_lifetime;
    s.tokens.insert(access.clone(), Instant::now() + lifetime);
    json_response(
        StatusCode::OK,
        json!({
            "token_type": "Bearer",
            "expires_in": lifetime.as_secs().max(1),
            "access_token": access,
            "refresh_token": random_token(),
        }),
    )
}

fn lookup_list(items: Vec<Value>) -> Response {
    let total = items.len();
    json_response(
        StatusCode::OK,
        json!({"total": total, "offset": 0, "limit": total, "data": items}),
    )
}

async fn indicator_types(AxumState(state): AxumState<Shared>) -> Response {
    let s = lock(&state);
    let items = super::dataset::INDICATOR_TYPES
        .iter()
        .filter_map(|(name, class)| {
            let id = s.data.indicator_types.id(name)?;
            Some(
                json!({"id": id, "name": name, "class": class, "score": null,
                        "wildcard_matching": "Y", "parent_id": null}),
            )
        })
        .collect();
    lookup_list(items)
}

async fn indicator_statuses(AxumState(state): AxumState<Shared>) -> Response {
    let s = lock(&state);
    let items = INDICATOR_STATUSES
        .iter()
        .filter_map(|(name, description)| {
            let id = s.data.indicator_statuses.id(name)?;
            Some(json!({"id": id, "name": name, "description": description,
                        "include_in_export": if *name == "Active" { "Y" } else { "N" }}))
        })
        .collect();
    lookup_list(items)
}

async fn event_types(AxumState(state): AxumState<Shared>) -> Response {
    let s = lock(&state);
    let items = super::dataset::EVENT_TYPES
        .iter()
        .filter_map(|name| {
            let id = s.data.event_types.id(name)?;
            Some(json!({"id": id, "name": name, "user_editable": "N"}))
        })
        .collect();
    lookup_list(items)
}

/// The expansions each kind has.
fn allowed(kind: SimKind) -> &'static [&'static str] {
    match kind {
        SimKind::Indicator => &[
            "type",
            "status",
            "score",
            "sources",
            "attributes",
            "tags",
            "watchlist",
            "adversaries",
            "events",
            "indicators",
        ],
        SimKind::Event => &[
            "type",
            "sources",
            "attributes",
            "tags",
            "watchlist",
            "adversaries",
            "events",
            "indicators",
        ],
        SimKind::Adversary => &[
            "sources",
            "attributes",
            "tags",
            "watchlist",
            "adversaries",
            "events",
            "indicators",
        ],
    }
}

/// The `with=` list, or the first name the kind lacks.
pub(super) fn parse_with(kind: SimKind, with: &str) -> Result<BTreeSet<String>, String> {
    let mut out = BTreeSet::new();
    for name in with.split(',').map(str::trim).filter(|n| !n.is_empty()) {
        if !allowed(kind).contains(&name) {
            return Err(name.to_string());
        }
        out.insert(name.to_string());
    }
    Ok(out)
}

/// What a real instance answers for a relation a model lacks.
fn undefined_relation(kind: SimKind, name: &str) -> Response {
    let model = match kind {
        SimKind::Indicator => "Indicator",
        SimKind::Event => "Event",
        SimKind::Adversary => "Adversary",
    };
    json_response(
        StatusCode::INTERNAL_SERVER_ERROR,
        json!({"errors": [format!("Call to undefined relationship [{name}] on model [{model}].")]}),
    )
}

fn date(at: chrono::DateTime<chrono::Utc>) -> Value {
    Value::String(format_date(at))
}

/// The columns an object always has.
fn base(state: &State, o: &SimObject) -> serde_json::Map<String, Value> {
    let mut m = serde_json::Map::new();
    m.insert("id".into(), json!(o.id));
    match o.kind {
        SimKind::Indicator => {
            let type_id = o.type_name.and_then(|n| state.data.indicator_types.id(n));
            let status_id = o
                .status_name
                .and_then(|n| state.data.indicator_statuses.id(n));
            m.insert("type_id".into(), json!(type_id));
            m.insert("status_id".into(), json!(status_id));
            m.insert("class".into(), json!(o.class));
            m.insert("hash".into(), json!(value_hash(&o.value)));
            m.insert("value".into(), json!(o.value));
            m.insert("description".into(), Value::Null);
            m.insert("last_detected_at".into(), Value::Null);
            m.insert("expires_at".into(), Value::Null);
            m.insert("expired_at".into(), Value::Null);
            m.insert("score".into(), json!(o.effective_score().floor() as i64));
        }
        SimKind::Event => {
            let type_id = o.type_name.and_then(|n| state.data.event_types.id(n));
            m.insert("type_id".into(), json!(type_id));
            m.insert("title".into(), json!(o.value));
            m.insert("description".into(), json!(o.description));
            m.insert("happened_at".into(), json!(o.happened_at.map(format_date)));
        }
        SimKind::Adversary => {
            m.insert("name".into(), json!(o.value));
            m.insert("description".into(), json!(o.description));
        }
    }
    m.insert("created_at".into(), date(o.created_at));
    m.insert("updated_at".into(), date(o.updated_at));
    m.insert("touched_at".into(), date(o.touched_at));
    m
}

/// ThreatQ keeps a hash of each value; any stable digest serves the simulator.
fn value_hash(value: &str) -> String {
    use sha2::Digest as _;
    let digest = sha2::Sha256::digest(value.as_bytes());
    digest[..16].iter().map(|b| format!("{b:02x}")).collect()
}

fn tlp() -> Value {
    json!({"id": 4, "name": "WHITE"})
}

/// An object with the asked expansions, as the API renders it.
pub(super) fn render(state: &State, o: &SimObject, with: &BTreeSet<String>) -> Value {
    let mut m = base(state, o);
    let has = |n: &str| with.contains(n);
    if has("type") {
        let (id, class) = match o.kind {
            SimKind::Indicator => (
                o.type_name.and_then(|n| state.data.indicator_types.id(n)),
                o.class,
            ),
            SimKind::Event => (o.type_name.and_then(|n| state.data.event_types.id(n)), None),
            SimKind::Adversary => (None, None),
        };
        let mut t = json!({"id": id, "name": o.type_name});
        if let Some(class) = class {
            t["class"] = json!(class);
        }
        m.insert("type".into(), t);
    }
    if has("status") {
        let id = o
            .status_name
            .and_then(|n| state.data.indicator_statuses.id(n));
        let description = INDICATOR_STATUSES
            .iter()
            .find(|(n, _)| Some(*n) == o.status_name)
            .map(|(_, d)| *d);
        m.insert(
            "status".into(),
            json!({"id": id, "name": o.status_name, "description": description}),
        );
    }
    if has("score") {
        m.insert(
            "score".into(),
            json!({
                "indicator_id": o.id,
                "generated_score": format!("{:.2}", o.generated_score),
                "manual_score": o.manual_score.map(|s| format!("{s:.0}")),
                "score_config_hash": "4f1d0a3c5b7e9d2f",
                "created_at": format_date(o.created_at),
                "updated_at": format_date(o.updated_at),
            }),
        );
    }
    if has("sources") {
        let sources: Vec<Value> = o
            .sources
            .iter()
            .enumerate()
            .map(|(i, name)| {
                json!({"id": i + 1, "type": "other_sources", "name": name,
                       "tlp_id": 4, "tlp": tlp(),
                       "published_at": format_date(o.created_at),
                       "created_at": format_date(o.created_at)})
            })
            .collect();
        m.insert("sources".into(), Value::Array(sources));
    }
    if has("attributes") {
        let attributes: Vec<Value> = o
            .attributes
            .iter()
            .enumerate()
            .map(|(i, (name, value))| {
                json!({"id": i + 1, "attribute_id": i + 1, "name": name, "value": value,
                       "created_at": format_date(o.created_at),
                       "updated_at": format_date(o.updated_at)})
            })
            .collect();
        m.insert("attributes".into(), Value::Array(attributes));
    }
    if has("tags") {
        let tags: Vec<Value> = o
            .tags
            .iter()
            .enumerate()
            .map(|(i, name)| json!({"id": i + 1, "name": name}))
            .collect();
        m.insert("tags".into(), Value::Array(tags));
    }
    if has("watchlist") {
        let entries = if o.watched {
            vec![json!({"id": o.id, "user_id": 1, "created_at": format_date(o.touched_at)})]
        } else {
            Vec::new()
        };
        m.insert("watchlist".into(), Value::Array(entries));
    }
    for kind in SimKind::ALL {
        if has(kind.collection()) {
            let me = o.reference();
            let related: Vec<Value> = state
                .data
                .relations
                .range((me, SimRef { kind, id: 0 })..=(me, SimRef { kind, id: u64::MAX }))
                .filter_map(|(_, other)| state.data.objects.get(other))
                .filter(|other| !other.hidden)
                .map(|other| Value::Object(base(state, other)))
                .collect();
            m.insert(kind.collection().into(), Value::Array(related));
        }
    }
    Value::Object(m)
}

#[derive(serde::Deserialize)]
struct ListQuery {
    sort: Option<String>,
    limit: Option<String>,
    offset: Option<String>,
    with: Option<String>,
    #[serde(rename = "cursorMark")]
    cursor_mark: Option<String>,
}

/// An error answer, made into a response only when sent.
struct Refusal(StatusCode, Value);

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        json_response(self.0, self.1)
    }
}

fn number_param(value: Option<&str>, field: &str, default: usize) -> Result<usize, Refusal> {
    match value {
        None => Ok(default),
        Some(v) => v.trim().parse().map_err(|_| {
            Refusal(
                StatusCode::BAD_REQUEST,
                json!({"data": {"errors": {field: [format!("The {field} must be an integer.")]}}}),
            )
        }),
    }
}

fn kind_of(collection: &str) -> Result<SimKind, Refusal> {
    SimKind::from_collection(collection).ok_or_else(|| {
        Refusal(
            StatusCode::NOT_FOUND,
            json!({"errors": [format!("Unknown collection `{collection}`")]}),
        )
    })
}

async fn list(
    AxumState(state): AxumState<Shared>,
    Path(collection): Path<String>,
    Query(q): Query<ListQuery>,
) -> Response {
    let kind = match kind_of(&collection) {
        Ok(k) => k,
        Err(r) => return r.into_response(),
    };
    let with = match parse_with(kind, q.with.as_deref().unwrap_or("")) {
        Ok(w) => w,
        Err(name) => return undefined_relation(kind, &name),
    };
    let s = lock(&state);
    let limit = match number_param(q.limit.as_deref(), "limit", 20) {
        Ok(l) => l.clamp(1, s.options.max_page_size),
        Err(r) => return r.into_response(),
    };
    let offset = match number_param(q.offset.as_deref(), "offset", 0) {
        Ok(o) => o,
        Err(r) => return r.into_response(),
    };
    let sort = q.sort.as_deref().unwrap_or("id");
    let (descending, field) = match sort.strip_prefix('-') {
        Some(f) => (true, f),
        None => (false, sort),
    };
    let key: fn(&SimObject) -> (chrono::DateTime<chrono::Utc>, u64) = match field {
        "touched_at" => |o| (o.touched_at, o.id),
        "updated_at" => |o| (o.updated_at, o.id),
        "created_at" => |o| (o.created_at, o.id),
        "id" => |o| (chrono::DateTime::<chrono::Utc>::MIN_UTC, o.id),
        _ => return validation("sort", "The selected sort is invalid."),
    };
    let mut objects: Vec<&SimObject> = s
        .data
        .objects
        .values()
        .filter(|o| o.kind == kind && !o.hidden)
        .collect();
    objects.sort_by_key(|o| key(o));
    if descending {
        objects.reverse();
    }
    let total = objects.len();
    let data: Vec<Value> = objects
        .into_iter()
        .skip(offset)
        .take(limit)
        .map(|o| render(&s, o, &with))
        .collect();
    json_response(
        StatusCode::OK,
        json!({"total": total, "offset": offset, "limit": limit, "data": data}),
    )
}

async fn one(
    AxumState(state): AxumState<Shared>,
    Path((collection, id)): Path<(String, String)>,
    Query(q): Query<ListQuery>,
) -> Response {
    let kind = match kind_of(&collection) {
        Ok(k) => k,
        Err(r) => return r.into_response(),
    };
    let with = match parse_with(kind, q.with.as_deref().unwrap_or("")) {
        Ok(w) => w,
        Err(name) => return undefined_relation(kind, &name),
    };
    let s = lock(&state);
    let found = id
        .parse::<u64>()
        .ok()
        .and_then(|id| s.data.objects.get(&SimRef { kind, id }))
        .filter(|o| !o.hidden);
    match found {
        Some(o) => json_response(StatusCode::OK, json!({"data": render(&s, o, &with)})),
        None => json_response(
            StatusCode::NOT_FOUND,
            json!({"errors": [format!("No {} with id {id}", kind.object_kind())]}),
        ),
    }
}

/// Cursor marks look like Solr's: base64 with `+`, `/` and `=`, so a client that does not
/// percent-encode them breaks.
const MARK_PREFIX: [u8; 6] = [0x02, 0x81, 0x3f, 0xfb, 0xef, 0xbe];

fn encode_mark(position: (i64, u64)) -> String {
    let mut bytes = MARK_PREFIX.to_vec();
    bytes.extend(format!("{}:{}", position.0, position.1).as_bytes());
    STANDARD.encode(bytes)
}

fn decode_mark(mark: &str) -> Option<(i64, u64)> {
    if mark == "*" {
        return Some((i64::MIN, 0));
    }
    let bytes = STANDARD.decode(mark).ok()?;
    let rest = bytes.strip_prefix(&MARK_PREFIX[..])?;
    let text = std::str::from_utf8(rest).ok()?;
    let (at, id) = text.split_once(':')?;
    Some((at.parse().ok()?, id.parse().ok()?))
}

async fn query_hash(
    AxumState(state): AxumState<Shared>,
    Path((collection, hash)): Path<(String, String)>,
    Query(q): Query<ListQuery>,
) -> Response {
    let kind = match kind_of(&collection) {
        Ok(k) => k,
        Err(r) => return r.into_response(),
    };
    let asked = match parse_with(kind, q.with.as_deref().unwrap_or("")) {
        Ok(w) => w,
        Err(name) => return undefined_relation(kind, &name),
    };
    let s = lock(&state);
    let Some(dc) = s
        .collections
        .iter()
        .find(|c| c.hash == hash && c.collection == collection)
        .cloned()
    else {
        return json_response(
            StatusCode::NOT_FOUND,
            json!({"errors": [format!("No saved search with hash {hash}")]}),
        );
    };
    let limit = match number_param(q.limit.as_deref(), "limit", 20) {
        Ok(l) => l.clamp(1, s.options.max_page_size),
        Err(r) => return r.into_response(),
    };
    if let Some(sort) = q.sort.as_deref()
        && sort != "updated_at"
    {
        return validation("sort", "Saved searches page by updated_at.");
    }
    let mark = q.cursor_mark.unwrap_or_else(|| "*".into());
    let Some(position) = decode_mark(&mark) else {
        return validation("cursorMark", "Unable to parse cursorMark.");
    };
    let mut objects: Vec<&SimObject> = s
        .data
        .objects
        .values()
        .filter(|o| o.kind == kind && !o.hidden && (dc.filter)(o))
        .collect();
    let total = objects.len();
    let pos = |o: &SimObject| (o.updated_at.timestamp(), o.id);
    objects.sort_by_key(|o| pos(o));
    let page: Vec<&SimObject> = objects
        .into_iter()
        .filter(|o| pos(o) > position)
        .take(limit)
        .collect();
    let next = page.last().map_or(mark.clone(), |o| encode_mark(pos(o)));
    let with: BTreeSet<String> = match dc.shape {
        Shape::IdsForNames => asked
            .into_iter()
            .filter(|n| n != "type" && n != "status")
            .collect(),
        Shape::Bare => BTreeSet::new(),
    };
    let data: Vec<Value> = page
        .iter()
        .map(|o| match dc.shape {
            Shape::IdsForNames => render(&s, o, &with),
            Shape::Bare => {
                let full = base(&s, o);
                let mut bare = serde_json::Map::new();
                for k in ["id", "type_id", "status_id"] {
                    if let Some(v) = full.get(k) {
                        bare.insert(k.into(), v.clone());
                    }
                }
                Value::Object(bare)
            }
        })
        .collect();
    json_response(
        StatusCode::OK,
        json!({"total": total, "limit": limit, "nextCursorMark": next, "data": data}),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_marks_round_trip_and_need_percent_encoding() {
        let mark = encode_mark((1_700_000_000, 42));
        assert!(mark.contains('+') && mark.contains('/'), "{mark}");
        assert_eq!(decode_mark(&mark), Some((1_700_000_000, 42)));
        assert_eq!(decode_mark(&mark.replace('+', " ")), None);
        assert_eq!(decode_mark("*"), Some((i64::MIN, 0)));
        assert_eq!(decode_mark("garbage"), None);
    }

    #[test]
    fn an_expansion_a_kind_lacks_is_named() {
        assert_eq!(
            parse_with(SimKind::Adversary, "sources,status"),
            Err("status".to_string())
        );
        assert!(parse_with(SimKind::Indicator, "type, status,score").is_ok());
    }
}
