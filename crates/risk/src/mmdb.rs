//! A minimal MaxMind DB (`.mmdb`) writer, for tests and the synthetic traffic generator: an IPv6
//! tree (IPv4 networks live under `::/96`, as in MaxMind's own databases), 32-bit records, and
//! records holding `country.iso_code`, `location.{latitude,longitude}`,
//! `autonomous_system_number` and `autonomous_system_organization` — the fields of GeoIP2 City
//! and GeoLite2 ASN, in one file.
//!
//! Format: <https://maxmind.github.io/MaxMind-DB/>. The search tree has `node_count` nodes of two
//! records each; a record below `node_count` points at a node, equal to it means "no data", above
//! it points into the data section (offset = record − node_count − 16). The data section follows
//! 16 zero bytes; the metadata map follows the marker `\xAB\xCD\xEFMaxMind.com`.
//!
//! No registry crate was used: `mmdb-writer` and `maxminddb-writer` exist but are young (one or
//! two releases); this file is short and checked against the `maxminddb` reader in its tests.

use std::collections::HashMap;

use ipnet::IpNet;

/// What one network maps to.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct GeoRecord {
    pub country: Option<String>,
    pub location: Option<(f64, f64)>,
    pub asn: Option<u32>,
    pub asn_org: Option<String>,
}

/// A data-section value (the subset of the format's types this writer needs).
enum Value<'a> {
    Str(&'a str),
    Double(f64),
    U16(u16),
    U32(u32),
    U64(u64),
    Map(Vec<(&'a str, Value<'a>)>),
    Array(Vec<Value<'a>>),
}

fn control(out: &mut Vec<u8>, type_num: u8, size: usize) {
    let (first, extra): (u8, Vec<u8>) = if size < 29 {
        (size as u8, vec![])
    } else if size < 29 + 256 {
        (29, vec![(size - 29) as u8])
    } else if size < 285 + 65536 {
        let s = size - 285;
        (30, vec![(s >> 8) as u8, s as u8])
    } else {
        let s = size - 65821;
        (31, vec![(s >> 16) as u8, (s >> 8) as u8, s as u8])
    };
    if type_num <= 7 {
        out.push((type_num << 5) | first);
    } else {
        // Extended type: type 0 in the control byte, then (type - 7).
        out.push(first);
        out.push(type_num - 7);
    }
    out.extend(extra);
}

fn uint_bytes(v: u64) -> Vec<u8> {
    let b = v.to_be_bytes();
    let skip = b.iter().take_while(|x| **x == 0).count();
    b[skip..].to_vec()
}

fn encode(out: &mut Vec<u8>, v: &Value) {
    match v {
        Value::Str(s) => {
            control(out, 2, s.len());
            out.extend_from_slice(s.as_bytes());
        }
        Value::Double(d) => {
            control(out, 3, 8);
            out.extend_from_slice(&d.to_be_bytes());
        }
        Value::U16(n) => {
            let b = uint_bytes(u64::from(*n));
            control(out, 5, b.len());
            out.extend(b);
        }
        Value::U32(n) => {
            let b = uint_bytes(u64::from(*n));
            control(out, 6, b.len());
            out.extend(b);
        }
        Value::U64(n) => {
            let b = uint_bytes(*n);
            control(out, 9, b.len());
            out.extend(b);
        }
        Value::Map(entries) => {
            control(out, 7, entries.len());
            for (k, v) in entries {
                encode(out, &Value::Str(k));
                encode(out, v);
            }
        }
        Value::Array(items) => {
            control(out, 11, items.len());
            for v in items {
                encode(out, v);
            }
        }
    }
}

fn record_value(r: &GeoRecord) -> Value<'_> {
    let mut m = Vec::new();
    if let Some(asn) = r.asn {
        m.push(("autonomous_system_number", Value::U32(asn)));
    }
    if let Some(org) = &r.asn_org {
        m.push(("autonomous_system_organization", Value::Str(org)));
    }
    if let Some(c) = &r.country {
        m.push(("country", Value::Map(vec![("iso_code", Value::Str(c))])));
    }
    if let Some((lat, lon)) = r.location {
        m.push((
            "location",
            Value::Map(vec![
                ("latitude", Value::Double(lat)),
                ("longitude", Value::Double(lon)),
            ]),
        ));
    }
    Value::Map(m)
}

