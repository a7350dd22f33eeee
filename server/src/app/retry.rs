//! Trying a change again when another writer got in first. Every write of an issue, a room's log
//! or an appraisal checks that what it read is still what is stored (`StoreError::Stale`
//! otherwise); the use-case then reads again and asks the domain again, a few times at most.

use crate::error::{AppError, AppResult};
use crate::store::{StoreError, StoreResult};
use hehe_protocol::ErrorCode;

/// What one attempt came to.
pub enum Attempt<T> {
    Done(T),
    /// What the attempt read has changed since: read again, decide again.
    Stale,
}

/// An attempt's end from a store write's result: a stale write is tried again, any other error
/// ends the use-case.
pub fn written<T>(result: StoreResult<T>) -> AppResult<Attempt<T>> {
    match result {
        Ok(done) => Ok(Attempt::Done(done)),
        Err(StoreError::Stale) => Ok(Attempt::Stale),
        Err(e) => Err(e.into()),
    }
}

/// Runs `attempt` until it is done or fails, at most `attempts` times; `None` when every one of
/// them found what it read changed.
///
/// A closure that returns a future (`move || async move { … }`, capturing references) rather
/// than an async closure: the future of an async closure called in a generic function is not
/// proven `Send` for every lifetime, which a task spawned on the runtime needs.
pub async fn on_stale<T, Fut>(
    attempts: usize,
    mut attempt: impl FnMut() -> Fut,
) -> AppResult<Option<T>>
where
    Fut: Future<Output = AppResult<Attempt<T>>>,
{
    for _ in 0..attempts {
        if let Attempt::Done(done) = attempt().await? {
            return Ok(Some(done));
        }
    }
    Ok(None)
}

/// The answer when every attempt was overtaken: the client may retry the same request.
pub fn busy(message: &'static str) -> AppError {
    AppError::new(ErrorCode::RequestInProgress, message)
}

#[cfg(test)]
mod tests {
    use super::*;

    use std::cell::Cell;

    #[tokio::test]
    async fn tries_again_while_stale_and_no_more_than_allowed() {
        let calls = &Cell::new(0);
        let done = on_stale(5, move || async move {
            calls.set(calls.get() + 1);
            Ok(if calls.get() < 3 {
                Attempt::Stale
            } else {
                Attempt::Done(calls.get())
            })
        })
        .await
        .unwrap();
        assert_eq!(done, Some(3));

        calls.set(0);
        let never = on_stale(4, move || async move {
            calls.set(calls.get() + 1);
            AppResult::Ok(Attempt::<()>::Stale)
        })
        .await
        .unwrap();
        assert_eq!((never, calls.get()), (None, 4));
    }

    #[tokio::test]
    async fn an_error_ends_at_once() {
        let calls = &Cell::new(0);
        let failed = on_stale(5, move || async move {
            calls.set(calls.get() + 1);
            AppResult::<Attempt<()>>::Err(AppError::not_found("issue"))
        })
        .await;
        assert_eq!(failed.unwrap_err().code, ErrorCode::NotFound);
        assert_eq!(calls.get(), 1);
    }

    #[test]
    fn store_results_become_attempts() {
        assert!(matches!(written(Ok(1)), Ok(Attempt::Done(1))));
        assert!(matches!(
            written::<()>(Err(StoreError::Stale)),
            Ok(Attempt::Stale)
        ));
        let corrupt = written::<()>(Err(StoreError::Corrupt("x".into())));
        assert_eq!(corrupt.err().map(|e| e.code), Some(ErrorCode::Internal));
    }
}
