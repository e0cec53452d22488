//! Invite emails over SMTP: the outbox is a durable queue, and this mailer sends its pending
//! messages through the configured mail server, retrying transient failures with back-off.
//! Without a mail server nothing is sent and admins read the messages in the outbox.

use crate::config::SmtpConfig;
use crate::retry::{ATTEMPT_TIMEOUT, next_attempt};
use crate::state::AppState;
use anyhow::Context as _;
use chrono::TimeDelta;
use hexcovery_meta::{DeliveryResult, OutboxMessage};
use lettre::message::Mailbox;
use lettre::message::MultiPart;
use lettre::message::header::ContentType;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use std::time::Duration;
use tokio::sync::watch;

/// Messages taken from the queue per tick.
const BATCH: u32 = 20;

/// How long one message may take end to end: connecting, TLS, AUTH and DATA. (The
/// transport's own timeout covers only the connection; a server that accepts and then goes
/// silent must not hold the mailer.)
const SEND_TIMEOUT: Duration = Duration::from_secs(30);

/// How long a mailer's claim on a message lasts: longer than any attempt, so a live mailer's
/// message is never taken over; after a crash the message is due again when it runs out.
const CLAIM: TimeDelta = TimeDelta::minutes(2);

/// Sends outbox messages through one mail server.
pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    /// The server without credentials, for logs.
    server: String,
}

/// Why one attempt failed, and whether trying again can help.
#[derive(Debug, PartialEq, Eq)]
struct SendError {
    /// What the org's admins read in the outbox: what happened and the SMTP code, never the
    /// server's own words (they name the operator's infrastructure).
    summary: String,
    /// The mail server refused this message or recipient for good: do not retry.
    permanent: bool,
    /// The server is unreachable or refuses this server's settings: later messages would
    /// fail alike, so the batch stops.
    unreachable: bool,
}

impl SendError {
    fn permanent(summary: impl Into<String>) -> Self {
        Self {
            summary: summary.into(),
            permanent: true,
            unreachable: false,
        }
    }

    fn server_down(summary: impl Into<String>) -> Self {
        Self {
            summary: summary.into(),
            permanent: false,
            unreachable: true,
        }
    }

    /// Sorts a failure by SMTP reply code: a refused recipient or message (501, 550-554) fails
    /// the message; other 5xx (530/535 authentication, a refused sender or command) are the
    /// operator's to fix, so messages wait and retry rather than fail; 421 means the server is
    /// not taking mail now; other 4xx ask to retry this message later.
    fn classify(code: Option<u16>, timed_out: bool) -> Self {
        match code {
            Some(code @ (550..=554 | 501)) => {
                Self::permanent(format!("the mail server refused the message ({code})"))
            }
            Some(code @ 500..=599) => Self::server_down(format!(
                "the mail server refused this server's mail settings ({code}); an operator must check --smtp-url and --smtp-from"
            )),
            Some(code @ 421) => {
                Self::server_down(format!("the mail server is not taking mail now ({code})"))
            }
            Some(code) => Self {
                summary: format!("the mail server asked to try again later ({code})"),
                permanent: false,
                unreachable: false,
            },
            None if timed_out => Self::server_down("the mail server did not answer in time"),
            None => Self::server_down("the mail server could not be reached"),
        }
    }
}

