//! Nagle's algorithm off on the PostgreSQL connections, as libpq does.
//!
//! sqlx 0.9 opens its sockets without `TCP_NODELAY` and offers no hook to set it. Over TLS a
//! query can leave as several small writes, and Nagle's algorithm then holds the later ones back
//! until the server's delayed acknowledgement arrives. Measured (docs/performance-history.md):
//! client-credentials offered at 80 % of its maximum served 1,336/s of 4,948/s, p50 181 ms, with
//! server and database idle; the same run with `TCP_NODELAY` set on the sockets served all of it
//! with a p99 of 7.7 ms.
//!
//! So, after each new connection, every TCP socket of this process whose peer port is the
//! database's gets `TCP_NODELAY`. The option only changes when small writes leave; setting it on
//! a socket that already has it, or on another connection to the same port, does no harm.

/// Sets `TCP_NODELAY` on each TCP socket of this process connected to a peer on `port`.
/// Returns how many sockets it set it on.
#[cfg(target_os = "linux")]
pub(crate) fn on_sockets_to_port(port: u16) -> usize {
    use std::os::fd::RawFd;

    let Ok(entries) = std::fs::read_dir("/proc/self/fd") else {
        return 0;
    };
    let mut set = 0;
    for entry in entries.flatten() {
        let Some(fd) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<RawFd>().ok())
        else {
            continue;
        };
        if peer_port(fd) == Some(port) && set_nodelay(fd) {
            set += 1;
        }
    }
    set
}

#[cfg(not(target_os = "linux"))]
pub(crate) fn on_sockets_to_port(_port: u16) -> usize {
    0
}

/// The peer's port when `fd` is a connected TCP socket over IPv4 or IPv6.
#[cfg(target_os = "linux")]
fn peer_port(fd: std::os::fd::RawFd) -> Option<u16> {
    // SAFETY: getsockopt and getpeername only write into the buffers passed with their lengths;
    // on a descriptor that is not a socket (or was closed meanwhile) they fail with an error.
    unsafe {
        let mut kind: libc::c_int = 0;
        let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
        if libc::getsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_TYPE,
            (&mut kind as *mut libc::c_int).cast(),
            &mut len,
        ) != 0
            || kind != libc::SOCK_STREAM
        {
            return None;
        }
        let mut addr: libc::sockaddr_storage = std::mem::zeroed();
        let mut len = std::mem::size_of::<libc::sockaddr_storage>() as libc::socklen_t;
        if libc::getpeername(
            fd,
            (&mut addr as *mut libc::sockaddr_storage).cast(),
            &mut len,
        ) != 0
        {
            return None;
        }
        match i32::from(addr.ss_family) {
            libc::AF_INET => {
                let v4 = &*(&addr as *const libc::sockaddr_storage).cast::<libc::sockaddr_in>();
                Some(u16::from_be(v4.sin_port))
            }
            libc::AF_INET6 => {
                let v6 = &*(&addr as *const libc::sockaddr_storage).cast::<libc::sockaddr_in6>();
                Some(u16::from_be(v6.sin6_port))
            }
            _ => None,
        }
    }
}

#[cfg(target_os = "linux")]
fn set_nodelay(fd: std::os::fd::RawFd) -> bool {
    let one: libc::c_int = 1;
    // SAFETY: setsockopt reads `one` for the length given; a descriptor closed meanwhile (or
    // reused for something else) makes it fail or set an option that only affects TCP timing.
    unsafe {
        libc::setsockopt(
            fd,
            libc::IPPROTO_TCP,
            libc::TCP_NODELAY,
            (&one as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        ) == 0
    }
}

/// Whether `TCP_NODELAY` is set on `fd` (for tests).
#[cfg(all(test, target_os = "linux"))]
pub(crate) fn is_set(fd: std::os::fd::RawFd) -> bool {
    let mut value: libc::c_int = 0;
    let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: as in `peer_port`.
    unsafe {
        libc::getsockopt(
            fd,
            libc::IPPROTO_TCP,
            libc::TCP_NODELAY,
            (&mut value as *mut libc::c_int).cast(),
            &mut len,
        ) == 0
            && value != 0
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use std::net::{TcpListener, TcpStream};
    use std::os::fd::AsRawFd;

    #[test]
    fn sets_nodelay_on_the_sockets_to_the_port_and_no_others() {
        let db = TcpListener::bind("127.0.0.1:0").unwrap();
        let other = TcpListener::bind("127.0.0.1:0").unwrap();
        let to_db = TcpStream::connect(db.local_addr().unwrap()).unwrap();
        let to_other = TcpStream::connect(other.local_addr().unwrap()).unwrap();
        assert!(!super::is_set(to_db.as_raw_fd()));
        assert!(super::on_sockets_to_port(db.local_addr().unwrap().port()) >= 1);
        assert!(super::is_set(to_db.as_raw_fd()));
        assert!(!super::is_set(to_other.as_raw_fd()));
    }
}
