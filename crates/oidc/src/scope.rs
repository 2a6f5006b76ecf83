//! Scopes: parsing (RFC 6749 §3.3), the standard OpenID scopes and the claims each releases
//! (OpenID Connect Core §5.4).

use crate::error::OAuthError;

pub const OPENID: &str = "openid";
pub const OFFLINE_ACCESS: &str = "offline_access";
/// Releases the `consents` claim: the privacy purposes the person currently consents to.
pub const CONSENTS: &str = "consents";
/// Scopes every client may request unless its registration narrows them.
pub const STANDARD_SCOPES: &[&str] = &[
    OPENID,
    "profile",
    "email",
    "phone",
    "address",
    OFFLINE_ACCESS,
    CONSENTS,
];

/// Claims released by each standard scope.
pub fn claims_for_scope(scope: &str) -> &'static [&'static str] {
    match scope {
        "profile" => &[
            "name",
            "family_name",
            "given_name",
            "middle_name",
            "nickname",
            "preferred_username",
            "profile",
            "picture",
            "website",
            "gender",
            "birthdate",
            "zoneinfo",
            "locale",
            "updated_at",
        ],
        "email" => &["email", "email_verified"],
        "phone" => &["phone_number", "phone_number_verified"],
        "address" => &["address"],
        CONSENTS => &["consents"],
        _ => &[],
    }
}

/// Splits a scope string into distinct, valid scope tokens, preserving order.
pub fn parse_scope(raw: Option<&str>) -> Result<Vec<String>, OAuthError> {
    let mut out: Vec<String> = Vec::new();
    for s in raw.unwrap_or("").split(' ').filter(|s| !s.is_empty()) {
        let valid = s
            .bytes()
            .all(|b| b == 0x21 || (0x23..=0x5B).contains(&b) || (0x5D..=0x7E).contains(&b));
        if !valid || s.len() > 200 {
            return Err(OAuthError::invalid_scope(format!(
                "\"{}\" is not a valid scope",
                s.escape_default()
            )));
        }
        if !out.iter().any(|o| o == s) {
            out.push(s.to_string());
        }
    }
    if out.len() > 50 {
        return Err(OAuthError::invalid_scope("too many scopes"));
    }
    Ok(out)
}

/// Checks every requested scope is one the client may ask for.
pub fn check_allowed(requested: &[String], client_allowed: &[String]) -> Result<(), OAuthError> {
    for s in requested {
        let ok = if client_allowed.is_empty() {
            STANDARD_SCOPES.contains(&s.as_str())
        } else {
            client_allowed.iter().any(|a| a == s) || s == OPENID
        };
        if !ok {
            return Err(OAuthError::invalid_scope(format!(
                "the client may not request the scope \"{s}\""
            )));
        }
    }
    Ok(())
}

pub fn join(scopes: &[String]) -> String {
    scopes.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_and_check() {
        assert_eq!(
            parse_scope(Some("openid  email openid")).unwrap(),
            vec!["openid", "email"]
        );
        assert!(parse_scope(Some("open\"id")).is_err());
        let req = parse_scope(Some("openid email")).unwrap();
        assert!(check_allowed(&req, &[]).is_ok());
        assert!(check_allowed(&parse_scope(Some("admin")).unwrap(), &[]).is_err());
        assert!(
            check_allowed(
                &parse_scope(Some("openid invoices:read")).unwrap(),
                &["invoices:read".into()]
            )
            .is_ok()
        );
    }
}
