//! The file part of a POST form, streamed into s3s-fs as it arrives.
//!
//! s3s-fs writes a body to a temp file and renames it into place only when
//! the body ends cleanly. [`pump`] feeds it the file part through a small
//! channel ([`ChannelBody`]), counting bytes against the policy's maximum
//! and hashing for any declared digest; when the file is too large, too
//! small or its digest is wrong, the body ends in an error instead, s3s-fs
//! drops its temp file, and nothing is stored. Memory stays at a few chunks
//! whatever the file's size.

use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use futures_util::Stream;
use multer::Field;
use tokio::sync::mpsc;

use super::fields::malformed;
use super::policy::Grant;
use crate::embedded::digest::DigestCheck;
use crate::embedded::respond::Refusal;

/// Chunks in flight between the form and s3s-fs.
const CHANNEL_CHUNKS: usize = 4;

/// The body ended early because the upload was refused (the client gets the refusal).
#[derive(Debug, thiserror::Error)]
#[error("the upload was refused: {0}")]
pub(crate) struct Aborted(String);

/// The object body s3s-fs reads: the file's chunks as [`pump`] sends them.
pub(crate) struct ChannelBody {
    rx: mpsc::Receiver<Result<Bytes, Aborted>>,
}

impl Stream for ChannelBody {
    type Item = Result<Bytes, Aborted>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.rx.poll_recv(cx)
    }
}

/// The sending half: give it to [`pump`].
pub(crate) struct ChannelSender {
    tx: mpsc::Sender<Result<Bytes, Aborted>>,
}

/// A connected body and sender.
pub(crate) fn channel() -> (ChannelSender, ChannelBody) {
    let (tx, rx) = mpsc::channel(CHANNEL_CHUNKS);
    (ChannelSender { tx }, ChannelBody { rx })
}

/// How pumping the file ended, when not with its size.
#[derive(Debug)]
pub(crate) enum PumpError {
    /// The upload breaks the policy or its digest: this is the answer.
    Refused(Refusal),
    /// The store stopped reading: its own answer says why.
    StoreGone,
}

/// Sends the file part into the store, enforcing the grant's size limits and
/// the declared digests; returns the file's size.
pub(crate) async fn pump(
    mut file: Field<'_>,
    sender: ChannelSender,
    grant: &Grant,
    mut digests: DigestCheck,
) -> Result<u64, PumpError> {
    let tx = sender.tx;
    let mut size: u64 = 0;
    let result = loop {
        match file.chunk().await {
            Ok(Some(chunk)) => {
                size += chunk.len() as u64;
                if size > grant.max {
                    break Err(too_large(grant.max));
                }
                digests.update(&chunk);
                if tx.send(Ok(chunk)).await.is_err() {
                    return Err(PumpError::StoreGone);
                }
            }
            Ok(None) if size < grant.min => break Err(too_small(grant.min, size)),
            Ok(None) => break digests.finish().map(|()| size).map_err(Refusal::from),
            Err(e) => break Err(malformed(e)),
        }
    };
    if let Err(refusal) = &result {
        // Fail the body so s3s-fs drops its temp file rather than renaming it.
        let _ = tx.send(Err(Aborted(refusal.message.clone()))).await;
    }
    result.map_err(PumpError::Refused)
}

fn too_large(max: u64) -> Refusal {
    Refusal::bad_request(
        "EntityTooLarge",
        format!("Your proposed upload exceeds the maximum allowed size: the policy allows at most {max} bytes."),
    )
}

fn too_small(min: u64, size: u64) -> Refusal {
    Refusal::bad_request(
        "EntityTooSmall",
        format!("Your proposed upload is smaller than the minimum allowed size: {size} bytes, the policy asks for at least {min}."),
    )
}
