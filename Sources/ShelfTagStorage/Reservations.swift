import Foundation
import GRDB
import ShelfTagDomain

/// Where an `Idempotency-Key` stands (IETF draft "The Idempotency-Key HTTP Header Field").
public enum IdempotencyState: Sendable, Equatable {
    /// First use: the request goes ahead and its outcome is recorded under the key.
    case started
    /// Another request with this key is still running: 409.
    case inProgress
    /// The key was used with a different request: 422.
    case mismatch
    /// The first request finished: its outcome is replayed.
    case completed(HoldOutcome)
}

/// What staff did to a reservation.
public enum ReservationChange: Sendable, Equatable {
    case done(Reservation)
    case notFound
    /// Already collected, cancelled or expired: nothing changed.
    case notHeld(state: String)
    /// Telling the shopper needs it prepared first.
    case notReady
    /// Collecting needs the stock on hand.
    case notEnoughOnHand(Int)
}

/// Reservations: holds on stock, taken atomically.
public protocol ReservationStore: Sendable {
    /// Holds stock if on hand minus active holds covers the quantity, in one write transaction (SQLite writes one at a
    /// time, so concurrent holds never oversell); with `key`, records the outcome for the key's retries in the same transaction.
    /// - Throws: a storage error.
    func hold(_ request: HoldRequest, at time: Date, until end: Date, key: String?) async throws -> HoldOutcome

    /// Claims an idempotency key, or reports what became of it; a `running` key older than `abandonedAfter` is taken over.
    /// - Throws: a storage error.
    func claim(key: String, fingerprint: String, at time: Date, abandonedAfter: TimeInterval) async throws -> IdempotencyState

    /// Releases a claimed key whose request failed before holding anything, so a retry may run.
    /// - Throws: a storage error.
    func release(key: String) async throws

    /// - Throws: a storage error.
    func reservation(code: String) async throws -> Reservation?

    /// A store's reservations, newest first: every one, or with `closedSince`, those still open and those closed since
    /// then (a lapsed hold closes when it expires), so that a store's years of reservations do not all come back.
    /// - Throws: a storage error.
    func reservations(store storeCode: String, closedSince: Date?) async throws -> [Reservation]

    /// Does what staff ask to one of `storeCode`'s open reservations, recording the associate who did it (nil: a store
    /// token or the command line): `ready` marks a held one prepared and set aside (the shopper's page says "ready for
    /// pickup"); `told` records that the shopper was told so (again: a reminder); `collect` hands it over, its
    /// quantity leaving the stock on hand; `cancel` makes its stock available again.
    /// - Throws: a storage error.
    func change(reservation code: String, store storeCode: String, _ action: ReservationAction, by associateCode: String?, at time: Date)
        async throws -> ReservationChange
}

extension ReservationChange {
    /// Why nothing changed, said for whoever asked (a sentence without its capital; nil when done).
    public var refusalReason: String? {
        switch self {
        case .done: nil
        case .notFound: "no such reservation in this store"
        case .notHeld(let state): "the reservation is \(state); nothing changed"
        case .notReady: "the reservation is not ready for pickup yet: mark it ready first; nothing changed"
        case .notEnoughOnHand(let onHand): "only \(onHand) on hand: update the stock first; nothing changed"
        }
    }

    /// What `action` does to `reservation` at `time`, or why it does nothing: the rule both backends apply to the row
    /// they read under their write lock.
    static func refusal(of action: ReservationAction, on reservation: Reservation, at time: Date) -> ReservationChange? {
        let state = reservation.state(at: time)
        switch action {
        case .ready: return state == "held" ? nil : .notHeld(state: state)
        case .told: return state == "ready" ? nil : state == "held" ? .notReady : .notHeld(state: state)
        case .collect, .cancel: return reservation.isActive(at: time) ? nil : .notHeld(state: state)
        }
    }
}

extension SQLiteProductReference {
    public func hold(_ request: HoldRequest, at time: Date, until end: Date, key: String?) async throws -> HoldOutcome {
        try await writing { db in
            let outcome = try Self.hold(request, at: time, until: end, in: db)
            if let key {
                try db.execute(
                    sql: "UPDATE idempotency_key SET state = 'done', outcome = ? WHERE key = ?", arguments: [StoredRows.encode(outcome), key])
            }
            if case .held = outcome { try Self.bumpCatalogVersion(db, .product(request.gtin)) }
            return outcome
        }
    }

