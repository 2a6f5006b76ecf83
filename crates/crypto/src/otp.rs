//! One-time codes: TOTP (RFC 6238 over HOTP, RFC 4226) for authenticator apps, recovery codes,
//! and the short numeric codes sent by email.
//!
//! TOTP here is the profile every authenticator app implements: HMAC-SHA1, 6 digits, 30-second
//! steps, a 160-bit key shown as unpadded base32. Verification accepts the current step and one on
//! either side (clock skew) and returns the step that matched, so the caller can refuse its
//! reuse.

use aws_lc_rs::hmac;

use crate::token::{ct_eq, fill_random};

/// Seconds per TOTP step.
pub const TOTP_PERIOD: i64 = 30;
/// Digits per TOTP code.
pub const TOTP_DIGITS: u32 = 6;
/// Steps accepted on either side of the current one.
pub const TOTP_SKEW: i64 = 1;

const BASE32: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/// A new random TOTP key (20 bytes), base32-encoded without padding.
pub fn new_totp_secret() -> String {
    let mut key = [0u8; 20];
    fill_random(&mut key);
    base32_encode(&key)
}

/// RFC 4648 base32 without padding.
pub fn base32_encode(data: &[u8]) -> String {
    let mut out = String::with_capacity(data.len().div_ceil(5) * 8);
    let mut buffer: u64 = 0;
    let mut bits = 0u32;
    for &b in data {
        buffer = (buffer << 8) | u64::from(b);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(BASE32[((buffer >> bits) & 31) as usize] as char);
        }
    }
    if bits > 0 {
        out.push(BASE32[((buffer << (5 - bits)) & 31) as usize] as char);
    }
    out
}

/// Decodes base32 (case-insensitive, spaces and padding ignored); `None` for other characters.
pub fn base32_decode(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len() * 5 / 8);
    let mut buffer: u64 = 0;
    let mut bits = 0u32;
    for c in text.chars().filter(|c| !c.is_whitespace() && *c != '=') {
        let v = BASE32
            .iter()
            .position(|&b| b as char == c.to_ascii_uppercase())? as u64;
        buffer = (buffer << 5) | v;
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push(((buffer >> bits) & 0xff) as u8);
        }
    }
    Some(out)
}

/// HOTP (RFC 4226) with HMAC-SHA1 and `digits` digits.
pub fn hotp(key: &[u8], counter: u64, digits: u32) -> String {
    let k = hmac::Key::new(hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY, key);
    let mac = hmac::sign(&k, &counter.to_be_bytes());
    let h = mac.as_ref();
    let offset = (h[h.len() - 1] & 0x0f) as usize;
    let binary = (u32::from(h[offset] & 0x7f) << 24)
        | (u32::from(h[offset + 1]) << 16)
        | (u32::from(h[offset + 2]) << 8)
        | u32::from(h[offset + 3]);
    let code = binary % 10u32.pow(digits);
    format!("{code:0width$}", width = digits as usize)
}

/// The TOTP step of a unix time.
pub fn totp_step(unix_secs: i64) -> i64 {
    unix_secs.div_euclid(TOTP_PERIOD)
}

/// The code of a base32 key at a step; `None` when the key is not base32.
pub fn totp_code(secret_b32: &str, step: i64) -> Option<String> {
    let key = base32_decode(secret_b32)?;
    Some(hotp(&key, u64::try_from(step).ok()?, TOTP_DIGITS))
}

/// Checks a code typed by the user against the current step ±[`TOTP_SKEW`]. Returns the step that
/// matched (for replay protection); every candidate is compared, in constant time, so timing
/// tells nothing about which step matched.
pub fn totp_verify(secret_b32: &str, code: &str, unix_secs: i64) -> Option<i64> {
    let code: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    if code.len() != TOTP_DIGITS as usize || !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let key = base32_decode(secret_b32)?;
    let now = totp_step(unix_secs);
    let mut matched = None;
    for step in (now - TOTP_SKEW)..=(now + TOTP_SKEW) {
        let Ok(counter) = u64::try_from(step) else {
            continue;
        };
        let expected = hotp(&key, counter, TOTP_DIGITS);
        if ct_eq(expected.as_bytes(), code.as_bytes()) && matched.is_none() {
            matched = Some(step);
        }
    }
    matched
}

/// The `otpauth://` URI an authenticator app reads from the QR code (Key Uri Format).
pub fn otpauth_uri(issuer: &str, account: &str, secret_b32: &str) -> String {
    let label = format!("{}:{}", pct(issuer), pct(account));
    format!(
        "otpauth://totp/{label}?secret={secret_b32}&issuer={}&algorithm=SHA1&digits={TOTP_DIGITS}&period={TOTP_PERIOD}",
        pct(issuer)
    )
}

