//! The ThreatQ API client: one per configuration, shared by every service. It logs in with the
//! configured grant, replaces the token before it expires, logs in again once when a call is
//! answered 401, reads both error envelopes, and pages lists and saved searches. Errors name
//! the method, path and status — never a URL query with a secret, never a credential.

use reqwest::StatusCode;
use serde_json::Value;
use std::sync::Arc;
use tokio::sync::{Mutex, RwLock};
use tokio::time::Instant;
use url::Url;

use crate::alert::{ObjectKind, ThreatObject};
use crate::config::{NetworkConfig, ThreatQAuth, ThreatQConfig};
use crate::http::{self, ClientOptions};
use crate::service::ServiceError;

use super::auth::{self, Token};
use super::collections;
use super::lookups::Lookups;
use super::normalize::{self, NormalizeError};
pub use super::wire::Page;
use super::wire::{self, EnvelopeError};

/// What went wrong talking to ThreatQ. Every message names what was asked (method and path)
/// and what came back.
#[derive(Debug, thiserror::Error)]
pub enum ThreatQError {
    #[error("ThreatQ rejected the credentials for {principal} (POST {path}: HTTP {status})")]
    Rejected {
        principal: String,
        path: String,
        status: u16,
    },
    #[error(
        "ThreatQ refused a fresh token for {principal} ({method} {path}: HTTP 401 after logging in again)"
    )]
    Unauthorized {
        principal: String,
        method: &'static str,
        path: String,
    },
    #[error("{method} {path}: HTTP {status}{}", detail.as_ref().map(|d| format!(" — {d}")).unwrap_or_default())]
    Status {
        method: &'static str,
        path: String,
        status: u16,
        detail: Option<String>,
    },
    #[error("{method} {path}: HTTP {status} with errors: {errors}")]
    Api {
        method: &'static str,
        path: String,
        status: u16,
        errors: String,
    },
    #[error("{method} {path}: HTTP {status} with a body that is not the expected JSON: {message}")]
    Malformed {
        method: &'static str,
        path: String,
        status: u16,
        message: String,
    },
    #[error("{method} {origin}{path}: {message}")]
    Transport {
        method: &'static str,
        /// `https://threatq.example.net`: where the call went (never a secret).
        origin: String,
        path: String,
        message: String,
    },
    #[error("{method} {path}: {source}")]
    Normalize {
        method: &'static str,
        path: String,
        source: NormalizeError,
    },
    #[error("ThreatQ at {origin}: {message}")]
    Setup { origin: String, message: String },
}

impl ThreatQError {
    /// Nothing works until the credentials are fixed.
    pub fn is_auth(&self) -> bool {
        matches!(self, Self::Rejected { .. } | Self::Unauthorized { .. })
    }
}

impl From<ThreatQError> for ServiceError {
    fn from(e: ThreatQError) -> Self {
        if e.is_auth() {
            ServiceError::Auth(e.to_string())
        } else {
            ServiceError::Source(e.to_string())
        }
    }
}

/// A ThreatQ instance, logged in on demand.
pub struct ThreatQClient {
    http: reqwest::Client,
    /// `https://host/api/`
    api: Url,
    /// `https://host`: where the UI links point.
    ui: Url,
    auth: ThreatQAuth,
    secrets: Vec<String>,
    token: Mutex<Option<Token>>,
    lookups: RwLock<Option<Arc<Lookups>>>,
    insecure: bool,
}

impl std::fmt::Debug for ThreatQClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ThreatQClient")
            .field("origin", &http::origin(&self.api))
            .field("principal", &self.auth.principal())
            .finish()
    }
}

impl ThreatQClient {
    /// A client for `[threatq]` with the proxy settings of `[network]`.
    pub fn from_config(
        config: &ThreatQConfig,
        network: &NetworkConfig,
    ) -> Result<Self, ThreatQError> {
        let options = ClientOptions {
            timeout: Some(config.timeout),
            proxy: network.proxy.clone(),
            no_proxy: network.no_proxy.clone(),
            ca_file: config.ca_file.clone(),
            insecure_skip_verify: config.insecure_skip_verify,
        };
        Self::new(&config.url, config.auth.clone(), &options)
    }

