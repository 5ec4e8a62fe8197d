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
