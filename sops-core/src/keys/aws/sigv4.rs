//! AWS Signature Version 4 for the few requests rsops sends (KMS JSON, STS query).
//!
//! Follows the published algorithm: canonical request, string to sign, the HMAC-SHA256 key
//! chain `AWS4<secret>` → date → region → service → `aws4_request`, then the
//! `Authorization` header. Tested against AWS's documented example.

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

use zeroize::Zeroizing;

use super::credentials::Credentials;
use crate::keys::http::path_segment;

type HmacSha256 = Hmac<Sha256>;

/// One HMAC-SHA256; the result is wiped on drop, as every link of the signing key chain is.
fn hmac(key: &[u8], data: &[u8]) -> Zeroizing<[u8; 32]> {
    let mut m = HmacSha256::new_from_slice(key).expect("HMAC takes any key length");
    m.update(data);
    Zeroizing::new(m.finalize().into_bytes().into())
}

/// Lowercase hex of SHA-256.
pub fn sha256_hex(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

/// One request to sign.
pub struct Signable<'a> {
    /// `GET`, `POST`...
    pub method: &'a str,
    /// The path, already URI-encoded (`/` for KMS and STS).
    pub path: &'a str,
    /// The query string pairs (unencoded); sorted while signing.
    pub query: &'a [(String, String)],
    /// Headers to sign (lowercase names), including `host`; `x-amz-date` and the session
    /// token are added by [`sign`].
    pub headers: &'a [(String, String)],
    /// The body.
    pub body: &'a [u8],
    /// The region (`us-east-1`).
    pub region: &'a str,
    /// The service (`kms`, `sts`).
    pub service: &'a str,
    /// `YYYYMMDDTHHMMSSZ`.
    pub amz_date: &'a str,
}

/// Signs `req`: returns every header to send (the given ones, `x-amz-date`, the session token
/// when there is one, and `authorization`).
pub fn sign(req: &Signable<'_>, creds: &Credentials) -> Vec<(String, String)> {
    let mut headers: Vec<(String, String)> = req
        .headers
        .iter()
        .map(|(k, v)| (k.to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    headers.push(("x-amz-date".to_owned(), req.amz_date.to_owned()));
    if let Some(token) = &creds.session_token {
        headers.push(("x-amz-security-token".to_owned(), token.to_string()));
    }
    headers.sort();
    let canonical_headers: String = headers.iter().map(|(k, v)| format!("{k}:{v}\n")).collect();
    let signed_headers = headers
        .iter()
        .map(|(k, _)| k.as_str())
        .collect::<Vec<_>>()
        .join(";");
    let mut query: Vec<(String, String)> = req
        .query
        .iter()
        .map(|(k, v)| (path_segment(k), path_segment(v)))
        .collect();
    query.sort();
    let canonical_query = query
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&");
    let canonical = format!(
        "{}\n{}\n{}\n{}\n{}\n{}",
        req.method,
        req.path,
        canonical_query,
        canonical_headers,
        signed_headers,
        sha256_hex(req.body)
    );
    let date = &req.amz_date[..8];
    let scope = format!("{date}/{}/{}/aws4_request", req.region, req.service);
    let to_sign = format!(
        "AWS4-HMAC-SHA256\n{}\n{scope}\n{}",
        req.amz_date,
        sha256_hex(canonical.as_bytes())
    );
    let k_secret = Zeroizing::new(format!("AWS4{}", creds.secret_access_key.as_str()));
    let k_date = hmac(k_secret.as_bytes(), date.as_bytes());
    let k_region = hmac(&*k_date, req.region.as_bytes());
    let k_service = hmac(&*k_region, req.service.as_bytes());
    let k_signing = hmac(&*k_service, b"aws4_request");
    let signature = hex::encode(*hmac(&*k_signing, to_sign.as_bytes()));
    headers.push((
        "authorization".to_owned(),
        format!(
            "AWS4-HMAC-SHA256 Credential={}/{scope}, SignedHeaders={signed_headers}, Signature={signature}",
            creds.access_key_id
        ),
    ));
    headers
}

#[cfg(test)]
mod tests {
    use super::*;

    /// AWS's documented SigV4 example (IAM `ListUsers`, 2015-08-30).
    #[test]
    fn aws_documented_example() {
        let creds = Credentials::new(
            "AKIDEXAMPLE",
            "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
            None,
        );
        let query = vec![
            ("Action".to_owned(), "ListUsers".to_owned()),
            ("Version".to_owned(), "2010-05-08".to_owned()),
        ];
        let headers = vec![
            (
                "Content-Type".to_owned(),
                "application/x-www-form-urlencoded; charset=utf-8".to_owned(),
            ),
            ("Host".to_owned(), "iam.amazonaws.com".to_owned()),
        ];
        let out = sign(
            &Signable {
                method: "GET",
                path: "/",
                query: &query,
                headers: &headers,
                body: b"",
                region: "us-east-1",
                service: "iam",
                amz_date: "20150830T123600Z",
            },
            &creds,
        );
        let auth = &out.iter().find(|(k, _)| k == "authorization").unwrap().1;
        assert_eq!(
            auth,
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/iam/aws4_request, \
             SignedHeaders=content-type;host;x-amz-date, \
             Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7"
        );
    }
}
