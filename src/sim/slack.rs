//! The Slack simulator (PRODUCT.md §9): the Web API methods of §6.4 and an incoming webhook on
//! a loopback port, strict like Slack (bearer token, JSON with a charset, unknown channels,
//! membership, archived channels, missing text, every Block Kit limit), with small cursor pages,
//! a per-channel rate limit answering 429 + `Retry-After`, fault switches, and a record of every
//! message it accepted and every arrival, for tests to judge timing by.

mod listener;
mod server;
pub mod workspace;

use std::collections::HashMap;
use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use rand::Rng as _;
use serde_json::Value;
use tokio::sync::watch;

pub use workspace::{SimBot, SimChannel, SimUser, Workspace};

/// Messages per second per channel, with a short burst (Slack: about 1 per second).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RateLimit {
    pub per_second: f64,
    pub burst: u32,
}

impl RateLimit {
    pub fn new(per_second: f64, burst: u32) -> Self {
        Self {
            per_second: if per_second.is_finite() && per_second > 0.0 {
                per_second
            } else {
                1.0
            },
            burst: burst.max(1),
        }
    }
}

/// How the simulator starts.
#[derive(Debug, Clone)]
pub struct SlackSimOptions {
    /// The bot token it accepts.
    pub token: String,
    /// Items per page of `conversations.list` and `users.list`, whatever `limit` asks.
    pub page_size: usize,
    /// Per-channel limit for `chat.postMessage` and the webhook; `None` for no limit.
    pub rate_limit: Option<RateLimit>,
    pub workspace: Workspace,
    /// The channel (by name) the incoming webhook posts to.
    pub webhook_channel: String,
    /// Each record (accepted messages, arrivals, calls, violations) keeps at most this many
    /// entries, dropping the oldest, so a long demo does not grow without bound.
    pub log_limit: usize,
}

impl Default for SlackSimOptions {
    fn default() -> Self {
        Self {
            token: format!("xoxb-sim-{}", random_alnum(24)),
            page_size: 2,
            rate_limit: Some(RateLimit::new(1.0, 3)),
            workspace: Workspace::soc(),
            webhook_channel: "tq-alerts".into(),
            log_limit: 100_000,
        }
    }
}

/// What a fault switch does to the requests it matches.
#[derive(Debug, Clone, PartialEq)]
pub enum Fault {
    /// Answer this HTTP status without looking at the request.
    Status(u16),
    /// Take the request and never answer; nothing is accepted.
    HangBeforeAccept,
    /// Accept the message (it is recorded), then never answer: the answer is lost.
    LoseAnswerAfterAccept,
    /// Close the connection without answering; nothing is accepted.
    CloseConnection,
    /// Answer with this error word: `ok: false` from the Web API, the word with its HTTP
    /// status from the webhook (`channel_is_archived` → 410, ...). `missing_scope` names a
    /// needed scope, as Slack does.
    Error(String),
    /// Answer 429 with this `Retry-After` in seconds.
    RateLimited(u64),
}

/// A fault switch: which method (`chat.postMessage`, `webhook`, or `*` for every request),
/// what happens, and for how many requests (`None`: until cleared).
#[derive(Debug, Clone, PartialEq)]
pub struct FaultRule {
    pub method: String,
    pub fault: Fault,
    pub times: Option<u32>,
}

impl FaultRule {
    pub fn on(method: impl Into<String>, fault: Fault) -> Self {
        Self {
            method: method.into(),
            fault,
            times: None,
        }
    }

    /// Only the next `n` matching requests.
    pub fn times(mut self, n: u32) -> Self {
        self.times = Some(n);
        self
    }
}

/// How a message reached the simulator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via {
    Api,
    Webhook,
}

/// A message the simulator accepted.
#[derive(Debug, Clone, PartialEq)]
pub struct AcceptedMessage {
    pub at: Instant,
    pub via: Via,
    pub channel: String,
    pub ts: String,
    /// The request body as sent.
    pub payload: Value,
}

/// What became of one message request.
#[derive(Debug, Clone, PartialEq)]
pub enum ArrivalOutcome {
    Accepted {
        ts: String,
    },
    RateLimited {
        retry_after: Duration,
    },
    /// Refused with Slack's word (`not_in_channel`, `invalid_blocks`, ...).
    Refused {
        word: String,
    },
    /// A fault switch took it.
    Fault(Fault),
}

/// One message request (`chat.postMessage` or the webhook), whatever became of it.
#[derive(Debug, Clone, PartialEq)]
pub struct Arrival {
    pub at: Instant,
    pub via: Via,
    /// The channel asked for (as sent), when it could be read.
    pub channel: Option<String>,
    pub outcome: ArrivalOutcome,
}