    private static func hold(_ request: HoldRequest, at time: Date, until end: Date, in db: Database) throws -> HoldOutcome {
        let now = Int64(time.timeIntervalSince1970)
        try sweepLapsedHolds(store: request.storeCode, gtin: request.gtin, now: now, in: db)
        guard
            let row = try Row.fetchOne(
                db,
                sql: """
                    SELECT o.on_hand, o.held, s.max_reservation, coalesce(o.currency, p.currency) AS currency,
                        o.price AS store_price, o.sale_price AS store_sale, o.sale_start AS store_start, o.sale_end AS store_end,
                        p.price AS web_price, p.sale_price AS web_sale, p.sale_start AS web_start, p.sale_end AS web_end
                    FROM store_offer o JOIN store s ON s.code = o.store_code JOIN product p ON p.gtin = o.gtin
                    WHERE o.store_code = ? AND o.gtin = ?
                    """, arguments: [request.storeCode, request.gtin.digits])
        else { return .notListed }
        let maximum: Int = row["max_reservation"]
        guard request.quantity <= maximum else { return .overLimit(maximum: maximum) }
        let available = (row["on_hand"] as Int) - (row["held"] as Int)
        guard request.quantity <= available else { return .insufficient(available: max(0, available)) }
        let unitPrice = try StoredRows.shelfPrice(row, at: time)
        for _ in 0..<8 {
            let reservation = Reservation(
                code: Reservation.newCode(), storeCode: request.storeCode, gtin: request.gtin, quantity: request.quantity,
                customerName: request.customerName, contact: request.contact, unitPrice: unitPrice, status: .held,
                createdAt: time, expiresAt: end, associateCode: request.associateCode)
            try db.execute(
                sql: """
                    INSERT OR IGNORE INTO reservation (code, store_code, gtin, quantity, customer_name, contact, currency, unit_price, status,
                        created_at, expires_at, associate_code) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'held', ?, ?, ?)
                    """,
                arguments: [
                    reservation.code, reservation.storeCode, reservation.gtin.digits, reservation.quantity, reservation.customerName, reservation.contact,
                    unitPrice.currency.code, reservation.unitPrice.minorUnits, now, Int64(reservation.expiresAt.timeIntervalSince1970),
                    reservation.associateCode,
                ])
            // A code already taken (one in a billion per pair): draw again.
            if db.changesCount == 1 {
                try db.execute(
                    sql: "UPDATE store_offer SET held = held + ? WHERE store_code = ? AND gtin = ?",
                    arguments: [reservation.quantity, reservation.storeCode, reservation.gtin.digits])
                return .held(reservation)
            }
        }
        throw StorageError.corruptRow(table: "reservation", key: request.storeCode, reason: "no free pickup code after 8 draws")
    }

    /// Marks the product's lapsed holds `expired` and takes them off the held counter.
    private static func sweepLapsedHolds(store: String, gtin: GTIN, now: Int64, in db: Database) throws {
        let released = try Int.fetchAll(
            db,
            sql: """
                UPDATE reservation SET status = 'expired', closed_at = expires_at
                WHERE store_code = ? AND gtin = ? AND status = 'held' AND expires_at <= ? RETURNING quantity
                """, arguments: [store, gtin.digits, now]
        ).reduce(0, +)
        if released > 0 {
            try db.execute(
                sql: "UPDATE store_offer SET held = max(0, held - ?) WHERE store_code = ? AND gtin = ?", arguments: [released, store, gtin.digits])
        }
    }

    public func claim(key: String, fingerprint: String, at time: Date, abandonedAfter: TimeInterval) async throws -> IdempotencyState {
        try await writing { db in
            let now = Int64(time.timeIntervalSince1970)
            guard let row = try Row.fetchOne(db, sql: "SELECT * FROM idempotency_key WHERE key = ?", arguments: [key]) else {
                try db.execute(
                    sql: "INSERT INTO idempotency_key (key, fingerprint, state, created_at) VALUES (?, ?, 'running', ?)", arguments: [key, fingerprint, now])
                return .started
            }
            guard row["fingerprint"] as String == fingerprint else { return .mismatch }
            if row["state"] as String == "done", let outcome = row["outcome"] as String? {
                return .completed(
                    try StoredRows.decode(outcome) { code in
                        try Row.fetchOne(db, sql: "SELECT * FROM reservation WHERE code = ?", arguments: [code]).map(StoredRows.reservation)
                    })
            }
            // A request that died between claiming and finishing: let the retry run.
            if now - (row["created_at"] as Int64) > Int64(abandonedAfter) {
                try db.execute(sql: "UPDATE idempotency_key SET created_at = ? WHERE key = ?", arguments: [now, key])
                return .started
            }
            return .inProgress
        }
    }

