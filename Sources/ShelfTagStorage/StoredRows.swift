import Foundation
import ShelfTagDomain

/// A row as either driver returns it: both schemas name and type their columns alike, so one set of functions turns
/// rows into domain values for both. A NULL (or a value of another type) reads as nil.
protocol StoredRow {
    func text(_ column: String) -> String?
    func integer(_ column: String) -> Int64?
    func real(_ column: String) -> Double?
    func text(at index: Int) -> String?
    func integer(at index: Int) -> Int64?
}

extension StoredRow {
    /// A NOT NULL text column.
    /// - Throws: `StorageError.corruptRow` when it is NULL.
    func requiredText(_ column: String, table: String) throws -> String {
        guard let value = text(column) else { throw StorageError.corruptRow(table: table, key: column, reason: "is NULL") }
        return value
    }

    /// A NOT NULL integer column.
    /// - Throws: `StorageError.corruptRow` when it is NULL.
    func requiredInteger(_ column: String, table: String) throws -> Int64 {
        guard let value = integer(column) else { throw StorageError.corruptRow(table: table, key: column, reason: "is NULL") }
        return value
    }

    func date(_ column: String, table: String) throws -> Date {
        Date(timeIntervalSince1970: TimeInterval(try requiredInteger(column, table: table)))
    }
}

/// Rows into domain values, for both drivers.
enum StoredRows {
    /// A listing's row: the product's GTIN, title and pricing, `store_count`, `on_hand`, `rating`, `review_count`.
    static func summary(_ row: some StoredRow, at time: Date) throws -> ProductSummary {
        let gtin = try gtin(row.text("gtin") ?? "")
        guard let pricing = try pricing(row, table: "product", key: gtin.digits) else {
            throw StorageError.corruptRow(table: "product", key: gtin.digits, reason: "no price")
        }
        let reviewCount = Int(row.integer("review_count") ?? 0)
        return ProductSummary(
            gtin: gtin, title: row.text("title") ?? "", webPrice: pricing.effectivePrice(at: time), storeCount: Int(row.integer("store_count") ?? 0),
            unitsOnHand: Int(row.integer("on_hand") ?? 0),
            rating: reviewCount > 0 ? RatingSummary(average: row.real("rating") ?? 0, count: reviewCount) : nil)
    }

    static func gtin(_ text: String, table: String = "product") throws -> GTIN {
        do { return try GTIN(text) } catch { throw StorageError.corruptRow(table: table, key: text, reason: error.description) }
    }

    static func choice<Choice: RawRepresentable>(_ text: String?, _: Choice.Type) throws -> Choice where Choice.RawValue == String {
        guard let text, let value = Choice(rawValue: text) else {
            throw StorageError.corruptRow(table: "\(Choice.self)", key: text ?? "NULL", reason: "unknown value")
        }
        return value
    }

    /// The pricing stored in a row's `currency, price, sale_price, sale_start, sale_end` columns (nil when price is NULL).
    static func pricing(_ row: some StoredRow, table: String, key: String) throws -> Pricing? {
        guard let price = row.integer("price"), let code = row.text("currency") else { return nil }
        do {
            let currency = try Currency(code: code)
            let sale = row.integer("sale_price").map { Money(minorUnits: $0, currency: currency) }
            var window: SaleWindow?
            if let start = row.integer("sale_start"), let end = row.integer("sale_end") {
                window = SaleWindow(start: Date(timeIntervalSince1970: TimeInterval(start)), end: Date(timeIntervalSince1970: TimeInterval(end)))
            }
            return try Pricing(price: Money(minorUnits: price, currency: currency), salePrice: sale, saleWindow: window)
        } catch {
            throw StorageError.corruptRow(table: table, key: key, reason: "\(error)")
        }
    }

