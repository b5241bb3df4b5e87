//! Our outgoing messages on their way to the server: which are still in
//! tokio-xmpp's hands (queued, or sent and awaiting the server's ack), and
//! how far each got.

use std::collections::HashMap;

use futures::FutureExt;
use tokio_xmpp::stanzastream::{StanzaStage, StanzaState, StanzaToken};

use super::output::{Delivery, EventSink, SessionEvent};

/// Messages handed to the stream and not yet settled.
#[derive(Default)]
pub struct InFlight {
    tokens: HashMap<String, StanzaToken>,
}

impl InFlight {
    /// Whether the stream still has this message: queued, or sent on a
    /// stream that will resend it on resumption. A message whose stream
    /// was lost (and could not be resumed) is not in flight any more.
    pub fn holds(&mut self, id: &str) -> bool {
        let Some(token) = self.tokens.get_mut(id) else {
            return false;
        };
        let settled = is_settled(token);
        if settled {
            self.tokens.remove(id);
        }
        !settled
    }

    /// Follows a message just handed to the stream; `acks` says whether
    /// this stream confirms stanzas (XEP-0198).
    pub fn track(&mut self, id: String, token: StanzaToken, acks: bool, events: EventSink) {
        self.tokens.retain(|_, t| !is_settled(t));
        self.tokens.insert(id.clone(), token.clone());
        tokio::spawn(follow(id, token, acks, events));
    }
}

/// Acked, failed, or closed (lost with a stream that was not resumed):
/// nothing more will happen to it on the stream. Stages after `Acked` are
/// the failures, so one wait covers them all.
fn is_settled(token: &mut StanzaToken) -> bool {
    token.wait_for(StanzaStage::Acked).now_or_never().is_some()
}

/// Reports each stage one message reaches.
async fn follow(id: String, mut token: StanzaToken, acks: bool, events: EventSink) {
    let report = |state: Delivery| SessionEvent::Delivery {
        id: id.clone(),
        state,
    };
    match token.wait_for(StanzaStage::Sent).await {
        None | Some(StanzaState::Dropped) => {
            events.send(report(Delivery::Lost)).await;
            return;
        }
        Some(StanzaState::Failed { error }) => {
            let reason = format!("it could not be sent: {}", error.to_io_error());
            events.send(report(Delivery::Failed(reason))).await;
            return;
        }
        Some(_) => events.send(report(Delivery::Sent { acks })).await,
    }
    if !acks {
        // Without stream management, written to the stream is as far as
        // the server tells; a receipt, a marker or an error moves it on.
        return;
    }
    let state = match token.wait_for(StanzaStage::Acked).await {
        Some(StanzaState::Acked { .. }) => Delivery::Acked,
        Some(StanzaState::Failed { error }) => {
            Delivery::Failed(format!("it could not be sent: {}", error.to_io_error()))
        }
        // The stream was lost and not resumed: the server may not have
        // it; it goes out again on the next stream.
        _ => Delivery::Lost,
    };
    events.send(report(state)).await;
}
