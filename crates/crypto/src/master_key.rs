//! The master key: 32 random bytes from which every other key of a Tessera installation is
//! derived (see [`crate::field`]). Owns generating it, its base64 text form, and the key file.
//!
//! Losing the master key makes every encrypted field unreadable, so the key file is created
//! exactly once (`create_new`, never overwritten) and only ever read afterwards.

use std::fmt;
use std::fs;
use std::io::{self, Write};
use std::path::Path;

use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use base64::Engine;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::{DecodePaddingMode, general_purpose};
use zeroize::{Zeroize, Zeroizing};

use crate::error::CryptoError;

/// Length of the master key in bytes.
pub const MASTER_KEY_LEN: usize = 32;

/// Operators paste keys from many tools; accept the key with or without `=` padding.
const LENIENT: GeneralPurposeConfig =
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent);
const STANDARD_LENIENT: GeneralPurpose = GeneralPurpose::new(&base64::alphabet::STANDARD, LENIENT);
const URL_SAFE_LENIENT: GeneralPurpose = GeneralPurpose::new(&base64::alphabet::URL_SAFE, LENIENT);

/// The installation's root secret. Zeroized on drop; `Debug` never shows it.
///
/// Deliberately not `Clone`: one copy lives in memory, and sub-keys are derived from it.
pub struct MasterKey {
    bytes: [u8; MASTER_KEY_LEN],
}

/// The result of [`MasterKey::load_or_create`].
#[derive(Debug)]
pub struct LoadedMasterKey {
    /// The key itself.
    pub key: MasterKey,
    /// True when the key file did not exist and was created by this call.
    pub created: bool,
    /// True when the existing key file is readable or writable by group or others (unix only).
    /// The key is loaded anyway; the caller should warn the operator.
    pub loose_permissions: bool,
}

impl MasterKey {
    /// A new key from the operating system's random number generator.
    pub fn generate() -> Result<MasterKey, CryptoError> {
        let mut bytes = [0u8; MASTER_KEY_LEN];
        SystemRandom::new()
            .fill(&mut bytes)
            .map_err(|_| CryptoError::Rng)?;
        Ok(MasterKey { bytes })
    }

    /// Parses a key from standard or url-safe base64 (padding optional, surrounding whitespace
    /// ignored). It must decode to exactly 32 bytes.
    pub fn from_base64(s: &str) -> Result<MasterKey, CryptoError> {
        let text = s.trim();
        if text.is_empty() {
            return Err(CryptoError::InvalidKey("the master key is empty".into()));
        }
        // A decoded buffer holds the key, so it is wiped whichever way this function returns.
        let decoded = STANDARD_LENIENT
            .decode(text)
            .or_else(|_| URL_SAFE_LENIENT.decode(text))
            .map(Zeroizing::new)
            .map_err(|_| CryptoError::InvalidKey("the master key is not valid base64".into()))?;
        let bytes: [u8; MASTER_KEY_LEN] = decoded.as_slice().try_into().map_err(|_| {
            CryptoError::InvalidKey(format!(
                "the master key must decode to exactly {MASTER_KEY_LEN} bytes, got {}",
                decoded.len()
            ))
        })?;
        Ok(MasterKey { bytes })
    }

    /// The key as standard base64 with padding (44 characters).
    pub fn to_base64(&self) -> String {
        general_purpose::STANDARD.encode(self.bytes)
    }

    /// Reads the key file (base64 text, one line). If the file does not exist, generates a key
    /// and writes it with mode 0600, creating missing parent directories (mode 0700).
    ///
    /// Creation uses `create_new`, so two processes starting at once cannot both write a key:
    /// the loser reads the winner's file.
    pub fn load_or_create(path: &Path) -> Result<LoadedMasterKey, CryptoError> {
        match Self::create(path) {
            Ok(key) => Ok(LoadedMasterKey {
                key,
                created: true,
                loose_permissions: false,
            }),
            Err(CreateError::Exists) => {
                let key = Self::load(path)?;
                Ok(LoadedMasterKey {
                    key,
                    created: false,
                    loose_permissions: has_loose_permissions(path)?,
                })
            }
            Err(CreateError::Failed(e)) => Err(e),
        }
    }

