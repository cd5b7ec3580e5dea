import Foundation
import Logging
import PostgresNIO
import ShelfTagDomain

/// Reservations across processes. A hold is one statement: it marks the product's lapsed holds expired and takes
/// the units with a conditional `UPDATE … WHERE on hand − held ≥ quantity`, which PostgreSQL re-checks on the
/// row's latest version when another hold got there first; so holds from any number of resolvers never oversell, and
/// the row is locked only for that statement. An idempotency key is a primary key, so two resolvers cannot both
/// start the same request.
extension PostgresProductReference {
    public func hold(_ request: HoldRequest, at time: Date, until end: Date, key: String?) async throws -> HoldOutcome {
        let logger = logger
        let now = Int64(time.timeIntervalSince1970)
        let store = request.storeCode
        let gtin = request.gtin.digits
        let quantity = Int64(request.quantity)
        let outcome = try await database { connection -> HoldOutcome in
            // The price the shelf shows now, and the limit: read before the hold (the price a shopper saw).
            guard let row = try await connection.execute(OfferStockStatement(store: store, gtin: gtin, now: now), logger: logger).first else {
                return try await Self.finish(.notListed, key: key, connection, logger: logger)
            }
            let maximum = Int(row.integer("max_reservation") ?? 0)
            guard request.quantity <= maximum else { return try await Self.finish(.overLimit(maximum: maximum), key: key, connection, logger: logger) }
            let unitPrice = try StoredRows.shelfPrice(row, at: time)
            for _ in 0..<8 {
                let reservation = Reservation(
                    code: Reservation.newCode(), storeCode: store, gtin: request.gtin, quantity: request.quantity, customerName: request.customerName,
                    contact: request.contact, unitPrice: unitPrice, status: .held, createdAt: time, expiresAt: end,
                    associateCode: request.associateCode)
                let held: Int64
                do {
                    held =
                        try await connection.execute(
                            HoldStatement(reservation: reservation, quantity: quantity, unitPrice: unitPrice, now: now, key: key ?? ""), logger: logger
                        ).first?.integer("held") ?? 0
                } catch let error as PSQLError where error.serverInfo?[.sqlState] == "23505" && error.serverInfo?[.constraintName] == "reservation_pkey" {
                    // A pickup code already taken (one in a billion per pair): nothing was applied; draw again.
                    continue
                }
                if held == 1 { return .held(reservation) }
                // Refused: how many are left now, for the answer.
                let fresh = try await connection.execute(OfferStockStatement(store: store, gtin: gtin, now: now), logger: logger).first
                let available = Int((fresh?.integer("on_hand") ?? 0) - (fresh?.integer("active_held") ?? 0))
                return try await Self.finish(.insufficient(available: max(0, available)), key: key, connection, logger: logger)
            }
            throw StorageError.corruptRow(table: "reservation", key: store, reason: "no free pickup code after 8 draws")
        }
        if case .held = outcome { await moveCatalogVersion(.product(request.gtin)) }
        return outcome
    }

    /// Records a refused hold's outcome under the idempotency key.
    private static func finish(_ outcome: HoldOutcome, key: String?, _ connection: Session, logger: Logger) async throws -> HoldOutcome {
        if let key {
            try await connection.query(
                "UPDATE idempotency_key SET state = 'done', outcome = \(StoredRows.encode(outcome)) WHERE key = \(key)", logger: logger)
        }
        return outcome
    }

    public func claim(key: String, fingerprint: String, at time: Date, abandonedAfter: TimeInterval) async throws -> IdempotencyState {
        let logger = logger
        return try await transaction { connection in
            let now = Int64(time.timeIntervalSince1970)
            // Another process inserting the same key makes this wait for its commit, then do nothing.
            let inserted = try await Self.rows(
                connection.query(
                    """
                    INSERT INTO idempotency_key (key, fingerprint, state, created_at) VALUES (\(key), \(fingerprint), 'running', \(now))
                    ON CONFLICT (key) DO NOTHING RETURNING key
                    """, logger: logger))
            if !inserted.isEmpty { return .started }
            guard
                let row = try await Self.rows(connection.query("SELECT * FROM idempotency_key WHERE key = \(key) FOR UPDATE", logger: logger)).first
            else { return .inProgress }
            guard row.text("fingerprint") == fingerprint else { return .mismatch }
            if row.text("state") == "done", let outcome = row.text("outcome") {
                var reservation: Reservation?
                if outcome.hasPrefix("held:") {
                    let code = String(outcome.dropFirst(5))
                    reservation = try await Self.rows(connection.query("SELECT * FROM reservation WHERE code = \(code)", logger: logger)).first.map(
                        StoredRows.reservation)
                }
                return .completed(try StoredRows.decode(outcome) { _ in reservation })
            }
            // A request that died between claiming and finishing: let the retry run.
            if now - (row.integer("created_at") ?? now) > Int64(abandonedAfter) {
                try await connection.query("UPDATE idempotency_key SET created_at = \(now) WHERE key = \(key)", logger: logger)
                return .started
            }
            return .inProgress
        }
    }

