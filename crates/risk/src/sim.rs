//! Synthetic sign-in traffic, seeded: legitimate users (home country and ISP, a mobile carrier
//! behind carrier-grade NAT, one to three devices, a daily rhythm, typos, new phones, cleared
//! cookies, trips abroad, some on a VPN) and attacks (credential stuffing from many proxies,
//! password spraying, account takeover with the right password, session theft revealed only by
//! impossible travel, brute force). Every event carries a `label`; [`score`] turns the engine's
//! verdicts into detection rates per attack type and the share of legitimate sign-ins
//! challenged.
//!
//! The world is fictitious: addresses come from 10.0.0.0/8 and fd00::/8, autonomous systems
//! from the private range 64512-65534; [`World::mmdb`] writes the matching geo-IP database.
//! The same seed gives the same files on every platform (ChaCha8).

use std::collections::{BTreeMap, HashMap};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use time::Duration;
use time::format_description::well_known::Rfc3339;

use crate::Timestamp;
use crate::backtest::Verdict;
use crate::geo::distance_km;
use crate::mmdb::{GeoRecord, MmdbWriter};
use crate::signal::Decision;

/// Countries: code, latitude, longitude, share of the user base (0: attackers only).
const COUNTRIES: [(&str, f64, f64, u32); 17] = [
    ("DE", 51.2, 10.4, 20),
    ("FR", 46.6, 2.4, 15),
    ("GB", 54.0, -2.0, 15),
    ("ES", 40.4, -3.7, 8),
    ("IT", 42.8, 12.5, 8),
    ("NL", 52.2, 5.3, 6),
    ("PL", 52.0, 19.4, 6),
    ("US", 39.8, -98.6, 12),
    ("CA", 56.0, -96.0, 3),
    ("BR", -14.2, -51.9, 3),
    ("JP", 36.2, 138.3, 2),
    ("IN", 22.0, 79.0, 2),
    ("SG", 1.35, 103.8, 0),
    ("RU", 55.7, 37.6, 0),
    ("VN", 14.0, 108.0, 0),
    ("NG", 9.1, 8.7, 0),
    ("CN", 35.9, 104.2, 0),
];

/// Hosting providers (VPN exits and attackers' servers): country index.
const HOSTING: [usize; 6] = [7, 7, 5, 0, 12, 13];

const BROWSERS: [&str; 8] = [
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36",
    "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36 Edg/124.0.0.0",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Mobile Safari/537.36",
];

/// Phones are the last two browsers.
fn is_phone(ua: usize) -> bool {
    ua >= 6
}

const SCRIPTS: [&str; 4] = [
    "python-requests/2.31.0",
    "curl/8.5.0",
    "Go-http-client/1.1",
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/124.0.0.0 Safari/537.36",
];

#[derive(Clone, Copy, PartialEq)]
enum NetKind {
    Residential,
    Mobile,
    Hosting,
}

struct Network {
    /// 10.<index>.0.0/16, and fd00:<index>::/32 for mobile carriers.
    index: u8,
    country: usize,
    asn: u32,
    kind: NetKind,
    location: (f64, f64),
}

/// The fictitious Internet: countries, their ISPs and carriers, hosting providers.
pub struct World {
    networks: Vec<Network>,
    residential: Vec<Vec<usize>>,
    mobile: Vec<usize>,
    hosting: Vec<usize>,
}

impl World {
    fn new(rng: &mut ChaCha8Rng) -> World {
        let mut networks = Vec::new();
        let mut residential = vec![Vec::new(); COUNTRIES.len()];
        let mut mobile = Vec::new();
        let add =
            |networks: &mut Vec<Network>, country: usize, kind: NetKind, rng: &mut ChaCha8Rng| {
                let (_, lat, lon, _) = COUNTRIES[country];
                let index = networks.len() as u8 + 1;
                networks.push(Network {
                    index,
                    country,
                    asn: 64512 + u32::from(index),
                    kind,
                    // Each network's users appear around one city of the country.
                    location: (
                        lat + rng.random_range(-1.5..1.5),
                        lon + rng.random_range(-1.5..1.5),
                    ),
                });
                networks.len() - 1
            };
        for (c, res) in residential.iter_mut().enumerate() {
            res.push(add(&mut networks, c, NetKind::Residential, rng));
            res.push(add(&mut networks, c, NetKind::Residential, rng));
            mobile.push(add(&mut networks, c, NetKind::Mobile, rng));
        }
        let hosting = HOSTING
            .iter()
            .map(|c| add(&mut networks, *c, NetKind::Hosting, rng))
            .collect();
        World {
            networks,
            residential,
            mobile,
            hosting,
        }
    }

