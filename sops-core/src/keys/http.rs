//! A small synchronous HTTP client for the network key sources (KMS, STS, metadata
//! endpoints), behind a trait so tests can replace the network.

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
