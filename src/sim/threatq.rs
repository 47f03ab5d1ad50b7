//! The ThreatQ simulator (PRODUCT.md §9): the API of §6.1–6.3 on 127.0.0.1, serving real
//! published indicators, events and adversaries, with instance-specific (shuffled) type and
//! status ids, both OAuth grants, expiring tokens, two saved data collections, fault switches
//! and a control API that changes watched objects the way ThreatQ would. Used by `demo`,
//! `sim --threatq` and the tests, over plain HTTP or HTTPS with its own CA.

mod dataset;
mod server;
mod tls;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use chrono::{DateTime, Timelike, Utc};
use rand::{Rng, SeedableRng};
use serde_json::Value;
use sha2::{Digest, Sha256};
use url::Url;

use crate::alert::ObjectKind;
use crate::sim::data::{self, Report};

pub use dataset::SimObject;

/// The kinds the simulator serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SimKind {
    Indicator,
    Event,
    Adversary,
}

impl SimKind {
    pub const ALL: [SimKind; 3] = [Self::Indicator, Self::Event, Self::Adversary];

    pub fn collection(self) -> &'static str {
        match self {
            Self::Indicator => "indicators",
            Self::Event => "events",
            Self::Adversary => "adversaries",
        }
    }

    pub fn from_collection(collection: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.collection() == collection)
    }

    pub fn object_kind(self) -> ObjectKind {
        match self {
            Self::Indicator => ObjectKind::Indicator,
            Self::Event => ObjectKind::Event,
            Self::Adversary => ObjectKind::Adversary,
        }
    }
}

/// One object of the simulator's library.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SimRef {
    pub kind: SimKind,
    pub id: u64,
}

impl SimRef {
    /// How the alert key of this object starts: `indicator:42:`.
    pub fn key_prefix(&self) -> String {
        format!("{}:{}:", self.kind.object_kind(), self.id)
    }
}

/// Which objects start on the watchlist.
#[derive(Debug, Clone, PartialEq)]
pub struct WatchPlan {
    pub indicators: usize,
    pub events: usize,
    pub adversaries: usize,
    /// This share of watched objects was last touched 30–70 hours ago (outside a first run's
    /// default look-back); the rest within the last 20 hours.
    pub stale_share: f64,
    /// Unwatched indicators held back for `add_watched_object`.
    pub reserve: usize,
}

impl Default for WatchPlan {
    fn default() -> Self {
        Self {
            indicators: 40,
            events: 4,
            adversaries: 3,
            stale_share: 0.1,
            reserve: 20,
        }
    }
}

/// How to start the simulator.
#[derive(Debug, Clone)]
pub struct SimOptions {
    /// `127.0.0.1:0` picks a free port.
    pub bind: SocketAddr,
    /// Serve HTTPS with a certificate from the simulator's own CA (`ca_pem`).
    pub tls: bool,
    /// Draws the library's timestamps, scores, watchlist and ids; random when `None`.
    pub seed: Option<u64>,
    pub client_id: String,
    pub client_secret: String,
    pub email: String,
    pub password: String,
    pub token_lifetime: Duration,
    /// Larger `limit`s are cut to this, as ThreatQ caps them.
    pub max_page_size: usize,
    pub watch: WatchPlan,
    /// Reports to serve instead of the shipped ones (`sim --data DIR`).
    pub reports: Option<Vec<Report>>,
}

impl Default for SimOptions {
    fn default() -> Self {
        let mut rng = rand::rng();
        let secret: String = (0..32)
            .map(|_| char::from_digit(rng.random_range(0..16), 16).unwrap_or('0'))
            .collect();
        Self {
            bind: SocketAddr::from(([127, 0, 0, 1], 0)),
            tls: false,
            seed: None,
            client_id: "tq-alerts-sim".into(),
            client_secret: secret.clone(),
            email: "analyst@threatq.example.net".into(),
            password: secret,
            token_lifetime: Duration::from_secs(3600),
            max_page_size: 1000,
            watch: WatchPlan::default(),
            reports: None,
        }
    }
}

