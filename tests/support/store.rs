//! `signpost store` as a child process, for the tests that need the real
//! binary: started on 127.0.0.1:0 in a temp dir, its endpoint and keys read
//! from the banner it prints, stopped when dropped.

use std::io::{BufRead as _, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use signpost::{Credentials, Endpoint, Signer};
use tempfile::TempDir;

/// How long the store may take to print its banner.
const START_DEADLINE: Duration = Duration::from_secs(30);

/// A running `signpost store`.
pub struct StoreProcess {
    child: Child,
    /// Its temp data dir (removed on drop).
    pub dir: TempDir,
    /// e.g. http://127.0.0.1:PORT
    pub endpoint: String,
    /// The printed access key.
    pub access_key: String,
    /// The printed secret key.
    pub secret_key: String,
    /// The printed region.
    pub region: String,
}

impl StoreProcess {
    /// Starts the store with `extra` arguments (e.g. `--bucket b`).
    pub fn spawn(extra: &[&str]) -> StoreProcess {
        let dir = TempDir::new().expect("temp dir");
        let data = dir.path().join("data");
        let mut child = Command::new(env!("CARGO_BIN_EXE_signpost"))
            .arg("store")
            .args(["--listen", "127.0.0.1:0"])
            .arg("--data-dir")
            .arg(&data)
            .args(extra)
            .env_remove("SIGNPOST_STORE_ACCESS_KEY")
            .env_remove("SIGNPOST_STORE_SECRET_KEY")
            .env_remove("SIGNPOST_STORE_LISTEN")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn signpost store");
        let stdout = child.stdout.take().expect("stdout piped");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut vars = std::collections::HashMap::new();
        while !vars.contains_key("AWS_REGION") {
            let line = rx.recv_timeout(START_DEADLINE).unwrap_or_else(|_| {
                let _ = child.kill();
                panic!("signpost store printed no banner within {START_DEADLINE:?}");
            });
            if let Some((name, value)) =
                line.strip_prefix("export ").and_then(|l| l.split_once('='))
            {
                vars.insert(name.to_owned(), value.to_owned());
            }
        }
        StoreProcess {
            child,
            dir,
            endpoint: vars["AWS_ENDPOINT_URL"].clone(),
            access_key: vars["AWS_ACCESS_KEY_ID"].clone(),
            secret_key: vars["AWS_SECRET_ACCESS_KEY"].clone(),
            region: vars["AWS_REGION"].clone(),
        }
    }

    /// The child's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// A signpost signer for this store (path-style).
    pub fn signer(&self) -> Signer {
        let endpoint = Endpoint::custom(&self.endpoint, true).expect("endpoint");
        Signer::new(
            Credentials::new(self.access_key.clone(), self.secret_key.clone()),
            self.region.clone(),
            endpoint,
        )
    }

    /// The environment an AWS client needs to talk to this store.
    pub fn aws_env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("AWS_ENDPOINT_URL", self.endpoint.clone()),
            ("AWS_ACCESS_KEY_ID", self.access_key.clone()),
            ("AWS_SECRET_ACCESS_KEY", self.secret_key.clone()),
            ("AWS_REGION", self.region.clone()),
            ("AWS_DEFAULT_REGION", self.region.clone()),
        ]
    }
}

impl Drop for StoreProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
