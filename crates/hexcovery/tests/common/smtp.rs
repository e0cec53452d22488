//! A small SMTP server for tests, speaking just enough of RFC 5321 for the server's mailer:
//! every accepted message is handed to the test through a channel.

use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;
use tokio::sync::mpsc;

/// One message as the SMTP server received it.
#[derive(Debug)]
pub struct Received {
    /// The `AUTH PLAIN` argument, if the client authenticated.
    pub auth: Option<String>,
    pub mail_from: String,
    pub rcpt_to: Vec<String>,
    /// Headers and body, as sent (dot-stuffing undone).
    pub data: String,
}

impl Received {
    pub fn header(&self, name: &str) -> String {
        let prefix = format!("{name}: ");
        self.data
            .lines()
            .take_while(|l| !l.is_empty())
            .find_map(|l| l.strip_prefix(&prefix))
            .unwrap_or_else(|| panic!("no {name} header in\n{}", self.data))
            .to_string()
    }

    /// The body, decoded from its transfer encoding.
    pub fn body(&self) -> String {
        let body = self.data.split_once("\r\n\r\n").expect("headers end").1;
        match self.header("Content-Transfer-Encoding").as_str() {
            "7bit" | "8bit" => body.to_string(),
            "quoted-printable" => String::from_utf8(
                quoted_printable::decode(body, quoted_printable::ParseMode::Strict).unwrap(),
            )
            .unwrap(),
            other => panic!("unexpected transfer encoding {other}"),
        }
    }
}

/// How the SMTP server answers `RCPT TO`.
#[derive(Clone, Copy)]
pub enum Recipients {
    Accept,
    Refuse,
}

/// An SMTP server on `listener` speaking just enough of RFC 5321 (EHLO, AUTH PLAIN, MAIL,
/// RCPT, DATA, RSET, NOOP, QUIT) for one client; every accepted message goes to the channel.
pub fn fake_smtp(
    listener: TcpListener,
    recipients: Recipients,
) -> mpsc::UnboundedReceiver<Received> {
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            let tx = tx.clone();
            tokio::spawn(async move {
                let (read, mut write) = socket.into_split();
                let mut lines = BufReader::new(read).lines();
                let mut reply = async |text: &str| {
                    write
                        .write_all(format!("{text}\r\n").as_bytes())
                        .await
                        .unwrap();
                };
                reply("220 fake.test ESMTP").await;
                let (mut auth, mut from, mut to) = (None, String::new(), Vec::new());
                while let Ok(Some(line)) = lines.next_line().await {
                    let upper = line.to_ascii_uppercase();
                    if upper.starts_with("EHLO") {
                        reply("250-fake.test\r\n250-AUTH PLAIN\r\n250 8BITMIME").await;
                    } else if let Some(credentials) = line.strip_prefix("AUTH PLAIN ") {
                        auth = Some(credentials.to_string());
                        reply("235 2.7.0 accepted").await;
                    } else if upper.starts_with("MAIL FROM:") {
                        from = line[10..].to_string();
                        to.clear();
                        reply("250 2.1.0 ok").await;
                    } else if upper.starts_with("RCPT TO:") {
                        match recipients {
                            Recipients::Accept => {
                                to.push(line[8..].to_string());
                                reply("250 2.1.5 ok").await;
                            }
                            Recipients::Refuse => reply("550 5.1.1 no such user here").await,
                        }
                    } else if upper == "DATA" {
                        reply("354 end with <CRLF>.<CRLF>").await;
                        let mut data = String::new();
                        while let Ok(Some(line)) = lines.next_line().await {
                            if line == "." {
                                break;
                            }
                            data.push_str(line.strip_prefix('.').unwrap_or(&line));
                            data.push_str("\r\n");
                        }
                        let _ = tx.send(Received {
                            auth: auth.clone(),
                            mail_from: from.clone(),
                            rcpt_to: to.clone(),
                            data,
                        });
                        reply("250 2.0.0 queued").await;
                    } else if upper == "QUIT" {
                        reply("221 2.0.0 bye").await;
                        return;
                    } else {
                        // RSET, NOOP and anything else this server tolerates.
                        reply("250 2.0.0 ok").await;
                    }
                }
            });
        }
    });
    rx
}

pub async fn next_mail(inbox: &mut mpsc::UnboundedReceiver<Received>) -> Received {
    tokio::time::timeout(Duration::from_secs(30), inbox.recv())
        .await
        .expect("the server sends the email")
        .expect("the SMTP server is running")
}
