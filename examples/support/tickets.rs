//! Saving the ticket a push carries (shared by the examples that receive
//! `suite_ticket` and `component_verify_ticket` pushes: echo, suite,
//! open_platform).

use axum::http::StatusCode;
use wecom_callback::tickets::{SaveOutcome, TicketStore};
use wecom_callback::{CallbackContext, Message};

/// Saves the ticket a push carries, if any: only from the kind that
/// delivers it (a suite's instruction callback, an Open Platform
/// component), for the authenticated receive id, and not from the future
/// (`CallbackContext::ticket_push`). Returns whether a newer ticket was
/// stored. A push that is authentic but not a ticket to keep is logged and
/// answered as usual. A store failure is a 503: it releases the dedup
/// claim and makes the platform deliver the push again.
pub(crate) async fn save_ticket(
    tickets: &dyn TicketStore,
    context: &CallbackContext,
    message: &Message,
) -> Result<bool, StatusCode> {
    let push = match context.ticket_push(message) {
        Ok(Some(push)) => push,
        Ok(None) => return Ok(false),
        Err(refused) => {
            tracing::warn!(kind = %context.kind, app = %context.app, %refused, "ticket push refused");
            return Ok(false);
        }
    };
    match tickets
        .save(&push.app, push.kind, &push.ticket, push.issued_at)
        .await
    {
        Ok(SaveOutcome::Saved) => {
            tracing::info!(
                ticket_app = %push.app,
                ticket_kind = %push.kind,
                issued_at = push.issued_at,
                "ticket saved"
            );
            Ok(true)
        }
        Ok(SaveOutcome::Ignored { stored_issued_at }) => {
            tracing::info!(
                ticket_app = %push.app,
                ticket_kind = %push.kind,
                issued_at = push.issued_at,
                stored_issued_at,
                "ticket ignored: one issued at the same time or later is stored"
            );
            Ok(false)
        }
        Err(error) => {
            tracing::warn!(ticket_app = %push.app, ticket_kind = %push.kind, %error, "ticket not saved");
            Err(StatusCode::SERVICE_UNAVAILABLE)
        }
    }
}
