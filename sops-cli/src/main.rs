//! rsops: a drop-in for the sops command line.

#![forbid(unsafe_code)]

mod args;
mod cmd;
mod config;
mod error;
mod io;

use std::process::ExitCode;

use crate::args::{Cli, Command};
use crate::error::CliError;

// The shipped Linux binary (scripts/build-release) is linked statically against musl. glibc's
// start-up runs about 70 CPUID instructions (CPU features and cache sizes for its string
// functions), and on a virtual machine each one traps to the hypervisor: about 7 us each where
// this was measured, 0.5 ms per call, most of a small decrypt. musl's start-up runs none.
// musl's own allocator, though, made the 100,000-value YAML about 4.5x slower (many small
// allocations on two threads), so musl builds use jemalloc, as ripgrep does there. (mimalloc
// was tried too: it reserves 1 GiB at start, and both small calls and peak memory went up.)
#[cfg(target_env = "musl")]
#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn main() -> ExitCode {
    let cli = match Cli::parse_args() {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() { 1 } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    // exec-env passes the child's exit code through.
    let child = match &cli.command {
        Some(Command::Git(g)) => Some(cmd::git::run(g)),
        Some(Command::ExecEnv(a)) => Some(cmd::exec::run(a)),
        Some(Command::ExecFile(a)) => Some(cmd::exec::run_file(a)),
        _ => None,
    };
    if let Some(result) = child {
        return match result {
            Ok(code) => ExitCode::from(code),
            Err(e) => report(&e),
        };
    }
    match run(&cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => report(&e),
    }
}

fn report(e: &CliError) -> ExitCode {
    eprintln!("{}", e.message);
    if let Some(hint) = &e.hint {
        eprintln!("hint: {hint}");
    }
    ExitCode::from(e.code)
}

