//! The geo-IP port: country, location and autonomous system of an address. The adapter reads a
//! MaxMind-format `.mmdb` (GeoIP2/GeoLite2 City or Country, ASN, or one file holding both, as
//! the test databases of [`crate::mmdb`] do).

use std::net::IpAddr;
use std::path::Path;

use serde::Deserialize;

/// What the engine knows of an address.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct GeoInfo {
    /// ISO 3166-1 alpha-2, upper case.
    pub country: Option<String>,
    /// Latitude and longitude in degrees.
    pub location: Option<(f64, f64)>,
    pub asn: Option<u32>,
}

/// Looks addresses up. Implementations must be cheap: the engine calls this once per attempt.
pub trait GeoLookup: Send + Sync {
    fn lookup(&self, ip: IpAddr) -> GeoInfo;
}

/// A `.mmdb` file read with the `maxminddb` crate.
pub struct MmdbGeo {
    pub(crate) reader: maxminddb::Reader<Vec<u8>>,
}

#[derive(Deserialize)]
struct Country<'a> {
    #[serde(borrow)]
    iso_code: Option<&'a str>,
}

#[derive(Deserialize)]
struct Location {
    latitude: Option<f64>,
    longitude: Option<f64>,
}

#[derive(Deserialize)]
struct Record<'a> {
    #[serde(borrow)]
    country: Option<Country<'a>>,
    #[serde(borrow)]
    registered_country: Option<Country<'a>>,
    location: Option<Location>,
    autonomous_system_number: Option<u32>,
}

impl MmdbGeo {
    /// Opens and checks a database; the error says what is wrong with the file.
    pub fn open(path: &Path) -> Result<MmdbGeo, String> {
        let reader = maxminddb::Reader::open_readfile(path)
            .map_err(|e| format!("{}: not a MaxMind DB file ({e})", path.display()))?;
        Ok(MmdbGeo { reader })
    }

    pub fn from_bytes(bytes: Vec<u8>) -> Result<MmdbGeo, String> {
        let reader = maxminddb::Reader::from_source(bytes)
            .map_err(|e| format!("not a MaxMind DB file ({e})"))?;
        Ok(MmdbGeo { reader })
    }

    /// The database's type, e.g. `GeoLite2-City`.
    pub fn database_type(&self) -> &str {
        &self.reader.metadata.database_type
    }
}

impl GeoLookup for MmdbGeo {
    fn lookup(&self, ip: IpAddr) -> GeoInfo {
        let ip = crate::lists::canonical(ip);
        // An IPv6 address in an IPv4-only database is an error, not a miss: treat it as unknown.
        let rec: Option<Record> = self.reader.lookup(ip).ok().flatten();
        let Some(r) = rec else {
            return GeoInfo::default();
        };
        let country = r
            .country
            .and_then(|c| c.iso_code)
            .or_else(|| r.registered_country.and_then(|c| c.iso_code))
            .map(str::to_ascii_uppercase);
        let location = r.location.and_then(|l| match (l.latitude, l.longitude) {
            (Some(a), Some(o)) if a.is_finite() && o.is_finite() => Some((a, o)),
            _ => None,
        });
        GeoInfo {
            country,
            location,
            asn: r.autonomous_system_number,
        }
    }
}

/// A fixed table of networks, for tests and for callers without a database file.
#[derive(Clone, Debug, Default)]
pub struct StaticGeo {
    entries: Vec<(ipnet::IpNet, GeoInfo)>,
}

impl StaticGeo {
    /// Adds a network; the most specific match wins.
    pub fn with(mut self, net: &str, country: &str, asn: u32, location: (f64, f64)) -> Self {
        let net = crate::lists::parse_net(net).expect("StaticGeo::with takes a valid CIDR");
        self.entries.push((
            net,
            GeoInfo {
                country: Some(country.to_string()),
                location: Some(location),
                asn: Some(asn),
            },
        ));
        self.entries
            .sort_by_key(|(n, _)| std::cmp::Reverse(n.prefix_len()));
        self
    }
}

impl GeoLookup for StaticGeo {
    fn lookup(&self, ip: IpAddr) -> GeoInfo {
        let ip = crate::lists::canonical(ip);
        self.entries
            .iter()
            .find(|(n, _)| n.contains(&ip))
            .map(|(_, g)| g.clone())
            .unwrap_or_default()
    }
}

/// Great-circle distance in km between two (latitude, longitude) points (haversine, mean Earth
/// radius).
pub fn distance_km(a: (f64, f64), b: (f64, f64)) -> f64 {
    const R: f64 = 6371.0;
    let (la1, lo1) = (a.0.to_radians(), a.1.to_radians());
    let (la2, lo2) = (b.0.to_radians(), b.1.to_radians());
    let h = ((la2 - la1) / 2.0).sin().powi(2)
        + la1.cos() * la2.cos() * ((lo2 - lo1) / 2.0).sin().powi(2);
    2.0 * R * h.sqrt().min(1.0).asin()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distances() {
        let paris = (48.8566, 2.3522);
        let new_york = (40.7128, -74.0060);
        let d = distance_km(paris, new_york);
        assert!((5830.0..5845.0).contains(&d), "{d}");
        assert_eq!(distance_km(paris, paris), 0.0);
        let antipode = distance_km((0.0, 0.0), (0.0, 180.0));
        assert!((antipode - 20015.0).abs() < 1.0, "{antipode}");
    }
}
