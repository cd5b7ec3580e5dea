import Logging
import PostgresNIO

/// The PostgreSQL schema: the same tables, columns and rules as SQLite's (`Schema`), in PostgreSQL's dialect.
/// Append-only, like SQLite's: never edit a registered migration, add one, to both drivers.
enum PostgresSchema {
    /// Migrations by name, in order. The first one is SQLite's v1 to v7 as they stand.
    static let migrations: [(name: String, sql: [String])] = [
        (
            "v1-v7: stores, products, offers, reviews, price history, print ledger, scans, tokens, catalogue version, reservations",
            [
                """
                CREATE TABLE store (
                    code TEXT PRIMARY KEY CHECK (code <> ''),
                    name TEXT NOT NULL,
                    address TEXT NOT NULL,
                    latitude DOUBLE PRECISION NOT NULL CHECK (latitude BETWEEN -90 AND 90),
                    longitude DOUBLE PRECISION NOT NULL CHECK (longitude BETWEEN -180 AND 180),
                    time_zone TEXT NOT NULL,
                    locale TEXT NOT NULL,
                    max_reservation BIGINT NOT NULL DEFAULT 5 CHECK (max_reservation > 0)
                )
                """,
                """
                CREATE TABLE product (
                    gtin TEXT PRIMARY KEY CHECK (length(gtin) = 14),
                    item_id TEXT NOT NULL UNIQUE,
                    title TEXT NOT NULL,
                    description TEXT NOT NULL,
                    brand TEXT NOT NULL,
                    image_link TEXT NOT NULL,
                    product_type TEXT NOT NULL,
                    unit_measure TEXT,
                    unit_base TEXT,
                    link TEXT NOT NULL,
                    availability TEXT NOT NULL,
                    currency TEXT NOT NULL,
                    price BIGINT NOT NULL CHECK (price > 0),
                    sale_price BIGINT CHECK (sale_price > 0 AND sale_price < price),
                    sale_start BIGINT,
                    sale_end BIGINT,
                    price_since BIGINT NOT NULL
                )
                """,
                """
                CREATE TABLE store_offer (
                    store_code TEXT NOT NULL REFERENCES store(code) ON DELETE CASCADE,
                    gtin TEXT NOT NULL REFERENCES product(gtin) ON DELETE CASCADE,
                    currency TEXT,
                    price BIGINT CHECK (price > 0),
                    sale_price BIGINT CHECK (sale_price > 0 AND sale_price < price),
                    sale_start BIGINT,
                    sale_end BIGINT,
                    price_since BIGINT,
                    availability TEXT NOT NULL,
                    pickup_method TEXT,
                    pickup_sla TEXT,
                    on_hand BIGINT NOT NULL CHECK (on_hand >= 0),
                    held BIGINT NOT NULL DEFAULT 0 CHECK (held >= 0),
                    PRIMARY KEY (store_code, gtin)
                )
                """,
                "CREATE INDEX store_offer_by_gtin ON store_offer(gtin, store_code)",
                """
                CREATE TABLE review (
                    id TEXT PRIMARY KEY,
                    gtin TEXT NOT NULL REFERENCES product(gtin) ON DELETE CASCADE,
                    rating DOUBLE PRECISION NOT NULL CHECK (rating BETWEEN 1 AND 5),
                    author TEXT NOT NULL,
                    is_anonymous BIGINT NOT NULL CHECK (is_anonymous IN (0, 1)),
                    published_at BIGINT NOT NULL,
                    title TEXT NOT NULL,
                    content TEXT NOT NULL
                )
                """,
                "CREATE INDEX review_by_gtin ON review(gtin, published_at)",
                """
                CREATE TABLE price_history (
                    id BIGSERIAL PRIMARY KEY,
                    gtin TEXT NOT NULL REFERENCES product(gtin) ON DELETE CASCADE,
                    store_code TEXT REFERENCES store(code) ON DELETE CASCADE,
                    currency TEXT NOT NULL,
                    price BIGINT NOT NULL,
                    sale_price BIGINT,
                    sale_start BIGINT,
                    sale_end BIGINT,
                    recorded_at BIGINT NOT NULL
                )
                """,
                "CREATE INDEX price_history_by_product ON price_history(gtin, store_code, recorded_at)",
                """
                CREATE TABLE print_ledger (
                    id BIGSERIAL PRIMARY KEY,
                    store_code TEXT NOT NULL REFERENCES store(code) ON DELETE CASCADE,
                    gtin TEXT NOT NULL REFERENCES product(gtin) ON DELETE CASCADE,
                    tag_id TEXT NOT NULL,
                    currency TEXT NOT NULL,
                    price BIGINT NOT NULL CHECK (price > 0),
                    regular_price BIGINT,
                    prior_price BIGINT,
                    unit_price BIGINT,
                    unit_base TEXT,
                    promotion_end BIGINT,
                    template TEXT NOT NULL,
                    printed_at BIGINT NOT NULL
                )
                """,
                "CREATE INDEX print_ledger_by_product ON print_ledger(store_code, gtin, printed_at)",
                "CREATE INDEX print_ledger_by_gtin ON print_ledger(gtin, store_code, printed_at)",
                """
                CREATE TABLE scan (
                    id BIGSERIAL PRIMARY KEY,
                    scanned_at BIGINT NOT NULL,
                    store_code TEXT,
                    gtin TEXT NOT NULL,
                    tag_id TEXT,
                    stale BIGINT NOT NULL CHECK (stale IN (0, 1)),
                    format TEXT NOT NULL CHECK (format IN ('html', 'json'))
                )
                """,
                "CREATE INDEX scan_by_time ON scan(scanned_at)",
                """
                CREATE TABLE api_token (
                    token_hash TEXT PRIMARY KEY,
                    store_code TEXT NOT NULL REFERENCES store(code) ON DELETE CASCADE,
                    scopes TEXT NOT NULL,
                    created_at BIGINT NOT NULL
                )
                """,
                "CREATE TABLE catalog_version (id BIGINT PRIMARY KEY CHECK (id = 1), version BIGINT NOT NULL)",
                "INSERT INTO catalog_version (id, version) VALUES (1, 0)",
                """
                CREATE TABLE reservation (
                    code TEXT PRIMARY KEY,
                    store_code TEXT NOT NULL REFERENCES store(code) ON DELETE CASCADE,
                    gtin TEXT NOT NULL REFERENCES product(gtin) ON DELETE CASCADE,
                    quantity BIGINT NOT NULL CHECK (quantity > 0),
                    customer_name TEXT NOT NULL,
                    contact TEXT NOT NULL,
                    currency TEXT NOT NULL,
                    unit_price BIGINT NOT NULL CHECK (unit_price > 0),
                    status TEXT NOT NULL CHECK (status IN ('held', 'collected', 'cancelled', 'expired')),
                    created_at BIGINT NOT NULL,
                    expires_at BIGINT NOT NULL,
                    closed_at BIGINT
                )
                """,
                "CREATE INDEX reservation_holds ON reservation(store_code, gtin, status, expires_at)",
                """
                CREATE TABLE idempotency_key (
                    key TEXT PRIMARY KEY,
                    fingerprint TEXT NOT NULL,
                    state TEXT NOT NULL CHECK (state IN ('running', 'done')),
                    outcome TEXT,
                    created_at BIGINT NOT NULL
                )
                """,
            ]
        ),
        (
            // Every write moved one version row: a lock that made the chain's writes, holds on different products
            // included, take turns. A sequence takes no lock; each write moves it after its commit.
            "v8: the catalogue version as a sequence",
            [
                "CREATE SEQUENCE catalog_version_seq",
                "SELECT setval('catalog_version_seq', (SELECT version FROM catalog_version WHERE id = 1) + 1, false)",
            ]
        ),
        ("v9: associates and their credit", Schema.associatesDDL),
        ("v10: scans and click-outs carry the advisor", Schema.attributionDDL),
        ("v11: associate sessions", Schema.sessionDDL),
        ("v12: reservations set aside", Schema.readyDDL),
        ("v13: help requests", Schema.helpDDL),
        ("v14: tokens expire, are revoked, and say when they were last used", Schema.tokenLifecycleDDL),
        ("v15: stores' opening hours", Schema.openingHoursDDL),
        ("v16: products' eco-participation", Schema.ecoParticipationDDL),
        ("v17: identifiers compared byte by byte", byteOrderedIdentifiers),
        ("v18: what each catalogue version changed", Schema.catalogChangeDDL + [moveCatalogVersionDDL]),
        ("v19: who prepared and closed a reservation, and when the shopper was told", Schema.reservationStaffDDL),
        ("v20: who told the shopper", Schema.toldByDDL),
        ("v21: stores' printers", Schema.storePrintersDDL),
    ]

