//! Typed identifiers. A `UserId` can never be passed where a `TenantId` is expected.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

macro_rules! uuid_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub Uuid);

        impl $name {
            /// A new time-ordered (UUIDv7) identifier, so ids sort by creation for cursor paging.
            pub fn new() -> Self {
                Self(Uuid::now_v7())
            }
            pub fn parse(s: &str) -> Option<Self> {
                Uuid::parse_str(s).ok().map(Self)
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                self.0.fmt(f)
            }
        }
    };
}

uuid_id!(
    /// Identifies a tenant.
    TenantId
);
uuid_id!(
    /// Identifies a user within the deployment (always used together with its tenant).
    UserId
);
uuid_id!(
    /// Identifies a group.
    GroupId
);
uuid_id!(
    /// Identifies a browser session record (not the secret cookie value).
    SessionId
);
uuid_id!(
    /// Identifies an admin API key record (not the secret key).
    ApiKeyId
);
uuid_id!(
    /// Identifies a role.
    RoleId
);
uuid_id!(
    /// Identifies a role assignment (who holds which role, how and until when).
    AssignmentId
);
uuid_id!(
    /// Identifies an enrolled authentication factor (a TOTP app, a passkey or security key).
    FactorId
);
uuid_id!(
    /// Identifies a sign-in in progress (between the first factor and the session).
    LoginFlowId
);
