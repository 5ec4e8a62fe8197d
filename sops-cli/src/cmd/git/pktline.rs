//! git's pkt-line framing (gitprotocol-common): four hex digits of length, then data; `0000`
//! is a flush packet.

use std::io::{self, Read, Write};

use zeroize::Zeroizing;

/// The largest payload of one packet (65520 bytes minus the 4-byte header).
pub const MAX_DATA: usize = 65516;

/// One packet.
pub enum Packet {
    /// `0000`: the end of a list or of content.
    Flush,
    /// A data packet.
    Data(Vec<u8>),
}

/// Reads packets.
pub struct Reader<R> {
    inner: R,
}

fn bad(msg: impl Into<String>) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, msg.into())
}

impl<R: Read> Reader<R> {
    /// Wraps a byte stream.
    pub fn new(inner: R) -> Self {
        Self { inner }
    }

    /// The length of the next packet's data: `Some(0)` for a flush, `None` at a clean end of
    /// input (between packets).
    fn next_len(&mut self) -> io::Result<Option<usize>> {
        let mut head = [0u8; 4];
        let mut got = 0;
        while got < 4 {
            match self.inner.read(&mut head[got..]) {
                Ok(0) if got == 0 => return Ok(None),
                Ok(0) => return Err(bad("pkt-line: truncated length")),
                Ok(n) => got += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        let text = std::str::from_utf8(&head).map_err(|_| bad("pkt-line: bad length"))?;
        let len = usize::from_str_radix(text, 16)
            .map_err(|_| bad(format!("pkt-line: bad length {text:?}")))?;
        match len {
            0 => Ok(Some(0)),
            1..=4 => Err(bad(format!("pkt-line: unexpected special packet {text}"))),
            _ => Ok(Some(len - 4)),
        }
    }

    /// The next packet; `None` at a clean end of input (between packets).
    pub fn packet(&mut self) -> io::Result<Option<Packet>> {
        Ok(match self.next_len()? {
            None => None,
            Some(0) => Some(Packet::Flush),
            Some(n) => {
                let mut data = vec![0u8; n];
                self.inner.read_exact(&mut data)?;
                Some(Packet::Data(data))
            }
        })
    }

    /// A list of text lines up to a flush (trailing newlines removed); `None` at end of input.
    pub fn lines(&mut self) -> io::Result<Option<Vec<String>>> {
        let mut out = Vec::new();
        loop {
            match self.packet()? {
                None if out.is_empty() => return Ok(None),
                None => return Err(bad("pkt-line: end of input inside a list")),
                Some(Packet::Flush) => return Ok(Some(out)),
                Some(Packet::Data(mut d)) => {
                    if d.last() == Some(&b'\n') {
                        d.pop();
                    }
                    out.push(
                        String::from_utf8(d)
                            .map_err(|_| bad("pkt-line: a text line is not UTF-8"))?,
                    );
                }
            }
        }
    }

    /// Binary content up to a flush (plaintext for clean): read straight into one buffer
    /// that is wiped on drop, and grown by hand so no copy is freed unwiped.
    pub fn content(&mut self) -> io::Result<Zeroizing<Vec<u8>>> {
        let mut out = Zeroizing::new(Vec::new());
        loop {
            match self.next_len()? {
                None => return Err(bad("pkt-line: end of input inside content")),
                Some(0) => return Ok(out),
                Some(n) => {
                    let start = out.len();
                    if out.capacity() - start < n {
                        let capacity = (start + n).max(2 * out.capacity());
                        let mut bigger = Zeroizing::new(Vec::with_capacity(capacity));
                        bigger.extend_from_slice(&out);
                        out = bigger;
                    }
                    out.resize(start + n, 0);
                    self.inner.read_exact(&mut out[start..])?;
                }
            }
        }
    }
}

/// Writes packets.
pub struct Writer<W> {
    inner: W,
}

impl<W: Write> Writer<W> {
    /// Wraps a byte sink.
    pub fn new(inner: W) -> Self {
        Self { inner }
    }

    fn data(&mut self, data: &[u8]) -> io::Result<()> {
        debug_assert!(!data.is_empty() && data.len() <= MAX_DATA);
        write!(self.inner, "{:04x}", data.len() + 4)?;
        self.inner.write_all(data)
    }

    /// One text line (a newline is appended).
    pub fn line(&mut self, text: &str) -> io::Result<()> {
        let mut d = Vec::with_capacity(text.len() + 1);
        d.extend_from_slice(text.as_bytes());
        d.push(b'\n');
        self.data(&d)
    }

    /// A flush packet.
    pub fn flush_packet(&mut self) -> io::Result<()> {
        self.inner.write_all(b"0000")
    }

    /// Content split into packets (no flush).
    pub fn content(&mut self, data: &[u8]) -> io::Result<()> {
        for chunk in data.chunks(MAX_DATA) {
            self.data(chunk)?;
        }
        Ok(())
    }

    /// Sends everything written so far.
    pub fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_lines_and_content() {
        let mut buf = Vec::new();
        let mut w = Writer::new(&mut buf);
        w.line("git-filter-server").unwrap();
        w.line("version=2").unwrap();
        w.flush_packet().unwrap();
        let big = vec![7u8; MAX_DATA * 2 + 5];
        w.content(&big).unwrap();
        w.flush_packet().unwrap();
        assert_eq!(&buf[..22], b"0016git-filter-server\n");
        let mut r = Reader::new(&buf[..]);
        assert_eq!(
            r.lines().unwrap().unwrap(),
            vec!["git-filter-server".to_owned(), "version=2".to_owned()]
        );
        assert_eq!(*r.content().unwrap(), big);
        assert!(r.lines().unwrap().is_none());
    }

    #[test]
    fn rejects_bad_headers() {
        assert!(Reader::new(&b"zzzz"[..]).packet().is_err());
        assert!(Reader::new(&b"0001"[..]).packet().is_err());
        assert!(Reader::new(&b"00"[..]).packet().is_err());
        assert!(Reader::new(&b"0009abc"[..]).packet().is_err());
    }
}
