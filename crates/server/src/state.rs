//! Shared state of the running server, built once at start-up and cloned into every handler.

use std::sync::Arc;

use tessera_core::throttle::ThrottlePolicy;

use crate::app::Services;
use crate::gate::HashGate;
use crate::oidc::keys::KeyRing;
use crate::pages::templates::Templates;

#[derive(Clone)]
pub struct AppState(pub Arc<Inner>);

pub struct Inner {
    pub services: Services,
    pub gate: HashGate,
    /// Sign-ins the gate turned away, for the audit trail (see `gate::RefusalTally`).
    pub refusals: crate::gate::RefusalTally,
    /// Parsed signing keys per tenant.
    pub keys: KeyRing,
    /// Cached remote key sets of `private_key_jwt` clients (`jwks_uri`).
    pub remote_jwks: crate::oidc::client_auth::RemoteJwks,
    /// Upstream identity providers' discovery documents and key sets, and the sign-in
    /// page's provider buttons.
    pub federation: crate::federation::FederationCaches,
    /// Cached access graphs per tenant (roles, assignments, nesting).
    pub authz: crate::app::authz::AuthzCache,
    /// Outgoing HTTP (back-channel logout): short timeouts, no redirects.
    pub http: reqwest::Client,
    pub templates: Templates,
    pub metrics: Option<metrics_exporter_prometheus::PrometheusHandle>,
    /// Key for CSRF tokens (derived from the master key, so every node agrees).
    pub csrf_key: [u8; 32],
    /// Keys derived once from the master key for the MACs and keyed hashes of the sign-in path.
    pub derived: DerivedKeys,
    /// The operator's geo-IP database (`TESSERA_GEOIP_DB`), when configured.
    pub geo: Option<Arc<tessera_risk::geo::MmdbGeo>>,
    /// Each tenant's risk engine and what it remembers on this node (see `crate::risk`).
    pub risk: crate::risk::RiskService,
    /// Proof-of-work nonces already accepted on this node.
    pub pow_nonces: crate::risk::pow::UsedNonces,
    pub account_throttle: ThrottlePolicy,
    pub ip_throttle: ThrottlePolicy,
}

/// Keys derived from the master key at start-up (every node derives the same), so no request
/// pays for a key derivation.
pub struct DerivedKeys {
    /// The keyed fingerprint of attempted passwords (`crate::risk::PasswordFacts`).
    pub risk_password: [u8; 32],
    /// The device cookie's MAC (`crate::risk::device`).
    pub risk_device: [u8; 32],
    /// Proof-of-work challenges' MAC (`crate::risk::pow`).
    pub risk_pow: [u8; 32],
    /// The "remember this device" cookie of MFA (`crate::mfa::device`).
    pub remember_device: [u8; 32],
}

impl std::ops::Deref for AppState {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.0
    }
}

impl AppState {
    pub fn new(
        services: Services,
        metrics: Option<metrics_exporter_prometheus::PrometheusHandle>,
    ) -> Result<AppState, String> {
        let config = services.config.clone();
        let mut account_throttle = ThrottlePolicy::per_account();
        account_throttle.lockout_after = config.lockout_after;
        account_throttle.lockout_secs = config.lockout_secs;
        let ip_throttle = ThrottlePolicy::per_ip();
        let csrf_key = services.crypto.derive_key("csrf");
        let derived = DerivedKeys {
            risk_password: services.crypto.derive_key("risk.password"),
            risk_device: services.crypto.derive_key("risk.device"),
            risk_pow: services.crypto.derive_key("risk.pow"),
            remember_device: services.crypto.derive_key("remember-device"),
        };
        let geo = match &config.geoip_db {
            Some(path) => Some(Arc::new(tessera_risk::geo::MmdbGeo::open(path).map_err(
                |e| format!("TESSERA_GEOIP_DB: {e}; give a MaxMind-format .mmdb file (GeoLite2-Country, -City or -ASN) or unset it"),
            )?)),
            None => None,
        };
        Ok(AppState(Arc::new(Inner {
            gate: HashGate::new(
                config.hash_concurrency,
                config.hash_queue,
                config.hash_pinning,
            ),
            refusals: Default::default(),
            keys: KeyRing::default(),
            remote_jwks: Default::default(),
            federation: Default::default(),
            authz: Default::default(),
            http: reqwest::Client::builder()
                .timeout(std::time::Duration::from_secs(5))
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .map_err(|e| format!("cannot build the HTTP client: {e}"))?,
            templates: Templates::new()?,
            metrics,
            csrf_key,
            derived,
            geo,
            risk: Default::default(),
            pow_nonces: Default::default(),
            account_throttle,
            ip_throttle,
            services,
        })))
    }
}
