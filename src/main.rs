//! The `signpost` binary: parses the command line and maps errors to exit codes.

mod cli;
#[cfg(feature = "server")]
mod store_cmd;

use clap::Parser;
use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    let args = cli::Cli::parse();
    let result = match args.command {
        cli::Command::Sign(a) => cli::sign(a).await,
        cli::Command::Presign(a) => cli::presign(a).await,
        #[cfg(feature = "server")]
        cli::Command::Serve(a) => signpost::server::serve(a).await,
        #[cfg(feature = "server")]
        cli::Command::Store(a) => store_cmd::run(a).await,
        #[cfg(feature = "server")]
        cli::Command::Doctor(a) => return doctor(&a).await,
        #[cfg(feature = "server")]
        cli::Command::Verify(a) => match signpost::server::verify_cmd::run(&a).await {
            Ok(status) => return ExitCode::from(status),
            Err(e) => {
                eprintln!("error: {e:#}");
                return ExitCode::from(2);
            }
        },
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Runs `doctor`: exit 0 when nothing failed, 1 on any fail, 2 when nothing was checked.
#[cfg(feature = "server")]
async fn doctor(args: &signpost::server::doctor::DoctorArgs) -> ExitCode {
    let mut out = std::io::stdout();
    match signpost::server::doctor::run(args, Some(&mut out)).await {
        Ok(report) => {
            println!("{}", report.summary());
            if report.failed() {
                ExitCode::FAILURE
            } else {
                ExitCode::SUCCESS
            }
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}