    /// The geo-IP database of this world (country, location, ASN per network).
    pub fn mmdb(&self) -> Vec<u8> {
        let mut w = MmdbWriter::new("Tessera-Sim-City-ASN");
        for n in &self.networks {
            let rec = GeoRecord {
                country: Some(COUNTRIES[n.country].0.to_string()),
                location: Some(n.location),
                asn: Some(n.asn),
                asn_org: Some(format!(
                    "Sim {} {}",
                    match n.kind {
                        NetKind::Residential => "Broadband",
                        NetKind::Mobile => "Mobile",
                        NetKind::Hosting => "Cloud",
                    },
                    COUNTRIES[n.country].0
                )),
            };
            w.insert(
                ipnet::IpNet::new(IpAddr::V4(Ipv4Addr::new(10, n.index, 0, 0)), 16)
                    .expect("a /16 is valid"),
                &rec,
            );
            if n.kind == NetKind::Mobile {
                w.insert(
                    ipnet::IpNet::new(
                        IpAddr::V6(Ipv6Addr::new(0xfd00, u16::from(n.index), 0, 0, 0, 0, 0, 0)),
                        32,
                    )
                    .expect("a /32 is valid"),
                    &rec,
                );
            }
        }
        w.to_bytes()
    }

    /// A random address of a network. Mobile carriers share a small pool of IPv4 addresses
    /// (carrier-grade NAT) and give half of the devices IPv6.
    fn address(&self, net: usize, rng: &mut ChaCha8Rng) -> IpAddr {
        let n = &self.networks[net];
        match n.kind {
            NetKind::Mobile if rng.random_bool(0.5) => IpAddr::V6(Ipv6Addr::new(
                0xfd00,
                u16::from(n.index),
                rng.random(),
                rng.random(),
                rng.random(),
                rng.random(),
                rng.random(),
                rng.random(),
            )),
            NetKind::Mobile => IpAddr::V4(Ipv4Addr::new(
                10,
                n.index,
                rng.random_range(0..2),
                rng.random_range(1..=254),
            )),
            _ => IpAddr::V4(Ipv4Addr::new(
                10,
                n.index,
                rng.random_range(2..=254),
                rng.random_range(1..=254),
            )),
        }
    }

    fn country_of(&self, net: usize) -> usize {
        self.networks[net].country
    }
}

/// One generated event: the documented backtest fields plus the label.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SimEvent {
    pub ts: String,
    pub email: String,
    pub ip: String,
    pub user_agent: Option<String>,
    pub device_id: Option<String>,
    pub outcome: String,
    pub password_fingerprint: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub second_factor: Option<String>,
    /// `legit`, `stuffing`, `spraying`, `takeover`, `takeover_home_country`,
    /// `impossible_travel` or `brute_force`.
    pub label: String,
    /// The attacking source (stuffing) or target (brute force), for per-source figures.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    #[serde(skip)]
    at: Option<Timestamp>,
}

/// What to generate.
#[derive(Clone, Debug)]
pub struct SimConfig {
    pub seed: u64,
    pub users: usize,
    pub days: u32,
    pub start: Timestamp,
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            seed: 1,
            users: 2000,
            days: 60,
            start: time::macros::datetime!(2026-01-05 0:00 UTC),
        }
    }
}

struct Device {
    id: String,
    ua: usize,
}