fn run(cli: &Cli) -> Result<(), CliError> {
    let config = cli.global.config.as_deref();
    match &cli.command {
        Some(Command::Encrypt(a)) => cmd::encrypt::run(a, config),
        Some(Command::Decrypt(a)) => cmd::decrypt::run(a, config),
        Some(Command::Edit(a)) => cmd::edit::run(a, config),
        Some(Command::Set(a)) => cmd::set::run(a, false, config),
        Some(Command::Unset(a)) => cmd::set::run(a, true, config),
        Some(Command::Rotate(a)) => cmd::rotate::run(a, config),
        Some(Command::Updatekeys(a)) => cmd::updatekeys::run(a, config),
        Some(Command::Filestatus(a)) => cmd::filestatus::run(a),
        Some(Command::Groups(g)) => cmd::groups::run(g),
        Some(Command::Completion { shell }) => {
            let mut out = Vec::new();
            clap_complete::generate(
                *shell,
                &mut <Cli as clap::CommandFactory>::command(),
                "rsops",
                &mut out,
            );
            io::write_stdout(&out)
        }
        Some(Command::Man) => {
            let mut out = Vec::new();
            clap_mangen::Man::new(<Cli as clap::CommandFactory>::command())
                .render(&mut out)
                .map_err(|e| {
                    CliError::new(
                        error::codes::GENERIC,
                        format!("cannot render the man page: {e}"),
                    )
                })?;
            io::write_stdout(&out)
        }
        Some(Command::Git(g)) => cmd::git::run(g).map(|_| ()),
        Some(Command::ExecEnv(a)) => cmd::exec::run(a).map(|_| ()),
        Some(Command::ExecFile(a)) => cmd::exec::run_file(a).map(|_| ()),
        None if cli.rotate => cmd::rotate::run(
            &cmd::rotate::Args {
                file: cli.op.file.clone(),
                in_place: cli.op.in_place,
                output: cli.op.output.clone(),
                input_type: cli.op.input_type.clone(),
                output_type: cli.op.output_type.clone(),
                filename_override: cli.op.filename_override.clone(),
                keys: cli.keys.clone(),
                aws_profile: cli.op.aws_profile.clone(),
                encryption_context: cli.op.encryption_context.clone(),
                decryption_order: cli.op.decryption_order.clone(),
            },
            config,
        ),
        None if cli.set.is_some() => {
            // sops splits the legacy argument at the first `"] ` (or `'] `).
            let text = cli.set.as_deref().unwrap_or("");
            let at = text
                .find("\"] ")
                .or_else(|| text.find("'] "))
                .ok_or_else(|| {
                    CliError::new(error::codes::INVALID_SET_FORMAT, "Invalid --set format")
                        .hint(r#"use --set '["key"] "value"'"#)
                })?;
            cmd::set::run(
                &cmd::set::Args {
                    file: cli.op.file.clone(),
                    path: Some(text[..at + 2].to_owned()),
                    value: Some(text[at + 3..].to_owned()),
                    value_stdin: false,
                    value_file: None,
                    idempotent: false,
                    input_type: cli.op.input_type.clone(),
                    output_type: cli.op.output_type.clone(),
                    ignore_mac: cli.op.ignore_mac,
                    decryption_order: cli.op.decryption_order.clone(),
                    shamir_secret_sharing_threshold: None,
                },
                false,
                config,
            )
        }
        None if cli.decrypt => cmd::decrypt::run(&cli.op, config),
        None if cli.encrypt => cmd::encrypt::run(&cli.op, config),
        // sops' legacy default mode: `sops FILE` edits the file.
        None if cli.op.file.is_some() => cmd::edit::run(&cli.op, config),
        None => Err(CliError::new(
            error::codes::GENERIC,
            "no operation given: use `rsops encrypt FILE`, `rsops decrypt FILE`, `rsops edit FILE`, or -e/-d",
        )),
    }
}

#[cfg(all(test, target_env = "musl", target_arch = "x86_64"))]
mod musl_copy_tests {
    /// Every length up to 300 (each size class of musl/memcpy.c and its edges), the switch to
    /// `rep movsb` at 2048, and long copies.
    fn lengths() -> impl Iterator<Item = usize> {
        (0..=300).chain([511, 512, 513, 1000, 2047, 2048, 2049, 4099, 65_600])
    }

    fn pattern(n: usize) -> Vec<u8> {
        (0..n).map(|i| (i * 131 % 251) as u8).collect()
    }

    /// memcpy (`copy_from_slice`) at every alignment of source and destination: the bytes
    /// arrive, and the bytes around the destination stay as they were.
    #[test]
    fn musl_copies_match_a_byte_loop() {
        let src = pattern(70_000);
        for n in lengths() {
            for s_off in 0..16 {
                for d_off in 0..16 {
                    let mut dst = vec![0xAAu8; n + 48];
                    let s = std::hint::black_box(&src[s_off..s_off + n]);
                    dst[d_off..d_off + n].copy_from_slice(s);
                    assert!(dst[d_off..d_off + n] == *s, "n={n} s={s_off} d={d_off}");
                    assert!(dst[..d_off].iter().all(|&b| b == 0xAA), "n={n} before");
                    assert!(dst[d_off + n..].iter().all(|&b| b == 0xAA), "n={n} after");
                }
            }
        }
    }

    /// memmove (`copy_within`) over overlapping ranges, the destination below and above the
    /// source by 0 to 40 bytes, against a copy made through a separate buffer.
    #[test]
    // The reference copies byte by byte on purpose: it must not go through memcpy.
    #[allow(clippy::manual_memcpy)]
    fn musl_moves_match_a_byte_loop() {
        for n in lengths() {
            for shift in 0..=40 {
                let orig = pattern(n + 40);
                // Down: source at `shift`, destination at 0.
                let mut buf = orig.clone();
                buf.copy_within(std::hint::black_box(shift..shift + n), 0);
                let mut want = orig.clone();
                for i in 0..n {
                    want[i] = orig[shift + i];
                }
                assert!(buf == want, "down n={n} shift={shift}");
                // Up: source at 0, destination at `shift`.
                let mut buf = orig.clone();
                buf.copy_within(std::hint::black_box(0..n), shift);
                let mut want = orig.clone();
                for i in 0..n {
                    want[shift + i] = orig[i];
                }
                assert!(buf == want, "up n={n} shift={shift}");
            }
        }
    }
}
