//! Outbound event deliveries: webhook subscriptions (and SIEM streams, which ride the same
//! persisted outbox) and their delivery records.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::{CoreError, Secret, TenantId, Timestamp};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SinkKind {
    /// JSON POST signed with HMAC-SHA256.
    Webhook,
    /// RFC 5424 syslog over TCP (octet-counted framing, RFC 6587).
    SyslogTcp,
    /// RFC 5424 syslog over UDP (one message per datagram).
    SyslogUdp,
    /// One JSON object per line, POSTed as `application/x-ndjson`.
    JsonLines,
}

impl SinkKind {
    pub fn as_str(self) -> &'static str {
        match self {
            SinkKind::Webhook => "webhook",
            SinkKind::SyslogTcp => "syslog_tcp",
            SinkKind::SyslogUdp => "syslog_udp",
            SinkKind::JsonLines => "json_lines",
        }
    }
    pub fn parse(s: &str) -> Result<SinkKind, CoreError> {
        match s {
            "webhook" => Ok(SinkKind::Webhook),
            "syslog_tcp" => Ok(SinkKind::SyslogTcp),
            "syslog_udp" => Ok(SinkKind::SyslogUdp),
            "json_lines" => Ok(SinkKind::JsonLines),
            _ => Err(CoreError::invalid(
                "kind",
                "must be webhook, syslog_tcp, syslog_udp or json_lines",
            )),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WebhookSubscription {
    pub id: Uuid,
    pub tenant_id: TenantId,
    pub kind: SinkKind,
    /// `https://…` (or loopback `http://`) for webhooks and JSON Lines; `host:port` for syslog.
    pub url: String,
    /// Event types delivered (`user.created`, or a prefix with `*`: `user.*`); empty means all.
    pub event_types: Vec<String>,
    /// HMAC key for webhook signatures (encrypted at rest by the store).
    pub secret: Secret,
    pub enabled: bool,
    pub created_at: Timestamp,
}

impl WebhookSubscription {
    pub fn wants(&self, event_type: &str) -> bool {
        self.enabled
            && (self.event_types.is_empty()
                || self.event_types.iter().any(|t| match t.strip_suffix('*') {
                    Some(prefix) => event_type.starts_with(prefix),
                    None => t == event_type,
                }))
    }

    /// Validates the destination for its kind.
    pub fn validate(&self) -> Result<(), CoreError> {
        match self.kind {
            SinkKind::Webhook | SinkKind::JsonLines => {
                crate::client::validate_redirect_uri("url", &self.url).and_then(|_| {
                    if self.url.starts_with("https://") || self.url.starts_with("http://") {
                        Ok(())
                    } else {
                        Err(CoreError::invalid(
                            "url",
                            "must be an https:// URL (or http:// on loopback)",
                        ))
                    }
                })
            }
            SinkKind::SyslogTcp | SinkKind::SyslogUdp => {
                let ok = self.url.rsplit_once(':').is_some_and(|(host, port)| {
                    !host.is_empty() && port.parse::<u16>().is_ok_and(|p| p > 0)
                });
                if ok {
                    Ok(())
                } else {
                    Err(CoreError::invalid(
                        "url",
                        "syslog destinations are host:port, e.g. siem.example.com:6514",
                    ))
                }
            }
        }?;
        for t in &self.event_types {
            if t.is_empty()
                || t.len() > 100
                || !t
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b == b'.' || b == b'_' || b == b'*')
            {
                return Err(CoreError::invalid(
                    "event_types",
                    format!("\"{t}\" is not an event type pattern"),
                ));
            }
        }
        Ok(())
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryStatus {
    Pending,
    Delivered,
    /// Gave up after the maximum number of attempts (dead letter); can be redelivered on demand.
    Dead,
}

/// One event to deliver to one subscription: a row of the persisted outbox.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WebhookDelivery {
    pub id: Uuid,
    pub tenant_id: TenantId,
    pub subscription_id: Uuid,
    pub event_id: Uuid,
    pub event_type: String,
    /// The JSON document delivered.
    pub payload: String,
    pub status: DeliveryStatus,
    pub attempts: i32,
    pub next_attempt_at: Timestamp,
    /// While set and in the future, one node owns the delivery.
    pub lease_until: Option<Timestamp>,
    pub last_error: Option<String>,
    pub last_status_code: Option<i32>,
    pub created_at: Timestamp,
    pub delivered_at: Option<Timestamp>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sub(kind: SinkKind, url: &str, types: &[&str]) -> WebhookSubscription {
        WebhookSubscription {
            id: Uuid::nil(),
            tenant_id: TenantId::new(),
            kind,
            url: url.into(),
            event_types: types.iter().map(|s| s.to_string()).collect(),
            secret: Secret::new("s"),
            enabled: true,
            created_at: time::macros::datetime!(2026-01-01 0:00 UTC),
        }
    }

    #[test]
    fn matching_and_validation() {
        let s = sub(
            SinkKind::Webhook,
            "https://crm.example/hook",
            &["user.*", "signin.failed"],
        );
        assert!(
            s.wants("user.created") && s.wants("signin.failed") && !s.wants("signin.succeeded")
        );
        assert!(sub(SinkKind::Webhook, "https://x.example/h", &[]).wants("anything"));
        s.validate().unwrap();
        assert!(
            sub(SinkKind::Webhook, "http://evil.example/h", &[])
                .validate()
                .is_err()
        );
        assert!(
            sub(SinkKind::SyslogTcp, "127.0.0.1:5514", &[])
                .validate()
                .is_ok()
        );
        assert!(sub(SinkKind::SyslogUdp, "nope", &[]).validate().is_err());
        assert!(
            sub(SinkKind::Webhook, "https://x.example/h", &["User Created"])
                .validate()
                .is_err()
        );
    }
}
