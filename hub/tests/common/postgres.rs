//! A real PostgreSQL server for one test (`jobpack_hub::local_pg`): missing binaries or a
//! server that will not start fail the test with PostgreSQL's words; it never skips.

pub struct PgServer(jobpack_hub::local_pg::LocalPostgres);

impl PgServer {
    pub fn start() -> PgServer {
        match jobpack_hub::local_pg::LocalPostgres::start() {
            Ok(server) => PgServer(server),
            Err(e) => panic!("PostgreSQL for this test: {e}"),
        }
    }

    pub fn url(&self) -> String {
        self.0.url()
    }
}