    public func release(key: String) async throws {
        let logger = logger
        try await database { connection in
            try await connection.query("DELETE FROM idempotency_key WHERE key = \(key) AND state = 'running'", logger: logger)
        }
    }

    public func reservation(code: String) async throws -> Reservation? {
        let logger = logger
        return try await database { connection in
            try await Self.rows(connection.query("SELECT * FROM reservation WHERE code = \(code)", logger: logger)).first.map(StoredRows.reservation)
        }
    }

    public func reservations(store storeCode: String, closedSince: Date?) async throws -> [Reservation] {
        let logger = logger
        var bindings = PostgresBindings()
        bindings.append(storeCode)
        bindings.append(closedSince.map { Int64($0.timeIntervalSince1970) })
        let query = PostgresQuery(
            unsafeSQL: "SELECT * FROM reservation WHERE store_code = $1 AND \(Schema.openOrClosedSince("$2::bigint")) ORDER BY created_at DESC, code",
            binds: bindings)
        return try await database { connection in try await Self.rows(connection.query(query, logger: logger)).map(StoredRows.reservation) }
    }

    public func change(reservation code: String, store storeCode: String, _ action: ReservationAction, by associateCode: String?, at time: Date)
        async throws -> ReservationChange
    {
        let logger = logger
        let now = Int64(time.timeIntervalSince1970)
        let (change, moved) = try await transaction { connection -> (ReservationChange, GTIN?) in
            guard
                let row = try await Self.rows(
                    connection.query("SELECT * FROM reservation WHERE code = \(code) AND store_code = \(storeCode) FOR UPDATE", logger: logger)
                ).first
            else { return (.notFound, nil) }
            let reservation = try StoredRows.reservation(row)
            if let refusal = ReservationChange.refusal(of: action, on: reservation, at: time) { return (refusal, nil) }
            let changed: [PostgresStoredRow]
            switch action {
            case .ready:
                changed = try await Self.rows(
                    connection.query("UPDATE reservation SET ready_at = \(now), ready_by = \(associateCode) WHERE code = \(code) RETURNING *", logger: logger))
            case .told:
                changed = try await Self.rows(
                    connection.query("UPDATE reservation SET told_at = \(now), told_by = \(associateCode) WHERE code = \(code) RETURNING *", logger: logger))
            case .collect, .cancel:
                let status = action == .collect ? Reservation.Status.collected : .cancelled
                var onHand =
                    try await Self.rows(
                        connection.query(
                            "SELECT on_hand FROM store_offer WHERE store_code = \(storeCode) AND gtin = \(reservation.gtin.digits) FOR UPDATE",
                            logger: logger)
                    ).first?.integer("on_hand") ?? 0
                let quantity = Int64(reservation.quantity)
                if status == .collected {
                    guard onHand >= quantity else { return (.notEnoughOnHand(Int(onHand)), nil) }
                    onHand -= quantity
                }
                try await connection.query(
                    """
                    UPDATE store_offer SET on_hand = \(onHand), availability = \(StoreAvailability(quantity: Int(onHand)).rawValue),
                        held = greatest(0, held - \(quantity)) WHERE store_code = \(storeCode) AND gtin = \(reservation.gtin.digits)
                    """, logger: logger)
                changed = try await Self.rows(
                    connection.query(
                        """
                        UPDATE reservation SET status = \(status.rawValue), closed_at = \(now), closed_by = \(associateCode) WHERE code = \(code) RETURNING *
                        """, logger: logger))
            }
            guard let changedRow = changed.first else { return (.notFound, nil) }
            // Closing moves the product's stock: its cached answers must go.
            return (.done(try StoredRows.reservation(changedRow)), action == .collect || action == .cancel ? reservation.gtin : nil)
        }
        if let moved { await moveCatalogVersion(.product(moved)) }
        return change
    }
}

