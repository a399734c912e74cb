//! What planning and runs share: the pace, the clock, the sleeper and the cancellation token.

use std::sync::Arc;
use std::time::Duration;

use sessions_client::{Sleeper, TokioSleeper};
use tokio_util::sync::CancellationToken;

use crate::api::Call;
use crate::pace::{Clock, Pacer, Pacing, SystemClock};
use crate::Error;

/// Pace, time and cancellation for one planning or run. Cheap to clone; clones share the
/// cancellation token.
#[derive(Debug, Clone)]
pub struct Context {
    /// How fast calls go.
    pub pacing: Pacing,
    /// Tells the time (injected in tests).
    pub clock: Arc<dyn Clock>,
    /// Waits (injected in tests, which record instead of sleeping).
    pub sleeper: Arc<dyn Sleeper>,
    /// Cancel to stop after the call in flight (Ctrl-C, a console's Stop button).
    pub cancel: CancellationToken,
}

impl Context {
    /// Real clock and sleeper, a fresh cancellation token.
    pub fn new(pacing: Pacing) -> Context {
        Context {
            pacing,
            clock: Arc::new(SystemClock),
            sleeper: Arc::new(TokioSleeper),
            cancel: CancellationToken::new(),
        }
    }
}

/// A pacer bound to a context: waits for each call's slot, giving up when cancelled.
#[derive(Debug)]
pub(crate) struct Gate<'a> {
    cx: &'a Context,
    pacer: Pacer,
}

impl<'a> Gate<'a> {
    pub(crate) fn new(cx: &'a Context) -> Gate<'a> {
        Gate {
            cx,
            pacer: Pacer::new(cx.pacing),
        }
    }

    /// Waits until `call` may go. `Err(Cancelled)` when the token is (or gets) cancelled first.
    pub(crate) async fn admit(&mut self, call: Call) -> Result<(), Error> {
        if self.cx.cancel.is_cancelled() {
            return Err(Error::Cancelled);
        }
        let wait = self
            .pacer
            .reserve(call.name(), call.tier(), self.cx.clock.now());
        if wait > Duration::ZERO {
            tokio::select! {
                () = self.cx.sleeper.sleep(wait) => {}
                () = self.cx.cancel.cancelled() => return Err(Error::Cancelled),
            }
        }
        Ok(())
    }
}
