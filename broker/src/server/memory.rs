//! The bytes all in-flight requests may hold (Kafka's `queued.max.request.bytes`), and reading
//! one request body against it.
//!
//! A frame's size prefix reserves nothing: the body is read a chunk at a time as bytes arrive, and
//! the buffer's capacity grows (doubling, never past the frame's size) only after the growth was
//! taken from the shared budget. When the budget is spent the connections that want more wait
//! (their reads pause; TCP pushes back on the clients) until finished requests give bytes back.
//! So a client announcing 100 MiB and sending nothing holds nothing, and however many
//! connections do it, request bodies never hold more memory than the budget.
//!
//! Kafka's `SimpleMemoryPool` reserves a whole request when its size prefix arrives; reserving as
//! bytes arrive instead keeps a few stalled announcers from starving everyone else.

use std::sync::Arc;

use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Bytes read (and reserved) at a time.
const CHUNK: usize = 64 * 1024;

/// The shared budget for request bodies.
#[derive(Debug)]
pub(crate) struct RequestMemory {
    budget: usize,
    free: Arc<Semaphore>,
}

/// A request body and the budget it holds; dropping it gives the bytes back.
#[derive(Debug)]
pub(crate) struct Body {
    pub(crate) bytes: Vec<u8>,
    /// The body's share of the budget.
    pub(crate) held: Option<OwnedSemaphorePermit>,
}

impl RequestMemory {
    /// A budget of `bytes` (capped at what a semaphore can count).
    pub(crate) fn new(bytes: usize) -> RequestMemory {
        let budget = bytes.min(Semaphore::MAX_PERMITS);
        RequestMemory { budget, free: Arc::new(Semaphore::new(budget)) }
    }

    /// The budget.
    pub(crate) fn budget(&self) -> usize {
        self.budget
    }

    /// Bytes held by requests being read or handled now.
    #[cfg(test)]
    pub(crate) fn in_use(&self) -> usize {
        self.budget - self.free.available_permits()
    }

    /// Reads a body of `size` bytes (at most the budget), growing the buffer, and first its
    /// reservation, as the bytes arrive.
    ///
    /// # Errors
    /// The stream's errors, `UnexpectedEof` when it ends early.
    ///
    /// # Cancel safety
    /// Cancel safe as far as the budget goes (whatever was reserved is given back); the stream
    /// is left in the middle of a frame, so the connection must be closed.
    pub(crate) async fn read_body<R: AsyncRead + Unpin>(&self, rd: &mut R, size: usize) -> std::io::Result<Body> {
        let mut bytes: Vec<u8> = Vec::new();
        let mut held: Option<OwnedSemaphorePermit> = None;
        let mut reserved = 0;
        while bytes.len() < size {
            let start = bytes.len();
            let end = start + (size - start).min(CHUNK);
            if reserved < end {
                let capacity = end.max(reserved * 2).min(size);
                let grow = u32::try_from(capacity - reserved).map_err(std::io::Error::other)?;
                let permit = self
                    .free
                    .clone()
                    .acquire_many_owned(grow)
                    .await
                    .map_err(|_| std::io::Error::other("request memory pool closed"))?;
                match &mut held {
                    Some(h) => h.merge(permit),
                    None => held = Some(permit),
                }
                bytes.reserve_exact(capacity - start);
                reserved = capacity;
            }
            bytes.resize(end, 0);
            rd.read_exact(&mut bytes[start..]).await?;
        }
        Ok(Body { bytes, held })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn reservations_follow_arrived_bytes_and_pause_at_the_budget() {
        let mem = Arc::new(RequestMemory::new(3 * CHUNK));
        let (mut tx, mut rx) = tokio::io::duplex(1 << 20);
        // Announced 10 chunks, sent one byte: one chunk is reserved, not ten.
        use tokio::io::AsyncWriteExt;
        tx.write_all(&[1]).await.unwrap();
        let m = mem.clone();
        let reader = tokio::spawn(async move { m.read_body(&mut rx, 10 * CHUNK).await.map(|b| b.bytes.len()) });
        crate::server::tests::wait_for(|| mem.in_use() == CHUNK).await;
        // Sending more than the budget: the buffer doubles to two chunks, then wants two more
        // with one left; the reader waits (the semaphore already counts the one left as its).
        tx.write_all(&vec![2u8; 5 * CHUNK]).await.unwrap();
        crate::server::tests::wait_for(|| mem.in_use() == 3 * CHUNK).await;
        assert!(!reader.is_finished());
        reader.abort();
        let _ = reader.await;
        assert_eq!(mem.in_use(), 0, "an abandoned read gives its bytes back");
        // A body within the budget completes and gives its bytes back when dropped.
        let (mut tx, mut rx) = tokio::io::duplex(1 << 20);
        tx.write_all(&vec![3u8; 2 * CHUNK + 5]).await.unwrap();
        let body = mem.read_body(&mut rx, 2 * CHUNK + 5).await.unwrap();
        assert_eq!(body.bytes.len(), 2 * CHUNK + 5);
        assert_eq!(mem.in_use(), 2 * CHUNK + 5, "the buffer grows to the frame's size, not past it");
        assert_eq!(body.bytes.capacity(), 2 * CHUNK + 5);
        drop(body);
        assert_eq!(mem.in_use(), 0);
    }
}