/// An offer's stock, holds still active at `now`, limit and both pricings. Prepared once per connection, like the hold:
/// PostgreSQL planned both for every reservation.
struct OfferStockStatement: StoredRowStatement {
    static let sql = """
        SELECT o.on_hand, o.held, s.max_reservation, coalesce(o.currency, p.currency) AS currency,
            o.held - coalesce((SELECT sum(quantity) FROM reservation r WHERE r.store_code = o.store_code AND r.gtin = o.gtin
                AND r.status = 'held' AND r.expires_at <= $3), 0)::bigint AS active_held,
            o.price AS store_price, o.sale_price AS store_sale, o.sale_start AS store_start, o.sale_end AS store_end,
            p.price AS web_price, p.sale_price AS web_sale, p.sale_start AS web_start, p.sale_end AS web_end
        FROM store_offer o JOIN store s ON s.code = o.store_code JOIN product p ON p.gtin = o.gtin
        WHERE o.store_code = $1 AND o.gtin = $2
        """
    static let bindingDataTypes: [PostgresDataType] = [.text, .text, .int8]

    let store: String
    let gtin: String
    /// Unix seconds: holds that lapsed by then no longer count.
    let now: Int64

    func makeBindings() throws -> PostgresBindings {
        var bindings = PostgresBindings(capacity: 3)
        bindings.append(store)
        bindings.append(gtin)
        bindings.append(now)
        return bindings
    }
}

/// The hold itself, one statement: the product's lapsed holds marked expired, the units taken only while on hand less
/// held covers them, the reservation inserted and the idempotency key (`""`: none) marked done. `held` is 1 when it
/// held, 0 when refused.
struct HoldStatement: StoredRowStatement {
    static let sql = """
        WITH lapsed AS (
                UPDATE reservation SET status = 'expired', closed_at = expires_at
                WHERE store_code = $1 AND gtin = $2 AND status = 'held' AND expires_at <= $3 RETURNING quantity),
            released AS (SELECT coalesce(sum(quantity), 0)::bigint AS units FROM lapsed),
            taken AS (
                UPDATE store_offer o SET held = greatest(0, o.held - (SELECT units FROM released)) + $4
                WHERE o.store_code = $1 AND o.gtin = $2 AND o.on_hand - greatest(0, o.held - (SELECT units FROM released)) >= $4
                RETURNING o.gtin),
            inserted AS (
                INSERT INTO reservation (code, store_code, gtin, quantity, customer_name, contact, currency, unit_price, status,
                    created_at, expires_at, associate_code)
                SELECT $5, $1, gtin, $4, $6, $7, $8, $9, 'held', $3, $10, $11 FROM taken RETURNING code),
            finished AS (
                UPDATE idempotency_key SET state = 'done', outcome = 'held:' || inserted.code FROM inserted
                WHERE idempotency_key.key = $12)
        SELECT count(*) AS held FROM inserted
        """
    /// Declared: an advisor's code may be NULL, which has no type of its own.
    static let bindingDataTypes: [PostgresDataType] = [.text, .text, .int8, .int8, .text, .text, .text, .text, .int8, .int8, .text, .text]

    let reservation: Reservation
    let quantity: Int64
    let unitPrice: Money
    let now: Int64
    let key: String

    func makeBindings() throws -> PostgresBindings {
        var bindings = PostgresBindings(capacity: 12)
        bindings.append(reservation.storeCode)
        bindings.append(reservation.gtin.digits)
        bindings.append(now)
        bindings.append(quantity)
        bindings.append(reservation.code)
        bindings.append(reservation.customerName)
        bindings.append(reservation.contact)
        bindings.append(unitPrice.currency.code)
        bindings.append(unitPrice.minorUnits)
        bindings.append(Int64(reservation.expiresAt.timeIntervalSince1970))
        bindings.append(reservation.associateCode)
        bindings.append(key)
        return bindings
    }
}
