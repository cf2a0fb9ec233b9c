//! Between `roster.events.v1` messages and event-service's own values. Events travel encoded:
//! event-service indexes their ids, type, subject and instant and keeps the rest as sent.

use prost::Message;
use proto::events::v1 as pb;
use tonic::Status;

use crate::{
    app::{Delivery, DeliveryStatus, EventError, Leased, NewEvent, Outcome, StoredEvent, Subscription},
    domain::{Format, ValidationError},
};

fn invalid(field: &'static str, reason: &str) -> Status {
    EventError::Invalid(ValidationError::Invalid { field, reason: reason.into() }).into()
}

pub fn app_id(id: String) -> Result<String, Status> {
    if platform::ids::is_id(&id) { Ok(id) } else { Err(invalid("app_id", "must be a Roster id")) }
}

pub fn format(value: i32) -> Result<Option<Format>, Status> {
    match pb::Format::try_from(value) {
        Ok(pb::Format::Unspecified) => Ok(None),
        Ok(pb::Format::Sendbird) => Ok(Some(Format::Sendbird)),
        Ok(pb::Format::Sunshine) => Ok(Some(Format::Sunshine)),
        Ok(pb::Format::Ada) => Ok(Some(Format::Ada)),
        Ok(pb::Format::Email) => Ok(Some(Format::Email)),
        Err(_) => Err(invalid("format", "unknown format")),
    }
}

fn format_pb(format: Format) -> pb::Format {
    match format {
        Format::Sendbird => pb::Format::Sendbird,
        Format::Sunshine => pb::Format::Sunshine,
        Format::Ada => pb::Format::Ada,
        Format::Email => pb::Format::Email,
    }
}

pub fn status(value: i32) -> Option<DeliveryStatus> {
    match pb::DeliveryStatus::try_from(value) {
        Ok(pb::DeliveryStatus::Pending) => Some(DeliveryStatus::Pending),
        Ok(pb::DeliveryStatus::Delivered) => Some(DeliveryStatus::Delivered),
        Ok(pb::DeliveryStatus::Dead) => Some(DeliveryStatus::Dead),
        _ => None,
    }
}

fn status_pb(status: DeliveryStatus) -> pb::DeliveryStatus {
    match status {
        DeliveryStatus::Pending => pb::DeliveryStatus::Pending,
        DeliveryStatus::Delivered => pb::DeliveryStatus::Delivered,
        DeliveryStatus::Dead => pb::DeliveryStatus::Dead,
    }
}

pub fn page_token(token: &str) -> Result<Option<i64>, Status> {
    if token.is_empty() {
        return Ok(None);
    }
    match token.parse::<i64>() {
        Ok(seq) if seq > 0 => Ok(Some(seq)),
        _ => Err(EventError::InvalidPageToken.into()),
    }
}

/// An event as a publisher sent it; the stored payload is the event without its sequence.
pub fn new_event(mut event: pb::Event) -> Result<NewEvent, Status> {
    if event.subject_id.is_empty() || event.subject_id.len() > 64 {
        return Err(invalid("events", "subject_id must be 1 to 64 characters"));
    }
    event.sequence = 0;
    Ok(NewEvent {
        id: event.id.clone(),
        app_id: event.app_id.clone(),
        kind: event.r#type.clone(),
        subject_id: event.subject_id.clone(),
        occurred_at: event.occurred_at,
        payload: event.encode_to_vec(),
    })
}

pub fn stored_event(event: &StoredEvent) -> Result<pb::Event, Status> {
    let mut decoded = pb::Event::decode(event.payload.as_slice())
        .map_err(|err| EventError::Unexpected(anyhow::anyhow!("stored event {} does not decode: {err}", event.seq)))?;
    decoded.sequence = event.seq;
    Ok(decoded)
}

impl From<Subscription> for pb::Subscription {
    fn from(s: Subscription) -> Self {
        pb::Subscription {
            id: s.id,
            app_id: s.app_id,
            format: format_pb(s.format) as i32,
            target: s.target,
            event_types: s.event_types,
            enabled: s.enabled,
            attributes_json: s.attributes,
            group_id: s.group_id,
            created_at: s.created_at,
            updated_at: s.updated_at,
        }
    }
}

pub fn delivery(d: Delivery) -> Result<pb::Delivery, Status> {
    Ok(pb::Delivery {
        event: Some(stored_event(&d.event)?),
        id: d.id,
        subscription_id: d.subscription_id,
        status: status_pb(d.status) as i32,
        attempts: i32::try_from(d.attempts).unwrap_or(i32::MAX),
        next_attempt_at: d.next_attempt_at,
        last_status: i32::from(d.last_status),
        last_error: d.last_error,
        created_at: d.created_at,
        finished_at: d.finished_at.unwrap_or(0),
    })
}

pub fn leased(l: Leased) -> Result<pb::LeasedDelivery, Status> {
    Ok(pb::LeasedDelivery {
        delivery: Some(delivery(l.delivery)?),
        subscription: Some(l.subscription.into()),
        secret: l.secret,
        lease_id: l.lease_id,
    })
}

pub fn outcome(o: pb::DeliveryOutcome) -> Outcome {
    Outcome {
        delivery_id: o.delivery_id,
        lease_id: o.lease_id,
        delivered: o.delivered,
        status: u16::try_from(o.status).unwrap_or(0),
        error: o.error,
        permanent: o.permanent,
    }
}