/// One Web API call.
#[derive(Debug, Clone, PartialEq)]
pub struct Call {
    pub at: Instant,
    pub method: String,
    pub http_method: String,
    /// `None` when answered ok.
    pub error: Option<String>,
}

struct Bucket {
    tokens: f64,
    updated: Instant,
}

pub(crate) struct Inner {
    pub workspace: Workspace,
    pub rate_limit: Option<RateLimit>,
    buckets: HashMap<String, Bucket>,
    /// After a 429: nothing may arrive for that channel before this.
    blocked_until: HashMap<String, Instant>,
    faults: Vec<FaultRule>,
    pub accepted: Vec<AcceptedMessage>,
    pub arrivals: Vec<Arrival>,
    pub calls: Vec<Call>,
    pub violations: Vec<String>,
    last_ts: u128,
    next_id: u64,
    log_limit: usize,
}

/// Drop the oldest tenth of `log` once it holds more than `limit` entries.
fn trim<T>(log: &mut Vec<T>, limit: usize) {
    if log.len() > limit.max(10) {
        let excess = log.len() - limit.max(10) + limit.max(10) / 10;
        log.drain(..excess);
    }
}

impl Inner {
    /// Keep the records within `log_limit` (called after each request).
    pub(crate) fn trim_logs(&mut self) {
        let limit = self.log_limit;
        trim(&mut self.accepted, limit);
        trim(&mut self.arrivals, limit);
        trim(&mut self.calls, limit);
        trim(&mut self.violations, limit);
    }

    /// The first fault switch matching `method`, used up by one.
    fn take_fault(&mut self, method: &str) -> Option<Fault> {
        let i = self
            .faults
            .iter()
            .position(|r| r.method == method || r.method == "*")?;
        let rule = &mut self.faults[i];
        let fault = rule.fault.clone();
        if let Some(n) = &mut rule.times {
            *n = n.saturating_sub(1);
            if *n == 0 {
                self.faults.remove(i);
            }
        }
        Some(fault)
    }

    /// Admit one message to `channel`, or say how long to wait (whole seconds, as Slack does).
    fn admit(&mut self, channel: &str, now: Instant) -> Result<(), Duration> {
        if let Some(until) = self.blocked_until.get(channel).copied() {
            if now < until {
                let early = until - now;
                self.violations.push(format!(
                    "a message to {channel} arrived {:.3} s before its Retry-After ended",
                    early.as_secs_f64()
                ));
                return Err(Duration::from_secs(
                    early.as_secs_f64().ceil().max(1.0) as u64
                ));
            }
            self.blocked_until.remove(channel);
        }
        let Some(limit) = self.rate_limit else {
            return Ok(());
        };
        let bucket = self.buckets.entry(channel.to_string()).or_insert(Bucket {
            tokens: f64::from(limit.burst),
            updated: now,
        });
        let elapsed = now.saturating_duration_since(bucket.updated).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * limit.per_second).min(f64::from(limit.burst));
        bucket.updated = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            return Ok(());
        }
        let wait = (1.0 - bucket.tokens) / limit.per_second;
        let retry_after = Duration::from_secs(wait.ceil().max(1.0) as u64);
        self.blocked_until
            .insert(channel.to_string(), now + retry_after);
        Err(retry_after)
    }

    /// A fresh, increasing message timestamp (`1712345678.000100`).
    fn next_ts(&mut self) -> String {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_micros())
            .unwrap_or(0);
        self.last_ts = now.max(self.last_ts + 1);
        format!(
            "{}.{:06}",
            self.last_ts / 1_000_000,
            self.last_ts % 1_000_000
        )
    }

    /// A fresh id with a prefix (`D`, `C`).
    fn next_id(&mut self, prefix: char) -> String {
        self.next_id += 1;
        format!("{prefix}0SIM{:05}", self.next_id)
    }
}

/// What the server tasks share.
pub(crate) struct SimState {
    pub token: String,
    pub page_size: usize,
    pub webhook_path: String,
    pub webhook_channel: String,
    inner: Mutex<Inner>,
    pub stop: watch::Sender<bool>,
}

impl SimState {
    pub fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// A running simulator. Dropping it stops the server.
pub struct SlackSim {
    addr: SocketAddr,
    started: Instant,
    state: Arc<SimState>,
    server: tokio::task::JoinHandle<()>,
}

impl std::fmt::Debug for SlackSim {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SlackSim")
            .field("addr", &self.addr)
            .finish()
    }
}