#[derive(Clone, Copy, PartialEq)]
enum Child {
    Empty,
    Node(usize),
    /// Offset into the data section.
    Data(usize),
}

/// Builds a database in memory. Later insertions win where networks overlap.
pub struct MmdbWriter {
    database_type: String,
    nodes: Vec<[Child; 2]>,
    data: Vec<u8>,
    offsets: HashMap<Vec<u8>, usize>,
}

impl MmdbWriter {
    pub fn new(database_type: &str) -> MmdbWriter {
        MmdbWriter {
            database_type: database_type.to_string(),
            nodes: vec![[Child::Empty, Child::Empty]],
            data: Vec::new(),
            offsets: HashMap::new(),
        }
    }

    /// Maps a network to a record.
    pub fn insert(&mut self, net: IpNet, record: &GeoRecord) {
        let mut bytes = Vec::new();
        encode(&mut bytes, &record_value(record));
        let offset = match self.offsets.get(&bytes) {
            Some(o) => *o,
            None => {
                let o = self.data.len();
                self.data.extend_from_slice(&bytes);
                self.offsets.insert(bytes, o);
                o
            }
        };
        let (bits, prefix) = match net.trunc() {
            IpNet::V4(n) => (
                u128::from(n.network().to_bits()),
                96 + usize::from(n.prefix_len()),
            ),
            IpNet::V6(n) => (n.network().to_bits(), usize::from(n.prefix_len())),
        };
        self.set(bits, prefix, Child::Data(offset));
    }

    fn set(&mut self, bits: u128, prefix: usize, leaf: Child) {
        if prefix == 0 {
            // The whole address space: both halves of the root.
            self.nodes[0] = [leaf, leaf];
            return;
        }
        let mut node = 0;
        for depth in 0..prefix {
            let bit = ((bits >> (127 - depth)) & 1) as usize;
            if depth == prefix - 1 {
                self.nodes[node][bit] = leaf;
                return;
            }
            node = match self.nodes[node][bit] {
                Child::Node(n) => n,
                other => {
                    // Split an empty or data record: both halves keep what the whole had.
                    let n = self.nodes.len();
                    self.nodes.push([other, other]);
                    self.nodes[node][bit] = Child::Node(n);
                    n
                }
            };
        }
    }

    /// The finished file.
    pub fn to_bytes(&self) -> Vec<u8> {
        let node_count = self.nodes.len() as u64;
        let mut out = Vec::with_capacity(self.nodes.len() * 8 + self.data.len() + 256);
        for n in &self.nodes {
            for c in n {
                let v: u64 = match *c {
                    Child::Empty => node_count,
                    Child::Node(i) => i as u64,
                    Child::Data(off) => node_count + 16 + off as u64,
                };
                let v = u32::try_from(v).expect("a test database fits 32-bit records");
                out.extend_from_slice(&v.to_be_bytes());
            }
        }
        out.extend_from_slice(&[0u8; 16]);
        out.extend_from_slice(&self.data);
        out.extend_from_slice(b"\xAB\xCD\xEFMaxMind.com");
        let meta = Value::Map(vec![
            ("binary_format_major_version", Value::U16(2)),
            ("binary_format_minor_version", Value::U16(0)),
            ("build_epoch", Value::U64(0)),
            ("database_type", Value::Str(&self.database_type)),
            (
                "description",
                Value::Map(vec![(
                    "en",
                    Value::Str("Tessera test database (synthetic)"),
                )]),
            ),
            ("ip_version", Value::U16(6)),
            ("languages", Value::Array(vec![Value::Str("en")])),
            ("node_count", Value::U32(node_count as u32)),
            ("record_size", Value::U16(32)),
        ]);
        encode(&mut out, &meta);
        out
    }
}

