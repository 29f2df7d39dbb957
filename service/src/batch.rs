//! Micro-batching: what many concurrent jobs ask at about the same moment is gathered and
//! handled together, so that one database round trip (or one transaction) per job becomes
//! one per batch. Nothing waits for a batch to fill: a request that finds the handler idle
//! goes at once, and those arriving while a batch is being handled make up the next one.

use std::future::Future;

use tokio::sync::{mpsc, oneshot};

/// A task handling requests of type `Req` in batches of up to `max_batch`; each caller gets
/// the answer to its own request.
pub struct Batcher<Req, Res> {
    tx: mpsc::Sender<(Req, oneshot::Sender<Res>)>,
}

impl<Req: Send + 'static, Res: Send + 'static> Batcher<Req, Res> {
    /// Spawns the task; `handler` must answer every request of a batch, in order.
    pub fn spawn<F, Fut>(max_batch: usize, handler: F) -> Self
    where
        F: Fn(Vec<Req>) -> Fut + Send + 'static,
        Fut: Future<Output = Vec<Res>> + Send + 'static,
    {
        let max_batch = max_batch.max(1);
        let (tx, mut rx) = mpsc::channel::<(Req, oneshot::Sender<Res>)>(max_batch * 4);
        tokio::spawn(async move {
            while let Some(first) = rx.recv().await {
                let mut batch = vec![first];
                while batch.len() < max_batch {
                    match rx.try_recv() {
                        Ok(item) => batch.push(item),
                        Err(_) => break,
                    }
                }
                let (requests, replies): (Vec<Req>, Vec<oneshot::Sender<Res>>) = batch.into_iter().unzip();
                let answers = handler(requests).await;
                // A caller that went away (its job was stopped) just misses its answer.
                for (reply, answer) in replies.into_iter().zip(answers) {
                    let _ = reply.send(answer);
                }
            }
        });
        Self { tx }
    }

    /// The answer to `request`, or `None` when the task is gone (the runtime is stopping,
    /// or the handler failed to answer it).
    pub async fn call(&self, request: Req) -> Option<Res> {
        let (reply, answer) = oneshot::channel();
        self.tx.send((request, reply)).await.ok()?;
        answer.await.ok()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    use super::*;

    #[tokio::test]
    async fn concurrent_callers_share_batches_and_each_gets_its_own_answer() {
        let batches = Arc::new(AtomicUsize::new(0));
        let largest = Arc::new(AtomicUsize::new(0));
        let (b, l) = (batches.clone(), largest.clone());
        let batcher = Arc::new(Batcher::spawn(16, move |requests: Vec<u32>| {
            let (b, l) = (b.clone(), l.clone());
            async move {
                b.fetch_add(1, Ordering::SeqCst);
                l.fetch_max(requests.len(), Ordering::SeqCst);
                // A slow handler, as a database transaction is: callers pile up meanwhile.
                tokio::time::sleep(Duration::from_millis(20)).await;
                requests.into_iter().map(|r| r * 10).collect::<Vec<_>>()
            }
        }));
        let calls: Vec<_> = (0..100u32)
            .map(|i| {
                let batcher = batcher.clone();
                tokio::spawn(async move { (i, batcher.call(i).await) })
            })
            .collect();
        for call in calls {
            let (i, answer) = call.await.unwrap();
            assert_eq!(answer, Some(i * 10));
        }
        let (batches, largest) = (batches.load(Ordering::SeqCst), largest.load(Ordering::SeqCst));
        assert!(largest <= 16, "a batch of {largest}");
        assert!(batches < 100 && largest > 1, "{batches} batches for 100 calls");
    }

    #[tokio::test]
    async fn an_unanswered_request_gets_none() {
        let batcher = Batcher::spawn(4, |requests: Vec<u32>| async move {
            requests.into_iter().filter(|r| *r != 2).collect::<Vec<_>>()
        });
        assert_eq!(batcher.call(1).await, Some(1));
        assert_eq!(batcher.call(2).await, None);
    }
}
