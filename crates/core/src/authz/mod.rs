//! Role-based access control with attribute conditions: permissions bundled into roles, roles
//! composed of roles, assigned to users and (nested) groups, possibly time-bound or conditional.
//! Everything here is pure: the store loads an [`AuthzGraph`], these functions decide and explain.

pub mod condition;
pub mod effective;
pub mod model;
pub mod policy;
pub mod review;

pub use condition::{AccessContext, Clause, Condition};
pub use effective::{AuthzGraph, Decision, Step, creates_cycle};
pub use model::{
    Principal, Role, RoleAssignment, RoleRule, permission_matches, validate_permission,
};
pub use policy::{AccessPolicy, PolicyDecision, PolicyEffect, evaluate as evaluate_policies};
