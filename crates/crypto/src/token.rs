//! Small building blocks for tokens and secrets: random bytes and strings, SHA-256, and
//! constant-time comparison. Opaque tokens are stored hashed (`sha256_hex`) and compared with
//! `ct_eq`, so neither a database leak nor response timing reveals them.

use aws_lc_rs::digest;
use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use subtle::ConstantTimeEq;

/// Characters of [`random_password`]: letters and digits without the look-alikes 0 O 1 l I.
const PASSWORD_ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789";

/// Fills `buf` from the operating system's random number generator.
///
/// # Panics
/// If the OS random number generator fails. There is no safe way to go on without randomness
/// (every token, nonce and salt depends on it), and on supported platforms the call only fails
/// when the kernel cannot provide entropy at all.
pub(crate) fn fill_random(buf: &mut [u8]) {
    SystemRandom::new()
        .fill(buf)
        .expect("the operating system's random number generator failed");
}

/// `N` random bytes from the operating system's random number generator.
///
/// # Panics
/// Only if the OS random number generator fails, which leaves nothing safe to do.
pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut out = [0u8; N];
    fill_random(&mut out);
    out
}

/// A token of `bytes` random bytes, as base64url without padding (URL- and cookie-safe).
/// 32 bytes give 256 bits, the usual choice for session and refresh tokens.
///
/// # Panics
/// Only if the OS random number generator fails, which leaves nothing safe to do.
pub fn random_token(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    fill_random(&mut buf);
    URL_SAFE_NO_PAD.encode(&buf)
}

/// SHA-256 of `data`.
pub fn sha256(data: &[u8]) -> [u8; 32] {
    let mut out = [0u8; 32];
    out.copy_from_slice(digest::digest(&digest::SHA256, data).as_ref());
    out
}

/// Lowercase hex of SHA-256 of `data`.
pub fn sha256_hex(data: &[u8]) -> String {
    hex::encode(sha256(data))
}

/// Compares two byte strings in time that depends only on their lengths, never on where they
/// differ. The length itself may leak, which is fine for fixed-length tokens and digests.
pub fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    a.ct_eq(b).into()
}

/// A random password of `len` characters that a person can read and type: ASCII letters and
/// digits without 0, O, 1, l and I (57 symbols, about 5.8 bits each).
///
/// Each character is drawn uniformly: random bytes that would favour some symbols (those at or
/// above the largest multiple of 57 below 256) are discarded and redrawn.
///
/// # Panics
/// Only if the OS random number generator fails, which leaves nothing safe to do.
pub fn random_password(len: usize) -> String {
    let n = PASSWORD_ALPHABET.len();
    let limit = 256 - 256 % n;
    let mut out = String::with_capacity(len);
    let mut buf = [0u8; 64];
    while out.len() < len {
        fill_random(&mut buf);
        for &b in &buf {
            if out.len() == len {
                break;
            }
            if usize::from(b) < limit {
                out.push(char::from(PASSWORD_ALPHABET[usize::from(b) % n]));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ct_eq_compares_content_and_length() {
        assert!(ct_eq(b"", b""));
        assert!(ct_eq(b"token", b"token"));
        assert!(!ct_eq(b"token", b"tokem"));
        assert!(!ct_eq(b"token", b"token!"));
        assert!(!ct_eq(b"token", b""));
    }

    #[test]
    fn sha256_known_vectors() {
        // FIPS 180-2 appendix B.1 and the empty-input digest.
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(
            sha256_hex(b""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_eq!(hex::encode(sha256(b"abc")), sha256_hex(b"abc"));
    }

    #[test]
    fn random_bytes_and_tokens() {
        let a: [u8; 32] = random_bytes();
        let b: [u8; 32] = random_bytes();
        assert_ne!(a, b);

        let t = random_token(32);
        assert_eq!(t.len(), 43);
        assert!(
            t.bytes()
                .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_')
        );
        assert_ne!(t, random_token(32));
        assert_eq!(random_token(0), "");
    }

    #[test]
    fn random_password_charset_and_length() {
        for len in [0, 1, 12, 100, 1000] {
            let p = random_password(len);
            assert_eq!(p.len(), len);
            assert!(p.bytes().all(|c| PASSWORD_ALPHABET.contains(&c)), "{p}");
        }
        assert_eq!(PASSWORD_ALPHABET.len(), 57);
        for ambiguous in b"0O1lI" {
            assert!(!PASSWORD_ALPHABET.contains(ambiguous));
        }
        // 5000 draws cover all 57 symbols unless sampling is badly broken.
        let many = random_password(5000);
        for c in PASSWORD_ALPHABET {
            assert!(many.as_bytes().contains(c), "never drew {}", char::from(*c));
        }
    }
}