struct User {
    email: String,
    home: usize,
    isp: usize,
    home_ip: IpAddr,
    devices: Vec<Device>,
    /// Sign-ins per day.
    rate: f64,
    /// Preferred UTC hour.
    center: f64,
    vpn: bool,
    fingerprint: String,
}

fn fp(rng: &mut ChaCha8Rng) -> String {
    format!("{:016x}", rng.random::<u64>())
}

fn device(rng: &mut ChaCha8Rng, ua: usize) -> Device {
    Device {
        id: format!("dev-{:012x}", rng.random::<u64>() >> 16),
        ua,
    }
}

/// A roughly normal value (sum of uniforms).
fn normalish(rng: &mut ChaCha8Rng, mean: f64, sd: f64) -> f64 {
    let s: f64 = (0..6).map(|_| rng.random::<f64>()).sum::<f64>() - 3.0;
    mean + s * sd / (0.5f64).sqrt()
}

fn weighted_country(rng: &mut ChaCha8Rng, except: Option<usize>) -> usize {
    let total: u32 = COUNTRIES
        .iter()
        .enumerate()
        .filter(|(i, _)| Some(*i) != except)
        .map(|(_, c)| c.3.max(1))
        .sum();
    let mut x = rng.random_range(0..total);
    for (i, c) in COUNTRIES.iter().enumerate() {
        if Some(i) == except {
            continue;
        }
        let w = c.3.max(1);
        if x < w {
            return i;
        }
        x -= w;
    }
    0
}

struct Gen {
    rng: ChaCha8Rng,
    world: World,
    events: Vec<SimEvent>,
}

impl Gen {
    #[allow(clippy::too_many_arguments)]
    fn push(
        &mut self,
        at: Timestamp,
        email: &str,
        ip: IpAddr,
        ua: Option<&str>,
        device: Option<&str>,
        outcome: &str,
        fingerprint: &str,
        label: &str,
        source: Option<String>,
    ) {
        self.events.push(SimEvent {
            ts: at.format(&Rfc3339).expect("a UTC time formats as RFC 3339"),
            email: email.to_string(),
            ip: ip.to_string(),
            user_agent: ua.map(str::to_string),
            device_id: device.map(str::to_string),
            outcome: outcome.to_string(),
            password_fingerprint: fingerprint.to_string(),
            // A legitimate user who is challenged passes the second factor; attackers do not
            // get that far (left unknown: the engine then learns nothing from the attempt).
            second_factor: (label == "legit" && outcome == "password_ok").then(|| "passed".into()),
            label: label.to_string(),
            source,
            at: Some(at),
        });
    }
}

/// Common passwords the spraying campaign tries; a few users really have one.
const SPRAYED: [&str; 3] = ["spray-winter2026", "spray-password1", "spray-welcome123"];

/// Generates the traffic and the world it happens in.
pub fn generate(cfg: &SimConfig) -> (World, Vec<SimEvent>) {
    let mut rng = ChaCha8Rng::seed_from_u64(cfg.seed);
    let world = World::new(&mut rng);
    let mut g = Gen {
        rng,
        world,
        events: Vec::new(),
    };
    let users = make_users(&mut g, cfg.users);
    legitimate(&mut g, &users, cfg);
    let attacks_from = cfg.start + Duration::days(i64::from(cfg.days / 3));
    let attack_span = (cfg.days - cfg.days / 3).max(1);
    stuffing(&mut g, &users, attacks_from, attack_span);
    spraying(&mut g, &users, attacks_from, attack_span);
    takeovers(&mut g, &users, attacks_from, attack_span);
    impossible_travel(&mut g, &users, attacks_from);
    brute_force(&mut g, &users, attacks_from, attack_span);
    g.events.sort_by_key(|e| e.at);
    (g.world, g.events)
}

