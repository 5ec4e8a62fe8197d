//! [`cut_lines`](super::cut_lines) over a reader: the same pieces, read only as they are needed.

use std::io::Read;

use crate::wipe::{Wiped, wipe_vec};

/// Why [`CutReader`] stopped early.
#[derive(Debug)]
pub(crate) enum CutError {
    /// The input does not start at column 0 (a byte-order mark, a space or a tab):
    /// `cut_lines` takes no such input.
    NotCuttable,
    /// Reading failed (the caller's whole-input path reads again and reports why).
    Read,
}

/// Where the search for the next cut stands, in the buffer of the piece being gathered.
#[derive(Clone, Copy)]
enum Scan {
    /// The piece is not yet longer than the target.
    Short,
    /// Looking for the next line break from here.
    Seek(usize),
    /// A line starts here: a cut when its first byte starts a key.
    Line(usize),
}

/// What one step of the search found.
enum Found {
    /// A cut at this offset: the bytes before it are a piece.
    Cut(usize),
    /// All that is left is the last piece.
    End,
    /// More input is needed to decide.
    More,
}

/// Yields the pieces `cut_lines(input, target)` returns, reading `input` as they are needed:
/// each piece is its own buffer, wiped when dropped, and every buffer this reader gives up is
/// wiped first, so no copy of the input is left behind in freed memory.
pub(crate) struct CutReader<R> {
    reader: R,
    target: usize,
    /// The piece being gathered (bytes read and not handed out yet).
    buf: Vec<u8>,
    scan: Scan,
    started: bool,
    eof: bool,
    done: bool,
}

/// Bytes asked of the reader at a time, at least.
const READ_BYTES: usize = 64 * 1024;

impl<R: Read> CutReader<R> {
    /// Cuts what `reader` yields into pieces of about `target` bytes (at least 1).
    pub(crate) fn new(reader: R, target: usize) -> Self {
        Self {
            reader,
            target: target.max(1),
            buf: Vec::new(),
            scan: Scan::Short,
            started: false,
            eof: false,
            done: false,
        }
    }

    /// One step of `cut_lines`' search on what is buffered.
    fn find(&mut self) -> Found {
        let buf = &self.buf;
        loop {
            match self.scan {
                Scan::Short => {
                    if buf.len() <= self.target {
                        return if self.eof { Found::End } else { Found::More };
                    }
                    self.scan = Scan::Seek(self.target - 1);
                }
                Scan::Seek(from) => match buf[from..].iter().position(|&b| b == b'\n') {
                    Some(n) => self.scan = Scan::Line(from + n + 1),
                    None if self.eof => return Found::End,
                    None => {
                        self.scan = Scan::Seek(buf.len());
                        return Found::More;
                    }
                },
                Scan::Line(at) => match buf.get(at) {
                    Some(&b) if b.is_ascii_alphanumeric() || b == b'_' => return Found::Cut(at),
                    Some(_) => self.scan = Scan::Seek(at),
                    None if self.eof => return Found::End,
                    None => return Found::More,
                },
            }
        }
    }

    /// Reads more into the buffer; grows it by replacement (the old one wiped), never in
    /// place, so that a reallocation leaves no copy behind.
    fn fill(&mut self) -> Result<(), std::io::Error> {
        if self.buf.capacity() - self.buf.len() < READ_BYTES {
            let mut bigger = Vec::with_capacity(
                (self.buf.capacity() * 2).max(self.buf.len() + self.target + READ_BYTES),
            );
            bigger.extend_from_slice(&self.buf);
            wipe_vec(&mut std::mem::replace(&mut self.buf, bigger));
        }
        // Into the spare capacity, uninitialised (no zeroing): `read_to_end` stops at `room`
        // bytes, so it never grows the buffer; fewer only at the end of the input.
        let room = self.buf.capacity() - self.buf.len();
        let got = (&mut self.reader)
            .take(room as u64)
            .read_to_end(&mut self.buf)?;
        self.eof = got < room;
        Ok(())
    }

    /// Stops for good, wiping what is buffered.
    fn stop(&mut self, e: CutError) -> Option<Result<Wiped<Vec<u8>>, CutError>> {
        self.done = true;
        wipe_vec(&mut self.buf);
        Some(Err(e))
    }
}

