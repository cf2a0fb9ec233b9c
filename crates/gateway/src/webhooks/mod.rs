//! The webhook dispatcher: leases due deliveries from event-service, renders each in its
//! subscription's dialect (the same resource types the REST answers use), signs it the way that
//! dialect signs, POSTs it, and reports the outcome. Any number of gateways may run it: a lease is
//! held by one of them at a time, and a gateway that dies mid-delivery leaves it to be leased
//! again when the lease runs out (at-least-once; receivers de-duplicate on the event id).

pub mod guard;
pub mod mail;
pub mod sign;

use std::{sync::Arc, time::Duration};

use platform::{Settings, Shutdown};
use proto::events::v1::{self as pb, event_service_client::EventServiceClient};
use tokio::task::JoinSet;
use tonic::transport::Channel;

use crate::{
    clients::PublicBase,
    http::{ada, sendbird, sunshine},
};

pub struct Dispatcher {
    events: EventServiceClient<Channel>,
    http: reqwest::Client,
    allow_private: bool,
    batch: i32,
    idle: Duration,
    lease_ms: i64,
    base: PublicBase,
    mailer: Option<Arc<mail::Mailer>>,
}

/// What one attempt came to.
struct Attempt {
    delivered: bool,
    status: u16,
    error: String,
    permanent: bool,
}

impl Attempt {
    fn failed(error: impl Into<String>, permanent: bool) -> Self {
        Self { delivered: false, status: 0, error: error.into(), permanent }
    }
}

impl Dispatcher {
    pub fn new(settings: &Settings) -> anyhow::Result<Self> {
        let w = &settings.webhooks;
        let timeout = Duration::from_millis(w.timeout_ms);
        let mut http = reqwest::Client::builder();
        if let Some(path) = &w.ca_file {
            let pem = std::fs::read(path).map_err(|e| anyhow::anyhow!("webhooks.ca_file {}: {e}", path.display()))?;
            let roots = reqwest::Certificate::from_pem_bundle(&pem)
                .map_err(|e| anyhow::anyhow!("webhooks.ca_file {}: {e}", path.display()))?;
            anyhow::ensure!(!roots.is_empty(), "webhooks.ca_file {} holds no certificate", path.display());
            for root in roots {
                http = http.add_root_certificate(root);
            }
        }
        let http = http
            .timeout(timeout)
            .connect_timeout(timeout)
            // A redirect could lead anywhere, past the guard's check of the first address.
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .dns_resolver(guard::resolver(w.allow_private_targets))
            .user_agent(concat!("Roster-Webhooks/", env!("CARGO_PKG_VERSION")))
            .build()?;
        let channel = platform::grpc::channel(&settings.events.endpoint, Duration::from_secs(10))?;
        Ok(Self {
            events: EventServiceClient::new(channel),
            http,
            allow_private: w.allow_private_targets,
            batch: i32::try_from(w.batch_size).unwrap_or(32),
            idle: Duration::from_millis(w.idle_poll_ms),
            // Long enough for every attempt of a batch to time out and be reported.
            lease_ms: i64::try_from(2 * w.timeout_ms + 10_000).unwrap_or(i64::MAX),
            base: PublicBase(settings.gateway.public_url.clone().unwrap_or_default().trim_end_matches('/').to_owned()),
            mailer: mail::Mailer::new(settings)?.map(Arc::new),
        })
    }

    /// Delivers until shutdown; a round in progress finishes first.
    pub async fn run(mut self, shutdown: Shutdown) {
        if self.allow_private {
            tracing::warn!("webhooks.allow_private_targets is set: webhooks may reach private and loopback addresses");
        }
        let stop = shutdown.requested();
        tokio::pin!(stop);
        let mut failures = 0u32;
        loop {
            let pause = match self.round().await {
                Ok(n) if n > 0 => {
                    failures = 0;
                    continue;
                }
                Ok(_) => {
                    failures = 0;
                    self.idle
                }
                Err(err) => {
                    failures += 1;
                    tracing::warn!(error = %err, "webhook dispatch round failed; retrying");
                    (self.idle * 2u32.saturating_pow(failures.min(6))).min(Duration::from_secs(30))
                }
            };
            tokio::select! {
                () = &mut stop => return,
                () = tokio::time::sleep(pause) => {}
            }
        }
    }