fn make_users(g: &mut Gen, n: usize) -> Vec<User> {
    let mut users = Vec::with_capacity(n);
    for i in 0..n {
        let home = weighted_country(&mut g.rng, None);
        let isp = *g.world.residential[home]
            .choose(&mut g.rng)
            .expect("two ISPs");
        let home_ip = g.world.address(isp, &mut g.rng);
        let n_dev = g.rng.random_range(1..=3);
        let mut devices = Vec::new();
        // Most people have a phone; the rest are computers.
        let phone = g.rng.random_range(6..8);
        devices.push(device(&mut g.rng, phone));
        for _ in 1..n_dev {
            let ua = g.rng.random_range(0..6);
            devices.push(device(&mut g.rng, ua));
        }
        let lon = COUNTRIES[home].2;
        let local_offset = lon / 15.0;
        let center = (g.rng.random_range(8.0..21.0) - local_offset).rem_euclid(24.0);
        let fingerprint = if g.rng.random_bool(0.005) {
            SPRAYED.choose(&mut g.rng).expect("three").to_string()
        } else {
            fp(&mut g.rng)
        };
        users.push(User {
            email: format!("user{i}@sim.example"),
            home,
            isp,
            home_ip,
            devices,
            rate: g.rng.random_range(0.15..1.5),
            center,
            vpn: g.rng.random_bool(0.03),
            fingerprint,
        });
    }
    users
}

fn legitimate(g: &mut Gen, users: &[User], cfg: &SimConfig) {
    for u in users {
        let mut devices: Vec<(String, usize)> =
            u.devices.iter().map(|d| (d.id.clone(), d.ua)).collect();
        let mut home_ip = u.home_ip;
        // (until, destination network, arrival)
        let mut trip: Option<(Timestamp, usize, Timestamp)> = None;
        for day in 0..cfg.days {
            let day_start = cfg.start + Duration::days(i64::from(day));
            if g.rng.random_bool(1.0 / 30.0) {
                home_ip = g.world.address(u.isp, &mut g.rng);
            }
            if trip.is_none() && g.rng.random_bool(1.0 / 90.0) {
                let dest = weighted_country(&mut g.rng, Some(u.home));
                let net = *g.world.residential[dest]
                    .choose(&mut g.rng)
                    .expect("two ISPs");
                let depart = day_start + Duration::minutes(g.rng.random_range(0..24 * 60));
                let km = distance_km(
                    (COUNTRIES[u.home].1, COUNTRIES[u.home].2),
                    (COUNTRIES[dest].1, COUNTRIES[dest].2),
                );
                let arrive = depart + Duration::minutes((km / 800.0 * 60.0) as i64 + 120);
                let until = arrive + Duration::days(g.rng.random_range(2..10));
                trip = Some((until, net, arrive));
            }
            // Poisson-ish number of sign-ins today.
            let n = (0..4)
                .filter(|_| g.rng.random_bool((u.rate / 4.0).min(1.0)))
                .count();
            let mut times: Vec<Timestamp> = (0..n)
                .map(|_| {
                    let h = normalish(&mut g.rng, u.center, 2.0).rem_euclid(24.0);
                    day_start + Duration::seconds((h * 3600.0) as i64)
                })
                .collect();
            times.sort();
            for at in times {
                if let Some((until, _, _)) = trip
                    && at >= until
                {
                    trip = None;
                }
                // Life events: a new phone or computer, cleared cookies.
                if g.rng.random_bool(0.004) {
                    let ua = g.rng.random_range(0..BROWSERS.len());
                    let d = device(&mut g.rng, ua);
                    let k = g.rng.random_range(0..devices.len());
                    devices[k] = (d.id, d.ua);
                } else if g.rng.random_bool(0.003) {
                    let k = g.rng.random_range(0..devices.len());
                    devices[k].0 = device(&mut g.rng, 0).id;
                }
                let (dev_id, ua) = devices.choose(&mut g.rng).expect("a device").clone();
                let ip = match trip {
                    Some((_, _, arrive)) if at < arrive => continue, // in the air
                    Some((_, net, _)) => {
                        if is_phone(ua) && g.rng.random_bool(0.4) {
                            // Roaming: the home carrier's address, abroad.
                            g.world.address(g.world.mobile[u.home], &mut g.rng)
                        } else {
                            g.world.address(net, &mut g.rng)
                        }
                    }
                    None if u.vpn && g.rng.random_bool(0.2) => {
                        let h = *g.world.hosting.choose(&mut g.rng).expect("hosters");
                        g.world.address(h, &mut g.rng)
                    }
                    None if is_phone(ua) && g.rng.random_bool(0.5) => {
                        g.world.address(g.world.mobile[u.home], &mut g.rng)
                    }
                    None => home_ip,
                };
                // Typos first, sometimes.
                if g.rng.random_bool(0.04) {
                    let k = if g.rng.random_bool(0.7) {
                        1
                    } else {
                        g.rng.random_range(2..=3)
                    };
                    for j in 0..k {
                        let typo = fp(&mut g.rng);
                        g.push(
                            at - Duration::seconds(20 * (k - j) as i64),
                            &u.email,
                            ip,
                            Some(BROWSERS[ua]),
                            Some(&dev_id),
                            "password_bad",
                            &typo,
                            "legit",
                            None,
                        );
                    }
                }
                g.push(
                    at,
                    &u.email,
                    ip,
                    Some(BROWSERS[ua]),
                    Some(&dev_id),
                    "password_ok",
                    &u.fingerprint,
                    "legit",
                    None,
                );
            }
        }
    }
}

