//! Known-bad networks: named lists of IPs and CIDRs the operator loads (Tor exits, hosting
//! ranges, abuse feeds), matched by longest-first linear scan per address family.

use std::net::IpAddr;

use ipnet::IpNet;

/// Parses `10.0.0.0/8`, `2001:db8::/32` or a bare address (a /32 or /128).
pub fn parse_net(s: &str) -> Option<IpNet> {
    let s = s.trim();
    if let Ok(n) = s.parse::<IpNet>() {
        return Some(n.trunc());
    }
    s.parse::<IpAddr>().ok().map(IpNet::from)
}

/// Parses a list file: one IP or CIDR per line; blank lines and `#` comments are skipped.
/// Errors name the 1-based line.
pub fn parse_list(text: &str) -> Result<Vec<IpNet>, String> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.split('#').next().unwrap_or("").trim();
        if line.is_empty() {
            continue;
        }
        out.push(
            parse_net(line)
                .ok_or_else(|| format!("line {}: \"{line}\" is not an IP or a CIDR", i + 1))?,
        );
    }
    Ok(out)
}

/// Named network lists.
#[derive(Clone, Debug, Default)]
pub struct IpLists {
    lists: Vec<(String, Vec<IpNet>)>,
}

impl IpLists {
    pub fn add(&mut self, name: &str, nets: impl IntoIterator<Item = IpNet>) {
        let nets: Vec<IpNet> = nets.into_iter().collect();
        match self.lists.iter_mut().find(|(n, _)| n == name) {
            Some((_, v)) => v.extend(nets),
            None => self.lists.push((name.to_string(), nets)),
        }
    }

    /// The name of the first list holding `ip`.
    pub fn find(&self, ip: IpAddr) -> Option<&str> {
        let ip = canonical(ip);
        self.lists
            .iter()
            .find(|(_, nets)| nets.iter().any(|n| n.contains(&ip)))
            .map(|(name, _)| name.as_str())
    }

    pub fn is_empty(&self) -> bool {
        self.lists.iter().all(|(_, v)| v.is_empty())
    }
}

/// IPv4-mapped IPv6 addresses (`::ffff:1.2.3.4`, as dual-stack sockets report them) are IPv4.
pub fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// The /24 of an IPv4 address or the /48 of an IPv6 address: neighbours that usually share an
/// operator.
pub fn subnet_of(ip: IpAddr) -> IpNet {
    match canonical(ip) {
        IpAddr::V4(v4) => IpNet::new(IpAddr::V4(v4), 24)
            .expect("24 is a valid IPv4 prefix")
            .trunc(),
        v6 => IpNet::new(v6, 48)
            .expect("48 is a valid IPv6 prefix")
            .trunc(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_match_addresses_and_networks() {
        let mut l = IpLists::default();
        l.add(
            "tor",
            parse_list("# exits\n185.220.101.1\n\n10.9.0.0/16 # lab\n2001:db8::/32\n").unwrap(),
        );
        assert_eq!(l.find("185.220.101.1".parse().unwrap()), Some("tor"));
        assert_eq!(l.find("185.220.101.2".parse().unwrap()), None);
        assert_eq!(l.find("10.9.200.3".parse().unwrap()), Some("tor"));
        assert_eq!(l.find("::ffff:10.9.0.1".parse().unwrap()), Some("tor"));
        assert_eq!(l.find("2001:db8:1::5".parse().unwrap()), Some("tor"));
        let e = parse_list("1.2.3.4\nbogus\n").unwrap_err();
        assert!(e.starts_with("line 2:"), "{e}");
    }

    #[test]
    fn subnets() {
        assert_eq!(
            subnet_of("203.0.113.77".parse().unwrap()).to_string(),
            "203.0.113.0/24"
        );
        assert_eq!(
            subnet_of("2001:db8:aa:bb::1".parse().unwrap()).to_string(),
            "2001:db8:aa::/48"
        );
        assert_eq!(
            subnet_of("::ffff:203.0.113.77".parse().unwrap()).to_string(),
            "203.0.113.0/24"
        );
    }
}