    /// The price a shelf shows at `time`, from a row holding the store's pricing as `store_price, store_sale,
    /// store_start, store_end`, the web's as `web_…`, and their `currency`: the store's own, else the web's.
    static func shelfPrice(_ row: some StoredRow, at time: Date) throws -> Money {
        let prefix = row.integer("store_price") == nil ? "web" : "store"
        do {
            let currency = try Currency(code: row.text("currency") ?? "")
            guard let price = row.integer("\(prefix)_price") else {
                throw StorageError.corruptRow(table: "store_offer", key: "price", reason: "no price")
            }
            var window: SaleWindow?
            if let start = row.integer("\(prefix)_start"), let end = row.integer("\(prefix)_end") {
                window = SaleWindow(start: Date(timeIntervalSince1970: TimeInterval(start)), end: Date(timeIntervalSince1970: TimeInterval(end)))
            }
            let pricing = try Pricing(
                price: Money(minorUnits: price, currency: currency),
                salePrice: row.integer("\(prefix)_sale").map { Money(minorUnits: $0, currency: currency) }, saleWindow: window)
            return pricing.effectivePrice(at: time)
        } catch let error as StorageError {
            throw error
        } catch {
            throw StorageError.corruptRow(table: "store_offer", key: "price", reason: "\(error)")
        }
    }

    static func priceChange(_ row: some StoredRow) throws -> PriceChange {
        let key = row.text("gtin") ?? ""
        guard let pricing = try pricing(row, table: "price_history", key: key) else {
            throw StorageError.corruptRow(table: "price_history", key: key, reason: "no price")
        }
        return PriceChange(recordedAt: try row.date("recorded_at", table: "price_history"), pricing: pricing)
    }

    static func storeOffer(_ row: some StoredRow, gtin: GTIN) throws -> StoreOffer {
        let code = try row.requiredText("store_code", table: "store_offer")
        return StoreOffer(
            storeCode: code, gtin: gtin, pricing: try pricing(row, table: "store_offer", key: code),
            availability: try choice(row.text("availability"), StoreAvailability.self),
            pickupMethod: try row.text("pickup_method").map { try choice($0, PickupMethod.self) },
            pickupSLA: try row.text("pickup_sla").map { try choice($0, PickupSLA.self) },
            stock: Stock(onHand: Int(try row.requiredInteger("on_hand", table: "store_offer"))))
    }

    static func webOffer(_ row: some StoredRow, gtin: GTIN) throws -> WebOffer {
        guard let pricing = try pricing(row, table: "product", key: gtin.digits) else {
            throw StorageError.corruptRow(table: "product", key: gtin.digits, reason: "no price")
        }
        return WebOffer(
            gtin: gtin, pricing: pricing, availability: try choice(row.text("availability"), WebAvailability.self),
            link: try row.requiredText("link", table: "product"))
    }

    static func product(_ row: some StoredRow, gtin: GTIN) throws -> Product {
        var unitPricing: UnitPricing?
        if let measure = row.text("unit_measure"), let base = row.text("unit_base") {
            do {
                unitPricing = try UnitPricing(measure: Measure(feedValue: measure), base: Measure(feedValue: base))
            } catch {
                throw StorageError.corruptRow(table: "product", key: gtin.digits, reason: error.description)
            }
        }
        let table = "product"
        var ecoParticipation: Money?
        if let fee = row.text("eco_participation") {
            do { ecoParticipation = try Money(feedValue: fee) } catch {
                throw StorageError.corruptRow(table: table, key: gtin.digits, reason: "eco_participation: \(error)")
            }
        }
        return Product(
            gtin: gtin, itemID: try row.requiredText("item_id", table: table), title: try row.requiredText("title", table: table),
            description: try row.requiredText("description", table: table), brand: try row.requiredText("brand", table: table),
            imageLink: try row.requiredText("image_link", table: table), productType: try row.requiredText("product_type", table: table),
            unitPricing: unitPricing, ecoParticipation: ecoParticipation)
    }

    static func store(_ row: some StoredRow) throws -> Store {
        let table = "store"
        var openingHours: OpeningHours?
        if let text = row.text("opening_hours") {
            do { openingHours = try ParsedOpeningHours.shared.value(of: text) } catch {
                throw StorageError.corruptRow(table: table, key: row.text("code") ?? "?", reason: "opening_hours: \(error)")
            }
        }
        return Store(
            code: try row.requiredText("code", table: table), name: try row.requiredText("name", table: table),
            address: try row.requiredText("address", table: table), latitude: row.real("latitude") ?? 0, longitude: row.real("longitude") ?? 0,
            timeZone: try row.requiredText("time_zone", table: table), locale: try row.requiredText("locale", table: table),
            maxReservation: Int(try row.requiredInteger("max_reservation", table: table)), openingHours: openingHours,
            labelPrinter: row.text("label_printer"), officePrinter: row.text("office_printer"))
    }