fn attack_time(g: &mut Gen, from: Timestamp, span_days: u32) -> Timestamp {
    from + Duration::seconds(g.rng.random_range(0..i64::from(span_days) * 86_400))
}

/// A source for an attack: a residential proxy anywhere (70%) or a hosting provider.
fn proxy(g: &mut Gen) -> IpAddr {
    let net = if g.rng.random_bool(0.7) {
        let c = g.rng.random_range(0..COUNTRIES.len());
        *g.world.residential[c].choose(&mut g.rng).expect("two ISPs")
    } else {
        *g.world.hosting.choose(&mut g.rng).expect("hosters")
    };
    g.world.address(net, &mut g.rng)
}

fn stuffing(g: &mut Gen, users: &[User], from: Timestamp, span: u32) {
    for c in 0..3 {
        let start = attack_time(g, from, span);
        for s in 0..40 {
            let ip = proxy(g);
            let ua = if g.rng.random_bool(0.5) {
                SCRIPTS.choose(&mut g.rng).expect("scripts")
            } else {
                BROWSERS.choose(&mut g.rng).expect("browsers")
            };
            let mut at = start + Duration::seconds(g.rng.random_range(0..7200));
            let n = g.rng.random_range(10..=80);
            for _ in 0..n {
                at += Duration::seconds(g.rng.random_range(2..=15));
                let source = Some(format!("c{c}-s{s}"));
                if g.rng.random_bool(0.7) {
                    let email = format!("leak{}@mail.example", g.rng.random::<u32>());
                    let f = fp(&mut g.rng);
                    g.push(
                        at,
                        &email,
                        ip,
                        Some(ua),
                        None,
                        "unknown_user",
                        &f,
                        "stuffing",
                        source,
                    );
                } else {
                    let u = users.choose(&mut g.rng).expect("users");
                    // A leaked password still in use now and then.
                    let (outcome, f) = if g.rng.random_bool(0.02) {
                        ("password_ok", u.fingerprint.clone())
                    } else {
                        ("password_bad", fp(&mut g.rng))
                    };
                    g.push(
                        at,
                        &u.email,
                        ip,
                        Some(ua),
                        None,
                        outcome,
                        &f,
                        "stuffing",
                        source,
                    );
                }
            }
        }
    }
}