    /// Identifiers (GTINs, item ids, codes, ids, hashes) compare byte by byte, as SQLite compares all text: lists
    /// sorted by them come in the same order from both backends whatever the database's locale, their indexes do not
    /// depend on the C library's collation rules (which have changed between releases, leaving indexes out of order),
    /// and comparing them costs a `memcmp` (in psql, a first load's COPYs and index builds for a million products: 6.7 s
    /// of server CPU against 7.4-7.8 s under C.UTF-8's collation). Changing a column's collation rebuilds its indexes, not its table.
    static let byteOrderedIdentifiers: [String] = {
        let columns: [(table: String, columns: [String])] = [
            ("store", ["code"]),
            ("product", ["gtin", "item_id"]),
            ("store_offer", ["store_code", "gtin"]),
            ("review", ["id", "gtin"]),
            ("price_history", ["gtin", "store_code"]),
            ("print_ledger", ["store_code", "gtin"]),
            ("scan", ["store_code", "gtin", "associate_code"]),
            ("api_token", ["token_hash", "store_code"]),
            ("reservation", ["code", "store_code", "gtin", "associate_code"]),
            ("idempotency_key", ["key"]),
            ("associate", ["code", "store_code", "secret_hash"]),
            ("associate_session", ["token_hash", "associate_code"]),
            ("clickout", ["associate_code", "store_code", "gtin"]),
            ("help_request", ["id", "store_code", "gtin"]),
        ]
        return columns.map { table, columns in
            "ALTER TABLE \(table) " + columns.map { "ALTER COLUMN \($0) TYPE TEXT COLLATE \"C\"" }.joined(separator: ", ")
        }
    }()