impl<R: Read> Iterator for CutReader<R> {
    type Item = Result<Wiped<Vec<u8>>, CutError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        loop {
            if !self.started && (self.eof || self.buf.len() >= 3) {
                self.started = true;
                let b = &self.buf;
                if b.starts_with(b"\xEF\xBB\xBF") || b.starts_with(b" ") || b.starts_with(b"\t") {
                    return self.stop(CutError::NotCuttable);
                }
            }
            if self.started {
                match self.find() {
                    Found::Cut(at) => {
                        let rest = &self.buf[at..];
                        let mut next =
                            Vec::with_capacity(rest.len() + self.target + 2 * READ_BYTES);
                        next.extend_from_slice(rest);
                        let mut piece = std::mem::replace(&mut self.buf, next);
                        // The rest now lives in the new buffer: wipe it from this one.
                        piece[at..].fill(0);
                        piece.truncate(at);
                        self.scan = Scan::Short;
                        return Some(Ok(Wiped::new(piece)));
                    }
                    Found::End => {
                        self.done = true;
                        let piece = std::mem::take(&mut self.buf);
                        return (!piece.is_empty()).then(|| Ok(Wiped::new(piece)));
                    }
                    Found::More => {}
                }
            }
            if self.fill().is_err() {
                return self.stop(CutError::Read);
            }
        }
    }
}

/// A reader that hands out at most `step` bytes per read, to cross every boundary (tests
/// and the `yaml_pieces` fuzz check).
pub(crate) struct Trickle<'a> {
    pub(crate) data: &'a [u8],
    pub(crate) step: usize,
}

impl Read for Trickle<'_> {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        let n = self.step.min(out.len()).min(self.data.len());
        out[..n].copy_from_slice(&self.data[..n]);
        self.data = &self.data[n..];
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Vec<u8> {
        let mut s = String::new();
        for i in 0..400 {
            s.push_str(&format!(
                "key_{i}:\n    a: {i}\n    b: |\n        x\n\n        y\n"
            ));
            if i % 7 == 0 {
                s.push_str(&format!("_k{i}: plain\n"));
            }
        }
        s.push_str("last: no newline");
        s.into_bytes()
    }

    #[test]
    fn the_pieces_are_those_of_cut_lines_whatever_the_reads() {
        let data = sample();
        for target in [1, 7, 30, 100, 1000, 5000, data.len(), data.len() + 10] {
            let want: Vec<&[u8]> = super::super::cut_lines(&data, target).unwrap();
            for step in [1, 3, 64, 4096, usize::MAX] {
                let got: Vec<Vec<u8>> = CutReader::new(Trickle { data: &data, step }, target)
                    .map(|p| p.unwrap().to_vec())
                    .collect();
                assert_eq!(got, want, "target {target}, step {step}");
            }
        }
    }

    #[test]
    fn inputs_cut_lines_refuses_are_refused_and_empty_input_has_no_piece() {
        for bad in [&b"\xEF\xBB\xBFa: 1\n"[..], b" a: 1\n", b"\ta: 1\n", b" "] {
            assert!(super::super::cut_lines(bad, 4).is_none());
            let mut r = CutReader::new(bad, 4);
            assert!(matches!(r.next(), Some(Err(CutError::NotCuttable))));
            assert!(r.next().is_none());
        }
        assert!(CutReader::new(&b""[..], 4).next().is_none());
        let one: Vec<_> = CutReader::new(&b"a"[..], 4)
            .map(|p| p.unwrap().to_vec())
            .collect();
        assert_eq!(one, vec![b"a".to_vec()]);
    }

    #[test]
    fn a_read_error_ends_the_pieces() {
        struct Failing(usize);
        impl Read for Failing {
            fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
                if self.0 == 0 {
                    return Err(std::io::Error::other("disk gone"));
                }
                let n = self.0.min(out.len());
                out[..n].fill(b'a');
                self.0 -= n;
                Ok(n)
            }
        }
        let mut r = CutReader::new(Failing(10), 4);
        assert!(matches!(r.next(), Some(Err(CutError::Read))));
        assert!(r.next().is_none());
    }
}