    static func review(_ row: some StoredRow, gtin: GTIN) throws -> Review {
        let table = "review"
        return Review(
            id: try row.requiredText("id", table: table), gtin: gtin, rating: row.real("rating") ?? 0, author: try row.requiredText("author", table: table),
            isAnonymous: (row.integer("is_anonymous") ?? 0) != 0, publishedAt: try row.date("published_at", table: table),
            title: try row.requiredText("title", table: table), content: try row.requiredText("content", table: table))
    }

    static func associate(_ row: some StoredRow) throws -> Associate {
        let table = "associate"
        let code = try row.requiredText("code", table: table)
        let languages = row.text("languages") ?? ""
        return Associate(
            code: code, storeCode: try row.requiredText("store_code", table: table), name: try row.requiredText("name", table: table),
            languages: languages.isEmpty ? [] : languages.split(separator: ",").map(String.init), canSignIn: row.text("secret_hash") != nil)
    }

    /// Folds `associateFiguresSQL`'s rows (one per associate and currency) into one entry per associate.
    static func associateFigures(_ rows: [some StoredRow]) throws -> [AssociateFigures] {
        var figures: [AssociateFigures] = []
        for row in rows {
            let code = try row.requiredText("code", table: "associate")
            if figures.last?.code != code {
                var entry = AssociateFigures(code: code, name: row.text("name"), storeCode: row.text("store_code"))
                entry.scans = Int(row.integer("scans") ?? 0)
                entry.clickOuts = Int(row.integer("clickouts") ?? 0)
                entry.prepared = Int(row.integer("prepared") ?? 0)
                entry.handedOver = Int(row.integer("handed_over") ?? 0)
                figures.append(entry)
            }
            guard let currency = row.text("currency") else { continue }
            figures[figures.count - 1].reservations += Int(row.integer("reservations") ?? 0)
            figures[figures.count - 1].units += Int(row.integer("units") ?? 0)
            figures[figures.count - 1].value.append(Money(minorUnits: row.integer("value") ?? 0, currency: try Currency(code: currency)))
        }
        return figures
    }

    static func helpFigures(_ row: some StoredRow) throws -> HelpFigures {
        HelpFigures(
            storeCode: try row.requiredText("store_code", table: "help_request"), requests: Int(row.integer("requests") ?? 0),
            taken: Int(row.integer("taken") ?? 0), averageWait: row.integer("average_wait").map { Int($0) },
            longestWait: row.integer("longest_wait").map { Int($0) })
    }

    static func tagScanCount(_ row: some StoredRow) throws -> TagScanCount {
        TagScanCount(
            storeCode: row.text("store_code"), gtin: try gtin(try row.requiredText("gtin", table: "scan"), table: "scan"),
            tagID: try row.requiredText("tag_id", table: "scan"), scans: Int(row.integer("scans") ?? 0), staleScans: Int(row.integer("stale_scans") ?? 0))
    }

    static func helpRequest(_ row: some StoredRow) throws -> HelpRequest {
        let table = "help_request"
        func date(_ column: String) -> Date? { row.integer(column).map { Date(timeIntervalSince1970: TimeInterval($0)) } }
        return HelpRequest(
            id: try row.requiredText("id", table: table), storeCode: try row.requiredText("store_code", table: table),
            gtin: try gtin(try row.requiredText("gtin", table: table), table: table), tagID: row.text("tag_id"),
            createdAt: try row.date("created_at", table: table), takenBy: row.text("taken_by"), takenAt: date("taken_at"), closedAt: date("closed_at"))
    }