    /// Moves the catalogue version after a write has committed, and logs what the write changed under the new number,
    /// in one statement. Moves take turns (an advisory lock held to their commit), so they commit in the order of their
    /// numbers: a reader that sees a version in the log has seen every version before it, and reads the log from the
    /// last number it saw. Rows older than `CatalogChange.loggedVersions` versions go.
    static let moveCatalogVersionDDL = """
        CREATE FUNCTION shelftag_move_catalog_version(everything BOOLEAN, changed TEXT[]) RETURNS BIGINT LANGUAGE plpgsql AS $$
        DECLARE
            moved BIGINT;
        BEGIN
            PERFORM pg_advisory_xact_lock(\(catalogVersionLock));
            moved := nextval('catalog_version_seq');
            IF everything THEN
                INSERT INTO catalog_change (version, gtin) VALUES (moved, NULL);
            ELSE
                INSERT INTO catalog_change (version, gtin) SELECT moved, unnest(changed);
            END IF;
            DELETE FROM catalog_change WHERE version <= moved - \(CatalogChange.loggedVersions);
            RETURN moved;
        END
        $$
        """

    /// The newest version in the change log (0 for none): where a reader starts.
    static let newestVersionQuery: PostgresQuery = "SELECT coalesce(max(version), 0)::bigint FROM catalog_change"