    /// Reads an existing key file.
    pub fn load(path: &Path) -> Result<MasterKey, CryptoError> {
        let text =
            Zeroizing::new(fs::read_to_string(path).map_err(|e| io_error("read", path, &e))?);
        if text.trim().is_empty() {
            // The likely cause is a crash between creating and writing the file on first start.
            return Err(CryptoError::InvalidKey(format!(
                "the master key file {} is empty",
                path.display()
            )));
        }
        Self::from_base64(&text).map_err(|e| match e {
            CryptoError::InvalidKey(why) => {
                CryptoError::InvalidKey(format!("{why} (in {})", path.display()))
            }
            other => other,
        })
    }

    /// The raw key, for deriving sub-keys inside this crate only.
    pub(crate) fn expose(&self) -> &[u8; MASTER_KEY_LEN] {
        &self.bytes
    }

    fn create(path: &Path) -> Result<MasterKey, CreateError> {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            create_private_dir_all(parent)
                .map_err(|e| CreateError::Failed(io_error("create the directory of", path, &e)))?;
        }
        let mut file = match new_private_file(path) {
            Ok(file) => file,
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => return Err(CreateError::Exists),
            Err(e) => return Err(CreateError::Failed(io_error("create", path, &e))),
        };
        let key = Self::generate().map_err(CreateError::Failed)?;
        let mut line = Zeroizing::new(key.to_base64());
        line.push('\n');
        file.write_all(line.as_bytes())
            .and_then(|()| file.sync_all())
            .map_err(|e| CreateError::Failed(io_error("write", path, &e)))?;
        sync_parent_dir(path);
        Ok(key)
    }
}

enum CreateError {
    Exists,
    Failed(CryptoError),
}

impl Drop for MasterKey {
    fn drop(&mut self) {
        self.bytes.zeroize();
    }
}

impl fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MasterKey(redacted)")
    }
}

fn io_error(action: &str, path: &Path, e: &io::Error) -> CryptoError {
    CryptoError::Io(format!("could not {action} {}: {e}", path.display()))
}

#[cfg(unix)]
fn new_private_file(path: &Path) -> io::Result<fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
}

#[cfg(not(unix))]
fn new_private_file(path: &Path) -> io::Result<fs::File> {
    fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
}

#[cfg(unix)]
fn create_private_dir_all(dir: &Path) -> io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    // Only directories created here get 0700; existing ones are the operator's business.
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
}

#[cfg(not(unix))]
fn create_private_dir_all(dir: &Path) -> io::Result<()> {
    fs::create_dir_all(dir)
}

/// Makes the new directory entry durable, so a power loss right after first start cannot lose a
/// key that data may already be encrypted under. Best effort: some platforms and filesystems do
/// not support syncing a directory, and the file's own contents are already synced.
#[cfg(unix)]
fn sync_parent_dir(path: &Path) {
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    if let Ok(dir) = fs::File::open(parent) {
        let _ = dir.sync_all();
    }
}

#[cfg(not(unix))]
fn sync_parent_dir(_path: &Path) {}

#[cfg(unix)]
fn has_loose_permissions(path: &Path) -> Result<bool, CryptoError> {
    use std::os::unix::fs::PermissionsExt;
    let meta = fs::metadata(path).map_err(|e| io_error("inspect", path, &e))?;
    Ok(meta.permissions().mode() & 0o077 != 0)
}