/// A one-call helper: a database from (network, record) pairs.
pub fn build(database_type: &str, entries: &[(IpNet, GeoRecord)]) -> Vec<u8> {
    let mut w = MmdbWriter::new(database_type);
    for (net, rec) in entries {
        w.insert(*net, rec);
    }
    w.to_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::geo::{GeoLookup, MmdbGeo};
    use std::net::IpAddr;

    fn rec(c: &str, asn: u32, loc: (f64, f64)) -> GeoRecord {
        GeoRecord {
            country: Some(c.into()),
            location: Some(loc),
            asn: Some(asn),
            asn_org: Some(format!("AS{asn} Example")),
        }
    }

    #[test]
    fn the_maxminddb_reader_reads_what_we_write() {
        let bytes = build(
            "Tessera-Test",
            &[
                (
                    "81.2.69.0/24".parse().unwrap(),
                    rec("GB", 20712, (51.5, -0.1)),
                ),
                (
                    "81.2.69.128/25".parse().unwrap(),
                    rec("FR", 3215, (48.8, 2.3)),
                ),
                (
                    "2001:db8::/32".parse().unwrap(),
                    rec("DE", 3320, (52.5, 13.4)),
                ),
                ("0.0.0.0/8".parse().unwrap(), GeoRecord::default()),
            ],
        );
        let geo = MmdbGeo::from_bytes(bytes).unwrap();
        assert_eq!(geo.database_type(), "Tessera-Test");
        let gb = geo.lookup("81.2.69.5".parse().unwrap());
        assert_eq!(gb.country.as_deref(), Some("GB"));
        assert_eq!(gb.asn, Some(20712));
        assert_eq!(gb.location, Some((51.5, -0.1)));
        // The more specific network inserted later wins within its range.
        let fr = geo.lookup("81.2.69.200".parse().unwrap());
        assert_eq!(fr.country.as_deref(), Some("FR"));
        assert_eq!(fr.asn, Some(3215));
        let de = geo.lookup("2001:db8:1::1".parse().unwrap());
        assert_eq!(de.country.as_deref(), Some("DE"));
        // IPv4-mapped IPv6 is looked up as IPv4.
        assert_eq!(
            geo.lookup("::ffff:81.2.69.5".parse().unwrap())
                .country
                .as_deref(),
            Some("GB")
        );
        assert_eq!(geo.lookup("9.9.9.9".parse().unwrap()), Default::default());
        assert_eq!(geo.lookup("2a00::1".parse().unwrap()), Default::default());
    }

    #[test]
    fn large_sizes_and_many_networks() {
        // A string past the 1- and 2-byte size encodings, and enough networks for a deep tree.
        let long = "x".repeat(70_000);
        let mut w = MmdbWriter::new("T");
        for i in 0..2000u32 {
            let net = IpNet::new(IpAddr::from((0x0a00_0000 + (i << 8)).to_be_bytes()), 24).unwrap();
            w.insert(
                net,
                &rec(if i % 2 == 0 { "US" } else { "CA" }, 64_512 + i, (1.0, 2.0)),
            );
        }
        w.insert(
            "192.0.2.0/24".parse().unwrap(),
            &GeoRecord {
                asn_org: Some(long.clone()),
                ..Default::default()
            },
        );
        let bytes = w.to_bytes();
        let reader = maxminddb::Reader::from_source(bytes).unwrap();
        #[derive(serde::Deserialize)]
        struct Org {
            autonomous_system_organization: String,
        }
        let o: Org = reader
            .lookup("192.0.2.1".parse().unwrap())
            .unwrap()
            .unwrap();
        assert_eq!(o.autonomous_system_organization.len(), 70_000);
        let geo = MmdbGeo { reader };
        let g = geo.lookup("10.0.7.1".parse().unwrap());
        assert_eq!(g.asn, Some(64_512 + 7));
        assert_eq!(g.country.as_deref(), Some("CA"));
    }
}
