# Sourced by every build of the phone library (scripts/bindings.sh, android/build-apk.sh,
# ios/build-xcframework.sh), so the library the foreign test suites run is the one shipped.
#
# The SQLite inside it (libsqlite3-sys's bundled SQLCipher) is compiled with full-text search
# (FTS3/FTS5), R*Tree, dbstat, soundex, STAT4 and extension loading by default. The core's SQL
# uses none of them (plain tables, indexes and transactions; JSON is handled in Rust), so the
# phone library leaves them out: less code to ship, and no way to load a native extension
# into the engineer's encrypted database. The workspace's own builds (tests, CLI, hub) keep
# libsqlite3-sys's defaults. Figures: bindings/README.md.
export LIBSQLITE3_FLAGS="-USQLITE_ENABLE_FTS3 -USQLITE_ENABLE_FTS3_PARENTHESIS -USQLITE_ENABLE_FTS5 -USQLITE_ENABLE_RTREE -USQLITE_ENABLE_DBSTAT_VTAB -USQLITE_SOUNDEX -USQLITE_ENABLE_STAT4 -USQLITE_ENABLE_LOAD_EXTENSION -DSQLITE_OMIT_LOAD_EXTENSION"