fn pct(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'@') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Recovery-code alphabet: lowercase letters and digits without look-alikes (0/o, 1/l/i).
const RECOVERY_ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";

/// A new recovery code, `xxxxx-xxxxx` (10 symbols of 31, about 49 bits).
pub fn new_recovery_code() -> String {
    let n = RECOVERY_ALPHABET.len();
    let limit = 256 - 256 % n;
    let mut out = String::with_capacity(11);
    let mut buf = [0u8; 32];
    while out.len() < 11 {
        fill_random(&mut buf);
        for &b in &buf {
            if out.len() == 11 {
                break;
            }
            if (b as usize) < limit {
                if out.len() == 5 {
                    out.push('-');
                }
                out.push(RECOVERY_ALPHABET[b as usize % n] as char);
            }
        }
    }
    out
}

/// The canonical form of a typed recovery code (lowercase, no spaces or dashes), so that
/// `ABCDE-FGHJK`, `abcde fghjk` and `abcdefghjk` are the same code.
pub fn normalize_recovery_code(typed: &str) -> String {
    typed
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_lowercase())
        .take(64)
        .collect()
}

/// A random numeric code of `digits` digits (emailed codes), uniformly drawn.
pub fn new_numeric_code(digits: usize) -> String {
    let mut out = String::with_capacity(digits);
    let mut buf = [0u8; 32];
    while out.len() < digits {
        fill_random(&mut buf);
        for &b in &buf {
            if out.len() == digits {
                break;
            }
            if b < 250 {
                out.push((b'0' + b % 10) as char);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238 Appendix B, SHA-1 rows (8 digits, key "12345678901234567890").
    #[test]
    fn rfc6238_vectors() {
        let key = b"12345678901234567890";
        for (t, expected) in [
            (59i64, "94287082"),
            (1111111109, "07081804"),
            (1111111111, "14050471"),
            (1234567890, "89005924"),
            (2000000000, "69279037"),
            (20000000000, "65353130"),
        ] {
            assert_eq!(hotp(key, totp_step(t) as u64, 8), expected, "t={t}");
        }
    }

    /// RFC 4226 Appendix D.
    #[test]
    fn rfc4226_vectors() {
        let key = b"12345678901234567890";
        let expected = [
            "755224", "287082", "359152", "969429", "338314", "254676", "287922", "162583",
            "399871", "520489",
        ];
        for (i, e) in expected.iter().enumerate() {
            assert_eq!(hotp(key, i as u64, 6), *e);
        }
    }

    #[test]
    fn base32_round_trip() {
        assert_eq!(base32_encode(b"foobar"), "MZXW6YTBOI");
        assert_eq!(base32_decode("mzxw6ytboi").unwrap(), b"foobar");
        assert_eq!(base32_decode("MZXW6YTBOI======").unwrap(), b"foobar");
        assert!(base32_decode("M1").is_none());
        let s = new_totp_secret();
        assert_eq!(s.len(), 32);
        assert_eq!(base32_decode(&s).unwrap().len(), 20);
    }

    #[test]
    fn verify_accepts_one_step_of_skew_and_names_the_step() {
        let s = new_totp_secret();
        let t = 1_700_000_000i64;
        let step = totp_step(t);
        for d in [-1i64, 0, 1] {
            let code = totp_code(&s, step + d).unwrap();
            assert_eq!(totp_verify(&s, &code, t), Some(step + d));
        }
        let far = totp_code(&s, step + 2).unwrap();
        if totp_code(&s, step + 1).unwrap() != far
            && totp_code(&s, step).unwrap() != far
            && totp_code(&s, step - 1).unwrap() != far
        {
            assert_eq!(totp_verify(&s, &far, t), None);
        }
        assert_eq!(totp_verify(&s, "12345", t), None);
        assert_eq!(totp_verify(&s, "abcdef", t), None);
        assert_eq!(totp_verify("not base32!", "123456", t), None);
    }

    #[test]
    fn otpauth_uri_escapes_the_label() {
        let uri = otpauth_uri("Acme Corp", "ann@example.com", "JBSWY3DPEHPK3PXP");
        assert_eq!(
            uri,
            "otpauth://totp/Acme%20Corp:ann@example.com?secret=JBSWY3DPEHPK3PXP&issuer=Acme%20Corp&algorithm=SHA1&digits=6&period=30"
        );
    }

    #[test]
    fn recovery_codes_are_readable_and_normalize() {
        let c = new_recovery_code();
        assert_eq!(c.len(), 11);
        assert_eq!(&c[5..6], "-");
        assert_eq!(
            normalize_recovery_code(&c.to_uppercase()),
            c.replace('-', "")
        );
        assert_eq!(new_numeric_code(6).len(), 6);
        assert!(new_numeric_code(6).bytes().all(|b| b.is_ascii_digit()));
    }
}
