//! Kore.ai's activation email: a member added with `sendEmail` (the default) is told, through the
//! SMTP relay `smtp.url`, that an account waits for them. Roster has no activation page of its
//! own: the email names the account and asks the member to contact whoever invited them, or to
//! sign in through the customer's product.

use std::time::Duration;

use lettre::{
    AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor,
    message::{Mailbox, header::ContentType},
};
use platform::Settings;
use proto::events::v1 as pb;

pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

/// Why an email was not sent, and whether trying again could help.
pub struct NotSent {
    pub error: String,
    pub permanent: bool,
}

impl Mailer {
    /// The relay `smtp.url` names, or `None` when it is unset.
    pub fn new(settings: &Settings) -> anyhow::Result<Option<Self>> {
        let Some(url) = settings.smtp_url() else { return Ok(None) };
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
            .map_err(|_| anyhow::anyhow!("smtp.url is not a usable SMTP URL"))?
            .timeout(Some(Duration::from_millis(settings.webhooks.timeout_ms)))
            .build();
        let from = settings.smtp.from.parse().map_err(|_| anyhow::anyhow!("smtp.from is not an email address"))?;
        Ok(Some(Self { transport, from }))
    }

    /// The activation email for the member `event` names.
    pub async fn send_activation(&self, event: &pb::Event) -> Result<(), NotSent> {
        let permanent = |error: &str| NotSent { error: error.into(), permanent: true };
        let user = event.user.as_ref().ok_or_else(|| permanent("the event carries no member"))?;
        let address = user
            .member
            .as_ref()
            .and_then(|m| m.email_id.clone())
            .ok_or_else(|| permanent("the member has no email"))?;
        let to: Mailbox = address.parse().map_err(|_| permanent("the member's email is not an address"))?;
        let name = user.profile.as_ref().and_then(|p| p.given_name.clone()).filter(|n| !n.is_empty());
        let greeting = name.map_or_else(|| "Hello,".to_owned(), |n| format!("Hello {n},"));
        let body = format!(
            "{greeting}\n\nAn account was created for you ({address}). Sign in through the product that \
             invited you to activate it.\n\nIf you did not expect this email, you can ignore it.\n"
        );
        let message = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject("Activate your account")
            // Receivers de-duplicate on it: a retry carries the same id.
            .message_id(Some(format!("<{}@roster>", event.id)))
            .header(ContentType::TEXT_PLAIN)
            .body(body)
            .map_err(|_| permanent("the email could not be built"))?;
        self.transport.send(message).await.map(|_| ()).map_err(|err| NotSent {
            error: if err.is_permanent() {
                "the relay refused the email for good".into()
            } else {
                "the relay did not take the email".into()
            },
            permanent: err.is_permanent(),
        })
    }
}