impl SlackSim {
    /// Listen on `addr` (loopback only; port 0 picks a free one). Must be called inside a tokio
    /// runtime.
    pub async fn start(addr: SocketAddr, options: SlackSimOptions) -> io::Result<SlackSim> {
        if !addr.ip().is_loopback() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "the Slack simulator listens on loopback only (127.0.0.1 or ::1), not {}",
                    addr.ip()
                ),
            ));
        }
        if !options
            .workspace
            .channels
            .iter()
            .any(|c| c.name == options.webhook_channel)
        {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "the webhook channel #{} is not a channel of the workspace",
                    options.webhook_channel
                ),
            ));
        }
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let webhook_path = format!(
            "/services/{}/B0SIMHOOK1/{}",
            options.workspace.team_id,
            random_alnum(24)
        );
        let state = Arc::new(SimState {
            token: options.token,
            page_size: options.page_size.max(1),
            webhook_path,
            webhook_channel: options.webhook_channel,
            inner: Mutex::new(Inner {
                workspace: options.workspace,
                rate_limit: options.rate_limit,
                buckets: HashMap::new(),
                blocked_until: HashMap::new(),
                faults: Vec::new(),
                accepted: Vec::new(),
                arrivals: Vec::new(),
                calls: Vec::new(),
                violations: Vec::new(),
                last_ts: 0,
                next_id: 0,
                log_limit: options.log_limit,
            }),
            stop: watch::channel(false).0,
        });
        let server = tokio::spawn(server::serve(
            listener::CuttableListener::new(listener),
            state.clone(),
        ));
        Ok(SlackSim {
            addr,
            started: Instant::now(),
            state,
            server,
        })
    }

    /// Listen on a free port of 127.0.0.1.
    pub async fn start_local(options: SlackSimOptions) -> io::Result<SlackSim> {
        Self::start(SocketAddr::from(([127, 0, 0, 1], 0)), options).await
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// When it started (arrival times are `Instant`s on the same clock).
    pub fn started_at(&self) -> Instant {
        self.started
    }

    /// The `api_url` a notifier uses: `http://127.0.0.1:PORT/api`.
    pub fn api_url(&self) -> String {
        format!("http://{}/api", self.addr)
    }

    /// The incoming webhook's URL (a secret, as real ones are).
    pub fn webhook_url(&self) -> String {
        format!("http://{}{}", self.addr, self.state.webhook_path)
    }

    /// The bot token it accepts.
    pub fn token(&self) -> &str {
        &self.state.token
    }

    pub fn team_id(&self) -> String {
        self.state.lock().workspace.team_id.clone()
    }

    /// Change (or lift, with `None`) the per-channel rate limit.
    pub fn set_rate_limit(&self, limit: Option<RateLimit>) {
        let mut inner = self.state.lock();
        inner.rate_limit = limit;
        inner.buckets.clear();
    }

    /// Turn a fault switch on. Switches are matched in the order they were added.
    pub fn inject(&self, rule: FaultRule) {
        self.state.lock().faults.push(rule);
    }

    /// Turn every fault switch off.
    pub fn clear_faults(&self) {
        self.state.lock().faults.clear();
    }

    /// Every message accepted, in order.
    pub fn accepted(&self) -> Vec<AcceptedMessage> {
        self.state.lock().accepted.clone()
    }

    /// Every message request (accepted, rate-limited, refused, or taken by a fault), in order.
    pub fn arrivals(&self) -> Vec<Arrival> {
        self.state.lock().arrivals.clone()
    }

    /// Every Web API call, in order.
    pub fn calls(&self) -> Vec<Call> {
        self.state.lock().calls.clone()
    }

    /// Calls of one method.
    pub fn calls_of(&self, method: &str) -> usize {
        self.state
            .lock()
            .calls
            .iter()
            .filter(|c| c.method == method)
            .count()
    }

    /// Where a client broke the contract of §6.4 in ways Slack itself would let pass (a JSON
    /// write without charset, a read sent as POST, `link_names`, arriving before a
    /// `Retry-After` ended, ...). A correct client leaves this empty.
    pub fn violations(&self) -> Vec<String> {
        self.state.lock().violations.clone()
    }

    /// The workspace as it is now.
    pub fn workspace(&self) -> Workspace {
        self.state.lock().workspace.clone()
    }

    /// The id of a channel by name (a live one before an archived one).
    pub fn channel_id(&self, name: &str) -> Option<String> {
        self.state
            .lock()
            .workspace
            .channel_by_name(name)
            .map(|c| c.id.clone())
    }

    /// The `D…` conversation opened with a user, if any.
    pub fn dm_of(&self, user_id: &str) -> Option<String> {
        self.state.lock().workspace.dm_of(user_id).map(String::from)
    }

    /// Archive a channel. Returns false when there is no such channel.
    pub fn archive_channel(&self, name: &str) -> bool {
        let mut inner = self.state.lock();
        match inner.workspace.channel_by_name_mut(name) {
            Some(c) => {
                c.is_archived = true;
                true
            }
            None => false,
        }
    }

    /// Take the bot out of a channel (someone removed it). Returns false when there is none.
    pub fn remove_bot_from(&self, name: &str) -> bool {
        let mut inner = self.state.lock();
        match inner.workspace.channel_by_name_mut(name) {
            Some(c) => {
                c.bot_member = false;
                true
            }
            None => false,
        }
    }

    /// Delete a channel and create one of the same name (with the bot in it) under a new id,
    /// as an admin re-creating `#tq-alerts` would. Returns the new id.
    pub fn recreate_channel(&self, name: &str) -> Option<String> {
        let mut inner = self.state.lock();
        let i = inner
            .workspace
            .channels
            .iter()
            .position(|c| c.name == name.trim_start_matches('#'))?;
        let old = inner.workspace.channels.remove(i);
        let id = inner.next_id(if old.is_private { 'G' } else { 'C' });
        inner.workspace.channels.push(SimChannel {
            id: id.clone(),
            bot_member: true,
            is_archived: false,
            ..old
        });
        Some(id)
    }

    /// Stop serving. Requests held by a hang switch are released.
    pub fn stop(&self) {
        let _ = self.state.stop.send(true);
        self.server.abort();
    }
}

