//! The sandbox's background work (webhook deliveries, payouts waiting to settle), kept in one set
//! so that shutting the sandbox down stops all of it.

use std::future::Future;
use std::sync::{Mutex, PoisonError};

use tokio::task::JoinSet;

/// Background tasks that end when the sandbox shuts down.
#[derive(Default)]
pub(crate) struct Tasks {
    inner: Mutex<TaskSet>,
}

#[derive(Default)]
struct TaskSet {
    running: JoinSet<()>,
    closed: bool,
}

impl Tasks {
    /// Runs `task` in the background, unless the sandbox is shutting down.
    pub(crate) fn spawn<F>(&self, task: F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        let mut set = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        if set.closed {
            return;
        }
        // Forget finished tasks so a long-running sandbox does not accumulate them.
        while set.running.try_join_next().is_some() {}
        set.running.spawn(task);
    }

    /// Stops every task at its next await point and refuses new ones.
    pub(crate) fn close(&self) {
        let mut set = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        set.closed = true;
        set.running.abort_all();
    }
}