    /// A client for the ThreatQ at `url` (`https://host`, with or without `/api`).
    pub fn new(
        url: &Url,
        auth: ThreatQAuth,
        options: &ClientOptions,
    ) -> Result<Self, ThreatQError> {
        let setup = |message: String| ThreatQError::Setup {
            origin: http::origin(url),
            message,
        };
        http::check_scheme(url).map_err(setup)?;
        if url.host_str().is_none_or(str::is_empty) {
            return Err(setup("the URL has no host".into()));
        }
        let ui = Url::parse(&normalize::ui_base_string(url))
            .map_err(|e| setup(format!("bad URL: {e}")))?;
        let api = Url::parse(&format!("{}/api/", ui.as_str().trim_end_matches('/')))
            .map_err(|e| setup(format!("bad URL: {e}")))?;
        let client = http::client(options).map_err(|e| setup(e.to_string()))?;
        if options.insecure_skip_verify {
            tracing::warn!(
                threatq = %http::origin(url),
                "insecure_skip_verify: TLS certificates of ThreatQ are not checked"
            );
        }
        Ok(Self {
            http: client,
            api,
            ui,
            secrets: auth::secrets(&auth),
            auth,
            token: Mutex::new(None),
            lookups: RwLock::new(None),
            insecure: options.insecure_skip_verify,
        })
    }

    /// Where the UI lives (`https://host`), for links.
    pub fn ui_base(&self) -> &Url {
        &self.ui
    }

    /// `scheme://host[:port]`, safe to show.
    pub fn origin(&self) -> String {
        http::origin(&self.api)
    }

    /// Who logs in (client id or e-mail).
    pub fn principal(&self) -> &str {
        self.auth.principal()
    }

    /// True when TLS certificates are not checked (`insecure_skip_verify`).
    pub fn is_insecure(&self) -> bool {
        self.insecure
    }

    /// Log in now, replacing any token.
    pub async fn login(&self) -> Result<(), ThreatQError> {
        let mut slot = self.token.lock().await;
        *slot = Some(self.request_token().await?);
        Ok(())
    }

    /// Make sure there is a token and fresh lookups: what a service's `connect` does.
    pub async fn connect(&self) -> Result<Arc<Lookups>, ThreatQError> {
        self.bearer().await?;
        self.refresh_lookups().await
    }

    async fn request_token(&self) -> Result<Token, ThreatQError> {
        let url = self.endpoint("token");
        let path = url.path().to_string();
        let response = auth::token_request(&self.http, &url, &self.auth)
            .header(reqwest::header::ACCEPT, "application/json")
            .send()
            .await
            .map_err(|e| ThreatQError::Transport {
                origin: self.origin(),
                method: "POST",
                path: path.clone(),
                message: http::describe_error(&e),
            })?;
        let status = response.status();
        if status == StatusCode::BAD_REQUEST || status == StatusCode::UNAUTHORIZED {
            return Err(ThreatQError::Rejected {
                principal: self.auth.principal().to_string(),
                path,
                status: status.as_u16(),
            });
        }
        let body = response
            .bytes()
            .await
            .map_err(|e| ThreatQError::Transport {
                origin: self.origin(),
                method: "POST",
                path: path.clone(),
                message: http::describe_error(&e),
            })?;
        if !status.is_success() {
            return Err(ThreatQError::Status {
                method: "POST",
                path,
                status: status.as_u16(),
                detail: self.excerpt(&body),
            });
        }
        let token = auth::parse_token(&body, Instant::now()).map_err(|message| {
            ThreatQError::Malformed {
                method: "POST",
                path: path.clone(),
                status: status.as_u16(),
                message,
            }
        })?;
        tracing::info!(threatq = %self.origin(), principal = %self.principal(), lifetime_s = token.lifetime.as_secs(), "logged in to ThreatQ");
        Ok(token)
    }

    /// The current token, logging in first when there is none or it is about to expire.
    async fn bearer(&self) -> Result<String, ThreatQError> {
        let mut slot = self.token.lock().await;
        match slot.as_ref() {
            Some(token) if !token.needs_refresh(Instant::now()) => Ok(token.bearer()),
            _ => {
                let token = self.request_token().await?;
                let bearer = token.bearer();
                *slot = Some(token);
                Ok(bearer)
            }
        }
    }

