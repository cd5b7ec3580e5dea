// sqlite3_config is variadic, which Swift cannot call: this shim calls it with fixed arguments.
#include <sqlite3.h>

/// Turns off SQLite's memory statistics, which take a process-wide mutex on every allocation (a tenth of an
/// import's time). Takes effect only before SQLite is first used; returns SQLITE_OK, or SQLITE_MISUSE when too late.
static inline int shelftag_sqlite_disable_memory_statistics(void) {
    return sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}