    /// The change log past the version a reader has seen, oldest first.
    static func changesQuery(after version: Int64) -> PostgresQuery {
        "SELECT version, gtin FROM catalog_change WHERE version > \(version) ORDER BY version"
    }

    /// The advisory lock that makes catalogue version moves take turns.
    static let catalogVersionLock: Int64 = 0x5348_454C_4643_5653

    /// Any number, the same in every ShelfTag process: the advisory lock that lets one process migrate at a time.
    static let migrationLock: Int64 = 0x5348_454C_4654_4147

    /// The advisory lock a transaction holds while it writes products (only imports do): the item ids and GTINs it read
    /// at the start then stay the reference's until it commits.
    static let productWriterLock: Int64 = 0x5348_454C_4650_524F

    /// For a bulk load into empty tables (a first import, a migration): drops, within its transaction, the foreign keys,
    /// unique constraints and indexes that `constraints` (a condition on `pg_constraint c`) and `indexes` (on
    /// `pg_index i`, for indexes that back no constraint) select, so that rows go in without a check or an index entry
    /// each, and answers the statements that re-create them as the catalogue defines them, to run in order once the
    /// rows are in: each then checks or indexes every row at once. Foreign keys go first and come back last (they rely on
    /// the unique indexes of the tables they name). A failed or killed load rolls the drops back with its rows.
    /// - Throws: what PostgreSQL answers.
    static func dropForBulkLoad(constraints: String, indexes: String, on connection: Session, logger: Logger) async throws -> [String] {
        let objects = try await PostgresProductReference.rows(
            connection.query(
                PostgresQuery(
                    unsafeSQL: """
                        SELECT drop, restore FROM (
                            SELECT format('ALTER TABLE %s DROP CONSTRAINT %I', c.conrelid::regclass, c.conname) AS drop,
                                format('ALTER TABLE %s ADD CONSTRAINT %I %s', c.conrelid::regclass, c.conname, pg_get_constraintdef(c.oid)) AS restore,
                                CASE c.contype WHEN 'f' THEN 0 ELSE 1 END AS rank
                            FROM pg_constraint c WHERE \(constraints)
                            UNION ALL
                            SELECT format('DROP INDEX %s', i.indexrelid::regclass), pg_get_indexdef(i.indexrelid), 1
                            FROM pg_index i
                            WHERE NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conrelid = i.indrelid AND k.conindid = i.indexrelid)
                                AND \(indexes)
                        ) o ORDER BY rank, drop
                        """), logger: logger))
        var restore: [String] = []
        for object in objects {
            guard let drop = object.text(at: 0), let create = object.text(at: 1) else { continue }
            try await connection.query(PostgresQuery(unsafeSQL: drop), logger: logger)
            restore.insert(create, at: 0)
        }
        return restore
    }

    /// Applies the migrations not applied yet, in one transaction under an advisory lock: processes starting together
    /// against an empty database take turns, and the later ones find everything applied.
    /// - Throws: what PostgreSQL answers.
    static func migrate(_ connection: PostgresConnection, logger: Logger) async throws {
        try await connection.withTransaction(logger: logger) { connection in
            try await connection.query("SELECT pg_advisory_xact_lock(\(migrationLock))", logger: logger)
            try await connection.query(
                "CREATE TABLE IF NOT EXISTS schema_migration (name TEXT PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())", logger: logger)
            var applied = Set<String>()
            for try await name in try await connection.query("SELECT name FROM schema_migration", logger: logger).decode(String.self) {
                applied.insert(name)
            }
            for migration in migrations where !applied.contains(migration.name) {
                for statement in migration.sql { try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger) }
                try await connection.query("INSERT INTO schema_migration (name) VALUES (\(migration.name))", logger: logger)
            }
        }
    }
}
