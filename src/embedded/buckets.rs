//! What the store keeps about buckets beyond s3s-fs's directories: each
//! bucket's CORS rules and the multipart uploads in progress.
//!
//! Both live under `.signpost/` in the data directory (a name no bucket can
//! have), one JSON file per bucket or upload, so they survive a restart.
//! s3s-fs has no bucket CORS and no index of uploads (ListMultipartUploads).

use std::collections::HashMap;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, PoisonError, RwLock};

use serde::{Deserialize, Serialize};

use super::cors::rules::CorsRule;

/// The store's own folder inside the data directory.
const OWN_DIR: &str = ".signpost";

/// A multipart upload in progress, as recorded when it was created.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct UploadRecord {
    /// The id s3s-fs gave it.
    pub upload_id: String,
    /// Its bucket.
    pub bucket: String,
    /// Its key.
    pub key: String,
    /// When it was created, in seconds since the Unix epoch.
    pub initiated: u64,
}

/// Bucket CORS rules (cached in memory) and upload records, on disk.
#[derive(Debug)]
pub(crate) struct Buckets {
    cors_dir: PathBuf,
    uploads_dir: PathBuf,
    cors: RwLock<HashMap<String, Arc<[CorsRule]>>>,
}

impl Buckets {
    /// Opens (creating if needed) the store's folder under `root` and loads every bucket's CORS rules.
    pub(crate) async fn open(root: &Path) -> io::Result<Self> {
        let cors_dir = root.join(OWN_DIR).join("cors");
        let uploads_dir = root.join(OWN_DIR).join("uploads");
        tokio::fs::create_dir_all(&cors_dir).await?;
        tokio::fs::create_dir_all(&uploads_dir).await?;
        let mut cors = HashMap::new();
        let mut entries = tokio::fs::read_dir(&cors_dir).await?;
        while let Some(entry) = entries.next_entry().await? {
            let path = entry.path();
            let Some(bucket) = path
                .file_name()
                .and_then(|n| n.to_str())
                .and_then(|n| n.strip_suffix(".json"))
            else {
                continue;
            };
            match serde_json::from_slice::<Vec<CorsRule>>(&tokio::fs::read(&path).await?) {
                Ok(rules) => {
                    cors.insert(bucket.to_owned(), Arc::from(rules));
                }
                Err(e) => {
                    tracing::warn!(path = %path.display(), error = %e, "embedded S3: ignoring an unreadable bucket CORS file");
                }
            }
        }
        Ok(Self {
            cors_dir,
            uploads_dir,
            cors: RwLock::new(cors),
        })
    }

    /// The bucket's CORS rules, if it has any.
    pub(crate) fn cors(&self, bucket: &str) -> Option<Arc<[CorsRule]>> {
        self.cors
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(bucket)
            .cloned()
    }

    /// Replaces the bucket's CORS rules.
    pub(crate) async fn put_cors(&self, bucket: &str, rules: Vec<CorsRule>) -> io::Result<()> {
        let json = serde_json::to_vec_pretty(&rules).map_err(io::Error::other)?;
        write_atomically(&self.cors_dir.join(format!("{bucket}.json")), &json).await?;
        self.cors
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(bucket.to_owned(), Arc::from(rules));
        Ok(())
    }

    /// Removes the bucket's CORS rules (no error when it had none).
    pub(crate) async fn delete_cors(&self, bucket: &str) -> io::Result<()> {
        self.cors
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(bucket);
        remove_if_present(&self.cors_dir.join(format!("{bucket}.json"))).await
    }

    /// Records a new multipart upload.
    pub(crate) async fn record_upload(&self, record: &UploadRecord) -> io::Result<()> {
        let json = serde_json::to_vec(record).map_err(io::Error::other)?;
        write_atomically(&self.upload_path(&record.upload_id), &json).await
    }

    /// Forgets a completed or aborted upload.
    pub(crate) async fn forget_upload(&self, upload_id: &str) -> io::Result<()> {
        remove_if_present(&self.upload_path(upload_id)).await
    }

    /// The uploads in progress in `bucket`, by key then age.
    pub(crate) async fn uploads(&self, bucket: &str) -> io::Result<Vec<UploadRecord>> {
        let mut out = Vec::new();
        let mut entries = tokio::fs::read_dir(&self.uploads_dir).await?;
        while let Some(entry) = entries.next_entry().await? {
            let Ok(bytes) = tokio::fs::read(entry.path()).await else {
                continue; // completed meanwhile
            };
            if let Ok(record) = serde_json::from_slice::<UploadRecord>(&bytes) {
                if record.bucket == bucket {
                    out.push(record);
                }
            }
        }
        out.sort_by(|a, b| (&a.key, a.initiated).cmp(&(&b.key, b.initiated)));
        Ok(out)
    }

    fn upload_path(&self, upload_id: &str) -> PathBuf {
        // Upload ids are s3s-fs UUIDs; anything else cannot name a file here.
        let safe: String = upload_id
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
            .collect();
        self.uploads_dir.join(format!("{safe}.json"))
    }
}

async fn write_atomically(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let tmp = path.with_extension("json.tmp");
    tokio::fs::write(&tmp, bytes).await?;
    tokio::fs::rename(&tmp, path).await
}

async fn remove_if_present(path: &Path) -> io::Result<()> {
    match tokio::fs::remove_file(path).await {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn cors_rules_survive_a_reopen() {
        let dir = tempfile::tempdir().expect("temp dir");
        let b = Buckets::open(dir.path()).await.expect("open");
        let rule = CorsRule {
            allowed_origins: vec!["*".into()],
            allowed_methods: vec!["GET".into()],
            ..CorsRule::default()
        };
        b.put_cors("uploads", vec![rule.clone()])
            .await
            .expect("put");
        let again = Buckets::open(dir.path()).await.expect("reopen");
        assert_eq!(again.cors("uploads").as_deref(), Some(&[rule][..]));
        again.delete_cors("uploads").await.expect("delete");
        assert!(Buckets::open(dir.path())
            .await
            .expect("reopen")
            .cors("uploads")
            .is_none());
    }
}
