//! How the requests due reach a fixed set of connections: each connection that can take a
//! request waits in line for one; a request due while none can waits in order, and its
//! departure lag shows it. Shared by the `fixed` client (a connection can take a request when it
//! is idle) and the `h2c` client (when it has a stream to spare).

use std::collections::VecDeque;
use std::future::Future;
use std::sync::{Arc, Mutex, PoisonError};

use tokio::sync::Notify;
use tokio::task::JoinSet;
use tokio::time::Instant;

use crate::schedule::Sender;

/// A request due: its id and when it was due.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Due {
    pub(crate) id: u32,
    pub(crate) at: Instant,
}

/// Which of the connections waiting for a request gets the next one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Pick {
    /// The last to start waiting: a low rate keeps few connections open, as a pool does.
    Last,
    /// The first to start waiting: the requests go round the connections, so that each of a
    /// few multiplexed connections carries its share.
    First,
}

/// What the stream and the connections share: the requests due that no connection has taken
/// yet, and which connections wait for one.
pub(crate) struct Dispatch {
    state: Mutex<State>,
    pick: Pick,
    /// One per connection: wakes it when a request was handed to it or the stream ended.
    wake: Vec<Notify>,
}

struct State {
    /// Due, in order, while no connection could take them.
    waiting: VecDeque<Due>,
    /// Connections waiting for a request, in the order they started waiting.
    idle: VecDeque<usize>,
    /// A request handed to a connection that has not taken it yet.
    handed: Vec<Option<Due>>,
    /// Whether each connection is in `idle`.
    is_idle: Vec<bool>,
    /// No more requests will come: connections leave once `waiting` is empty.
    ended: bool,
}

impl Dispatch {
    /// A dispatch to `count` connections, numbered from 0.
    pub(crate) fn new(count: usize, pick: Pick) -> Dispatch {
        Dispatch {
            state: Mutex::new(State {
                waiting: VecDeque::new(),
                idle: VecDeque::with_capacity(count),
                handed: vec![None; count],
                is_idle: vec![false; count],
                ended: false,
            }),
            pick,
            wake: (0..count).map(|_| Notify::new()).collect(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // A poisoned lock only means a connection task panicked; the queue itself is whole.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Hands `due` to a waiting connection, or queues it until one can take it.
    pub(crate) fn send(&self, due: Due) {
        let mut state = self.lock();
        let picked = match self.pick {
            Pick::Last => state.idle.pop_back(),
            Pick::First => state.idle.pop_front(),
        };
        match picked {
            Some(index) => {
                state.is_idle[index] = false;
                state.handed[index] = Some(due);
                drop(state);
                self.wake[index].notify_one();
            }
            None => state.waiting.push_back(due),
        }
    }

    /// The next request for connection `index`, or None once the stream has ended and nothing
    /// waits. Cancel-safe: a request handed to a connection that stopped waiting stays handed.
    pub(crate) async fn next(&self, index: usize) -> Option<Due> {
        loop {
            {
                let mut state = self.lock();
                if let Some(due) = state.handed[index].take() {
                    return Some(due);
                }
                if let Some(due) = state.waiting.pop_front() {
                    return Some(due);
                }
                if state.ended {
                    return None;
                }
                if !state.is_idle[index] {
                    state.is_idle[index] = true;
                    state.idle.push_back(index);
                }
            }
            // A wake that came before this wait is kept as a permit: none is missed.
            self.wake[index].notified().await;
        }
    }

    /// No more requests will come: wakes every connection.
    pub(crate) fn end(&self) {
        self.lock().ended = true;
        for wake in &self.wake {
            wake.notify_one();
        }
    }
}

/// A client's connection tasks with the hand-out they share: the schedule's [`Sender`] for the
/// `fixed` and `h2c` clients, which differ only in what one connection task does.
pub(crate) struct Connections {
    dispatch: Arc<Dispatch>,
    tasks: JoinSet<()>,
}

impl Connections {
    /// Starts `count` connection tasks on the current runtime, each `drive(index, dispatch)`,
    /// handed requests as `pick` says.
    pub(crate) fn start<F, Fut>(count: usize, pick: Pick, drive: F) -> Connections
    where
        F: Fn(usize, Arc<Dispatch>) -> Fut,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let dispatch = Arc::new(Dispatch::new(count, pick));
        let mut tasks = JoinSet::new();
        for index in 0..count {
            tasks.spawn(drive(index, Arc::clone(&dispatch)));
        }
        Connections { dispatch, tasks }
    }
}

impl Sender for Connections {
    /// Request `id`, due at `at`: it leaves on the connection the dispatch picks.
    fn send(&mut self, id: u32, at: Instant) {
        self.dispatch.send(Due { id, at });
    }

    /// Sends what still waits, waits for every request's record, then lets the connections
    /// go. Cancel-safe.
    async fn finish(&mut self) {
        self.dispatch.end();
        while self.tasks.join_next().await.is_some() {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn due(id: u32) -> Due {
        Due {
            id,
            at: Instant::now(),
        }
    }

    /// Each connection registers as waiting, then takes what it was handed.
    async fn handed_to(pick: Pick) -> Vec<Option<u32>> {
        let dispatch = Dispatch::new(2, pick);
        for index in 0..2 {
            // Nothing waits: the connection is now in line, and the wait is dropped.
            let waited =
                tokio::time::timeout(std::time::Duration::from_millis(1), dispatch.next(index))
                    .await;
            assert!(waited.is_err());
        }
        dispatch.send(due(7));
        let state = dispatch.lock();
        state.handed.iter().map(|d| d.map(|d| d.id)).collect()
    }

    #[tokio::test]
    async fn last_reuses_the_latest_connection_and_first_goes_round() {
        assert_eq!(handed_to(Pick::Last).await, [None, Some(7)]);
        assert_eq!(handed_to(Pick::First).await, [Some(7), None]);
    }

    #[tokio::test]
    async fn requests_wait_in_order_and_the_end_lets_connections_go() {
        let dispatch = Dispatch::new(1, Pick::First);
        dispatch.send(due(1));
        dispatch.send(due(2));
        dispatch.end();
        assert_eq!(dispatch.next(0).await.map(|d| d.id), Some(1));
        assert_eq!(dispatch.next(0).await.map(|d| d.id), Some(2));
        assert!(dispatch.next(0).await.is_none());
    }
}
