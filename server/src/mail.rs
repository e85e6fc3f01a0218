//! Delivering the notice outbox over SMTP (`lettre`): a background thread sends what is due,
//! records each attempt, backs off after a refusal, and runs the daily scan (reminders, actions
//! due and overdue) every hour. Nothing is lost: a notice stays queued in the database until a
//! server accepts it, through restarts.

use std::time::Duration;

use anyhow::Context;
use lettre::message::{Mailbox, header::ContentType};
use lettre::{Message, SmtpTransport, Transport};

use crate::service::notices;
use crate::state::AppState;

/// How often the outbox is looked at.
const POLL: Duration = Duration::from_secs(2);
/// How often the daily scan runs (it writes each reminder once, so more often is harmless).
const SCAN_EVERY: Duration = Duration::from_secs(3600);

/// An SMTP connection as configured.
pub struct Mailer {
    transport: SmtpTransport,
    from: Mailbox,
    public_url: String,
}

impl Mailer {
    /// A mailer for `smtp_url` (`smtp://host:port`, `smtps://…`, `smtp://user:pass@host?tls=required`).
    pub fn new(smtp_url: &str, from: &str, public_url: &str) -> anyhow::Result<Mailer> {
        let transport = SmtpTransport::from_url(smtp_url)
            .context("reading --smtp-url")?
            .timeout(Some(Duration::from_secs(20)))
            .build();
        let from: Mailbox = from
            .parse()
            .context("reading the sender address (--mail-from)")?;
        Ok(Mailer {
            transport,
            from,
            public_url: public_url.trim_end_matches('/').to_owned(),
        })
    }

    /// Sends one notice; the error is the server's answer, for the portal to show.
    pub fn send(&self, to: &str, subject: &str, body: &str, link: &str) -> Result<(), String> {
        let to: Mailbox = to
            .parse()
            .map_err(|e| format!("the address is not one a mail server takes: {e}"))?;
        let text = format!(
            "{body}\n\n{}{link}\n\nYou receive this because of your notice settings in Accredit. To change them, sign in and open Your account.\n",
            self.public_url
        );
        let message = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(subject)
            .header(ContentType::TEXT_PLAIN)
            .body(text)
            .map_err(|e| format!("building the message: {e}"))?;
        self.transport
            .send(&message)
            .map(|_| ())
            .map_err(|e| format!("{e}"))
    }
}

/// Sends every notice due now; returns how many were attempted.
pub fn send_due(s: &AppState, mailer: &Mailer) -> anyhow::Result<usize> {
    let due = notices::due(s, chrono::Utc::now(), 50).map_err(|e| anyhow::anyhow!("{e}"))?;
    for (id, to, subject, body, link, attempts) in &due {
        let outcome = mailer.send(to, subject, body, link);
        if let Err(why) = &outcome {
            log_line(&format!(
                "notice {id} not sent (attempt {}): {why}",
                attempts + 1
            ));
        }
        notices::record_attempt(s, *id, attempts + 1, outcome)
            .map_err(|e| anyhow::anyhow!("{e}"))?;
    }
    Ok(due.len())
}

/// Logs a line about a notice: ids and the server's answer only, never addresses or text.
fn log_line(line: &str) {
    tracing::warn!(target: "accredit::notices", "{line}");
}

/// Starts the background sender, if SMTP is configured, and the hourly scan either way (so the
/// reminders are queued, visible in the portal, even before email is set up).
pub fn start(s: &AppState) -> anyhow::Result<()> {
    let mailer = match &s.config.smtp_url {
        Some(url) => Some(Mailer::new(url, &s.config.mail_from, &s.config.public_url)?),
        None => None,
    };
    let state = s.clone();
    std::thread::Builder::new()
        .name("notices".into())
        .spawn(move || {
            let mut last_scan: Option<std::time::Instant> = None;
            loop {
                if last_scan.is_none_or(|t| t.elapsed() >= SCAN_EVERY) {
                    if let Err(e) = notices::scan(&state) {
                        log_line(&format!("the daily notice scan failed: {e}"));
                    }
                    last_scan = Some(std::time::Instant::now());
                }
                if let Some(m) = &mailer
                    && let Err(e) = send_due(&state, m)
                {
                    log_line(&format!("sending notices failed: {e:#}"));
                }
                std::thread::sleep(POLL);
            }
        })
        .context("starting the notice sender")?;
    Ok(())
}
