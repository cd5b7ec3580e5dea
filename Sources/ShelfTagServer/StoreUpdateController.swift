import Foundation
import HTTPTypes
import Hummingbird
import ShelfTagDomain
import ShelfTagSecrets
import ShelfTagStorage

/// The authenticated JSON API a POS or ERP uses to set store prices and stock, live.
struct StoreUpdateController: Sendable {
    let reference: any ProductReference
    let configuration: ServerConfiguration

    func addRoutes(to router: Router<ShelfTagRequestContext>) {
        router.post("/api/stores/:store/prices") { request, context in
            try await update(request, store: try context.parameters.require("store"), scope: .prices, apply: applyPrice)
        }
        router.post("/api/stores/:store/stock") { request, context in
            try await update(request, store: try context.parameters.require("store"), scope: .stock, apply: applyStock)
        }
    }

    /// Checks the bearer token, reads a JSON object or array of objects, validates every item, then applies all of them in one transaction.
    private func update(
        _ request: Request, store: String, scope: TokenScope, apply: @escaping @Sendable (Item, CatalogWriter, Date) throws -> Bool
    ) async throws -> Response {
        try await Self.authorize(request, store: store, scope: scope, reference: reference)
        var request = request
        let body = try await request.collectBody(upTo: configuration.maxBodyBytes)
        let json: Any
        do { json = try JSONSerialization.jsonObject(with: Data(buffer: body)) } catch {
            throw ResolverError.badRequest("The body is not valid JSON.")
        }
        let objects: [[String: Any]]
        if let one = json as? [String: Any] {
            objects = [one]
        } else if let many = json as? [[String: Any]], !many.isEmpty {
            objects = many
        } else {
            throw ResolverError.badRequest("The body must be a JSON object or a non-empty array of objects.")
        }
        let items = objects.enumerated().map { index, object in
            Item(fields: object, store: store, location: objects.count == 1 ? "" : "[\(index)].")
        }
        let now = configuration.now()
        let changed = try await reference.write { writer -> Int in
            try items.reduce(0) { count, item in count + (try apply(item, writer, now) ? 1 : 0) }
        }
        return .json(["received": items.count, "changed": changed])
    }

    /// Checks `Authorization: Bearer`: 401 without a known token, 403 for another store or scope.
    /// Lets through a bearer token of `store` with `scope`, or (for reservations) the session of one of the store's
    /// associates, whom it returns.
    /// - Throws: `ResolverError` 401 or 403.
    @discardableResult
    static func authorize(_ request: Request, store: String, scope: TokenScope, reference: any ProductReference, at time: Date = Date()) async throws
        -> Associate?
    {
        if request.headers[.authorization] == nil, scope == .reservations, request.cookie(WorkController.sessionCookie) != nil {
            guard let session = try await WorkController.session(of: request, reference: reference, at: time) else {
                throw ResolverError(status: 401, title: "Unauthorized", detail: "The session has ended: sign in again.")
            }
            guard session.associate.storeCode == store else {
                throw ResolverError(status: 403, title: "Forbidden", detail: "You work in store \(session.associate.storeCode), not \(store).")
            }
            return session.associate
        }
        guard let header = request.headers[.authorization], header.lowercased().hasPrefix("bearer ") else {
            throw ResolverError(status: 401, title: "Unauthorized", detail: "Send Authorization: Bearer <token> (see shelftag token create).")
        }
        let token = header.dropFirst(7).trimmingCharacters(in: .whitespaces)
        guard let grant = try await reference.grant(forTokenHash: SecretHash.of(token), at: time) else {
            throw ResolverError(status: 401, title: "Unauthorized", detail: "The token is unknown, revoked or expired (see shelftag token list).")
        }
        guard grant.storeCode == store else {
            throw ResolverError(status: 403, title: "Forbidden", detail: "This token belongs to store \(grant.storeCode), not \(store).")
        }
        guard grant.scopes.contains(scope) else {
            throw ResolverError(status: 403, title: "Forbidden", detail: "This token has no '\(scope.rawValue)' scope.")
        }
        return nil
    }

    /// `{"gtin": "…", "price": "2.99 EUR", "salePrice": "1.99 EUR", "saleEffectiveDate": "start/end"}`: the local inventory feed's rules.
    private func applyPrice(_ item: Item, writer: CatalogWriter, now: Date) throws -> Bool {
        let gtin = try item.gtin()
        let price = try item.money("price")
        let salePrice = try item.optionalString("salePrice").map { _ in try item.money("salePrice") }
        let window = try item.optionalString("saleEffectiveDate").map { text in
            do { return try SaleWindow(feedValue: text) } catch { throw item.problem("saleEffectiveDate", "\(error)") }
        }
        let pricing: Pricing
        do { pricing = try Pricing(price: price, salePrice: salePrice, saleWindow: window) } catch { throw item.problem("salePrice", "\(error)") }
        let offer = try listedOffer(gtin, item: item, writer: writer)
        guard offer.pricing != pricing else { return false }
        try writer.save(
            StoreOffer(
                storeCode: offer.storeCode, gtin: gtin, pricing: pricing, availability: offer.availability, pickupMethod: offer.pickupMethod,
                pickupSLA: offer.pickupSLA, stock: offer.stock), recordedAt: now)
        return true
    }

    /// `{"gtin": "…", "onHand": 12}`.
    private func applyStock(_ item: Item, writer: CatalogWriter, now: Date) throws -> Bool {
        let gtin = try item.gtin()
        guard let whole = (item.fields["onHand"] as? NSNumber)?.wholeNumber, let onHand = Int(exactly: whole) else {
            throw item.problem("onHand", "must be a whole number")
        }
        guard onHand >= 0 else { throw item.problem("onHand", "cannot be negative") }
        guard onHand <= Stock.maximumOnHand else { throw item.problem("onHand", "cannot be more than \(Stock.maximumOnHand)") }
        let offer = try listedOffer(gtin, item: item, writer: writer)
        guard offer.stock.onHand != onHand else { return false }
        try writer.save(
            StoreOffer(
                storeCode: offer.storeCode, gtin: gtin, pricing: offer.pricing, availability: StoreAvailability(quantity: onHand),
                pickupMethod: offer.pickupMethod, pickupSLA: offer.pickupSLA, stock: Stock(onHand: onHand)), recordedAt: now)
        return true
    }

    private func listedOffer(_ gtin: GTIN, item: Item, writer: CatalogWriter) throws -> StoreOffer {
        guard let offer = try writer.offer(store: item.store, gtin: gtin) else {
            throw ResolverError.notFound("\(item.location)gtin: store \(item.store) does not list \(gtin.digits); nothing was changed.")
        }
        return offer
    }

    /// One object of the body, with the store from the path.
    struct Item {
        let fields: [String: Any]
        let store: String
        let location: String

        func problem(_ field: String, _ reason: String) -> ResolverError {
            .badRequest("\(location)\(field): \(reason); nothing was changed.")
        }

        func optionalString(_ field: String) throws -> String? {
            guard let value = fields[field], !(value is NSNull) else { return nil }
            guard let text = value as? String else { throw problem(field, "must be a string") }
            return text
        }

        func gtin() throws -> GTIN {
            guard let text = try optionalString("gtin") else { throw problem("gtin", "is missing") }
            do { return try GTIN(text) } catch { throw problem("gtin", "\(error)") }
        }

        func money(_ field: String) throws -> Money {
            guard let text = try optionalString(field) else { throw problem(field, "is missing") }
            do { return try Money(feedValue: text) } catch { throw problem(field, "\(error)") }
        }
    }
}