impl Drop for SlackSim {
    fn drop(&mut self) {
        self.stop();
    }
}

fn random_alnum(n: usize) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut rng = rand::rng();
    (0..n)
        .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inner(limit: Option<RateLimit>) -> Inner {
        Inner {
            workspace: Workspace::soc(),
            rate_limit: limit,
            buckets: HashMap::new(),
            blocked_until: HashMap::new(),
            faults: Vec::new(),
            accepted: Vec::new(),
            arrivals: Vec::new(),
            calls: Vec::new(),
            violations: Vec::new(),
            last_ts: 0,
            next_id: 0,
            log_limit: 100,
        }
    }

    #[test]
    fn records_keep_the_newest_entries_within_the_limit() {
        let mut log: Vec<u32> = (0..150).collect();
        trim(&mut log, 100);
        assert!(log.len() <= 100);
        assert_eq!(log.last(), Some(&149));
        let mut small: Vec<u32> = (0..50).collect();
        trim(&mut small, 100);
        assert_eq!(small.len(), 50);
    }

    #[test]
    fn a_burst_is_admitted_then_retry_after_says_whole_seconds() {
        let mut i = inner(Some(RateLimit::new(1.0, 3)));
        let t = Instant::now();
        for _ in 0..3 {
            assert_eq!(i.admit("C0TQALERT1", t), Ok(()));
        }
        assert_eq!(i.admit("C0TQALERT1", t), Err(Duration::from_secs(1)));
        // Another channel has its own bucket.
        assert_eq!(i.admit("C0GENERAL1", t), Ok(()));
        // Arriving before Retry-After ends is a violation, and refused again.
        assert!(
            i.admit("C0TQALERT1", t + Duration::from_millis(500))
                .is_err()
        );
        assert_eq!(i.violations.len(), 1);
        assert_eq!(i.admit("C0TQALERT1", t + Duration::from_secs(1)), Ok(()));
    }

    #[test]
    fn fault_switches_are_used_up_in_order() {
        let mut i = inner(None);
        i.faults
            .push(FaultRule::on("chat.postMessage", Fault::Status(503)).times(2));
        i.faults
            .push(FaultRule::on("*", Fault::Status(500)).times(1));
        assert_eq!(i.take_fault("chat.postMessage"), Some(Fault::Status(503)));
        assert_eq!(i.take_fault("auth.test"), Some(Fault::Status(500)));
        assert_eq!(i.take_fault("chat.postMessage"), Some(Fault::Status(503)));
        assert_eq!(i.take_fault("chat.postMessage"), None);
    }

    #[test]
    fn message_timestamps_increase() {
        let mut i = inner(None);
        let a = i.next_ts();
        let b = i.next_ts();
        assert!(b > a, "{a} {b}");
        assert_eq!(a.split('.').nth(1).map(str::len), Some(6));
    }
}
