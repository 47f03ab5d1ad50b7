//! What every outgoing HTTP call shares: the rule that `http://` is for loopback only, one way
//! to build a client (timeouts, proxy, CA, explicit insecure switch), and messages about URLs
//! that never carry a path or query (webhook URLs are secrets).

use std::path::PathBuf;
use std::time::Duration;

use url::{Host, Url};

/// True for 127.0.0.0/8, `::1` and `localhost`: the simulators and local proxies.
pub fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(Host::Ipv4(ip)) => ip.is_loopback(),
        Some(Host::Ipv6(ip)) => ip.is_loopback(),
        Some(Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        None => false,
    }
}

/// `https` anywhere, `http` only on loopback (PRODUCT.md §6.2). The error names the scheme and
/// host, never the path (it may hold a secret).
pub fn check_scheme(url: &Url) -> Result<(), String> {
    match url.scheme() {
        "https" => Ok(()),
        "http" if is_loopback(url) => Ok(()),
        "http" => Err(format!(
            "plain http is refused for {} (only loopback hosts may use http); use https",
            origin(url)
        )),
        other => Err(format!("unsupported URL scheme `{other}` (use https)")),
    }
}

/// `scheme://host[:port]`: safe to print even when the whole URL is a secret.
pub fn origin(url: &Url) -> String {
    let mut out = format!("{}://{}", url.scheme(), url.host_str().unwrap_or(""));
    if let Some(port) = url.port() {
        out.push_str(&format!(":{port}"));
    }
    out
}

/// How to build a client for one receiver.
#[derive(Debug, Clone, Default)]
pub struct ClientOptions {
    pub timeout: Option<Duration>,
    /// An explicit proxy; when `None`, `HTTPS_PROXY` / `NO_PROXY` apply.
    pub proxy: Option<Url>,
    pub no_proxy: Option<String>,
    /// An extra CA certificate (PEM) to trust.
    pub ca_file: Option<PathBuf>,
    /// Skip certificate verification. Only when the operator spelled it out.
    pub insecure_skip_verify: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("cannot read CA file {path}: {source}")]
    CaFile {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("CA file {path} holds no usable PEM certificate: {message}")]
    CaCertificate { path: PathBuf, message: String },
    #[error("bad proxy {proxy}: {message}")]
    Proxy { proxy: String, message: String },
    #[error("cannot build the HTTP client: {0}")]
    Build(String),
}

/// A `reqwest` client with the product's defaults: rustls, no redirects to other hosts' secrets,
/// a user agent that says who we are.
pub fn client(options: &ClientOptions) -> Result<reqwest::Client, ClientError> {
    let mut builder = reqwest::Client::builder()
        .user_agent(concat!("tq-alerts-tui/", env!("CARGO_PKG_VERSION")))
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(Duration::from_secs(10));
    if let Some(timeout) = options.timeout {
        builder = builder.timeout(timeout);
    }
    if let Some(proxy_url) = &options.proxy {
        let mut proxy =
            reqwest::Proxy::all(proxy_url.as_str()).map_err(|e| ClientError::Proxy {
                proxy: origin(proxy_url),
                message: e.without_url().to_string(),
            })?;
        if let Some(no_proxy) = &options.no_proxy {
            proxy = proxy.no_proxy(reqwest::NoProxy::from_string(no_proxy));
        }
        builder = builder.proxy(proxy);
    }
    if let Some(path) = &options.ca_file {
        let pem = std::fs::read(path).map_err(|source| ClientError::CaFile {
            path: path.clone(),
            source,
        })?;
        let certs = reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| {
            ClientError::CaCertificate {
                path: path.clone(),
                message: e.to_string(),
            }
        })?;
        if certs.is_empty() {
            return Err(ClientError::CaCertificate {
                path: path.clone(),
                message: "no certificate found".into(),
            });
        }
        for cert in certs {
            builder = builder.add_root_certificate(cert);
        }
    }
    if options.insecure_skip_verify {
        builder = builder.danger_accept_invalid_certs(true);
    }
    builder
        .build()
        .map_err(|e| ClientError::Build(e.without_url().to_string()))
}

/// A transport error in words an operator can act on, without the URL (reqwest puts the full
/// URL, secrets and all, into its `Display`).
pub fn describe_error(error: &reqwest::Error) -> String {
    use std::error::Error as _;
    if error.is_timeout() {
        return "timed out".into();
    }
    // The innermost cause names what really happened (refused, reset, DNS, TLS).
    let mut cause: Option<&dyn std::error::Error> = error.source();
    let mut innermost = None;
    while let Some(c) = cause {
        innermost = Some(c.to_string());
        cause = c.source();
    }
    let detail = innermost.unwrap_or_else(|| "request failed".into());
    let lower = detail.to_ascii_lowercase();
    if lower.contains("refused") {
        "connection refused".into()
    } else if lower.contains("reset") {
        "connection reset".into()
    } else if lower.contains("certificate") || lower.contains("tls") || lower.contains("handshake")
    {
        format!("TLS error: {detail}")
    } else if error.is_connect() {
        format!("cannot connect: {detail}")
    } else {
        detail
    }
}

/// `Retry-After` as seconds or an HTTP date; `None` when absent or unreadable.
pub fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    let value = headers
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim();
    if let Ok(secs) = value.parse::<f64>() {
        return (secs.is_finite() && secs >= 0.0)
            .then(|| Duration::from_secs_f64(secs.min(86_400.0)));
    }
    let when = chrono::DateTime::parse_from_rfc2822(value).ok()?;
    let wait = when.with_timezone(&chrono::Utc) - chrono::Utc::now();
    Some(wait.to_std().unwrap_or_default())
}

/// A response body cut to a length fit for a status line, with any known secret masked (some
/// receivers echo the request back).
pub fn body_excerpt(body: &str, secrets: &[&str]) -> String {
    let mut text = body.trim().to_string();
    for secret in secrets.iter().filter(|s| s.len() >= 4) {
        text = text.replace(secret, "••••••");
    }
    let text: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    crate::text::truncate(&text, 300).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_is_for_loopback_only() {
        for ok in [
            "https://threatq.example.net",
            "http://127.0.0.1:8080/api",
            "http://127.1.2.3",
            "http://[::1]:9000",
            "http://localhost:3000",
        ] {
            assert!(check_scheme(&Url::parse(ok).unwrap()).is_ok(), "{ok}");
        }
        let err =
            check_scheme(&Url::parse("http://10.0.0.5/hooks/secret-path").unwrap()).unwrap_err();
        assert!(err.contains("http://10.0.0.5"));
        assert!(!err.contains("secret-path"));
        assert!(check_scheme(&Url::parse("ftp://127.0.0.1/").unwrap()).is_err());
    }

    #[test]
    fn origin_drops_path_query_and_credentials() {
        let url =
            Url::parse("https://user:pw@hooks.slack.com:8443/services/T0/B0/s3cret?x=1").unwrap();
        assert_eq!(origin(&url), "https://hooks.slack.com:8443");
    }
}
