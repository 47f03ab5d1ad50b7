//! Logging in to ThreatQ (PRODUCT.md §6.2): the two grants in their wire forms, and the token
//! with its expiry. The password, client secret and access token live only in the request
//! that carries them and in `Token`, whose `Debug` masks the value.

use std::fmt;
use std::time::Duration;

use serde_json::{Value, json};
use tokio::time::Instant;
use url::Url;

use crate::config::ThreatQAuth;

/// An access token and when it stops working.
#[derive(Clone)]
pub struct Token {
    access: String,
    pub token_type: String,
    pub expires_at: Instant,
    pub lifetime: Duration,
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Token")
            .field("access", &"••••••")
            .field("lifetime", &self.lifetime)
            .finish()
    }
}

/// Tokens without an `expires_in` are trusted for this long.
const DEFAULT_LIFETIME: Duration = Duration::from_secs(3600);

impl Token {
    /// The `Authorization` header value.
    pub fn bearer(&self) -> String {
        format!("Bearer {}", self.access)
    }

    /// The raw value, for masking it in anything shown.
    pub fn expose(&self) -> &str {
        &self.access
    }

    /// True when the token should be replaced before the next call: within a fifth of its
    /// lifetime (at most a minute) of expiring, so a long page walk never runs into expiry.
    pub fn needs_refresh(&self, now: Instant) -> bool {
        let margin = (self.lifetime / 5).min(Duration::from_secs(60));
        now + margin >= self.expires_at
    }
}

/// The answer of `POST /api/token` as a token; the message says what was wrong with it
/// (never quoting the body, which holds the token).
pub fn parse_token(body: &[u8], now: Instant) -> Result<Token, String> {
    let root: Value =
        serde_json::from_slice(body).map_err(|e| format!("the token answer is not JSON ({e})"))?;
    // Some proxies wrap it in the usual envelope.
    let root = root.get("data").filter(|d| d.is_object()).unwrap_or(&root);
    let access = root
        .get("access_token")
        .and_then(Value::as_str)
        .filter(|t| !t.is_empty())
        .ok_or("the token answer has no `access_token`")?
        .to_string();
    let token_type = root
        .get("token_type")
        .and_then(Value::as_str)
        .unwrap_or("Bearer")
        .to_string();
    let lifetime = root
        .get("expires_in")
        .and_then(super::wire::number)
        .filter(|s| *s > 0.0)
        .map(|s| Duration::from_secs_f64(s.min(365.0 * 86_400.0)))
        .unwrap_or(DEFAULT_LIFETIME);
    Ok(Token {
        access,
        token_type,
        expires_at: now + lifetime,
        lifetime,
    })
}

/// The token request for `auth`: client credentials as `?grant_type=client_credentials` with
/// HTTP Basic and a form body; the password grant as a JSON body.
pub fn token_request(
    http: &reqwest::Client,
    token_url: &Url,
    auth: &ThreatQAuth,
) -> reqwest::RequestBuilder {
    match auth {
        ThreatQAuth::ClientCredentials {
            client_id,
            client_secret,
        } => http
            .post(token_url.clone())
            .query(&[("grant_type", "client_credentials")])
            .basic_auth(client_id, Some(client_secret.expose()))
            .form(&[("grant_type", "client_credentials")]),
        ThreatQAuth::Password {
            email,
            password,
            client_id,
        } => http.post(token_url.clone()).json(&json!({
            "email": email,
            "password": password.expose(),
            "grant_type": "password",
            "client_id": client_id,
        })),
    }
}

/// The secret values of a login, for masking in anything shown.
pub fn secrets(auth: &ThreatQAuth) -> Vec<String> {
    match auth {
        ThreatQAuth::ClientCredentials { client_secret, .. } => {
            vec![client_secret.expose().to_string()]
        }
        ThreatQAuth::Password { password, .. } => vec![password.expose().to_string()],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_answer_gives_a_token_that_refreshes_before_it_expires() {
        let now = Instant::now();
        let t = parse_token(
            br#"{"access_token":"abc","token_type":"Bearer","expires_in":3600,"refresh_token":"r"}"#,
            now,
        )
        .unwrap();
        assert_eq!(t.bearer(), "Bearer abc");
        assert!(!t.needs_refresh(now));
        assert!(t.needs_refresh(now + Duration::from_secs(3541)));
        let short = parse_token(br#"{"access_token":"abc","expires_in":"10"}"#, now).unwrap();
        assert!(!short.needs_refresh(now + Duration::from_secs(7)));
        assert!(short.needs_refresh(now + Duration::from_secs(8)));
        assert!(!format!("{t:?}").contains("abc"));
    }

    #[test]
    fn broken_token_answers_say_what_is_missing_without_quoting_them() {
        let now = Instant::now();
        assert!(
            parse_token(b"<html>", now)
                .unwrap_err()
                .contains("not JSON")
        );
        let e = parse_token(br#"{"token":"s3cr3t"}"#, now).unwrap_err();
        assert!(e.contains("access_token") && !e.contains("s3cr3t"));
        let no_expiry = parse_token(br#"{"access_token":"a","expires_in":-5}"#, now).unwrap();
        assert_eq!(no_expiry.lifetime, DEFAULT_LIFETIME);
    }
}