fn spraying(g: &mut Gen, users: &[User], from: Timestamp, span: u32) {
    let mut at = attack_time(g, from, span);
    for pw in SPRAYED {
        let mut targets: Vec<&User> = users.choose_multiple(&mut g.rng, 250).collect();
        // Make sure the campaign meets the users who chose this password.
        targets.extend(users.iter().filter(|u| u.fingerprint == pw));
        for u in targets {
            at += Duration::seconds(g.rng.random_range(30..=120));
            let ip = proxy(g);
            let ua = BROWSERS.choose(&mut g.rng).expect("browsers");
            let outcome = if u.fingerprint == pw {
                "password_ok"
            } else {
                "password_bad"
            };
            g.push(
                at,
                &u.email,
                ip,
                Some(ua),
                None,
                outcome,
                pw,
                "spraying",
                None,
            );
        }
        for _ in 0..100 {
            at += Duration::seconds(g.rng.random_range(30..=120));
            let ip = proxy(g);
            let email = format!("guess{}@sim.example", g.rng.random::<u32>());
            let ua = BROWSERS.choose(&mut g.rng).expect("browsers");
            g.push(
                at,
                &email,
                ip,
                Some(ua),
                None,
                "unknown_user",
                pw,
                "spraying",
                None,
            );
        }
    }
}

fn takeovers(g: &mut Gen, users: &[User], from: Timestamp, span: u32) {
    for i in 0..200 {
        let u = users.choose(&mut g.rng).expect("users");
        let at = attack_time(g, from, span);
        let home_country = i % 4 == 3;
        let ip = if home_country {
            // A residential proxy in the victim's own country.
            let net = *g.world.residential[u.home]
                .choose(&mut g.rng)
                .expect("two ISPs");
            g.world.address(net, &mut g.rng)
        } else {
            loop {
                let ip = proxy(g);
                let net = match ip {
                    IpAddr::V4(v4) => usize::from(v4.octets()[1]) - 1,
                    IpAddr::V6(_) => continue,
                };
                if g.world.country_of(net) != u.home {
                    break ip;
                }
            }
        };
        let ua = BROWSERS.choose(&mut g.rng).expect("browsers");
        let dev = g.rng.random_bool(0.6).then(|| device(&mut g.rng, 0).id);
        let label = if home_country {
            "takeover_home_country"
        } else {
            "takeover"
        };
        if g.rng.random_bool(0.3) {
            // An old password from a leak first.
            let f = fp(&mut g.rng);
            g.push(
                at - Duration::seconds(40),
                &u.email,
                ip,
                Some(ua),
                dev.as_deref(),
                "password_bad",
                &f,
                label,
                None,
            );
        }
        g.push(
            at,
            &u.email,
            ip,
            Some(ua),
            dev.as_deref(),
            "password_ok",
            &u.fingerprint,
            label,
            None,
        );
    }
}

fn impossible_travel(g: &mut Gen, users: &[User], from: Timestamp) {
    // A stolen device cookie: the victim's device id and browser, from far away, shortly after
    // the victim's own sign-in.
    let legit: Vec<usize> = g
        .events
        .iter()
        .enumerate()
        .filter(|(_, e)| {
            e.label == "legit" && e.outcome == "password_ok" && e.at.is_some_and(|t| t >= from)
        })
        .map(|(i, _)| i)
        .collect();
    let by_email: HashMap<&str, &User> = users.iter().map(|u| (u.email.as_str(), u)).collect();
    for _ in 0..100 {
        let Some(&i) = legit.choose(&mut g.rng) else {
            return;
        };
        let e = g.events[i].clone();
        let Some(u) = by_email.get(e.email.as_str()) else {
            continue;
        };
        let here = (COUNTRIES[u.home].1, COUNTRIES[u.home].2);
        let far: Vec<usize> = (0..COUNTRIES.len())
            .filter(|c| distance_km(here, (COUNTRIES[*c].1, COUNTRIES[*c].2)) > 3000.0)
            .collect();
        let Some(&c) = far.choose(&mut g.rng) else {
            continue;
        };
        let net = *g.world.residential[c].choose(&mut g.rng).expect("two ISPs");
        let ip = g.world.address(net, &mut g.rng);
        let at = e.at.expect("generated events have times")
            + Duration::minutes(g.rng.random_range(20..180));
        g.push(
            at,
            &e.email,
            ip,
            e.user_agent.as_deref(),
            e.device_id.as_deref(),
            "password_ok",
            &e.password_fingerprint,
            "impossible_travel",
            None,
        );
    }
}

