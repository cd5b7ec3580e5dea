import GRDB

/// Append-only migrations: never edit a registered one, add a new one.
enum Schema {
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1: stores, products, offers, reviews, price history") { db in
            try db.execute(
                sql: """
                    CREATE TABLE store (
                        code TEXT PRIMARY KEY NOT NULL CHECK (code <> ''),
                        name TEXT NOT NULL,
                        address TEXT NOT NULL,
                        latitude REAL NOT NULL CHECK (latitude BETWEEN -90 AND 90),
                        longitude REAL NOT NULL CHECK (longitude BETWEEN -180 AND 180),
                        time_zone TEXT NOT NULL,
                        locale TEXT NOT NULL
                    );
                    -- A product and the web shop's offer for it: the Merchant Center primary feed row.
                    CREATE TABLE product (
                        gtin TEXT PRIMARY KEY NOT NULL CHECK (length(gtin) = 14),
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
                        -- Prices in integer minor units of currency.
                        currency TEXT NOT NULL,
                        price INTEGER NOT NULL CHECK (price > 0),
                        sale_price INTEGER CHECK (sale_price > 0 AND sale_price < price),
                        sale_start INTEGER,
                        sale_end INTEGER,
                        -- When the current pricing was recorded (Unix seconds).
                        price_since INTEGER NOT NULL
                    );
                    CREATE TABLE store_offer (
                        store_code TEXT NOT NULL REFERENCES store(code) ON DELETE CASCADE,
                        gtin TEXT NOT NULL REFERENCES product(gtin) ON DELETE CASCADE,
                        -- NULL price: the web price applies in this store.
                        currency TEXT,
                        price INTEGER CHECK (price > 0),
                        sale_price INTEGER CHECK (sale_price > 0 AND sale_price < price),
                        sale_start INTEGER,
                        sale_end INTEGER,
                        price_since INTEGER,
                        availability TEXT NOT NULL,
                        pickup_method TEXT,
                        pickup_sla TEXT,
                        on_hand INTEGER NOT NULL CHECK (on_hand >= 0),
                        PRIMARY KEY (store_code, gtin)
                    ) WITHOUT ROWID;
                    CREATE INDEX store_offer_by_gtin ON store_offer(gtin);
                    CREATE TABLE review (
                        id TEXT PRIMARY KEY NOT NULL,
                        gtin TEXT NOT NULL REFERENCES product(gtin) ON DELETE CASCADE,
                        rating REAL NOT NULL CHECK (rating BETWEEN 1 AND 5),
                        author TEXT NOT NULL,
                        is_anonymous INTEGER NOT NULL,
                        published_at INTEGER NOT NULL,
                        title TEXT NOT NULL,
                        content TEXT NOT NULL
                    );
                    CREATE INDEX review_by_gtin ON review(gtin, published_at);
                    -- Every price change of every channel (store_code NULL: the web shop), for Omnibus prior prices.
                    CREATE TABLE price_history (
                        id INTEGER PRIMARY KEY,
                        gtin TEXT NOT NULL REFERENCES product(gtin) ON DELETE CASCADE,
                        store_code TEXT REFERENCES store(code) ON DELETE CASCADE,
                        currency TEXT NOT NULL,
                        price INTEGER NOT NULL,
                        sale_price INTEGER,
                        sale_start INTEGER,
                        sale_end INTEGER,
                        recorded_at INTEGER NOT NULL
                    );
                    CREATE INDEX price_history_by_product ON price_history(gtin, store_code, recorded_at);
                    -- The history follows every pricing change, whoever writes it (import, store API).
                    CREATE TRIGGER product_price_recorded AFTER INSERT ON product BEGIN
                        INSERT INTO price_history (gtin, store_code, currency, price, sale_price, sale_start, sale_end, recorded_at)
                        VALUES (NEW.gtin, NULL, NEW.currency, NEW.price, NEW.sale_price, NEW.sale_start, NEW.sale_end, NEW.price_since);
                    END;
                    CREATE TRIGGER product_price_changed AFTER UPDATE ON product
                    WHEN NEW.currency IS NOT OLD.currency OR NEW.price IS NOT OLD.price OR NEW.sale_price IS NOT OLD.sale_price
                        OR NEW.sale_start IS NOT OLD.sale_start OR NEW.sale_end IS NOT OLD.sale_end BEGIN
                        INSERT INTO price_history (gtin, store_code, currency, price, sale_price, sale_start, sale_end, recorded_at)
                        VALUES (NEW.gtin, NULL, NEW.currency, NEW.price, NEW.sale_price, NEW.sale_start, NEW.sale_end, NEW.price_since);
                    END;
                    CREATE TRIGGER store_offer_price_recorded AFTER INSERT ON store_offer WHEN NEW.price IS NOT NULL BEGIN
                        INSERT INTO price_history (gtin, store_code, currency, price, sale_price, sale_start, sale_end, recorded_at)
                        VALUES (NEW.gtin, NEW.store_code, NEW.currency, NEW.price, NEW.sale_price, NEW.sale_start, NEW.sale_end, NEW.price_since);
                    END;
                    CREATE TRIGGER store_offer_price_changed AFTER UPDATE ON store_offer
                    WHEN NEW.price IS NOT NULL AND (NEW.currency IS NOT OLD.currency OR NEW.price IS NOT OLD.price
                        OR NEW.sale_price IS NOT OLD.sale_price OR NEW.sale_start IS NOT OLD.sale_start OR NEW.sale_end IS NOT OLD.sale_end) BEGIN
                        INSERT INTO price_history (gtin, store_code, currency, price, sale_price, sale_start, sale_end, recorded_at)
                        VALUES (NEW.gtin, NEW.store_code, NEW.currency, NEW.price, NEW.sale_price, NEW.sale_start, NEW.sale_end, NEW.price_since);
                    END;
                    """)
        }
        migrator.registerMigration("v2: print ledger") { db in
            try db.execute(
                sql: """
                    -- Every tag rendered for print: what it shows, so stale tags can be found and scans checked.
                    CREATE TABLE print_ledger (
                        id INTEGER PRIMARY KEY,
                        store_code TEXT NOT NULL REFERENCES store(code) ON DELETE CASCADE,
                        gtin TEXT NOT NULL REFERENCES product(gtin) ON DELETE CASCADE,
                        tag_id TEXT NOT NULL,
                        currency TEXT NOT NULL,
                        price INTEGER NOT NULL CHECK (price > 0),
                        regular_price INTEGER,
                        prior_price INTEGER,
                        unit_price INTEGER,
                        unit_base TEXT,
                        promotion_end INTEGER,
                        template TEXT NOT NULL,
                        printed_at INTEGER NOT NULL
                    );
                    CREATE INDEX print_ledger_by_product ON print_ledger(store_code, gtin, printed_at);
                    """)
        }
        migrator.registerMigration("v3: scans and store-update tokens") { db in
            try db.execute(
                sql: """
                    -- Every resolve of a tag URI; no client address is kept.
                    CREATE TABLE scan (
                        id INTEGER PRIMARY KEY,
                        scanned_at INTEGER NOT NULL,
                        store_code TEXT,
                        gtin TEXT NOT NULL,
                        tag_id TEXT,
                        stale INTEGER NOT NULL CHECK (stale IN (0, 1)),
                        format TEXT NOT NULL CHECK (format IN ('html', 'json'))
                    );
                    CREATE INDEX scan_by_time ON scan(scanned_at);
                    -- Bearer tokens for the store-update API: only their SHA-256 is kept.
                    CREATE TABLE api_token (
                        token_hash TEXT PRIMARY KEY NOT NULL,
                        store_code TEXT NOT NULL REFERENCES store(code) ON DELETE CASCADE,
                        scopes TEXT NOT NULL,
                        created_at INTEGER NOT NULL
                    ) WITHOUT ROWID;
                    """)
        }
        migrator.registerMigration("v4: catalogue version") { db in
            try db.execute(
                sql: """
                    -- Moves with every write to what the channels show (not with scans), so answers can be cached until it moves.
                    CREATE TABLE catalog_version (id INTEGER PRIMARY KEY CHECK (id = 1), version INTEGER NOT NULL);
                    INSERT INTO catalog_version (id, version) VALUES (1, 0);
                    """)
        }
        migrator.registerMigration("v5: reservations and idempotency keys") { db in
            try db.execute(
                sql: """
                    ALTER TABLE store ADD COLUMN max_reservation INTEGER NOT NULL DEFAULT 5 CHECK (max_reservation > 0);
                    -- Units held by reservations still 'held' (lapsed ones included until a hold on the product sweeps them):
                    -- a counter, so a hold costs the same with ten thousand others as with none.
                    ALTER TABLE store_offer ADD COLUMN held INTEGER NOT NULL DEFAULT 0 CHECK (held >= 0);
                    -- A hold on store stock. Available = on hand minus held units of reservations not expired: expiry needs
                    -- no job, a lapsed hold stops counting at once and is marked 'expired' by the next hold on the product.
                    CREATE TABLE reservation (
                        code TEXT PRIMARY KEY NOT NULL,
                        store_code TEXT NOT NULL REFERENCES store(code) ON DELETE CASCADE,
                        gtin TEXT NOT NULL REFERENCES product(gtin) ON DELETE CASCADE,
                        quantity INTEGER NOT NULL CHECK (quantity > 0),
                        customer_name TEXT NOT NULL,
                        contact TEXT NOT NULL,
                        currency TEXT NOT NULL,
                        unit_price INTEGER NOT NULL CHECK (unit_price > 0),
                        status TEXT NOT NULL CHECK (status IN ('held', 'collected', 'cancelled', 'expired')),
                        created_at INTEGER NOT NULL,
                        expires_at INTEGER NOT NULL,
                        closed_at INTEGER
                    ) WITHOUT ROWID;
                    CREATE INDEX reservation_holds ON reservation(store_code, gtin, status, expires_at);
                    -- Idempotency-Key: the first answer of a request, replayed to its retries.
                    CREATE TABLE idempotency_key (
                        key TEXT PRIMARY KEY NOT NULL,
                        fingerprint TEXT NOT NULL,
                        state TEXT NOT NULL CHECK (state IN ('running', 'done')),
                        outcome TEXT,
                        created_at INTEGER NOT NULL
                    ) WITHOUT ROWID;
                    """)
        }
        migrator.registerMigration("v6: print ledger by product") { db in
            // Parity walks offers, price history and ledger side by side in GTIN order.
            try db.execute(sql: "CREATE INDEX print_ledger_by_gtin ON print_ledger(gtin, store_code, printed_at)")
        }
        migrator.registerMigration("v7: price history written by the catalogue writer") { db in
            // The writer records pricing changes itself (and back-fills without overwriting newer prices): the
            // triggers cost more than half of an import.
            try db.execute(
                sql: """
                    DROP TRIGGER product_price_recorded; DROP TRIGGER product_price_changed;
                    DROP TRIGGER store_offer_price_recorded; DROP TRIGGER store_offer_price_changed;
                    """)
        }
        migrator.registerMigration("v8: associates and their credit") { db in
            for statement in associatesDDL { try db.execute(sql: statement) }
        }
        migrator.registerMigration("v9: scans and click-outs carry the advisor") { db in
            for statement in attributionDDL { try db.execute(sql: statement) }
        }
        migrator.registerMigration("v10: associate sessions") { db in
            for statement in sessionDDL { try db.execute(sql: statement) }
        }
        migrator.registerMigration("v11: reservations set aside") { db in
            for statement in readyDDL { try db.execute(sql: statement) }
        }
        migrator.registerMigration("v12: help requests") { db in
            for statement in helpDDL { try db.execute(sql: statement) }
        }
        migrator.registerMigration("v13: tokens expire, are revoked, and say when they were last used") { db in
            for statement in tokenLifecycleDDL { try db.execute(sql: statement) }
        }
        migrator.registerMigration("v14: stores' opening hours") { db in
            for statement in openingHoursDDL { try db.execute(sql: statement) }
        }
        migrator.registerMigration("v15: products' eco-participation") { db in
            for statement in ecoParticipationDDL { try db.execute(sql: statement) }
        }
        migrator.registerMigration("v16: what each catalogue version changed") { db in
            for statement in catalogChangeDDL { try db.execute(sql: statement) }
        }
        migrator.registerMigration("v17: who prepared and closed a reservation, and when the shopper was told") { db in
            for statement in reservationStaffDDL { try db.execute(sql: statement) }
        }
        migrator.registerMigration("v18: who told the shopper") { db in
            for statement in toldByDDL { try db.execute(sql: statement) }
        }
        migrator.registerMigration("v19: stores' printers") { db in
            for statement in storePrintersDDL { try db.execute(sql: statement) }
        }
        return migrator
    }

    /// A LIKE pattern matching `word` anywhere, its own `%`, `_` and `\` escaped (with `ESCAPE '\'`).
    /// `?, ?, ?`: the SQLite parameters of a row of `count` values.
    static func placeholders(_ count: Int) -> String {
        Array(repeating: "?", count: count).joined(separator: ", ")
    }

    static func containsPattern(_ word: String) -> String {
        "%" + word.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "%", with: "\\%").replacingOccurrences(of: "_", with: "\\_") + "%"
    }

    /// The condition on a reservation row that it is open or closed at or after `time` (a parameter in either
    /// dialect, NULL for every reservation). A lapsed hold not swept yet closed when it expired.
    static func openOrClosedSince(_ time: String) -> String {
        "(\(time) IS NULL OR (CASE WHEN status = 'held' THEN expires_at ELSE closed_at END) >= \(time))"
    }

    /// Per catalogue version, the products it changed (a row each) or everything (one row, NULL): what lets a resolver
    /// keep the cached answers of every other product (`CatalogChange`). Rows older than
    /// `CatalogChange.loggedVersions` versions are dropped as new ones come.
    static let catalogChangeDDL = [
        "CREATE TABLE catalog_change (version BIGINT NOT NULL, gtin TEXT)",
        "CREATE INDEX catalog_change_by_version ON catalog_change(version)",
    ]

    /// The recycling fee in a product's price, as the feed wrote it ("0.50 EUR"), NULL when it gave none.
    static let ecoParticipationDDL = ["ALTER TABLE product ADD COLUMN eco_participation TEXT"]

    /// A store's opening hours as the stores file wrote them (schema.org syntax), NULL when it gave none.
    static let openingHoursDDL = ["ALTER TABLE store ADD COLUMN opening_hours TEXT"]

    /// A store's label and office printers as the stores file names them (`render --printer store`), NULL when it
    /// names none.
    static let storePrintersDDL = ["ALTER TABLE store ADD COLUMN label_printer TEXT", "ALTER TABLE store ADD COLUMN office_printer TEXT"]

    /// A token's optional expiry, its revocation and its last use (stamped at most once a minute).
    static let tokenLifecycleDDL = [
        "ALTER TABLE api_token ADD COLUMN expires_at BIGINT", "ALTER TABLE api_token ADD COLUMN revoked_at BIGINT",
        "ALTER TABLE api_token ADD COLUMN last_used_at BIGINT",
    ]

    /// Shoppers' calls for help from a product page, taken and closed by associates.
    static let helpDDL = [
        """
        CREATE TABLE help_request (
            id TEXT PRIMARY KEY NOT NULL,
            store_code TEXT NOT NULL REFERENCES store(code) ON DELETE CASCADE,
            gtin TEXT NOT NULL,
            tag_id TEXT,
            created_at BIGINT NOT NULL,
            taken_by TEXT,
            taken_at BIGINT,
            closed_at BIGINT
        )
        """,
        "CREATE INDEX help_request_by_store ON help_request(store_code, closed_at, created_at)",
    ]

    /// When staff prepared a held reservation and set it aside.
    static let readyDDL = ["ALTER TABLE reservation ADD COLUMN ready_at BIGINT"]

    /// Which associate prepared a reservation and which handed it over or cancelled it (codes, kept as the credit is:
    /// an associate's record outlives their access), and when the shopper was last told it was ready.
    static let reservationStaffDDL = [
        "ALTER TABLE reservation ADD COLUMN ready_by TEXT", "ALTER TABLE reservation ADD COLUMN closed_by TEXT",
        "ALTER TABLE reservation ADD COLUMN told_at BIGINT",
    ]

    /// Which associate last told the shopper a reservation was ready.
    static let toldByDDL = ["ALTER TABLE reservation ADD COLUMN told_by TEXT"]

    /// A signed-in associate's session: only the SHA-256 of its cookie is kept. It holds the secret hash it was opened
    /// with: a revoked or replaced secret ends every session at once, on every resolver.
    static let sessionDDL = [
        """
        CREATE TABLE associate_session (
            token_hash TEXT PRIMARY KEY NOT NULL,
            associate_code TEXT NOT NULL REFERENCES associate(code) ON DELETE CASCADE,
            secret_hash TEXT NOT NULL,
            csrf TEXT NOT NULL,
            created_at BIGINT NOT NULL,
            expires_at BIGINT NOT NULL
        )
        """,
        "CREATE INDEX associate_session_by_associate ON associate_session(associate_code)",
    ]

    /// The same in both dialects.
    static let attributionDDL = [
        "ALTER TABLE scan ADD COLUMN associate_code TEXT",
        """
        CREATE TABLE clickout (
            clicked_at BIGINT NOT NULL,
            store_code TEXT,
            gtin TEXT NOT NULL,
            associate_code TEXT NOT NULL
        )
        """,
        "CREATE INDEX clickout_by_associate ON clickout(associate_code, clicked_at)",
        "CREATE INDEX scan_by_associate ON scan(associate_code, scanned_at) WHERE associate_code IS NOT NULL",
    ]

    /// Per associate: scans, reservations credited, units and value per currency, click-outs, reservations prepared and
    /// handed over, from `since` on, in one store or all; `store` and `since` are the dialect's placeholders (one row
    /// per associate and currency).
    static func associateFiguresSQL(store: String, since: String) -> String {
        """
        WITH s AS (SELECT associate_code AS code, count(*) AS scans FROM scan
                   WHERE associate_code IS NOT NULL AND (\(store) IS NULL OR store_code = \(store)) AND scanned_at >= \(since) GROUP BY associate_code),
             r AS (SELECT associate_code AS code, currency, count(*) AS reservations, CAST(sum(quantity) AS BIGINT) AS units,
                          CAST(sum(unit_price * quantity) AS BIGINT) AS value
                   FROM reservation WHERE associate_code IS NOT NULL AND (\(store) IS NULL OR store_code = \(store)) AND created_at >= \(since)
                   GROUP BY associate_code, currency),
             c AS (SELECT associate_code AS code, count(*) AS clickouts FROM clickout
                   WHERE (\(store) IS NULL OR store_code = \(store)) AND clicked_at >= \(since) GROUP BY associate_code),
             p AS (SELECT ready_by AS code, count(*) AS prepared FROM reservation
                   WHERE ready_by IS NOT NULL AND (\(store) IS NULL OR store_code = \(store)) AND ready_at >= \(since) GROUP BY ready_by),
             h AS (SELECT closed_by AS code, count(*) AS handed_over FROM reservation
                   WHERE closed_by IS NOT NULL AND status = 'collected' AND (\(store) IS NULL OR store_code = \(store)) AND closed_at >= \(since)
                   GROUP BY closed_by),
             codes AS (SELECT code FROM s UNION SELECT code FROM r UNION SELECT code FROM c UNION SELECT code FROM p UNION SELECT code FROM h)
        SELECT codes.code, a.name, a.store_code, s.scans, c.clickouts, p.prepared, h.handed_over, r.currency, r.reservations, r.units, r.value
        FROM codes LEFT JOIN associate a ON a.code = codes.code LEFT JOIN s ON s.code = codes.code LEFT JOIN c ON c.code = codes.code
            LEFT JOIN p ON p.code = codes.code LEFT JOIN h ON h.code = codes.code LEFT JOIN r ON r.code = codes.code
        ORDER BY a.store_code NULLS LAST, a.name NULLS LAST, codes.code, r.currency
        """
    }

    /// Help requests per store: count, taken, average and longest wait before one was taken (seconds).
    static func helpFiguresSQL(store: String, since: String) -> String {
        """
        SELECT store_code, count(*) AS requests, count(taken_at) AS taken, CAST(avg(taken_at - created_at) AS BIGINT) AS average_wait,
            max(taken_at - created_at) AS longest_wait
        FROM help_request WHERE (\(store) IS NULL OR store_code = \(store)) AND created_at >= \(since)
        GROUP BY store_code ORDER BY store_code
        """
    }

    /// Scans per printed tag, most scanned first.
    static func tagScansSQL(store: String, since: String) -> String {
        """
        SELECT store_code, gtin, tag_id, count(*) AS scans, CAST(sum(stale) AS BIGINT) AS stale_scans FROM scan
        WHERE tag_id IS NOT NULL AND (\(store) IS NULL OR store_code = \(store)) AND scanned_at >= \(since)
        GROUP BY store_code, gtin, tag_id ORDER BY scans DESC, store_code, gtin, tag_id
        """
    }

    /// The same in both dialects. An associate's secret is kept as its SHA-256 only; NULL once revoked. Reservations
    /// keep the code of an associate removed since: the credit is history.
    static let associatesDDL = [
        """
        CREATE TABLE associate (
            code TEXT PRIMARY KEY NOT NULL,
            store_code TEXT NOT NULL REFERENCES store(code) ON DELETE CASCADE,
            name TEXT NOT NULL,
            languages TEXT NOT NULL,
            secret_hash TEXT UNIQUE,
            created_at BIGINT NOT NULL
        )
        """,
        "CREATE INDEX associate_by_store ON associate(store_code, name)",
        "ALTER TABLE reservation ADD COLUMN associate_code TEXT",
    ]
}
