//! A loopback HTTP/1.1 server for protocol fakes of key services (Vault, GCP, Azure): it
//! records every request and answers with a handler. Keep-alive connections are served, so
//! Go clients (the real sops) work too.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};

/// One request as received.
#[derive(Clone, Debug)]
pub struct Recorded {
    /// `GET`, `PUT`, `POST`...
    pub method: String,
    /// The path with its query.
    pub path: String,
    /// Headers, names lowercased.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
}

impl Recorded {
    /// A header's value.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The body as JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or_default()
    }
}

type Handler = dyn Fn(&Recorded) -> (u16, String) + Send + Sync;

/// A running fake server.
pub struct FakeServer {
    /// `http://127.0.0.1:<port>`.
    pub url: String,
    /// Every request so far.
    pub requests: Arc<Mutex<Vec<Recorded>>>,
}

/// Starts a server answering each request with `handler` (status, JSON body).
pub fn serve(handler: impl Fn(&Recorded) -> (u16, String) + Send + Sync + 'static) -> FakeServer {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let requests = Arc::new(Mutex::new(Vec::new()));
    let handler: Arc<Handler> = Arc::new(handler);
    let recorded = Arc::clone(&requests);
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let handler = Arc::clone(&handler);
            let recorded = Arc::clone(&recorded);
            std::thread::spawn(move || {
                let _ = connection(stream, &*handler, &recorded);
            });
        }
    });
    FakeServer { url, requests }
}

fn connection(
    stream: TcpStream,
    handler: &Handler,
    recorded: &Mutex<Vec<Recorded>>,
) -> std::io::Result<()> {
    let mut writer = stream.try_clone()?;
    let mut reader = BufReader::new(stream);
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 {
            return Ok(());
        }
        let mut parts = line.split_whitespace();
        let method = parts.next().unwrap_or("").to_owned();
        let path = parts.next().unwrap_or("").to_owned();
        let mut headers = Vec::new();
        loop {
            let mut h = String::new();
            reader.read_line(&mut h)?;
            let h = h.trim_end();
            if h.is_empty() {
                break;
            }
            if let Some((k, v)) = h.split_once(':') {
                headers.push((k.trim().to_ascii_lowercase(), v.trim().to_owned()));
            }
        }
        let len: usize = headers
            .iter()
            .find(|(k, _)| k == "content-length")
            .and_then(|(_, v)| v.parse().ok())
            .unwrap_or(0);
        let mut body = vec![0u8; len];
        reader.read_exact(&mut body)?;
        let req = Recorded {
            method,
            path,
            headers,
            body,
        };
        let (status, text) = handler(&req);
        recorded.lock().unwrap().push(req);
        let reason = if status < 300 { "OK" } else { "Error" };
        write!(
            writer,
            "HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{text}",
            text.len()
        )?;
        writer.flush()?;
    }
}
