//! What the engine test files share: an offline engine configuration on a given database.

use jobpack_core::engine::Config;
use jobpack_core::protocol::EngineerDetails;
use jobpack_core::sync::SyncPolicy;
use jobpack_core::transport::{Timeouts, TlsMaterial};

/// No endpoints, offline, the default catalogue, matrix and photo setup, on `db`.
pub fn offline_config(db: &std::path::Path) -> Config {
    Config {
        database: db.to_owned(),
        database_key: None,
        endpoints: vec![],
        tls: TlsMaterial::default(),
        timeouts: Timeouts::default(),
        engineer: EngineerDetails {
            engineer_id: "E042".into(),
            name: "Sam Splicer".into(),
            phone: "+44 7700 900123".into(),
            company: None,
        },
        partner_catalogue: None,
        sync: SyncPolicy::default(),
        start_online: false,
        closure_matrix: None,
        photos: Default::default(),
    }
}