    /// Leases a batch, sends it at once, reports every outcome; answers how many it sent.
    pub async fn round(&mut self) -> anyhow::Result<usize> {
        let request = pb::LeaseDeliveriesRequest { worker: "gateway".into(), max: self.batch, lease_ms: self.lease_ms };
        let leased = self.events.lease_deliveries(request).await?.into_inner().deliveries;
        if leased.is_empty() {
            return Ok(0);
        }
        let mut sends = JoinSet::new();
        for delivery in leased {
            let (http, base, allow_private, mailer) =
                (self.http.clone(), self.base.clone(), self.allow_private, self.mailer.clone());
            sends.spawn(async move {
                let attempt = if delivery.subscription.as_ref().is_some_and(|s| s.format() == pb::Format::Email) {
                    email(mailer.as_deref(), &delivery).await
                } else {
                    deliver(&http, &base, allow_private, &delivery).await
                };
                (delivery, attempt)
            });
        }
        let mut outcomes = Vec::with_capacity(sends.len());
        while let Some(joined) = sends.join_next().await {
            let (leased, attempt) = joined?;
            let delivery = leased.delivery.unwrap_or_default();
            let format = leased.subscription.as_ref().map(|s| s.format().as_str_name()).unwrap_or("unknown");
            let outcome = match (attempt.delivered, attempt.permanent) {
                (true, _) => "delivered",
                (false, true) => "refused",
                (false, false) => "failed",
            };
            metrics::counter!("roster_webhook_attempts_total", "format" => format, "outcome" => outcome).increment(1);
            if !attempt.delivered {
                // Never the target: its URL may carry a customer's token.
                tracing::info!(
                    delivery.id = delivery.id,
                    subscription.id = delivery.subscription_id,
                    status = attempt.status,
                    attempt = delivery.attempts,
                    error = attempt.error,
                    "webhook delivery failed"
                );
            }
            outcomes.push(pb::DeliveryOutcome {
                delivery_id: delivery.id,
                lease_id: leased.lease_id,
                delivered: attempt.delivered,
                status: i32::from(attempt.status),
                error: attempt.error,
                permanent: attempt.permanent,
            });
        }
        let sent = outcomes.len();
        self.events.complete_deliveries(pb::CompleteDeliveriesRequest { outcomes }).await?;
        Ok(sent)
    }
}

/// One activation email.
async fn email(mailer: Option<&mail::Mailer>, leased: &pb::LeasedDelivery) -> Attempt {
    let Some(mailer) = mailer else {
        // event-service has a relay configured and this gateway does not: fix the configuration,
        // then redeliver the dead letters.
        return Attempt::failed("smtp.url is not set on this gateway", true);
    };
    let Some(event) = leased.delivery.as_ref().and_then(|d| d.event.as_ref()) else {
        return Attempt::failed("the lease came without its event", true);
    };
    match mailer.send_activation(event).await {
        Ok(()) => Attempt { delivered: true, status: 250, error: String::new(), permanent: false },
        Err(not_sent) => Attempt::failed(not_sent.error, not_sent.permanent),
    }
}

/// One attempt of one delivery.
async fn deliver(
    http: &reqwest::Client,
    base: &PublicBase,
    allow_private: bool,
    leased: &pb::LeasedDelivery,
) -> Attempt {
    let (Some(subscription), Some(event)) =
        (leased.subscription.as_ref(), leased.delivery.as_ref().and_then(|d| d.event.as_ref()))
    else {
        return Attempt::failed("the lease came without its subscription or event", true);
    };
    let Ok(url) = reqwest::Url::parse(&subscription.target) else {
        return Attempt::failed("the target is not a URL", true);
    };
    if let Err(refused) = guard::check_literal(&url, allow_private) {
        return Attempt::failed(refused.to_string(), true);
    }
    let format = subscription.format();
    let body = match format {
        pb::Format::Sendbird => sendbird::delivery_body(event, base),
        pb::Format::Sunshine => sunshine::delivery_body(event, subscription, base),
        pb::Format::Ada => ada::delivery_body(event, base),
        pb::Format::Unspecified | pb::Format::Email => None,
    };
    let Some(body) = body else {
        // Subscriptions only take the events their format has a name for; nothing to send.
        return Attempt { delivered: true, status: 0, error: "no counterpart in this format".into(), permanent: false };
    };
    let body = serde_json::to_vec(&body).unwrap_or_default();
    let mut request = http.post(url).header(http::header::CONTENT_TYPE, "application/json");
    request = match format {
        pb::Format::Sendbird => request.header("x-sendbird-signature", sign::sendbird(&leased.secret, &body)),
        pb::Format::Sunshine => request.header("x-api-key", &leased.secret),
        pb::Format::Ada => {
            let timestamp = platform::now_millis() / 1000;
            let id = format!("msg_{}", event.id);
            request
                .header("svix-id", id.as_str())
                .header("svix-timestamp", timestamp.to_string())
                .header("svix-signature", sign::svix(&leased.secret, &id, timestamp, &body))
        }
        pb::Format::Unspecified | pb::Format::Email => request,
    };
    match request.body(body).send().await {
        Ok(response) if response.status().is_success() => {
            Attempt { delivered: true, status: response.status().as_u16(), error: String::new(), permanent: false }
        }
        Ok(response) => {
            let status = response.status();
            Attempt {
                delivered: false,
                status: status.as_u16(),
                error: format!("the target answered {status}"),
                permanent: false,
            }
        }
        Err(err) => {
            let refused = std::iter::successors(Some(&err as &dyn std::error::Error), |e| e.source())
                .any(|e| e.downcast_ref::<guard::Refused>().is_some());
            if refused {
                Attempt::failed(guard::Refused.to_string(), true)
            } else if err.is_timeout() {
                Attempt::failed("the target did not answer in time", false)
            } else if err.is_connect() {
                // The innermost cause says which: refused, reset, or a certificate not trusted.
                let cause = std::iter::successors(Some(&err as &dyn std::error::Error), |e| e.source())
                    .last()
                    .map(ToString::to_string)
                    .unwrap_or_default();
                Attempt::failed(format!("could not connect to the target: {cause}"), false)
            } else {
                Attempt::failed("the request to the target failed", false)
            }
        }
    }
}
