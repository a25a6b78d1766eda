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
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
