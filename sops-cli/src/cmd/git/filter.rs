//! `rsops git filter-process` (git's long-running filter protocol, version 2) and the
//! single-shot `rsops git clean|smudge PATH` fallbacks.

use std::io::{self, BufReader, BufWriter, Read};

use zeroize::Zeroizing;

use super::engine::Engine;
use super::pktline::{Reader, Writer};
use crate::error::{CliError, codes};
use crate::io as cli_io;

fn protocol(e: io::Error) -> CliError {
    CliError::new(codes::GENERIC, format!("git filter protocol: {e}"))
}

/// Runs the long-running filter until git closes the pipe.
pub fn process() -> Result<(), CliError> {
    let stdin = io::stdin().lock();
    let stdout = io::stdout().lock();
    let mut r = Reader::new(BufReader::with_capacity(1 << 16, stdin));
    let mut w = Writer::new(BufWriter::with_capacity(1 << 16, stdout));
    serve(&mut r, &mut w, &mut None)
}

/// The protocol loop over any streams; the engine is created on the first command.
fn serve<R: Read, W: io::Write>(
    r: &mut Reader<R>,
    w: &mut Writer<W>,
    engine: &mut Option<Engine>,
) -> Result<(), CliError> {
    let hello = r
        .lines()
        .map_err(protocol)?
        .ok_or_else(|| protocol(io::ErrorKind::UnexpectedEof.into()))?;
    if !hello.iter().any(|l| l == "git-filter-client") || !hello.iter().any(|l| l == "version=2") {
        return Err(CliError::new(
            codes::GENERIC,
            format!("git filter protocol: unexpected greeting {hello:?} (need version=2)"),
        ));
    }
    w.line("git-filter-server").map_err(protocol)?;
    w.line("version=2").map_err(protocol)?;
    w.flush_packet().map_err(protocol)?;
    w.flush().map_err(protocol)?;
    let caps = r
        .lines()
        .map_err(protocol)?
        .ok_or_else(|| protocol(io::ErrorKind::UnexpectedEof.into()))?;
    for cap in ["capability=clean", "capability=smudge"] {
        if caps.iter().any(|c| c == cap) {
            w.line(cap).map_err(protocol)?;
        }
    }
    w.flush_packet().map_err(protocol)?;
    w.flush().map_err(protocol)?;

    while let Some(header) = r.lines().map_err(protocol)? {
        let field = |name: &str| {
            header
                .iter()
                .find_map(|l| l.strip_prefix(name).and_then(|v| v.strip_prefix('=')))
                .map(str::to_owned)
        };
        let command = field("command").unwrap_or_default();
        let path = field("pathname").unwrap_or_default();
        // Plaintext passes through here (clean's input, smudge's output): wiped after use.
        let mut content = r.content().map_err(protocol)?;
        if engine.is_none() {
            match Engine::new() {
                Ok(e) => *engine = Some(e),
                Err(e) => {
                    eprintln!("rsops: {}", e.message);
                    w.line("status=abort").map_err(protocol)?;
                    w.flush_packet().map_err(protocol)?;
                    w.flush().map_err(protocol)?;
                    continue;
                }
            }
        }
        let eng = engine.as_mut().expect("just created");
        let result = match command.as_str() {
            "clean" => eng.clean(&path, &content),
            "smudge" => eng.smudge(&path, std::mem::take(&mut *content)),
            other => Err(CliError::new(
                codes::GENERIC,
                format!("unknown filter command {other:?}"),
            )),
        };
        match result.map(Zeroizing::new) {
            Ok(out) => {
                w.line("status=success").map_err(protocol)?;
                w.flush_packet().map_err(protocol)?;
                w.content(&out).map_err(protocol)?;
                w.flush_packet().map_err(protocol)?;
                // An empty list: the status stays "success".
                w.flush_packet().map_err(protocol)?;
            }
            Err(e) => {
                eprintln!("rsops: {}", e.message);
                if let Some(h) = &e.hint {
                    eprintln!("hint: {h}");
                }
                w.line("status=error").map_err(protocol)?;
                w.flush_packet().map_err(protocol)?;
            }
        }
        w.flush().map_err(protocol)?;
    }
    Ok(())
}

/// `rsops git clean PATH`: one file, stdin to stdout.
pub fn clean(path: &str) -> Result<(), CliError> {
    let input = Zeroizing::new(cli_io::read_input(None)?);
    let out = Engine::new()?.clean(path, &input)?;
    cli_io::write_stdout(&out)
}

/// `rsops git smudge PATH`: one file, stdin to stdout.
pub fn smudge(path: &str) -> Result<(), CliError> {
    let input = cli_io::read_input(None)?;
    let out = Zeroizing::new(Engine::new()?.smudge(path, input)?);
    cli_io::write_stdout(&out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handshake_and_unknown_command() {
        let mut input = Vec::new();
        let mut w = Writer::new(&mut input);
        w.line("git-filter-client").unwrap();
        w.line("version=2").unwrap();
        w.flush_packet().unwrap();
        for c in ["capability=clean", "capability=smudge", "capability=delay"] {
            w.line(c).unwrap();
        }
        w.flush_packet().unwrap();
        let mut output = Vec::new();
        let mut engine = None;
        serve(
            &mut Reader::new(&input[..]),
            &mut Writer::new(&mut output),
            &mut engine,
        )
        .unwrap();
        let mut r = Reader::new(&output[..]);
        assert_eq!(
            r.lines().unwrap().unwrap(),
            vec!["git-filter-server", "version=2"]
        );
        // delay is not offered.
        assert_eq!(
            r.lines().unwrap().unwrap(),
            vec!["capability=clean", "capability=smudge"]
        );
        assert!(r.lines().unwrap().is_none());
    }

    #[test]
    fn refuses_version_one() {
        let mut input = Vec::new();
        let mut w = Writer::new(&mut input);
        w.line("git-filter-client").unwrap();
        w.line("version=1").unwrap();
        w.flush_packet().unwrap();
        let mut output = Vec::new();
        let err = serve(
            &mut Reader::new(&input[..]),
            &mut Writer::new(&mut output),
            &mut None,
        )
        .unwrap_err();
        assert!(err.message.contains("version=2"), "{}", err.message);
    }
}
