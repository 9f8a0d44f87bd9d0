//! A view's own loading with no effect or message of its own: a `Job` is a
//! named async job a view builds in its file; `Effect::Load` runs it against
//! the `Env`, and its result comes back as `Msg::Data` to that view's `on_data`.
use std::any::Any;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use crate::actions::Actions;
use crate::domain::Timestamp;
use crate::store::Store;

/// What effects run against: the store, the shared actions, the findings
/// thresholds, and the clock (fixed in tests).
#[derive(Clone)]
pub struct Env {
    pub store: Store,
    pub actions: Actions,
    pub thresholds: crate::config::Thresholds,
    pub clock: fn() -> Timestamp,
}

/// What a job answers; the view that built it downcasts it to its own type.
pub type JobData = Box<dyn Any + Send>;

type Run = Arc<dyn Fn(Env) -> Pin<Box<dyn Future<Output = JobData> + Send>> + Send + Sync>;

/// A view's named async job. Shared (`Arc`), so an `Effect` holding it stays `Clone`.
#[derive(Clone)]
pub struct Job {
    /// The view whose `on_data` gets the answer: its `Pane::NAME`.
    pub view: &'static str,
    /// What the job loads, for Debug and equality in tests.
    pub label: &'static str,
    run: Run,
}

impl Job {
    /// A job for `view` that runs `run` against the env; its output lands in that view's `on_data`.
    pub fn new<T, Fut, F>(view: &'static str, label: &'static str, run: F) -> Job
    where
        T: Any + Send,
        Fut: Future<Output = T> + Send + 'static,
        F: Fn(Env) -> Fut + Send + Sync + 'static,
    {
        let run: Run = Arc::new(move |env| {
            let fut = run(env);
            Box::pin(async move { Box::new(fut.await) as JobData })
        });
        Job { view, label, run }
    }

    /// Runs the job to its answer.
    pub async fn run(self, env: Env) -> JobData {
        (self.run)(env).await
    }
}

impl std::fmt::Debug for Job {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Job({}: {})", self.view, self.label)
    }
}

impl PartialEq for Job {
    fn eq(&self, other: &Job) -> bool {
        self.view == other.view && self.label == other.label
    }
}
