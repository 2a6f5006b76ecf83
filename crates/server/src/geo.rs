//! What the request's network says: the country of its IP from the operator's geo-IP database
//! (`TESSERA_GEOIP_DB`), for `country_in` conditions of access policies and role assignments.
//! Without a database every country is unknown, and `country_in` never matches.

use std::net::IpAddr;

use tessera_risk::geo::GeoLookup;

use crate::state::AppState;

/// ISO 3166-1 alpha-2 country of `ip`, upper case, when the database knows it.
pub fn country(state: &AppState, ip: Option<IpAddr>) -> Option<String> {
    let geo = state.geo.as_ref()?;
    geo.lookup(ip?).country
}
