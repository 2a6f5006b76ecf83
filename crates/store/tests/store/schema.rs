//! Every table of the migrated schema is either carried by the account export or listed as
//! holding no one's personal data (`tessera_store::schema`), on both backends. A new table in
//! neither list fails here, with a message saying where to add it.

use tessera_store::schema::{EXPORTED_TABLES, NOT_EXPORTED_TABLES, export_coverage};

use crate::common::Harness;

pub async fn every_table_is_exported_or_listed(h: &Harness) {
    let tables = h.store.table_names().await.unwrap();
    for expected in ["users", "audit_entries", "consent_records"] {
        assert!(
            tables.iter().any(|t| t == expected),
            "the schema listing found no {expected}: {tables:?}"
        );
    }
    let missing: Vec<String> = tables
        .iter()
        .filter_map(|t| export_coverage(t).err())
        .collect();
    assert!(missing.is_empty(), "\n{}\n", missing.join("\n"));
    // The lists name real tables, each once, in one list only.
    for (table, _) in EXPORTED_TABLES.iter().chain(NOT_EXPORTED_TABLES) {
        assert!(
            tables.iter().any(|t| t == table),
            "crates/store/src/schema.rs names `{table}`, which the schema does not have"
        );
        let listed = EXPORTED_TABLES
            .iter()
            .chain(NOT_EXPORTED_TABLES)
            .filter(|(t, _)| t == table)
            .count();
        assert_eq!(
            listed, 1,
            "`{table}` is listed {listed} times in crates/store/src/schema.rs"
        );
    }
}
