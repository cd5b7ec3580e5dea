import Foundation
import Logging
import PostgresNIO
import ShelfTagDomain

/// Writes inside one PostgreSQL transaction, with the same rules as `SQLiteCatalogWriter` (upserts that skip rows
/// that would not change; the price history gets every pricing change, and back-fills without overwriting newer
/// prices). Each save is one statement: the upsert and the history entry are decided together on the server.
///
/// Its methods block the calling thread until PostgreSQL answers: `PostgresProductReference.write` runs them on
/// threads of their own. One round trip per row: bulk loads through COPY are still to come.
struct PostgresCatalogWriter: CatalogWriter {
    let connection: Session
    let logger: Logger

    private func rows(_ query: PostgresQuery) throws -> [PostgresStoredRow] {
        let connection = connection
        let logger = logger
        return try Blocking.wait { try await PostgresProductReference.rows(connection.query(query, logger: logger)) }
    }

    func storeCodes() throws -> Set<String> {
        Set(try rows("SELECT code FROM store").compactMap { $0.text("code") })
    }

    func save(_ store: Store) throws {
        _ = try rows(
            """
            INSERT INTO store (code, name, address, latitude, longitude, time_zone, locale, max_reservation)
            VALUES (\(store.code), \(store.name), \(store.address), \(store.latitude), \(store.longitude), \(store.timeZone), \(store.locale),
                \(Int64(store.maxReservation)))
            ON CONFLICT (code) DO UPDATE SET name = excluded.name, address = excluded.address, latitude = excluded.latitude,
                longitude = excluded.longitude, time_zone = excluded.time_zone, locale = excluded.locale, max_reservation = excluded.max_reservation
            WHERE (store.name, store.address, store.latitude, store.longitude, store.time_zone, store.locale, store.max_reservation) IS DISTINCT FROM
                (excluded.name, excluded.address, excluded.latitude, excluded.longitude, excluded.time_zone, excluded.locale, excluded.max_reservation)
            """)
    }

    /// The pricing columns' assignments of an upsert: they move only for a pricing not older than the stored one.
    private static func pricingUpsert(table: String, others: [String]) -> String {
        let pricing = ["currency", "price", "sale_price", "sale_start", "sale_end"]
        let newer = "excluded.price_since >= coalesce(\(table).price_since, 0)"
        let differs = "(\(pricing.map { "\(table).\($0)" }.joined(separator: ", "))) IS DISTINCT FROM (\(pricing.map { "excluded.\($0)" }.joined(separator: ", ")))"
        let assignments =
            others.map { "\($0) = excluded.\($0)" } + pricing.map { "\($0) = CASE WHEN \(newer) THEN excluded.\($0) ELSE \(table).\($0) END" }
            + ["price_since = CASE WHEN \(newer) AND \(differs) THEN excluded.price_since ELSE \(table).price_since END"]
        let othersDiffer = "(\(others.map { "\(table).\($0)" }.joined(separator: ", "))) IS DISTINCT FROM (\(others.map { "excluded.\($0)" }.joined(separator: ", ")))"
        return "SET \(assignments.joined(separator: ", ")) WHERE \(othersDiffer) OR (\(newer) AND \(differs))"
    }

    /// The history entry of an incoming pricing (`i`) against the stored row (`old`, maybe none): a change, or a
    /// back-fill that is not recorded yet.
    private static let historyCondition = """
        (NOT EXISTS (SELECT 1 FROM old)
         OR EXISTS (SELECT 1 FROM old o WHERE i.price_since >= coalesce(o.price_since, 0)
            AND (o.currency, o.price, o.sale_price, o.sale_start, o.sale_end) IS DISTINCT FROM (i.currency, i.price, i.sale_price, i.sale_start, i.sale_end))
         OR EXISTS (SELECT 1 FROM old o WHERE i.price_since < coalesce(o.price_since, 0) AND NOT EXISTS (
            SELECT 1 FROM price_history h WHERE h.gtin = i.gtin AND h.store_code IS NOT DISTINCT FROM i.history_store
                AND (h.currency, h.price, h.sale_price, h.sale_start, h.sale_end, h.recorded_at)
                    IS NOT DISTINCT FROM (i.currency, i.price, i.sale_price, i.sale_start, i.sale_end, i.price_since))))
        """