    /// Forget `bearer` if it is still the current token (another task may have replaced it).
    async fn drop_token(&self, bearer: &str) {
        let mut slot = self.token.lock().await;
        if slot.as_ref().is_some_and(|t| t.bearer() == bearer) {
            *slot = None;
        }
    }

    fn endpoint(&self, path: &str) -> Url {
        // `path` is built from checked parts; joining keeps a base path prefix.
        self.api
            .join(path.trim_start_matches('/'))
            .unwrap_or_else(|_| self.api.clone())
    }

    fn excerpt(&self, body: &[u8]) -> Option<String> {
        let text = String::from_utf8_lossy(body);
        let secrets: Vec<&str> = self.secrets.iter().map(String::as_str).collect();
        let excerpt = http::body_excerpt(&text, &secrets);
        (!excerpt.is_empty()).then_some(excerpt)
    }

    /// `GET /api/<path>?<query>` and the parsed root of the answer, after the checks of
    /// §6.1: HTTP status, JSON, no `errors`. One new login and retry on 401.
    pub async fn get(&self, path: &str, query: &[(&str, String)]) -> Result<Value, ThreatQError> {
        let url = self.endpoint(path);
        let shown = url.path().to_string();
        let mut relogged = false;
        loop {
            let bearer = self.bearer().await?;
            let sent = self
                .http
                .get(url.clone())
                .query(query)
                .header(reqwest::header::AUTHORIZATION, &bearer)
                .header(reqwest::header::ACCEPT, "application/json")
                .send()
                .await;
            let response = sent.map_err(|e| ThreatQError::Transport {
                origin: self.origin(),
                method: "GET",
                path: shown.clone(),
                message: http::describe_error(&e),
            })?;
            let status = response.status();
            if status == StatusCode::UNAUTHORIZED {
                if relogged {
                    return Err(ThreatQError::Unauthorized {
                        principal: self.principal().to_string(),
                        method: "GET",
                        path: shown,
                    });
                }
                tracing::info!(path = %shown, "ThreatQ answered 401: logging in again");
                self.drop_token(&bearer).await;
                relogged = true;
                continue;
            }
            let body = response
                .bytes()
                .await
                .map_err(|e| ThreatQError::Transport {
                    origin: self.origin(),
                    method: "GET",
                    path: shown.clone(),
                    message: http::describe_error(&e),
                })?;
            let parsed: Result<Value, _> = serde_json::from_slice(&body);
            if !status.is_success() {
                let detail = match &parsed {
                    Ok(root) => wire::api_errors(root)
                        .or_else(|| {
                            root.get("error")
                                .or_else(|| root.get("message"))
                                .and_then(Value::as_str)
                                .map(str::to_string)
                        })
                        .map(|d| http::body_excerpt(&d, &[])),
                    Err(_) => self.excerpt(&body),
                };
                return Err(ThreatQError::Status {
                    method: "GET",
                    path: shown,
                    status: status.as_u16(),
                    detail,
                });
            }
            let root = parsed.map_err(|e| ThreatQError::Malformed {
                method: "GET",
                path: shown.clone(),
                status: status.as_u16(),
                message: e.to_string(),
            })?;
            if let Some(errors) = wire::api_errors(&root) {
                return Err(ThreatQError::Api {
                    method: "GET",
                    path: shown,
                    status: status.as_u16(),
                    errors: http::body_excerpt(&errors, &[]),
                });
            }
            return Ok(root);
        }
    }

    fn envelope_error(path: String, e: EnvelopeError) -> ThreatQError {
        ThreatQError::Malformed {
            method: "GET",
            path,
            status: 200,
            message: e.to_string(),
        }
    }

    fn collection_path(&self, collection: &str) -> Result<String, ThreatQError> {
        if collections::is_valid_collection(collection) {
            Ok(collection.to_string())
        } else {
            Err(ThreatQError::Setup {
                origin: self.origin(),
                message: format!(
                    "`{collection}` is not a ThreatQ collection name (lower-case letters, digits, `_`)"
                ),
            })
        }
    }