impl Mailer {
    /// Checks the configuration (URL, TLS mode, `From` mailbox); reaching the server is left
    /// to the first message, so a mail server that is down does not stop this one starting.
    pub fn new(config: &SmtpConfig) -> anyhow::Result<Self> {
        let url = url::Url::parse(&config.url)
            .ok()
            .filter(|u| matches!(u.scheme(), "smtp" | "smtps") && u.host_str().is_some())
            .context(
                "--smtp-url must look like smtp://host:25, smtp://user:password@host:587?tls=required \
                 or smtps://user:password@host:465",
            )?;
        let tls_mode = url
            .query_pairs()
            .find(|(k, _)| k == "tls")
            .map(|(_, mode)| mode.into_owned());
        let (tls, default_port) = match (url.scheme(), tls_mode.as_deref()) {
            ("smtps", _) => ("TLS", 465),
            (_, Some("required")) => ("STARTTLS required", 587),
            (_, Some(_)) => ("STARTTLS when offered", 587),
            _ => ("no TLS", 25),
        };
        // A password without TLS crosses the network in clear, unless the relay is on this
        // machine.
        let encrypted = url.scheme() == "smtps" || tls_mode.as_deref() == Some("required");
        let loopback = match url.host() {
            Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
            Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
            // smtp: is not a "special" scheme, so an IPv4 address stays an opaque name.
            Some(url::Host::Domain(name)) => {
                name == "localhost"
                    || name
                        .parse::<std::net::IpAddr>()
                        .is_ok_and(|ip| ip.is_loopback())
            }
            None => false,
        };
        if url.password().is_some() && !encrypted && !loopback {
            anyhow::bail!(
                "--smtp-url has a password but does not require TLS, so the password would cross \
                 the network in clear: use smtps://… or add ?tls=required"
            );
        }
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
        let server = format!(
            "{}:{} ({tls})",
            url.host_str().unwrap_or_default(),
            url.port().unwrap_or(default_port)
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
        let to: Mailbox = message
            .recipient
            .parse()
            .map_err(|_| SendError::permanent("the recipient is not a mail address"))?;
        let mut builder = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(&message.subject)
            // The outbox id as Message-ID (or the alert thread's id): if a retry repeats a
            // message whose first acceptance was lost, the recipient's mail system can tell
            // it is the same one.
            .message_id(Some(
                message
                    .message_id
                    .clone()
                    .unwrap_or_else(|| format!("<{}@hexcovery>", message.id)),
            ));
        if let Some(parent) = &message.in_reply_to {
            // A resolved alert answers its firing mail, so mail clients show one thread.
            builder = builder
                .in_reply_to(parent.clone())
                .references(parent.clone());
        }
        let built = match &message.html_body {
            Some(html) => builder.multipart(MultiPart::alternative_plain_html(
                message.body.clone(),
                html.clone(),
            )),
            None => builder
                .header(ContentType::TEXT_PLAIN)
                .body(message.body.clone()),
        };
        let email = built.map_err(|_| SendError::permanent("the message cannot be built"))?;
        let sent = tokio::time::timeout(SEND_TIMEOUT, self.transport.send(email)).await;
        let error = match sent {
            Ok(Ok(_)) => return Ok(()),
            Ok(Err(error)) => error,
            Err(_) => {
                tracing::warn!(message = %message.id, server = %self.server, "the mail server did not finish in {} s", SEND_TIMEOUT.as_secs());
                return Err(SendError::classify(None, true));
            }
        };
        // The server's own words (and I/O or TLS details) go to the operator's log only.
        tracing::warn!(message = %message.id, server = %self.server, %error, "sending an email failed");
        Err(SendError::classify(
            error.status().map(u16::from),
            error.is_timeout(),
        ))
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
    let now = state.clock.now();
    let due = match state.meta.due_outbox_messages(now, BATCH).await {
        Ok(due) => due,
        Err(error) => return tracing::error!(%error, "listing messages to send failed"),
    };
    for message in due {
        // Claimed first: one mailer per message, and a failure to record the outcome below
        // cannot make the message go out again before the claim runs out.
        let now = state.clock.now();
        match state
            .meta
            .claim_outbox_message(message.id, now, now + CLAIM)
            .await
        {
            Ok(true) => {}
            Ok(false) => continue, // sent, cancelled or claimed meanwhile
            Err(error) => return tracing::error!(%error, "claiming a message to send failed"),
        }
        let outcome = mailer.send(&message).await;
        let now = state.clock.now();
        let unreachable = outcome.as_ref().is_err_and(|e| e.unreachable);
        let result = match outcome {
            Ok(()) => {
                tracing::info!(message = %message.id, org = %message.org_id, "invite email sent");
                DeliveryResult::Delivered
            }
            Err(error) => match next_attempt(message.attempts + 1, now) {
                Some(at) if !error.permanent => DeliveryResult::Retry {
                    error: error.summary,
                    at,
                },
                _ => DeliveryResult::Failed {
                    error: error.summary,
                },
            },
        };
        let delivered = result == DeliveryResult::Delivered;
        if let Err(error) = state
            .meta
            .record_outbox_attempt(message.id, result, now)
            .await
        {
            // The claim stands until it runs out; then the message is due again.
            return tracing::error!(message = %message.id, %error, "recording a sending attempt failed");
        }
        // The recipient has the invite link now: the outbox keeps the message without it.
        if delivered
            && message.invite_id.is_some()
            && let Some(redacted) = redact_invite_tokens(&message.body)
            && let Err(error) = state
                .meta
                .redact_sent_outbox_body(message.id, &redacted)
                .await
        {
            tracing::error!(message = %message.id, %error, "removing a sent invite's token from the outbox failed");
        }
        // The rest of the batch would wait on the same dead server; they are tried next tick.
        if unreachable {
            break;
        }
    }
}

/// What stands for an invite token in a sent message kept in the outbox.
pub const REDACTED_TOKEN: &str = "[removed once sent]";

/// `body` with every invite token (`hxi_` and its URL-safe characters) replaced by
/// `REDACTED_TOKEN`; `None` if it holds none.
fn redact_invite_tokens(body: &str) -> Option<String> {
    let prefix = crate::routes::invites::INVITE_TOKEN_PREFIX;
    if !body.contains(prefix) {
        return None;
    }
    let mut out = String::with_capacity(body.len());
    let mut rest = body;
    while let Some(at) = rest.find(prefix) {
        out.push_str(&rest[..at]);
        let token = &rest[at + prefix.len()..];
        let end = token
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '_'))
            .unwrap_or(token.len());
        out.push_str(REDACTED_TOKEN);
        rest = &token[end..];
    }
    out.push_str(rest);
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invite_tokens_are_redacted_and_the_rest_kept() {
        let body = "Ann invited you.\n\nAccept the invite:\nhttp://h/invite?token=hxi_Ab-9_z\n\nThe link works once.";
        assert_eq!(
            redact_invite_tokens(body).unwrap(),
            "Ann invited you.\n\nAccept the invite:\nhttp://h/invite?token=[removed once sent]\n\nThe link works once."
        );
        assert_eq!(
            redact_invite_tokens("hxi_a and hxi_b.").unwrap(),
            "[removed once sent] and [removed once sent]."
        );
        assert_eq!(redact_invite_tokens("no token here"), None);
    }

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
        let plain = Mailer::new(&config("smtp://relay.example.com", from)).unwrap();
        assert_eq!(plain.server(), "relay.example.com:25 (no TLS)");
        let local = Mailer::new(&config("smtp://user:secret@127.0.0.1:2525", from)).unwrap();
        assert_eq!(
            local.server(),
            "127.0.0.1:2525 (no TLS)",
            "a password on loopback"
        );
        let starttls = Mailer::new(&config(
            "smtp://user:secret@mail.example.com:587?tls=required",
            from,
        ))
        .unwrap();
        assert_eq!(
            starttls.server(),
            "mail.example.com:587 (STARTTLS required)"
        );
        let default_port =
            Mailer::new(&config("smtp://mail.example.com?tls=opportunistic", from)).unwrap();
        assert_eq!(
            default_port.server(),
            "mail.example.com:587 (STARTTLS when offered)"
        );
        let tls = Mailer::new(&config("smtps://user:secret@mail.example.com", from)).unwrap();
        assert_eq!(tls.server(), "mail.example.com:465 (TLS)");
        assert!(!format!("{:?}", config("smtps://u:secret@h", from)).contains("secret"));
    }

    #[test]
    fn failures_are_sorted_by_reply_code() {
        let sorted = |code, timed_out| {
            let e = SendError::classify(code, timed_out);
            (e.permanent, e.unreachable)
        };
        // A refused recipient or message: that message fails, the next may go.
        assert_eq!(sorted(Some(550), false), (true, false));
        assert_eq!(sorted(Some(553), false), (true, false));
        // Credentials or sender refused: every message would fail; wait for the operator.
        assert_eq!(sorted(Some(535), false), (false, true));
        assert_eq!(sorted(Some(530), false), (false, true));
        // Greylisting: this message later, the next one now.
        assert_eq!(sorted(Some(451), false), (false, false));
        assert_eq!(sorted(Some(421), false), (false, true));
        assert_eq!(sorted(None, true), (false, true));
        assert_eq!(sorted(None, false), (false, true));
        assert!(
            SendError::classify(Some(535), false)
                .summary
                .contains("--smtp-url")
        );
    }

    #[tokio::test]
    async fn refuses_other_urls_and_bad_senders() {
        let from = "hexcovery@example.com";
        for url in [
            "http://mail.example.com",
            "mail.example.com:25",
            "smtp://",
            "smtp://mail.example.com?tls=sometimes",
            "smtp://user:secret@mail.example.com:587",
            "smtp://user:secret@mail.example.com:587?tls=opportunistic",
        ] {
            let error = Mailer::new(&config(url, from)).err().unwrap().to_string();
            assert!(error.contains("--smtp-url"), "{url}: {error}");
            assert!(!error.contains("secret"), "{url}: {error}");
        }
        let error = Mailer::new(&config("smtp://localhost", "not an address"))
            .err()
            .unwrap()
            .to_string();
        assert!(error.contains("--smtp-from"), "{error}");
    }
}