/// A change made to an object, as a feed or an analyst would make it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// Re-ingested unchanged: only `touched_at` moves.
    Nothing,
    /// A manual score is set (indicators).
    Score,
    /// The status moves on (indicators).
    Status,
    /// A source is added (or, when all are there, removed).
    Source,
    /// A new `Sighting` attribute.
    Attribute,
    /// The `Reviewed` tag is toggled.
    Tag,
    /// A relation to an adversary (an event, for adversaries) is added, or removed when there
    /// is none left to add.
    Relation,
}

impl Change {
    pub const ALL: [Change; 7] = [
        Self::Nothing,
        Self::Score,
        Self::Status,
        Self::Source,
        Self::Attribute,
        Self::Tag,
        Self::Relation,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Nothing => "nothing",
            Self::Score => "score",
            Self::Status => "status",
            Self::Source => "sources",
            Self::Attribute => "attributes",
            Self::Tag => "tags",
            Self::Relation => "relations",
        }
    }
}

/// A switch that makes matching requests fail (or slow down) the next `times` times.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Every token issued so far expires, and the request is answered 401.
    Unauthorized,
    /// HTTP 500 with an error body.
    ServerError,
    /// The answer comes after this delay (and is then correct).
    Slow(Duration),
    /// HTTP 200 with a body cut off mid-JSON.
    MalformedJson,
    /// HTTP 200 with a validation `errors` envelope.
    ErrorsIn200,
}

#[derive(Debug, Clone)]
struct FaultRule {
    fault: Fault,
    path_prefix: String,
    /// Matching requests let through before the fault starts.
    skip: usize,
    remaining: usize,
}

/// One request as the simulator saw it. The `Authorization` header is not kept.
#[derive(Debug, Clone)]
pub struct Arrival {
    pub at: Instant,
    pub method: String,
    pub path: String,
    pub query: String,
    /// `None` while the answer is being made (or when the client gave up waiting).
    pub status: Option<u16>,
}

/// How a data collection serves its objects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// Every asked expansion except `type` and `status`, which stay ids (`type_id`,
    /// `status_id`): names must come from the lookups.
    IdsForNames,
    /// `id`, `type_id` and `status_id` only, whatever `with=` asks: each object must be
    /// fetched by id.
    Bare,
}

/// A saved search served at `/api/<collection>/query/hash/<hash>`.
#[derive(Debug, Clone)]
pub struct DataCollection {
    pub name: &'static str,
    pub hash: String,
    pub collection: &'static str,
    pub shape: Shape,
    filter: fn(&SimObject) -> bool,
}

fn collection_hash(name: &str) -> String {
    let digest = Sha256::digest(name.as_bytes());
    digest[..16].iter().map(|b| format!("{b:02x}")).collect()
}

fn data_collections() -> Vec<DataCollection> {
    vec![
        DataCollection {
            name: "High-score indicators",
            hash: collection_hash("high-score-indicators"),
            collection: "indicators",
            shape: Shape::IdsForNames,
            filter: |o| o.kind == SimKind::Indicator && o.effective_score() >= 7.0,
        },
        DataCollection {
            name: "Citizen Lab network indicators",
            hash: collection_hash("citizen-lab-network-indicators"),
            collection: "indicators",
            shape: Shape::Bare,
            filter: |o| {
                o.kind == SimKind::Indicator
                    && o.class == Some("network")
                    && o.sources.iter().any(|s| s == "Citizen Lab")
            },
        },
    ]
}

#[derive(Debug, thiserror::Error)]
pub enum SimError {
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("cannot make the TLS certificate: {0}")]
    Tls(String),
    #[error("no {} with id {}", .0.kind.object_kind(), .0.id)]
    NoSuchObject(SimRef),
    #[error("{} {} has no {}", .0.kind.object_kind(), .0.id, .1)]
    NotApplicable(SimRef, &'static str),
}

/// Everything the server and the control API share.
pub(crate) struct State {
    data: dataset::Dataset,
    collections: Vec<DataCollection>,
    tokens: BTreeMap<String, Instant>,
    token_lifetime: Duration,
    faults: Vec<FaultRule>,
    arrivals: Vec<Arrival>,
    options: SimOptions,
    sightings: u64,
}

