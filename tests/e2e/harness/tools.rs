//! Third-party tools the tests run beside the server: finding them on PATH (skip with a notice
//! locally, fail in CI), Python virtual environments installed from a pinned requirements file
//! under the cargo target directory, once per file content and under a file lock (so parallel
//! tests and parallel runs do not race), and running a command with a timeout.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use base64::Engine;

use super::in_ci;
use super::process::BIN;

/// Install times are generous: a cold pip cache on two shared cores is slow.
pub const INSTALL_TIMEOUT: Duration = Duration::from_secs(300);

/// `tests/interop`: the third-party clients and helpers the tests run.
pub fn interop_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/interop")
}

/// `<target>/interop`: beside the binary under test (`<target>/<profile>/tessera`).
pub fn cache_dir() -> PathBuf {
    let bin = Path::new(BIN);
    let target = bin
        .parent()
        .and_then(Path::parent)
        .expect("the binary lives in <target>/<profile>/");
    target.join("interop")
}

pub fn which(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
}

/// Whether the tools are on PATH; when one is missing, a notice (and `false`) outside CI, a
/// failure in CI naming what is missing and what needs it.
pub fn require(tools: &[&str], what: &str) -> bool {
    let missing: Vec<&str> = tools
        .iter()
        .copied()
        .filter(|t| which(t).is_none())
        .collect();
    if missing.is_empty() {
        return true;
    }
    if in_ci() {
        panic!("{what} needs {missing:?} on PATH in CI");
    }
    eprintln!("notice: skipping {what}: {missing:?} not found on PATH");
    false
}

/// An exclusive lock on a file, released when dropped (flock(2): also across processes).
pub struct FileLock(File);

impl FileLock {
    pub fn acquire(path: &Path) -> FileLock {
        std::fs::create_dir_all(path.parent().expect("a parent")).expect("the cache folder");
        let f = File::create(path).expect("the lock file can be created");
        use std::os::fd::AsRawFd;
        // SAFETY: flock on a descriptor this function owns; blocks until the lock is granted.
        let rc = unsafe { libc::flock(f.as_raw_fd(), libc::LOCK_EX) };
        assert_eq!(rc, 0, "flock {}", path.display());
        FileLock(f)
    }
}

impl Drop for FileLock {
    fn drop(&mut self) {
        use std::os::fd::AsRawFd;
        // SAFETY: unlocking the descriptor locked in `acquire`.
        unsafe { libc::flock(self.0.as_raw_fd(), libc::LOCK_UN) };
    }
}

/// A fingerprint of the files that decide what gets installed.
pub fn fingerprint(files: &[PathBuf]) -> String {
    let mut all = Vec::new();
    for f in files {
        all.extend(std::fs::read(f).unwrap_or_else(|e| panic!("{}: {e}", f.display())));
        all.push(0);
    }
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, &all).as_ref())
}

/// Runs a command to completion with piped output, panicking when it cannot start or overruns.
pub async fn run(
    cmd: &mut tokio::process::Command,
    what: &str,
    timeout: Duration,
) -> std::process::Output {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("{what} cannot start: {e}"));
    tokio::time::timeout(timeout, child.wait_with_output())
        .await
        .unwrap_or_else(|_| panic!("{what} did not finish within {timeout:?}"))
        .unwrap_or_else(|e| panic!("{what}: {e}"))
}

#[track_caller]
pub fn check_ok(out: &std::process::Output, what: &str) {
    assert!(
        out.status.success(),
        "{what} failed with {}:\nstdout:\n{}\nstderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A virtual environment `<target>/interop/<name>` with `requirements` (a pinned file under
/// `tests/interop/python/`) installed, rebuilt when that file changes. Returns its Python.
pub async fn python_venv(requirements: &str, name: &str) -> PathBuf {
    let reqs = interop_dir().join("python").join(requirements);
    let venv = cache_dir().join(name);
    let _lock = FileLock::acquire(&cache_dir().join(format!("{name}.lock")));
    let stamp = venv.join(".tessera-install-stamp");
    let python = venv.join("bin/python");
    let want = fingerprint(std::slice::from_ref(&reqs));
    if python.is_file() && std::fs::read_to_string(&stamp).is_ok_and(|s| s == want) {
        return python;
    }
    let mut cmd = tokio::process::Command::new("python3");
    cmd.args(["-m", "venv", "--clear"]).arg(&venv);
    check_ok(
        &run(&mut cmd, "python3 -m venv", INSTALL_TIMEOUT).await,
        "python3 -m venv",
    );
    let mut cmd = tokio::process::Command::new(&python);
    cmd.args([
        "-m",
        "pip",
        "install",
        "--quiet",
        "--disable-pip-version-check",
        "--no-input",
        "-r",
    ])
    .arg(&reqs);
    check_ok(
        &run(&mut cmd, "pip install", INSTALL_TIMEOUT).await,
        &format!("pip install -r {requirements}"),
    );
    std::fs::write(&stamp, want).expect("the install stamp can be written");
    python
}