fn brute_force(g: &mut Gen, users: &[User], from: Timestamp, span: u32) {
    for t in 0..30 {
        let u = users.choose(&mut g.rng).expect("users");
        let h = *g.world.hosting.choose(&mut g.rng).expect("hosters");
        let ips: Vec<IpAddr> = (0..g.rng.random_range(1..=2))
            .map(|_| g.world.address(h, &mut g.rng))
            .collect();
        let ua = SCRIPTS.choose(&mut g.rng).expect("scripts");
        let mut at = attack_time(g, from, span);
        let n = g.rng.random_range(40..=150);
        let cracked = g.rng.random_bool(0.3);
        for k in 0..n {
            at += Duration::seconds(g.rng.random_range(1..=5));
            let ip = *ips.choose(&mut g.rng).expect("one or two");
            let last = k == n - 1;
            let (outcome, f) = if last && cracked {
                ("password_ok", u.fingerprint.clone())
            } else {
                ("password_bad", fp(&mut g.rng))
            };
            g.push(
                at,
                &u.email,
                ip,
                Some(ua),
                None,
                outcome,
                &f,
                "brute_force",
                Some(format!("t{t}")),
            );
        }
    }
}

// --- scoring ----------------------------------------------------------------------------------

/// Rates for one kind of traffic.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Rates {
    pub events: usize,
    pub challenged_or_blocked: usize,
    pub blocked: usize,
    /// Sign-ins with the right password among the events, and how many were stopped
    /// (challenged or blocked).
    pub right_password: usize,
    pub right_password_stopped: usize,
}

impl Rates {
    fn add(&mut self, e: &SimEvent, d: Decision) {
        self.events += 1;
        if d >= Decision::Challenge {
            self.challenged_or_blocked += 1;
        }
        if d == Decision::Block {
            self.blocked += 1;
        }
        if e.outcome == "password_ok" {
            self.right_password += 1;
            if d >= Decision::Challenge {
                self.right_password_stopped += 1;
            }
        }
    }
}

/// Attempts of one source (or on one target) until its first block.
#[derive(Clone, Debug, Default, Serialize)]
pub struct PerSource {
    pub sources: usize,
    /// Sources that made at least 20 attempts.
    pub sources_with_20: usize,
    /// …of which were blocked by their 20th attempt.
    pub blocked_within_20: usize,
    /// Attempts before the first block: median and worst over blocked sources.
    pub median_attempts_to_block: Option<usize>,
    pub max_attempts_to_block: Option<usize>,
    pub never_blocked: usize,
}

/// The report of one run.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Report {
    pub by_label: BTreeMap<String, Rates>,
    pub stuffing_sources: PerSource,
    pub brute_force_targets: PerSource,
    /// Share of legitimate right-password sign-ins challenged or blocked.
    pub legit_challenged_share: f64,
    /// Share of takeover sign-ins (right password, new country and device) challenged or
    /// blocked.
    pub takeover_stopped_share: f64,
}

fn per_source(seq: BTreeMap<String, Vec<Decision>>) -> PerSource {
    let mut p = PerSource::default();
    let mut firsts = Vec::new();
    for (_, ds) in seq {
        p.sources += 1;
        let first = ds.iter().position(|d| *d == Decision::Block).map(|i| i + 1);
        if ds.len() >= 20 {
            p.sources_with_20 += 1;
            if first.is_some_and(|f| f <= 20) {
                p.blocked_within_20 += 1;
            }
        }
        match first {
            Some(f) => firsts.push(f),
            None => p.never_blocked += 1,
        }
    }
    firsts.sort_unstable();
    p.median_attempts_to_block = firsts.get(firsts.len() / 2).copied();
    p.max_attempts_to_block = firsts.last().copied();
    p
}

