//! CSRF protection for every form: a signed double-submit token. The browser holds a random value
//! in an `HttpOnly; SameSite=Strict` cookie; each form carries HMAC(server key, that value). A
//! cross-site attacker can neither read the cookie nor compute the HMAC without the server key.

use axum_extra::extract::cookie::{Cookie, CookieJar, SameSite};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use tessera_crypto::{hmac_sha256, random_token, verify_hmac_sha256};

pub const CSRF_COOKIE: &str = "tessera_csrf";

/// Returns the form token for this browser, setting the cookie first when it has none.
pub fn token_for(jar: CookieJar, key: &[u8; 32], path: &str, secure: bool) -> (CookieJar, String) {
    if let Some(c) = jar.get(CSRF_COOKIE)
        && c.value().len() >= 32
    {
        let token = sign(key, c.value());
        return (jar, token);
    }
    let value = random_token(32);
    let token = sign(key, &value);
    let cookie = Cookie::build((CSRF_COOKIE, value))
        .path(path.to_string())
        .http_only(true)
        .secure(secure)
        .same_site(SameSite::Strict)
        .build();
    (jar.add(cookie), token)
}

/// True when the submitted token matches the browser's cookie.
pub fn verify(jar: &CookieJar, key: &[u8; 32], submitted: &str) -> bool {
    let Some(cookie) = jar.get(CSRF_COOKIE) else {
        return false;
    };
    let Ok(tag) = URL_SAFE_NO_PAD.decode(submitted.as_bytes()) else {
        return false;
    };
    verify_hmac_sha256(key, cookie.value().as_bytes(), &tag)
}

fn sign(key: &[u8; 32], value: &str) -> String {
    URL_SAFE_NO_PAD.encode(hmac_sha256(key, value.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_round_trip_and_forgery() {
        let key = [7u8; 32];
        let (jar, token) = token_for(CookieJar::new(), &key, "/t/acme", false);
        assert!(verify(&jar, &key, &token));
        assert!(!verify(&jar, &key, "forged"));
        assert!(
            !verify(&jar, &[8u8; 32], &token),
            "another key must not verify"
        );
        assert!(
            !verify(&CookieJar::new(), &key, &token),
            "no cookie, no pass"
        );
        // The same cookie yields the same token, so several open tabs keep working.
        let (_, again) = token_for(jar, &key, "/t/acme", false);
        assert_eq!(again, token);
    }
}