    private static let productUpsert = pricingUpsert(
        table: "product",
        others: ["item_id", "title", "description", "brand", "image_link", "product_type", "unit_measure", "unit_base", "link", "availability"])
    private static let offerUpsert = pricingUpsert(table: "store_offer", others: ["availability", "pickup_method", "pickup_sla", "on_hand"])

    func save(_ product: Product, webOffer: WebOffer, recordedAt: Date) throws {
        let pricing = PricingValues(webOffer.pricing)
        let time = Int64(recordedAt.timeIntervalSince1970)
        let found = try rows(
            """
            WITH i AS (SELECT \(product.gtin.digits)::text AS gtin, \(product.itemID)::text AS item_id, \(product.title)::text AS title,
                    \(product.description)::text AS description, \(product.brand)::text AS brand, \(product.imageLink)::text AS image_link,
                    \(product.productType)::text AS product_type, \(product.unitPricing?.measure.feedValue)::text AS unit_measure,
                    \(product.unitPricing?.base.feedValue)::text AS unit_base, \(webOffer.link)::text AS link,
                    \(webOffer.availability.rawValue)::text AS availability, \(pricing.currency)::text AS currency, \(pricing.price)::bigint AS price,
                    \(pricing.salePrice)::bigint AS sale_price, \(pricing.saleStart)::bigint AS sale_start, \(pricing.saleEnd)::bigint AS sale_end,
                    \(time)::bigint AS price_since, NULL::text AS history_store),
                owner AS (SELECT p.gtin FROM product p, i WHERE p.item_id = i.item_id AND p.gtin <> i.gtin),
                old AS (SELECT p.* FROM product p, i WHERE p.gtin = i.gtin),
                saved AS (
                    INSERT INTO product (gtin, item_id, title, description, brand, image_link, product_type, unit_measure, unit_base, link, availability,
                        currency, price, sale_price, sale_start, sale_end, price_since)
                    SELECT gtin, item_id, title, description, brand, image_link, product_type, unit_measure, unit_base, link, availability,
                        currency, price, sale_price, sale_start, sale_end, price_since FROM i WHERE NOT EXISTS (SELECT 1 FROM owner)
                    ON CONFLICT (gtin) DO UPDATE \(unescaped: Self.productUpsert)),
                recorded AS (
                    INSERT INTO price_history (gtin, store_code, currency, price, sale_price, sale_start, sale_end, recorded_at)
                    SELECT i.gtin, NULL, i.currency, i.price, i.sale_price, i.sale_start, i.sale_end, i.price_since FROM i
                    WHERE NOT EXISTS (SELECT 1 FROM owner) AND \(unescaped: Self.historyCondition))
            SELECT (SELECT gtin FROM owner LIMIT 1) AS conflict
            """)
        if let owner = found.first?.text("conflict") { throw ItemIDConflict(itemID: product.itemID, existingGTIN: owner) }
    }

    func gtin(forItemID itemID: String) throws -> GTIN? {
        guard let text = try rows("SELECT gtin FROM product WHERE item_id = \(itemID)").first?.text("gtin") else { return nil }
        return try StoredRows.gtin(text)
    }

    func exists(_ gtin: GTIN) throws -> Bool {
        !(try rows("SELECT 1 AS found FROM product WHERE gtin = \(gtin.digits)").isEmpty)
    }

