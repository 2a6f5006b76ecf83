//! Authenticator apps (TOTP, RFC 6238): enrolment with a QR code rendered here as SVG, confirmation
//! with a first code, verification with one step of clock skew, and replay protection (the store
//! accepts each time step once per factor).

use tessera_core::events::{Actor, Event, EventKind, Target};
use tessera_core::mfa::{Factor, FactorKind};
use tessera_core::store::MfaStore;
use tessera_core::tenant::Tenant;
use tessera_core::user::User;
use tessera_core::{FactorId, Secret, StoreError};
use tessera_crypto::otp;

use crate::app::Services;
use crate::state::AppState;

/// The user's unconfirmed TOTP factor, created on first call (so reloading the page shows the
/// same QR code until it is confirmed).
pub async fn pending_factor(
    state: &AppState,
    tenant: &Tenant,
    user: &User,
) -> Result<Factor, StoreError> {
    let store = &state.services.store;
    if let Some(f) = store
        .list_factors(tenant.id, user.id)
        .await?
        .into_iter()
        .find(|f| f.kind == FactorKind::Totp && !f.is_confirmed())
    {
        return Ok(f);
    }
    let factor = Factor {
        id: FactorId::new(),
        tenant_id: tenant.id,
        user_id: user.id,
        kind: FactorKind::Totp,
        name: "Authenticator app".into(),
        secret: Secret::new(otp::new_totp_secret()),
        credential_id: None,
        discoverable: false,
        aaguid: None,
        confirmed_at: None,
        last_used_at: None,
        last_totp_step: None,
        created_at: Services::now(),
    };
    store.create_factor(&factor).await?;
    Ok(factor)
}

/// What the enrolment page shows: the `otpauth://` URI, its QR code and the key for manual entry.
pub struct Enrollment {
    pub factor_id: FactorId,
    pub uri: String,
    pub qr_svg: String,
    /// The key in groups of four, for typing into an app.
    pub secret_display: String,
}

pub fn enrollment(tenant: &Tenant, user: &User, factor: &Factor) -> Enrollment {
    let uri = otp::otpauth_uri(&tenant.name, &user.email, factor.secret.expose());
    let secret_display = factor
        .secret
        .expose()
        .as_bytes()
        .chunks(4)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect::<Vec<_>>()
        .join(" ");
    Enrollment {
        factor_id: factor.id,
        qr_svg: qr_svg(&uri),
        uri,
        secret_display,
    }
}

/// An SVG QR code of `data` (empty when the data is too long for a QR code).
pub fn qr_svg(data: &str) -> String {
    match qrcode::QrCode::new(data.as_bytes()) {
        Ok(code) => code
            .render::<qrcode::render::svg::Color>()
            .min_dimensions(200, 200)
            .quiet_zone(true)
            .build(),
        Err(e) => {
            tracing::warn!(error = %e, "a QR code could not be made");
            String::new()
        }
    }
}

/// Confirms a pending TOTP factor with a first code; the code's step counts as used.
pub async fn confirm(
    state: &AppState,
    tenant: &Tenant,
    user: &User,
    factor_id: FactorId,
    code: &str,
    name: &str,
) -> Result<bool, StoreError> {
    let store = &state.services.store;
    let Some(f) = store.get_factor(tenant.id, factor_id).await? else {
        return Ok(false);
    };
    if f.user_id != user.id || f.kind != FactorKind::Totp || f.is_confirmed() {
        return Ok(false);
    }
    let now = Services::now();
    let Some(step) = otp::totp_verify(f.secret.expose(), code, now.unix_timestamp()) else {
        return Ok(false);
    };
    if !store
        .confirm_factor(tenant.id, user.id, f.id, Some(step), now)
        .await?
    {
        return Ok(false);
    }
    if name.trim() != f.name
        && let Ok(n) = tessera_core::mfa::factor_name(name, "Authenticator app")
    {
        store.rename_factor(tenant.id, user.id, f.id, &n).await?;
    }
    let ev = Event::new(
        tenant.id,
        now,
        EventKind::MfaEnrolled {
            factor: "totp".into(),
            factor_id: f.id.to_string(),
        },
        Actor::user(user.id),
    )
    .subject(user.id)
    .target(Target::new("user", user.id));
    state.services.emit(ev).await;
    Ok(true)
}

/// Checks a code against the user's confirmed TOTP factors; a code is accepted once.
pub async fn verify(
    state: &AppState,
    tenant: &Tenant,
    user: &User,
    code: &str,
) -> Result<Verdict, StoreError> {
    let store = &state.services.store;
    let now = Services::now();
    let mut replayed = false;
    for f in store.list_factors(tenant.id, user.id).await? {
        if f.kind != FactorKind::Totp || !f.is_confirmed() {
            continue;
        }
        if let Some(step) = otp::totp_verify(f.secret.expose(), code, now.unix_timestamp()) {
            if store.use_totp_step(tenant.id, f.id, step, now).await? {
                return Ok(Verdict::Accepted);
            }
            replayed = true;
        }
    }
    Ok(if replayed {
        Verdict::Replayed
    } else {
        Verdict::Wrong
    })
}

/// The answer to a typed code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    Accepted,
    /// A right code that was already used (within its time window).
    Replayed,
    Wrong,
}