    static func reservation(_ row: some StoredRow) throws -> Reservation {
        let code = row.text("code") ?? ""
        do {
            let table = "reservation"
            guard let status = Reservation.Status(rawValue: row.text("status") ?? "") else {
                throw StorageError.corruptRow(table: table, key: code, reason: "status")
            }
            return Reservation(
                code: code, storeCode: try row.requiredText("store_code", table: table), gtin: try GTIN(try row.requiredText("gtin", table: table)),
                quantity: Int(try row.requiredInteger("quantity", table: table)), customerName: try row.requiredText("customer_name", table: table),
                contact: try row.requiredText("contact", table: table),
                unitPrice: Money(minorUnits: try row.requiredInteger("unit_price", table: table), currency: try Currency(code: row.text("currency") ?? "")),
                status: status, createdAt: try row.date("created_at", table: table), expiresAt: try row.date("expires_at", table: table),
                associateCode: row.text("associate_code"), readyAt: row.integer("ready_at").map { Date(timeIntervalSince1970: TimeInterval($0)) },
                preparedBy: row.text("ready_by"), toldAt: row.integer("told_at").map { Date(timeIntervalSince1970: TimeInterval($0)) },
                toldBy: row.text("told_by"), closedBy: row.text("closed_by"))
        } catch let error as StorageError {
            throw error
        } catch {
            throw StorageError.corruptRow(table: "reservation", key: code, reason: "\(error)")
        }
    }

    /// The print ledger's columns, in the order `printedTag` reads them (by position: a million name lookups cost more
    /// than the query).
    static let ledgerColumns =
        "gtin, store_code, tag_id, currency, price, regular_price, prior_price, unit_price, unit_base, promotion_end, template, printed_at"

    /// A ledger row selected as `ledgerColumns`; `gtin` is its product's, when the caller has parsed it already.
    static func printedTag(_ row: some StoredRow, gtin known: GTIN? = nil) throws -> PrintedTag {
        let gtin = try known ?? gtin(row.text(at: 0) ?? "", table: "print_ledger")
        let storeCode = row.text(at: 1) ?? ""
        let key = "\(storeCode)/\(gtin.digits)"
        do {
            let currency = try Currency(code: row.text(at: 3) ?? "")
            func money(_ index: Int) -> Money? { row.integer(at: index).map { Money(minorUnits: $0, currency: currency) } }
            var unitPrice: UnitPrice?
            if let amount = money(7), let base = row.text(at: 8) {
                unitPrice = UnitPrice(price: amount, per: try Measure(feedValue: base))
            }
            guard let price = money(4) else { throw StorageError.corruptRow(table: "print_ledger", key: key, reason: "no price") }
            let label = ShelfLabel(
                storeCode: storeCode, gtin: gtin, price: price, regularPrice: money(5), priorPrice: money(6), unitPrice: unitPrice,
                promotionEnd: row.integer(at: 9).map { Date(timeIntervalSince1970: TimeInterval($0)) })
            guard label.tagID == row.text(at: 2) else {
                throw StorageError.corruptRow(table: "print_ledger", key: key, reason: "tag id does not match the prices it records")
            }
            guard let template = row.text(at: 10), let printedAt = row.integer(at: 11) else {
                throw StorageError.corruptRow(table: "print_ledger", key: key, reason: "no template or time")
            }
            return PrintedTag(label: label, template: template, printedAt: Date(timeIntervalSince1970: TimeInterval(printedAt)))
        } catch let error as StorageError {
            throw error
        } catch {
            throw StorageError.corruptRow(table: "print_ledger", key: key, reason: "\(error)")
        }
    }

    /// A token's scopes as stored: names joined by commas.
    static func scopes(_ text: String) -> Set<TokenScope> {
        Set(text.split(separator: ",").compactMap { TokenScope(rawValue: String($0)) })
    }

    static func scopesText(_ scopes: Set<TokenScope>) -> String {
        scopes.map(\.rawValue).sorted().joined(separator: ",")
    }

    /// Outcomes kept under an idempotency key: `held:CODE`, `insufficient:N`, `over_limit:N`, `not_listed`.
    static func encode(_ outcome: HoldOutcome) -> String {
        switch outcome {
        case .held(let reservation): "held:" + reservation.code
        case .insufficient(let available): "insufficient:\(available)"
        case .overLimit(let maximum): "over_limit:\(maximum)"
        case .notListed: "not_listed"
        }
    }