/// Joins verdicts to the events they judge (by input line) and computes the rates.
pub fn score(events: &[SimEvent], verdicts: &[Verdict]) -> Result<Report, String> {
    let mut r = Report::default();
    let mut stuffing: BTreeMap<String, Vec<Decision>> = BTreeMap::new();
    let mut brute: BTreeMap<String, Vec<Decision>> = BTreeMap::new();
    // Verdicts come in time order, so per-source sequences are in attempt order.
    for v in verdicts {
        let e = events
            .get(v.line.wrapping_sub(1))
            .ok_or_else(|| format!("a verdict names line {}, beyond the events", v.line))?;
        r.by_label
            .entry(e.label.clone())
            .or_default()
            .add(e, v.decision);
        if let Some(s) = &e.source {
            let map = match e.label.as_str() {
                "stuffing" => &mut stuffing,
                "brute_force" => &mut brute,
                _ => continue,
            };
            map.entry(s.clone()).or_default().push(v.decision);
        }
    }
    if verdicts.len() != events.len() {
        return Err(format!(
            "{} events but {} verdicts",
            events.len(),
            verdicts.len()
        ));
    }
    r.stuffing_sources = per_source(stuffing);
    r.brute_force_targets = per_source(brute);
    let share = |a: usize, b: usize| if b == 0 { 0.0 } else { a as f64 / b as f64 };
    if let Some(l) = r.by_label.get("legit") {
        r.legit_challenged_share = share(l.right_password_stopped, l.right_password);
    }
    if let Some(t) = r.by_label.get("takeover") {
        r.takeover_stopped_share = share(t.right_password_stopped, t.right_password);
    }
    Ok(r)
}

/// The report as a table.
pub fn render(r: &Report) -> String {
    let pct = |a: usize, b: usize| {
        if b == 0 {
            "-".to_string()
        } else {
            format!("{:.1}%", 100.0 * a as f64 / b as f64)
        }
    };
    let mut s = String::new();
    s.push_str("| traffic | events | challenged or blocked | blocked | right-password sign-ins | of those challenged or blocked |\n");
    s.push_str("|---|---:|---:|---:|---:|---:|\n");
    for (label, x) in &r.by_label {
        s.push_str(&format!(
            "| {label} | {} | {} | {} | {} | {} |\n",
            x.events,
            pct(x.challenged_or_blocked, x.events),
            pct(x.blocked, x.events),
            x.right_password,
            pct(x.right_password_stopped, x.right_password),
        ));
    }
    let src = |name: &str, p: &PerSource| {
        format!(
            "{name}: {} sources, {} with ≥ 20 attempts, {} of those blocked by attempt 20; attempts to the first block: median {}, worst {}; never blocked: {}\n",
            p.sources,
            p.sources_with_20,
            p.blocked_within_20,
            p.median_attempts_to_block
                .map_or("-".into(), |x| x.to_string()),
            p.max_attempts_to_block
                .map_or("-".into(), |x| x.to_string()),
            p.never_blocked,
        )
    };
    s.push('\n');
    s.push_str(&src(
        "credential stuffing (per source IP)",
        &r.stuffing_sources,
    ));
    s.push_str(&src(
        "brute force (per target account)",
        &r.brute_force_targets,
    ));
    s.push_str(&format!(
        "\nlegitimate sign-ins challenged or blocked: {:.2}%   takeovers challenged or blocked: {:.1}%\n",
        100.0 * r.legit_challenged_share,
        100.0 * r.takeover_stopped_share
    ));
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_gives_the_same_traffic() {
        let cfg = SimConfig {
            users: 50,
            days: 12,
            ..Default::default()
        };
        let (w1, a) = generate(&cfg);
        let (w2, b) = generate(&cfg);
        assert_eq!(a.len(), b.len());
        assert!(
            a.iter()
                .zip(&b)
                .all(|(x, y)| x.ts == y.ts && x.ip == y.ip && x.email == y.email)
        );
        assert_eq!(w1.mmdb(), w2.mmdb());
        let (_, c) = generate(&SimConfig { seed: 2, ..cfg });
        assert!(a.len() != c.len() || a.iter().zip(&c).any(|(x, y)| x.ip != y.ip));
        for label in ["legit", "stuffing", "spraying", "takeover", "brute_force"] {
            assert!(a.iter().any(|e| e.label == label), "{label}");
        }
    }
}
