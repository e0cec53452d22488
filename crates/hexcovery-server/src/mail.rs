//! Invite emails over SMTP: the outbox is a durable queue, and this mailer sends its pending
//! messages through the configured mail server, retrying transient failures with back-off.
//! Without a mail server nothing is sent and admins read the messages in the outbox.

use crate::config::SmtpConfig;
use crate::retry::{ATTEMPT_TIMEOUT, next_attempt};
use crate::state::AppState;
use anyhow::Context as _;
use hexcovery_meta::{DeliveryResult, MetaError, OutboxMessage};
use lettre::message::Mailbox;
use lettre::message::header::ContentType;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use std::time::Duration;
use tokio::sync::watch;

/// Messages taken from the queue per tick.
const BATCH: u32 = 20;

/// Sends outbox messages through one mail server.
pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    /// The server without credentials, for logs.
    server: String,
}

/// Why one attempt failed, and whether trying again can help.
#[derive(Debug)]
struct SendError {
    message: String,
    /// The server refused the message (5xx) or it can never be built: do not retry.
    permanent: bool,
    /// The server could not be reached or spoke no SMTP: later messages would fail alike.
    unreachable: bool,
}

impl Mailer {
    /// Checks the configuration (URL, TLS mode, `From` mailbox); reaching the server is left
    /// to the first message, so a mail server that is down does not stop this one starting.
    pub fn new(config: &SmtpConfig) -> anyhow::Result<Self> {
        let url = reqwest::Url::parse(&config.url)
            .ok()
            .filter(|u| matches!(u.scheme(), "smtp" | "smtps") && u.host_str().is_some())
            .context(
                "--smtp-url must look like smtp://host:25, smtp://user:password@host:587?tls=required \
                 or smtps://user:password@host:465",
            )?;
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(&config.url)
            .map_err(|e| anyhow::anyhow!("--smtp-url is not usable: {e}"))?
            .timeout(Some(ATTEMPT_TIMEOUT))
            .build();
        let from: Mailbox = config.from.parse().map_err(|e| {
            anyhow::anyhow!(
                "--smtp-from {:?} is not a mailbox ({e}); use an address or \"Name <address>\"",
                config.from
            )
        })?;
        let tls = match (url.scheme(), url.query_pairs().find(|(k, _)| k == "tls")) {
            ("smtps", _) => "TLS",
            (_, Some((_, mode))) if mode == "required" => "STARTTLS required",
            (_, Some(_)) => "STARTTLS when offered",
            _ => "no TLS",
        };
        let server = format!(
            "{}:{} ({tls})",
            url.host_str().unwrap_or_default(),
            url.port()
                .unwrap_or(if url.scheme() == "smtps" { 465 } else { 25 })
        );
        Ok(Self {
            transport,
            from,
            server,
        })
    }

    /// Where mail goes, without credentials.
    pub fn server(&self) -> &str {
        &self.server
    }

    async fn send(&self, message: &OutboxMessage) -> Result<(), SendError> {
        let permanent = |message: String| SendError {
            message,
            permanent: true,
            unreachable: false,
        };
        let to: Mailbox = message
            .recipient
            .parse()
            .map_err(|e| permanent(format!("the recipient is not a mailbox: {e}")))?;
        let email = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(&message.subject)
            // The outbox id as Message-ID: if a retry repeats a message whose first
            // acceptance was lost, the recipient's mail system can tell it is the same one.
            .message_id(Some(format!("<{}@hexcovery>", message.id)))
            .header(ContentType::TEXT_PLAIN)
            .body(message.body.clone())
            .map_err(|e| permanent(format!("the message cannot be built: {e}")))?;
        self.transport
            .send(email)
            .await
            .map(drop)
            .map_err(|e| SendError {
                message: e.to_string(),
                permanent: e.is_permanent(),
                unreachable: !e.is_response(),
            })
    }
}

/// Sends due messages every second until `stop`.
pub async fn run(state: AppState, mailer: std::sync::Arc<Mailer>, stop: watch::Receiver<bool>) {
    tracing::info!(
        server = mailer.server(),
        "invite emails go through a mail server"
    );
    crate::every(Duration::from_secs(1), stop, || send_due(&state, &mailer)).await;
}

async fn send_due(state: &AppState, mailer: &Mailer) {
    let due = match state
        .meta
        .due_outbox_messages(state.clock.now(), BATCH)
        .await
    {
        Ok(due) => due,
        Err(error) => return tracing::error!(%error, "listing messages to send failed"),
    };
    for message in due {
        let outcome = mailer.send(&message).await;
        let now = state.clock.now();
        let unreachable = outcome.as_ref().is_err_and(|e| e.unreachable);
        let result = match outcome {
            Ok(()) => {
                tracing::info!(message = %message.id, org = %message.org_id, "invite email sent");
                DeliveryResult::Delivered
            }
            Err(error) => {
                let attempts = message.attempts + 1;
                tracing::warn!(message = %message.id, org = %message.org_id, attempts, error = %error.message, "sending an email failed");
                match next_attempt(attempts, now) {
                    Some(at) if !error.permanent => DeliveryResult::Retry {
                        error: error.message,
                        at,
                    },
                    _ => DeliveryResult::Failed {
                        error: error.message,
                    },
                }
            }
        };
        match state
            .meta
            .record_outbox_attempt(message.id, result, now)
            .await
        {
            Ok(()) => {}
            // Its invite was revoked while this attempt ran; the cancellation stands.
            Err(MetaError::NotFound(_)) => {
                tracing::info!(message = %message.id, "message cancelled while being sent");
            }
            Err(error) => {
                tracing::error!(message = %message.id, %error, "recording a sending attempt failed");
            }
        }
        // The rest of the batch would wait on the same dead server; they are tried next tick.
        if unreachable {
            break;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(url: &str, from: &str) -> SmtpConfig {
        SmtpConfig {
            url: url.into(),
            from: from.into(),
        }
    }

    // The transport's connection pool lives on the Tokio runtime, as in the server.
    #[tokio::test]
    async fn accepts_the_three_connection_kinds() {
        let from = "Hexcovery <hexcovery@example.com>";
        let plain = Mailer::new(&config("smtp://127.0.0.1:2525", from)).unwrap();
        assert_eq!(plain.server(), "127.0.0.1:2525 (no TLS)");
        let starttls = Mailer::new(&config(
            "smtp://user:secret@mail.example.com:587?tls=required",
            from,
        ))
        .unwrap();
        assert_eq!(
            starttls.server(),
            "mail.example.com:587 (STARTTLS required)"
        );
        let tls = Mailer::new(&config("smtps://user:secret@mail.example.com", from)).unwrap();
        assert_eq!(tls.server(), "mail.example.com:465 (TLS)");
        assert!(!format!("{:?}", config("smtps://u:secret@h", from)).contains("secret"));
    }

    #[tokio::test]
    async fn refuses_other_urls_and_bad_senders() {
        let from = "hexcovery@example.com";
        for url in [
            "http://mail.example.com",
            "mail.example.com:25",
            "smtp://",
            "smtp://mail.example.com?tls=sometimes",
        ] {
            let error = Mailer::new(&config(url, from)).err().unwrap().to_string();
            assert!(error.contains("--smtp-url"), "{url}: {error}");
        }
        let error = Mailer::new(&config("smtp://localhost", "not an address"))
            .err()
            .unwrap()
            .to_string();
        assert!(error.contains("--smtp-from"), "{error}");
    }
}