#[cfg(not(unix))]
fn has_loose_permissions(_path: &Path) -> Result<bool, CryptoError> {
    Ok(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generate_and_base64_round_trip() {
        let key = MasterKey::generate().expect("rng");
        let text = key.to_base64();
        assert_eq!(text.len(), 44);
        let back = MasterKey::from_base64(&text).expect("parse");
        assert_eq!(key.expose(), back.expose());
    }

    #[test]
    fn two_generated_keys_differ() {
        let a = MasterKey::generate().expect("rng");
        let b = MasterKey::generate().expect("rng");
        assert_ne!(a.expose(), b.expose());
    }

    #[test]
    fn accepts_url_safe_unpadded_and_whitespace() {
        // 32 bytes chosen so the standard encoding contains both '+' and '/'.
        let bytes: [u8; 32] = core::array::from_fn(|i| if i % 2 == 0 { 0xfb } else { 0xff });
        let std_text = general_purpose::STANDARD.encode(bytes);
        assert!(std_text.contains('+') && std_text.contains('/'));
        let url_text = general_purpose::URL_SAFE_NO_PAD.encode(bytes);
        for text in [
            std_text.clone(),
            format!("  {std_text}\n"),
            url_text.clone(),
            format!("{url_text}\r\n"),
            std_text.trim_end_matches('=').to_owned(),
        ] {
            let key = MasterKey::from_base64(&text).expect("parse");
            assert_eq!(key.expose(), &bytes, "{text:?}");
        }
    }

    #[test]
    fn rejects_wrong_length_and_garbage() {
        let short = general_purpose::STANDARD.encode([7u8; 31]);
        let long = general_purpose::STANDARD.encode([7u8; 33]);
        for text in [
            short.as_str(),
            long.as_str(),
            "",
            "   ",
            "not base64 at all!",
        ] {
            let err = MasterKey::from_base64(text).expect_err(text);
            assert!(
                matches!(err, CryptoError::InvalidKey(_)),
                "{text:?}: {err:?}"
            );
        }
        let err = MasterKey::from_base64(&short).expect_err("short");
        assert!(err.to_string().contains("got 31"), "{err}");
    }

    #[test]
    fn debug_redacts() {
        let key = MasterKey::generate().expect("rng");
        assert_eq!(format!("{key:?}"), "MasterKey(redacted)");
        let loaded = LoadedMasterKey {
            key,
            created: true,
            loose_permissions: false,
        };
        let shown = format!("{loaded:?}");
        assert!(shown.contains("MasterKey(redacted)"), "{shown}");
        assert!(!shown.contains(&loaded.key.to_base64()), "{shown}");
    }

    #[test]
    fn load_or_create_creates_then_loads_the_same_key() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("nested/deeper/master.key");

        let first = MasterKey::load_or_create(&path).expect("create");
        assert!(first.created);
        assert!(!first.loose_permissions);

        let text = fs::read_to_string(&path).expect("read back");
        assert_eq!(text, format!("{}\n", first.key.to_base64()));

        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(&path).expect("meta").permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }

        let second = MasterKey::load_or_create(&path).expect("load");
        assert!(!second.created);
        assert!(!second.loose_permissions);
        assert_eq!(first.key.expose(), second.key.expose());

        let plain = MasterKey::load(&path).expect("load");
        assert_eq!(first.key.expose(), plain.expose());
    }

    #[cfg(unix)]
    #[test]
    fn load_or_create_flags_loose_permissions_but_loads() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("master.key");
        let key = MasterKey::generate().expect("rng");
        fs::write(&path, key.to_base64()).expect("write");
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).expect("chmod");

        let loaded = MasterKey::load_or_create(&path).expect("load");
        assert!(!loaded.created);
        assert!(loaded.loose_permissions);
        assert_eq!(loaded.key.expose(), key.expose());
    }

    #[test]
    fn load_requires_an_existing_valid_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let missing = dir.path().join("absent.key");
        assert!(matches!(MasterKey::load(&missing), Err(CryptoError::Io(_))));

        let empty = dir.path().join("empty.key");
        fs::write(&empty, "").expect("write");
        let err = MasterKey::load(&empty).expect_err("empty");
        assert!(err.to_string().contains("empty"), "{err}");
        // An empty leftover file must not be silently replaced by a fresh key.
        assert!(MasterKey::load_or_create(&empty).is_err());

        let bad = dir.path().join("bad.key");
        fs::write(&bad, general_purpose::STANDARD.encode([1u8; 16])).expect("write");
        assert!(matches!(
            MasterKey::load(&bad),
            Err(CryptoError::InvalidKey(_))
        ));
    }
}