    /// An outcome kept under a key; `reservation` finds a held one's reservation by its code.
    static func decode(_ text: String, reservation: (String) throws -> Reservation?) throws -> HoldOutcome {
        let parts = text.split(separator: ":", maxSplits: 1).map(String.init)
        switch parts[0] {
        case "held":
            guard parts.count == 2, let found = try reservation(parts[1]) else {
                throw StorageError.corruptRow(table: "idempotency_key", key: text, reason: "names no reservation")
            }
            return .held(found)
        case "insufficient": return .insufficient(available: Int(parts.last ?? "") ?? 0)
        case "over_limit": return .overLimit(maximum: Int(parts.last ?? "") ?? 0)
        default: return .notListed
        }
    }

    /// The scheme and host of a web shop product link, or nil when it is not an http(s) URL.
    static func origin(ofLink link: String) -> String? {
        guard let components = URLComponents(string: link), let scheme = components.scheme, let host = components.host else { return nil }
        return "\(scheme)://\(host)" + (components.port.map { ":\($0)" } ?? "")
    }
}

/// A pricing as the five columns both schemas store it in (price nil: none of its own).
struct PricingValues: Equatable {
    let currency: String?
    let price: Int64?
    let salePrice: Int64?
    let saleStart: Int64?
    let saleEnd: Int64?

    init(currency: String?, price: Int64?, salePrice: Int64?, saleStart: Int64?, saleEnd: Int64?) {
        self.currency = currency
        self.price = price
        self.salePrice = salePrice
        self.saleStart = saleStart
        self.saleEnd = saleEnd
    }

    init(_ pricing: Pricing?) {
        self.init(
            currency: pricing?.price.currency.code, price: pricing?.price.minorUnits, salePrice: pricing?.salePrice?.minorUnits,
            saleStart: pricing?.saleWindow.map { Int64($0.start.timeIntervalSince1970) },
            saleEnd: pricing?.saleWindow.map { Int64($0.end.timeIntervalSince1970) })
    }
}

/// A row of plain values found by name through a map that the rows of one result share: what the SQLite driver reads
/// through SQLite's C API (`fetchAll`) and the PostgreSQL driver unzips from arrays (`unzipped`). Conversions as GRDB's:
/// integers read as reals, reals holding a whole number as integers, text only as text.
struct ValueRow: StoredRow {
    enum Value: Sendable {
        case null
        case integer(Int64)
        case real(Double)
        case text(String)
    }

    let values: [Value]
    let positions: [String: Int]

    /// Each name's position; a repeated name reads its first column, as GRDB reads it.
    static func positions(of names: [String]) -> [String: Int] {
        var positions: [String: Int] = [:]
        for (index, name) in names.enumerated() where positions[name] == nil { positions[name] = index }
        return positions
    }

    func text(at index: Int) -> String? {
        guard index < values.count, case .text(let text) = values[index] else { return nil }
        return text
    }

    func integer(at index: Int) -> Int64? {
        guard index < values.count else { return nil }
        switch values[index] {
        case .integer(let value): return value
        case .real(let value): return Int64(exactly: value)
        default: return nil
        }
    }

    func text(_ column: String) -> String? { positions[column].flatMap(text(at:)) }
    func integer(_ column: String) -> Int64? { positions[column].flatMap(integer(at:)) }

    func real(_ column: String) -> Double? {
        guard let index = positions[column], index < values.count else { return nil }
        switch values[index] {
        case .real(let value): return value
        case .integer(let value): return Double(value)
        default: return nil
        }
    }
}

/// Opening hours parsed once per text: a store page decodes every store that lists its product (a chain's hundreds),
/// and a chain's stores share a few texts. Parsing took a twentieth of an uncached page's CPU with four stores.
final class ParsedOpeningHours: @unchecked Sendable {
    static let shared = ParsedOpeningHours()
    private let lock = NSLock()
    private var parsed: [String: OpeningHours] = [:]
    /// Texts come from the reference, not from requests; the bound only keeps a strange reference from growing it.
    private let capacity = 4_096

    func value(of text: String) throws(OpeningHoursError) -> OpeningHours {
        if let known = lock.withLock({ parsed[text] }) { return known }
        let hours = try OpeningHours(text)
        lock.withLock {
            if parsed.count >= capacity { parsed.removeAll(keepingCapacity: true) }
            parsed[text] = hours
        }
        return hours
    }
}
