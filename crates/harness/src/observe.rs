//! The live recorder: watches the pods of a namespace and feeds every change to a
//! [`Recorder`] (the pure conversion into timelines, in the model). Scenario steps wait
//! on the recorder's state (each watch event wakes them), never on timers alone.
//! [`wait_for_set`] waits on any set of watched objects the same way.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::TryStreamExt;
use jiff::Timestamp;
use k8s_openapi::api::core::v1::Pod;
use kube::Api;
use kube::runtime::WatchStreamExt;
use kube::runtime::watcher;
use tokio::sync::watch;

pub use sidecar_conformance_model::recorder::Recorder;

use crate::error::WaitTimeout;

/// A constant retry interval for the pod watch (see [`LiveRecorder::start`]).
#[derive(Debug, Clone, Copy)]
struct Steady;

impl Iterator for Steady {
    type Item = Duration;

    fn next(&mut self) -> Option<Duration> {
        Some(Duration::from_millis(500))
    }
}

impl kube::runtime::utils::Backoff for Steady {
    fn reset(&mut self) {}
}

/// A recorder running in the background over one namespace.
#[derive(Debug, Clone)]
pub struct LiveRecorder {
    state: Arc<Mutex<Recorder>>,
    changes: watch::Receiver<u64>,
    task: Arc<tokio::task::JoinHandle<()>>,
}

impl LiveRecorder {
    /// Starts watching the pods of `api` (a namespaced `Api<Pod>`).
    pub fn start(api: Api<Pod>) -> LiveRecorder {
        let state = Arc::new(Mutex::new(Recorder::default()));
        let (tx, rx) = watch::channel(0u64);
        let inner = state.clone();
        let task = tokio::spawn(async move {
            // While the API server is away (a node restarted on purpose) the watch
            // retries every half second: not spinning, and not the growing back-off of
            // kube's default (up to 30 s), which would miss what the pod does in the
            // seconds after the API server is back.
            let stream = watcher(api, watcher::Config::default()).backoff(Steady);
            futures::pin_mut!(stream);
            let mut n = 0u64;
            loop {
                let event = match stream.try_next().await {
                    Ok(Some(e)) => e,
                    Ok(None) => break,
                    // The watcher recovers from errors by re-listing; keep going.
                    Err(_) => continue,
                };
                let now = Timestamp::now();
                {
                    let mut rec = inner.lock().expect("recorder lock");
                    match &event {
                        watcher::Event::Apply(p) | watcher::Event::InitApply(p) => rec.observe(p, now),
                        watcher::Event::Delete(p) => rec.deleted(p, now),
                        watcher::Event::Init | watcher::Event::InitDone => {}
                    }
                }
                n += 1;
                let _ = tx.send(n);
            }
        });
        LiveRecorder {
            state,
            changes: rx,
            task: Arc::new(task),
        }
    }

    /// A copy of the recorder's state now.
    pub fn snapshot(&self) -> Recorder {
        self.state.lock().expect("recorder lock").clone()
    }

    /// Waits until `done` holds for the recorder's state, re-checking after every watch
    /// event, for at most `deadline`.
    pub async fn wait_for(
        &self,
        what: &str,
        deadline: Duration,
        mut done: impl FnMut(&Recorder) -> bool,
    ) -> Result<Duration, WaitTimeout> {
        let start = tokio::time::Instant::now();
        let mut changes = self.changes.clone();
        // Some conditions depend on time as well as on state ("held up for 20 s"): a
        // one-second tick re-checks them when no event arrives.
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        let mut watching = true;
        let result = tokio::time::timeout(deadline, async {
            loop {
                if done(&self.state.lock().expect("recorder lock")) {
                    return;
                }
                tokio::select! {
                    changed = changes.changed(), if watching => watching = changed.is_ok(),
                    _ = tick.tick() => {}
                }
            }
        })
        .await;
        match result {
            Ok(()) => Ok(start.elapsed()),
            Err(_) => Err(WaitTimeout {
                what: what.to_string(),
                after: deadline,
                last_seen: None,
            }),
        }
    }

    /// Stops watching and returns the final state.
    pub fn stop(self) -> Recorder {
        self.task.abort();
        self.snapshot()
    }
}

/// Watches the objects `api` and `config` select and returns once `done` holds for the
/// set of them (re-checked after every event), or fails after `deadline`.
pub async fn wait_for_set<K>(
    api: Api<K>,
    config: watcher::Config,
    what: &str,
    deadline: Duration,
    done: impl Fn(&[K]) -> bool,
    describe: impl Fn(&[K]) -> String,
) -> Result<Duration, WaitTimeout>
where
    K: kube::Resource + Clone + std::fmt::Debug + serde::de::DeserializeOwned + Send + 'static,
{
    let start = tokio::time::Instant::now();
    // What the watch last saw, to say on timeout why the wait did not end.
    let seen: std::sync::Mutex<Vec<K>> = std::sync::Mutex::new(Vec::new());
    let watch = async {
        let stream = watcher(api, config);
        futures::pin_mut!(stream);
        let mut objects: BTreeMap<String, K> = BTreeMap::new();
        let mut initial: BTreeMap<String, K> = BTreeMap::new();
        while let Ok(Some(event)) = stream.try_next().await {
            match event {
                watcher::Event::Init => initial.clear(),
                watcher::Event::InitApply(o) => {
                    initial.insert(key_of(&o), o);
                }
                watcher::Event::InitDone => objects = std::mem::take(&mut initial),
                watcher::Event::Apply(o) => {
                    objects.insert(key_of(&o), o);
                }
                watcher::Event::Delete(o) => {
                    objects.remove(&key_of(&o));
                }
            }
            let all: Vec<K> = objects.values().cloned().collect();
            if done(&all) {
                return;
            }
            *seen.lock().expect("seen lock") = all;
        }
        futures::future::pending::<()>().await;
    };
    match tokio::time::timeout(deadline, watch).await {
        Ok(()) => Ok(start.elapsed()),
        Err(_) => {
            let last = seen.lock().expect("seen lock");
            Err(WaitTimeout {
                what: what.to_string(),
                after: deadline,
                last_seen: Some(if last.is_empty() {
                    "nothing".into()
                } else {
                    describe(&last)
                }),
            })
        }
    }
}

fn key_of<K: kube::Resource>(o: &K) -> String {
    format!(
        "{}/{}",
        o.meta().namespace.clone().unwrap_or_default(),
        o.meta().name.clone().unwrap_or_default()
    )
}