    /// One page of `/api/<collection>` sorted by `sort`, with the `with` expansions.
    pub async fn list(
        &self,
        collection: &str,
        sort: &str,
        limit: u32,
        offset: u64,
        with: &str,
    ) -> Result<Page, ThreatQError> {
        let path = self.collection_path(collection)?;
        let root = self
            .get(
                &path,
                &[
                    ("sort", sort.to_string()),
                    ("limit", limit.to_string()),
                    ("offset", offset.to_string()),
                    ("with", with.to_string()),
                ],
            )
            .await?;
        wire::page(&root).map_err(|e| Self::envelope_error(format!("/api/{path}"), e))
    }

    /// One object by id, with the `with` expansions.
    pub async fn object(
        &self,
        collection: &str,
        id: u64,
        with: &str,
    ) -> Result<Value, ThreatQError> {
        let path = format!("{}/{id}", self.collection_path(collection)?);
        let root = self.get(&path, &[("with", with.to_string())]).await?;
        wire::single(&root).map_err(|e| Self::envelope_error(format!("/api/{path}"), e))
    }

    /// One page of a saved data collection: `/api/<collection>/query/hash/<hash>` from
    /// `cursor_mark` (`*` for the start), sorted by `updated_at`.
    pub async fn query_hash(
        &self,
        collection: &str,
        hash: &str,
        cursor_mark: &str,
        limit: u32,
        with: &str,
    ) -> Result<Page, ThreatQError> {
        if hash.is_empty() || !hash.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(ThreatQError::Setup {
                origin: self.origin(),
                message: format!("`{hash}` is not a data collection hash (letters and digits)"),
            });
        }
        let path = format!("{}/query/hash/{hash}", self.collection_path(collection)?);
        let root = self
            .get(
                &path,
                &[
                    ("sort", "updated_at".to_string()),
                    ("limit", limit.to_string()),
                    ("cursorMark", cursor_mark.to_string()),
                    ("with", with.to_string()),
                ],
            )
            .await?;
        wire::page(&root).map_err(|e| Self::envelope_error(format!("/api/{path}"), e))
    }

    /// The lookups read at the last `connect`, reading them now if never read.
    pub async fn lookups(&self) -> Result<Arc<Lookups>, ThreatQError> {
        if let Some(l) = self.lookups.read().await.as_ref() {
            return Ok(l.clone());
        }
        self.refresh_lookups().await
    }

    /// Read the type and status names again.
    pub async fn refresh_lookups(&self) -> Result<Arc<Lookups>, ThreatQError> {
        let indicator_types = self.all("indicator/types").await?;
        let indicator_statuses = self.all("indicator/statuses").await?;
        let event_types = self.all("event/types").await?;
        let lookups = Arc::new(Lookups::from_lists(
            &indicator_types,
            &indicator_statuses,
            &event_types,
        ));
        *self.lookups.write().await = Some(lookups.clone());
        Ok(lookups)
    }

    /// Every entry of a small list endpoint, paged by `offset` while `total` says more.
    async fn all(&self, path: &str) -> Result<Vec<Value>, ThreatQError> {
        const LIMIT: usize = 500;
        let mut out = Vec::new();
        for _ in 0..100 {
            let root = self
                .get(
                    path,
                    &[
                        ("limit", LIMIT.to_string()),
                        ("offset", out.len().to_string()),
                    ],
                )
                .await?;
            let page =
                wire::page(&root).map_err(|e| Self::envelope_error(format!("/api/{path}"), e))?;
            let n = page.objects.len();
            out.extend(page.objects);
            let more = page.total.is_some_and(|t| (out.len() as u64) < t);
            if n == 0 || !more {
                break;
            }
        }
        Ok(out)
    }

    /// Normalise an object of `collection` as this instance serves it.
    pub fn normalize(
        &self,
        collection: &str,
        object: &Value,
        lookups: &Lookups,
        path: &str,
    ) -> Result<ThreatObject, ThreatQError> {
        let kind = ObjectKind::from_collection(collection);
        normalize::object_from_api(&kind, object, &self.ui, lookups).map_err(|source| {
            ThreatQError::Normalize {
                method: "GET",
                path: path.to_string(),
                source,
            }
        })
    }
}