/// A running simulator. Dropping it stops the server.
pub struct SimThreatQ {
    addr: SocketAddr,
    base_url: Url,
    seed: u64,
    ca_pem: Option<String>,
    credentials: SimOptions,
    state: Arc<Mutex<State>>,
    shutdown: Arc<tokio::sync::Notify>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for SimThreatQ {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The current second: ThreatQ's dates have no fractions.
fn now_second() -> DateTime<Utc> {
    let now = Utc::now();
    now.with_nanosecond(0).unwrap_or(now)
}

impl SimThreatQ {
    /// Build the library and start serving. Must run inside a tokio runtime.
    pub async fn start(options: SimOptions) -> Result<SimThreatQ, SimError> {
        let seed = options.seed.unwrap_or_else(|| rand::rng().random());
        let reports = options
            .reports
            .clone()
            .unwrap_or_else(|| data::reports().to_vec());
        let data = dataset::build(&reports, seed, &options.watch, now_second());
        tracing::info!(
            seed,
            objects = data.objects.len(),
            indicator_types = ?data.indicator_types.by_name,
            "ThreatQ simulator library built (type and status ids are this start's own)"
        );
        let listener = tokio::net::TcpListener::bind(options.bind)
            .await
            .map_err(|source| SimError::Bind {
                addr: options.bind,
                source,
            })?;
        let addr = listener.local_addr().map_err(|source| SimError::Bind {
            addr: options.bind,
            source,
        })?;
        let state = Arc::new(Mutex::new(State {
            data,
            collections: data_collections(),
            tokens: BTreeMap::new(),
            token_lifetime: options.token_lifetime,
            faults: Vec::new(),
            arrivals: Vec::new(),
            options: options.clone(),
            sightings: 0,
        }));
        let router = server::router(state.clone());
        let shutdown = Arc::new(tokio::sync::Notify::new());
        let stop = shutdown.clone();
        let (task, ca_pem, scheme) = if options.tls {
            let (acceptor, ca_pem) = tls::self_signed().map_err(SimError::Tls)?;
            let listener = tls::TlsListener::new(listener, acceptor);
            let task = tokio::spawn(async move {
                let _ = axum::serve(listener, router)
                    .with_graceful_shutdown(async move { stop.notified().await })
                    .await;
            });
            (task, Some(ca_pem), "https")
        } else {
            let task = tokio::spawn(async move {
                let _ = axum::serve(listener, router)
                    .with_graceful_shutdown(async move { stop.notified().await })
                    .await;
            });
            (task, None, "http")
        };
        let base_url =
            Url::parse(&format!("{scheme}://{addr}")).map_err(|e| SimError::Tls(e.to_string()))?;
        Ok(SimThreatQ {
            addr,
            base_url,
            seed,
            ca_pem,
            credentials: options,
            state,
            shutdown,
            task,
        })
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT` (or `https://`): the `[threatq] url` to configure.
    pub fn base_url(&self) -> &Url {
        &self.base_url
    }

    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// The CA certificate (PEM) that signed the HTTPS certificate, for `ca_file`.
    pub fn ca_pem(&self) -> Option<&str> {
        self.ca_pem.as_deref()
    }

    /// The accepted logins (client id and secret; e-mail, password and client id).
    pub fn credentials(&self) -> &SimOptions {
        &self.credentials
    }

    /// Stop serving (in-flight requests finish).
    pub fn stop(&self) {
        self.shutdown.notify_waiters();
    }

    /// The saved data collections.
    pub fn data_collections(&self) -> Vec<DataCollection> {
        self.lock().collections.clone()
    }

    /// This start's id for an indicator type name (`FQDN`).
    pub fn indicator_type_id(&self, name: &str) -> Option<u64> {
        self.lock().data.indicator_types.id(name)
    }

    /// This start's id for an indicator status name (`Active`).
    pub fn indicator_status_id(&self, name: &str) -> Option<u64> {
        self.lock().data.indicator_statuses.id(name)
    }

    /// A copy of one object as the simulator holds it.
    pub fn object(&self, r: SimRef) -> Option<SimObject> {
        self.lock().data.objects.get(&r).cloned()
    }

    /// One object as the API serves it with `with` expansions (for samples and tests).
    pub fn object_json(&self, r: SimRef, with: &str) -> Option<Value> {
        let state = self.lock();
        let with = server::parse_with(r.kind, with).ok()?;
        let o = state.data.objects.get(&r).filter(|o| !o.hidden)?;
        Some(server::render(&state, o, &with))
    }

    /// Served objects on the watchlist last touched at or after `since`, in id order.
    pub fn watched_touched_since(&self, since: DateTime<Utc>) -> Vec<SimRef> {
        self.lock()
            .data
            .objects
            .values()
            .filter(|o| o.watched && !o.hidden && o.touched_at >= since)
            .map(SimObject::reference)
            .collect()
    }

    /// Served objects of `kind` on the watchlist (`true`) or off it (`false`).
    pub fn objects_watched(&self, kind: SimKind, watched: bool) -> Vec<SimRef> {
        self.lock()
            .data
            .objects
            .values()
            .filter(|o| o.kind == kind && o.watched == watched && !o.hidden)
            .map(SimObject::reference)
            .collect()
    }

    /// Put an object on the watchlist or take it off (touching it, as ThreatQ does).
    pub fn set_watched(&self, r: SimRef, watched: bool) -> Result<(), SimError> {
        let mut state = self.lock();
        let o = state
            .data
            .objects
            .get_mut(&r)
            .filter(|o| !o.hidden)
            .ok_or(SimError::NoSuchObject(r))?;
        o.watched = watched;
        o.touched_at = now_second();
        Ok(())
    }

    /// Ingest one held-back indicator as a new object on the watchlist (created and touched
    /// now). `None` when the reserve is used up.
    pub fn add_watched_object(&self) -> Option<SimRef> {
        let mut state = self.lock();
        let now = now_second();
        let o = state.data.objects.values_mut().find(|o| o.hidden)?;
        o.hidden = false;
        o.watched = true;
        o.created_at = now;
        o.updated_at = now;
        o.touched_at = now;
        Some(o.reference())
    }

    /// Change an object as ThreatQ would: `touched_at` always moves; `updated_at` moves when
    /// something really changed.
    pub fn touch(&self, r: SimRef, change: Change) -> Result<(), SimError> {
        let mut guard = self.lock();
        let state = &mut *guard;
        let now = now_second();
        state.sightings += 1;
        let sighting = state.sightings;
        if change == Change::Relation {
            relate_or_unrelate(&mut state.data, r)?;
        }
        let o = state
            .data
            .objects
            .get_mut(&r)
            .filter(|o| !o.hidden)
            .ok_or(SimError::NoSuchObject(r))?;
        match change {
            Change::Nothing => {}
            Change::Score => {
                if o.kind != SimKind::Indicator {
                    return Err(SimError::NotApplicable(r, "score"));
                }
                let current = o.effective_score().floor() as i64;
                o.manual_score = Some(((current + 3) % 11) as f64);
            }
            Change::Status => {
                if o.kind != SimKind::Indicator {
                    return Err(SimError::NotApplicable(r, "status"));
                }
                let names: Vec<&'static str> = dataset::INDICATOR_STATUSES
                    .iter()
                    .map(|(n, _)| *n)
                    .collect();
                let at = names
                    .iter()
                    .position(|n| Some(*n) == o.status_name)
                    .unwrap_or(0);
                o.status_name = Some(names[(at + 1) % names.len()]);
            }
            Change::Source => {
                const EXTRA: [&str; 3] = ["Analyst Review", "SOC Triage", "Threat Hunting"];
                match EXTRA.iter().find(|s| !o.sources.iter().any(|x| x == *s)) {
                    Some(s) => o.sources.push(s.to_string()),
                    None => {
                        o.sources.retain(|x| !EXTRA.contains(&x.as_str()));
                    }
                }
            }
            Change::Attribute => o.attributes.push((
                "Sighting".into(),
                format!("#{sighting} at {}", now.format("%Y-%m-%d %H:%M:%S")),
            )),
            Change::Relation => {}
            Change::Tag => {
                if o.tags.iter().any(|t| t == "Reviewed") {
                    o.tags.retain(|t| t != "Reviewed");
                } else {
                    o.tags.push("Reviewed".into());
                }
            }
        }
        o.touched_at = now;
        if change != Change::Nothing {
            o.updated_at = now;
        }
        Ok(())
    }

    /// Touch a random watched object with a random change that applies to it (the demo's
    /// heartbeat). `None` when nothing is watched.
    pub fn touch_random(&self, rng: &mut impl Rng) -> Option<(SimRef, Change)> {
        let watched: Vec<SimRef> = SimKind::ALL
            .into_iter()
            .flat_map(|k| self.objects_watched(k, true))
            .collect();
        if watched.is_empty() {
            return None;
        }
        let r = watched[rng.random_range(0..watched.len())];
        let choices: &[Change] = if r.kind == SimKind::Indicator {
            &[
                Change::Attribute,
                Change::Score,
                Change::Source,
                Change::Tag,
                Change::Status,
                Change::Relation,
            ]
        } else {
            &[
                Change::Attribute,
                Change::Source,
                Change::Tag,
                Change::Relation,
            ]
        };
        let change = choices[rng.random_range(0..choices.len())];
        self.touch(r, change).ok()?;
        Some((r, change))
    }

    /// Make the next `times` requests whose path starts with `path_prefix` fail with `fault`.
    pub fn inject(&self, fault: Fault, path_prefix: &str, times: usize) {
        self.inject_after(fault, path_prefix, 0, times);
    }

    /// Like `inject`, after letting `skip` matching requests through (a fault mid-run).
    pub fn inject_after(&self, fault: Fault, path_prefix: &str, skip: usize, times: usize) {
        self.lock().faults.push(FaultRule {
            fault,
            path_prefix: path_prefix.to_string(),
            skip,
            remaining: times,
        });
    }

    pub fn clear_faults(&self) {
        self.lock().faults.clear();
    }

    /// Every token issued so far stops working (the next call gets 401).
    pub fn expire_tokens(&self) {
        let now = Instant::now();
        for expiry in self.lock().tokens.values_mut() {
            *expiry = now;
        }
    }

    /// `expires_in` of tokens issued from now on.
    pub fn set_token_lifetime(&self, lifetime: Duration) {
        self.lock().token_lifetime = lifetime;
    }

    /// Every request so far, in arrival order.
    pub fn arrivals(&self) -> Vec<Arrival> {
        self.lock().arrivals.clone()
    }

    /// How many logins (`POST /api/token`) were asked for.
    pub fn token_requests(&self) -> usize {
        self.lock()
            .arrivals
            .iter()
            .filter(|a| a.path == "/api/token")
            .count()
    }

    pub fn clear_arrivals(&self) {
        self.lock().arrivals.clear();
    }
}

/// Relate `r` to the first adversary (an event, for adversaries) it is not related to yet,
/// or, when it is related to all, drop its first such relation.
fn relate_or_unrelate(data: &mut dataset::Dataset, r: SimRef) -> Result<(), SimError> {
    if data.objects.get(&r).is_none_or(|o| o.hidden) {
        return Err(SimError::NoSuchObject(r));
    }
    let other_kind = match r.kind {
        SimKind::Adversary => SimKind::Event,
        _ => SimKind::Adversary,
    };
    let candidates: Vec<SimRef> = data
        .objects
        .values()
        .filter(|o| o.kind == other_kind && !o.hidden && o.reference() != r)
        .map(SimObject::reference)
        .collect();
    match candidates
        .iter()
        .find(|c| !data.relations.contains(&(r, **c)))
    {
        Some(c) => {
            data.relations.insert((r, *c));
            data.relations.insert((*c, r));
        }
        None => {
            let Some(c) = candidates.first() else {
                return Err(SimError::NotApplicable(r, "object to relate to"));
            };
            data.relations.remove(&(r, *c));
            data.relations.remove(&(*c, r));
        }
    }
    Ok(())
}

/// Seeded randomness for callers that want reproducible touches.
pub fn seeded_rng(seed: u64) -> rand::rngs::StdRng {
    rand::rngs::StdRng::seed_from_u64(seed)
}