    public func release(key: String) async throws {
        try await writing { db in try db.execute(sql: "DELETE FROM idempotency_key WHERE key = ? AND state = 'running'", arguments: [key]) }
    }

    public func reservation(code: String) async throws -> Reservation? {
        try await reading { db in try Row.fetchOne(db, sql: "SELECT * FROM reservation WHERE code = ?", arguments: [code]).map(StoredRows.reservation) }
    }

    public func reservations(store storeCode: String, closedSince: Date?) async throws -> [Reservation] {
        try await reading { db in
            try Row.fetchAll(
                db, sql: "SELECT * FROM reservation WHERE store_code = ?1 AND \(Schema.openOrClosedSince("?2")) ORDER BY created_at DESC, code",
                arguments: [storeCode, closedSince.map { Int64($0.timeIntervalSince1970) }]
            ).map(StoredRows.reservation)
        }
    }

    static func activeHolds(of gtin: GTIN, at time: Date, in db: Database) throws -> [String: Int] {
        // The counter, less the lapsed holds not swept yet (few: the next hold on the product sweeps them).
        let rows = try Row.fetchAll(
            db.cachedStatement(
                sql: """
                    SELECT o.store_code, o.held - coalesce((SELECT sum(quantity) FROM reservation r WHERE r.store_code = o.store_code
                        AND r.gtin = o.gtin AND r.status = 'held' AND r.expires_at <= ?2), 0) AS held
                    FROM store_offer o WHERE o.gtin = ?1 AND o.held > 0
                    """), arguments: [gtin.digits, Int64(time.timeIntervalSince1970)])
        return Dictionary(uniqueKeysWithValues: rows.map { ($0["store_code"] as String, $0["held"] as Int) })
    }

    public func change(reservation code: String, store storeCode: String, _ action: ReservationAction, by associateCode: String?, at time: Date)
        async throws -> ReservationChange
    {
        try await writing { db in
            guard let row = try Row.fetchOne(db, sql: "SELECT * FROM reservation WHERE code = ? AND store_code = ?", arguments: [code, storeCode]) else {
                return .notFound
            }
            let reservation = try StoredRows.reservation(row)
            if let refusal = ReservationChange.refusal(of: action, on: reservation, at: time) { return refusal }
            let now = Int64(time.timeIntervalSince1970)
            switch action {
            case .ready:
                try db.execute(sql: "UPDATE reservation SET ready_at = ?, ready_by = ? WHERE code = ?", arguments: [now, associateCode, code])
            case .told:
                try db.execute(sql: "UPDATE reservation SET told_at = ?, told_by = ? WHERE code = ?", arguments: [now, associateCode, code])
            case .collect, .cancel:
                if let refusal = try Self.close(reservation, as: action == .collect ? .collected : .cancelled, by: associateCode, at: now, in: db) {
                    return refusal
                }
            }
            return .done(try StoredRows.reservation(try Row.fetchOne(db, sql: "SELECT * FROM reservation WHERE code = ?", arguments: [code])!))
        }
    }

    /// Closes an active reservation in `db`'s write transaction: its hold ends, and a collected one's quantity leaves the
    /// stock on hand; nil when done, or why not.
    private static func close(_ reservation: Reservation, as status: Reservation.Status, by associateCode: String?, at now: Int64, in db: Database)
        throws -> ReservationChange?
    {
        let (storeCode, gtin) = (reservation.storeCode, reservation.gtin.digits)
        var onHand = try Int.fetchOne(db, sql: "SELECT on_hand FROM store_offer WHERE store_code = ? AND gtin = ?", arguments: [storeCode, gtin]) ?? 0
        if status == .collected {
            guard onHand >= reservation.quantity else { return .notEnoughOnHand(onHand) }
            onHand -= reservation.quantity
        }
        try db.execute(
            sql: "UPDATE store_offer SET on_hand = ?, availability = ?, held = max(0, held - ?) WHERE store_code = ? AND gtin = ?",
            arguments: [onHand, StoreAvailability(quantity: onHand).rawValue, reservation.quantity, storeCode, gtin])
        try db.execute(
            sql: "UPDATE reservation SET status = ?, closed_at = ?, closed_by = ? WHERE code = ?",
            arguments: [status.rawValue, now, associateCode, reservation.code])
        try bumpCatalogVersion(db, .product(reservation.gtin))
        return nil
    }
}