    func save(_ offer: StoreOffer, recordedAt: Date) throws {
        let pricing = PricingValues(offer.pricing)
        let time = Int64(recordedAt.timeIntervalSince1970)
        _ = try rows(
            """
            WITH i AS (SELECT \(offer.storeCode)::text AS store_code, \(offer.gtin.digits)::text AS gtin, \(pricing.currency)::text AS currency,
                    \(pricing.price)::bigint AS price, \(pricing.salePrice)::bigint AS sale_price, \(pricing.saleStart)::bigint AS sale_start,
                    \(pricing.saleEnd)::bigint AS sale_end, \(time)::bigint AS price_since, \(offer.availability.rawValue)::text AS availability,
                    \(offer.pickupMethod?.rawValue)::text AS pickup_method, \(offer.pickupSLA?.rawValue)::text AS pickup_sla,
                    \(Int64(offer.stock.onHand))::bigint AS on_hand, \(offer.storeCode)::text AS history_store),
                old AS (SELECT o.* FROM store_offer o, i WHERE o.store_code = i.store_code AND o.gtin = i.gtin),
                saved AS (
                    INSERT INTO store_offer (store_code, gtin, currency, price, sale_price, sale_start, sale_end, price_since, availability,
                        pickup_method, pickup_sla, on_hand)
                    SELECT store_code, gtin, currency, price, sale_price, sale_start, sale_end, price_since, availability, pickup_method, pickup_sla,
                        on_hand FROM i
                    ON CONFLICT (store_code, gtin) DO UPDATE \(unescaped: Self.offerUpsert)),
                recorded AS (
                    INSERT INTO price_history (gtin, store_code, currency, price, sale_price, sale_start, sale_end, recorded_at)
                    SELECT i.gtin, i.store_code, i.currency, i.price, i.sale_price, i.sale_start, i.sale_end, i.price_since FROM i
                    WHERE i.price IS NOT NULL AND \(unescaped: Self.historyCondition))
            SELECT 1 AS done
            """)
    }

    func offer(store storeCode: String, gtin: GTIN) throws -> StoreOffer? {
        try rows("SELECT * FROM store_offer WHERE store_code = \(storeCode) AND gtin = \(gtin.digits)").first.map {
            try StoredRows.storeOffer($0, gtin: gtin)
        }
    }

    func save(_ review: Review) throws {
        _ = try rows(
            """
            INSERT INTO review (id, gtin, rating, author, is_anonymous, published_at, title, content)
            VALUES (\(review.id), \(review.gtin.digits), \(review.rating), \(review.author), \(Int64(review.isAnonymous ? 1 : 0)),
                \(Int64(review.publishedAt.timeIntervalSince1970)), \(review.title), \(review.content))
            ON CONFLICT (id) DO UPDATE SET gtin = excluded.gtin, rating = excluded.rating, author = excluded.author,
                is_anonymous = excluded.is_anonymous, published_at = excluded.published_at, title = excluded.title, content = excluded.content
            WHERE (review.gtin, review.rating, review.author, review.is_anonymous, review.published_at, review.title, review.content)
                IS DISTINCT FROM (excluded.gtin, excluded.rating, excluded.author, excluded.is_anonymous, excluded.published_at, excluded.title,
                    excluded.content)
            """)
    }

    func deleteReviews(notIn ids: Set<String>) throws -> Int {
        let deleted = try rows(
            "WITH gone AS (DELETE FROM review WHERE NOT (id = ANY(\(Array(ids))::text[])) RETURNING 1) SELECT count(*) AS deleted FROM gone")
        return Int(deleted.first?.integer("deleted") ?? 0)
    }
}

/// A pricing as its five columns (price nil: none of its own).
struct PricingValues {
    let currency: String?
    let price: Int64?
    let salePrice: Int64?
    let saleStart: Int64?
    let saleEnd: Int64?

    init(_ pricing: Pricing?) {
        currency = pricing?.price.currency.code
        price = pricing?.price.minorUnits
        salePrice = pricing?.salePrice?.minorUnits
        saleStart = pricing?.saleWindow.map { Int64($0.start.timeIntervalSince1970) }
        saleEnd = pricing?.saleWindow.map { Int64($0.end.timeIntervalSince1970) }
    }
}
