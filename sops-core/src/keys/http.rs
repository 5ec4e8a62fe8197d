//! A small synchronous HTTP client for the network key sources (KMS, STS, metadata
//! endpoints), behind a trait so tests can replace the network.

use std::fmt::Write as _;
use std::time::Duration;

use zeroize::{Zeroize, Zeroizing};

/// One HTTP request. Its headers (tokens) and body (data keys, client secrets) are wiped when
/// it is dropped, so every source gets that without doing it itself.
pub struct Request {
    /// `GET`, `PUT` or `POST`.
    pub method: &'static str,
    /// The full URL.
    pub url: String,
    /// Headers to send.
    pub headers: Vec<(String, String)>,
    /// The body (empty for none).
    pub body: Vec<u8>,
    /// The time limit for the whole exchange.
    pub timeout: Duration,
}

impl Drop for Request {
    fn drop(&mut self) {
        self.body.zeroize();
        for (_, value) in &mut self.headers {
            value.zeroize();
        }
    }
}

/// One HTTP response (any status). The body (tokens, data keys) is wiped on drop.
pub struct Response {
    /// The status code.
    pub status: u16,
    /// The body.
    pub body: Zeroizing<Vec<u8>>,
}

/// Sends requests. Errors are transport failures (unreachable, timeout), phrased for users.
pub trait Transport: Send + Sync {
    /// Sends `req` and returns the response, whatever its status.
    fn send(&self, req: &Request) -> Result<Response, String>;
}

/// The real network: `ureq` with rustls and the webpki roots. The client is built on first
/// use, so a keyring that never calls a service pays nothing for it.
#[derive(Default)]
pub struct Network {
    agent: std::sync::OnceLock<ureq::Agent>,
}

impl Network {
    fn agent(&self) -> &ureq::Agent {
        self.agent.get_or_init(|| {
            ureq::Agent::config_builder()
                .http_status_as_error(false)
                .timeout_connect(Some(Duration::from_secs(10)))
                .build()
                .into()
        })
    }
}

impl Transport for Network {
    fn send(&self, req: &Request) -> Result<Response, String> {
        let mut builder = ureq::http::Request::builder()
            .method(req.method)
            .uri(req.url.as_str());
        for (k, v) in &req.headers {
            builder = builder.header(k.as_str(), v.as_str());
        }
        let request = builder
            .body(req.body.as_slice())
            .map_err(|e| format!("cannot build the request to {}: {e}", req.url))?;
        let agent = self.agent();
        let request = agent
            .configure_request(request)
            .timeout_global(Some(req.timeout))
            .build();
        let mut response = agent.run(request).map_err(|e| match e {
            ureq::Error::Timeout(_) => format!(
                "{} did not answer within {} s",
                req.url,
                req.timeout.as_secs()
            ),
            other => format!("cannot reach {}: {other}", req.url),
        })?;
        let status = response.status().as_u16();
        let body = response
            .body_mut()
            .with_config()
            .limit(16 << 20)
            .read_to_vec()
            .map_err(|e| format!("reading the answer of {}: {e}", req.url))?;
        Ok(Response {
            status,
            body: Zeroizing::new(body),
        })
    }
}

/// Percent-encodes `s` into `out`, keeping only unreserved characters.
pub(crate) fn push_encoded(out: &mut String, s: &str) {
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
}

/// A URL path segment, percent-encoded.
pub(crate) fn path_segment(s: &str) -> String {
    // Sized for the worst case, so the buffer is never reallocated (and left unwiped when a
    // caller wraps it as in `form_value`).
    let mut out = String::with_capacity(s.len() * 3);
    push_encoded(&mut out, s);
    out
}

/// One form or query value, percent-encoded (wiped on drop).
pub(crate) fn form_value(s: &str) -> Zeroizing<String> {
    Zeroizing::new(path_segment(s))
}

/// An `application/x-www-form-urlencoded` body (wiped on drop).
pub(crate) fn form(pairs: &[(&str, &str)]) -> Zeroizing<String> {
    let capacity = pairs.iter().map(|(k, v)| k.len() + v.len() * 3 + 2).sum();
    let mut out = Zeroizing::new(String::with_capacity(capacity));
    for (i, (k, v)) in pairs.iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        push_encoded(&mut out, k);
        out.push('=');
        push_encoded(&mut out, v);
    }
    out
}

/// A parse error that names the position, never the content.
pub(crate) fn json_error(what: &str, e: &serde_json::Error) -> String {
    let problem = match e.classify() {
        serde_json::error::Category::Data => "has unexpected value types",
        _ => "is not valid JSON",
    };
    format!(
        "{what} {problem} (line {}, column {})",
        e.line(),
        e.column()
    )
}

/// How long one key-service call may take by default.
pub(crate) const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// How long a call may take: the seconds in the environment variable `name` (e.g.
/// `RSOPS_KMS_TIMEOUT_SECONDS`) when it holds a positive number, else [`DEFAULT_TIMEOUT`].
pub(crate) fn timeout_from_env(env: &dyn crate::keys::env::Environment, name: &str) -> Duration {
    env.var(name)
        .and_then(|v| v.trim().parse::<u64>().ok())
        .filter(|s| *s > 0)
        .map_or(DEFAULT_TIMEOUT, Duration::from_secs)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::env::FakeEnv;

    #[test]
    fn forms_and_segments_are_percent_encoded() {
        assert_eq!(
            form(&[("a", "b c"), ("d", "e/f=")]).as_str(),
            "a=b%20c&d=e%2Ff%3D"
        );
        assert_eq!(form(&[]).as_str(), "");
        assert_eq!(path_segment("k/v é~"), "k%2Fv%20%C3%A9~");
        assert_eq!(form_value("a+b").as_str(), "a%2Bb");
    }

    #[test]
    fn timeouts_come_from_the_environment_when_positive() {
        let mut env = FakeEnv::default();
        env.set("T", " 7 ");
        assert_eq!(timeout_from_env(&env, "T"), Duration::from_secs(7));
        for bad in ["0", "-3", "soon", ""] {
            env.set("T", bad);
            assert_eq!(timeout_from_env(&env, "T"), DEFAULT_TIMEOUT);
        }
        assert_eq!(timeout_from_env(&FakeEnv::default(), "T"), DEFAULT_TIMEOUT);
    }
}
