import Foundation
import HTTPTypes
import Hummingbird
import ShelfTagDomain
import ShelfTagRender
import ShelfTagSecrets
import ShelfTagStorage

/// Reserve here: the form, the hold (atomic, idempotent, rate-limited), the confirmation with its pickup QR code,
/// and the staff API to list, collect and cancel.
struct ReservationController: Sendable {
    let reference: any ProductReference
    let configuration: ServerConfiguration
    let pages: Pages
    let limiter: RateLimiter
    /// Counts lookups of codes that do not exist, per client.
    let lookups: RateLimiter
    let advisors: Advisors

    func addRoutes(to router: Router<ShelfTagRequestContext>) {
        router.get("/products/:gtin/reserve") { request, context in try await form(request, gtin: try context.parameters.require("gtin")) }
        router.post("/products/:gtin/reserve") { request, context in try await reserve(request, context: context, gtin: try context.parameters.require("gtin"))
        }
        router.get("/reservations/:code") { request, context in
            try await confirmation(request, reservation: try await lookUp(try context.parameters.require("code"), request: request, context: context))
        }
        router.post("/reservations/:code/cancel") { request, context in
            try await shopperCancel(request, reservation: try await lookUp(try context.parameters.require("code"), request: request, context: context))
        }
        router.get("/reservations/:code/qr.png") { request, context in
            try qrImage(reservation: try await lookUp(try context.parameters.require("code"), request: request, context: context))
        }
        router.get("/api/stores/:store/reservations") { request, context in
            let store = try context.parameters.require("store")
            try await StoreUpdateController.authorize(request, store: store, scope: .reservations, reference: reference, at: configuration.now())
            let now = configuration.now()
            var closedSince: Date?
            if let text = RawQuery(request)["closed_since"] {
                guard let time = try? Timestamp.parse(text).date else {
                    throw ResolverError(
                        status: 422, title: "Unprocessable content",
                        detail: "closed_since: '\(text)' is not an ISO 8601 date or time (2026-11-20, 2026-11-20T06:00Z).")
                }
                closedSince = time
            }
            let reservations = try await reference.reservations(store: store, closedSince: closedSince)
            return Response.json(object: ["reservations": reservations.map { document($0, at: now, forStaff: true) }])
        }
        // A reservation made for a shopper: a store token, or any associate's session (credited, in any store).
        router.post("/api/stores/:store/reservations") { request, context in
            let store = try context.parameters.require("store")
            var credited: Associate?
            if request.headers[.authorization] == nil, request.cookie(WorkController.sessionCookie) != nil {
                guard let session = try await WorkController.session(of: request, reference: reference, at: configuration.now()) else {
                    throw ResolverError(status: 401, title: "Unauthorized", detail: "The session has ended: sign in again.")
                }
                credited = session.associate
            } else {
                try await StoreUpdateController.authorize(request, store: store, scope: .reservations, reference: reference, at: configuration.now())
            }
            var request = request
            let fields = try Self.jsonFields(Data(buffer: try await request.collectBody(upTo: configuration.maxBodyBytes)))
            var hold: HoldRequest
            do {
                hold = try HoldRequest(
                    storeCode: store, gtin: try ResolverError.gtin(fields["gtin"] ?? ""), quantity: fields["quantity"], customerName: fields["name"],
                    contact: fields["contact"])
            } catch let error as HoldRequestError {
                throw ResolverError(status: 400, title: "Bad request", detail: "\(error.description)", field: error.field)
            }
            hold.associateCode = credited?.code
            let outcome = try await Self.hold(hold, key: request.headers[.idempotencyKey], reference: reference, configuration: configuration)
            return try await respond(outcome, request: hold, json: true, language: nil)
        }
        router.get("/api/stores/:store/help-requests") { request, context in
            let store = try context.parameters.require("store")
            try await StoreUpdateController.authorize(request, store: store, scope: .reservations, reference: reference, at: configuration.now())
            let now = configuration.now()
            return Response.json(object: ["helpRequests": try await reference.openHelpRequests(store: store, at: now).map { Self.document($0, at: now) }])
        }
        for action in ["take", "close"] {
            router.post("/api/stores/:store/help-requests/:id/\(action)") { request, context in
                let store = try context.parameters.require("store")
                let associate = try await StoreUpdateController.authorize(
                    request, store: store, scope: .reservations, reference: reference, at: configuration.now())
                guard action == "close" || associate != nil else {
                    throw ResolverError(status: 403, title: "Forbidden", detail: "An associate takes a request: sign in to the work view.")
                }
                let id = try context.parameters.require("id")
                guard let help = try await reference.helpRequest(id: id), help.storeCode == store else {
                    throw ResolverError.notFound("No help request \(id) in this store.")
                }
                guard
                    let changed = try await reference.changeHelpRequest(
                        id: id, store: store, taking: action == "take" ? associate?.code : nil, at: configuration.now())
                else {
                    throw ResolverError(status: 409, title: "Conflict", detail: "The request is \(help.state(at: configuration.now())); nothing changed.")
                }
                return Response.json(object: Self.document(changed, at: configuration.now()))
            }
        }
        for action in ReservationAction.allCases {
            router.post("/api/stores/:store/reservations/:code/\(action.rawValue)") { request, context in
                let store = try context.parameters.require("store")
                let associate = try await StoreUpdateController.authorize(
                    request, store: store, scope: .reservations, reference: reference, at: configuration.now())
                let code = try context.parameters.require("code")
                let now = configuration.now()
                let change = try await reference.change(reservation: code, store: store, action, by: associate?.code, at: now)
                guard case .done(let reservation) = change else { throw ResolverError(change) }
                return Response.json(object: ["code": reservation.code, "state": reservation.state(at: now)])
            }
        }
    }

    // MARK: Shopper

    private func listing(_ gtinText: String, store: String?) async throws -> (ProductDetails, StoreListing, available: Int, holds: [String: Int]) {
        let gtin = try ResolverError.gtin(gtinText)
        // The store's listing, those near it (where else to reserve) and the holds, in one read.
        guard
            let page = try await reference.page(
                of: gtin, store: store, tagID: nil, reviewLimit: 0, storesWithin: configuration.nearbyRadiusKilometres, at: configuration.now())
        else { throw ResolverError.notFound("No product with GTIN \(gtin.digits) is known here.") }
        guard let store, let listing = page.details.stores.first(where: { $0.store.code == store }) else {
            throw ResolverError.notFound("Store \(store ?? "(none)") does not sell this product; reservations are made in a store that does.")
        }
        return (page.details, listing, max(0, listing.offer.stock.onHand - (page.holds[listing.store.code] ?? 0)), page.holds)
    }

    /// Where else the shopper can reserve when nothing is left here: the stores within the nearby radius that have
    /// it, nearest first, each with its reservation form.
    private func elsewhere(_ details: ProductDetails, from listing: StoreListing, holds: [String: Int], locale: String) -> [[String: String]] {
        details.nearbyStock(from: listing, holds: holds, within: configuration.nearbyRadiusKilometres).prefix(configuration.nearbyLimit).map { other in
            let href = "\(configuration.baseURL)/products/\(details.product.gtin.digits)/reserve?s=\(DigitalLink.percentEncoded(other.store.code))"
            let distance = MeasureText.kilometres((other.distanceKilometres * 10).rounded() / 10, locale: locale)
            return ["name": other.store.name, "distance": distance, "href": href]
        }
    }

    func form(_ request: Request, gtin: String) async throws -> Response {
        try await renderForm(request, gtin: gtin, store: RawQuery(request)["s"])
    }

    /// The form, empty, or again after a mistake: what the shopper typed kept, the field at fault marked and said in
    /// the page's language (status 400).
    private func renderForm(
        _ request: Request, gtin: String, store: String?, values: [String: String] = [:], fault: String? = nil
    ) async throws -> Response {
        let (details, listing, available, holds) = try await listing(gtin, store: store)
        let locale = PageLanguage.locale(preferred: pages.wording.preferred(by: request), storeLocale: listing.store.locale)
        let language = pages.wording(locale)
        let words = language.reservation
        let (pricing, _) = details.shelfPricing(at: listing)
        let maximum = min(listing.store.maxReservation, available)
        let chosen = values["quantity"].flatMap(Int.init) ?? 1
        var context: [String: Any] = [
            "lang": language.language, "title": words.title, "product": details.product.title,
            "price": pricing.effectivePrice(at: configuration.now()).formatted(locale: locale), "store": listing.store.name,
            "storeCode": listing.store.code, "availableText": available > 0 ? words.available(["count": "\(available)"]) : words.none,
            "canReserve": maximum > 0,
            "action": "\(configuration.baseURL)/products/\(details.product.gtin.digits)/reserve"
                + (RawQuery(request)["a"].flatMap(Associate.normalizedCode).map { "?a=" + $0 } ?? ""),
            "token": values["token"] ?? AccessToken.generate(),
            "quantities": (1...max(1, maximum)).map { ["value": $0, "selected": $0 == chosen] as [String: Any] },
            "quantityLabel": words.quantity, "nameLabel": words.name, "contactLabel": words.contact,
            "phoneLabel": words.phone, "emailLabel": words.email, "eitherContact": words.eitherContact, "phoneExample": words.phoneExample,
            "emailExample": words.emailExample, "privacy": words.privacy, "backLabel": words.back,
            "back": "\(configuration.baseURL)/products/\(details.product.gtin.digits)?s=\(DigitalLink.percentEncoded(listing.store.code))",
            "submit": words.submit, "holdNote": words.holdNote(["hours": "\(Int(configuration.holdDuration / 3600))"]),
        ]
        for field in ["name", "phone", "email"] { if let value = values[field], !value.isEmpty { context[field + "Value"] = value } }
        if let fault {
            context["error"] = words.fault(fault)
            context[fault == "contact" ? "contactFault" : fault + "Fault"] = true
        }
        // Nothing left here: not a dead end, the stores near that have it.
        if maximum == 0 {
            let others = elsewhere(details, from: listing, holds: holds, locale: locale)
            if !others.isEmpty {
                context["elsewhere"] = others
                context["elsewhereTitle"] = words.elsewhere
            }
        }
        var headers = HTTPFields()
        headers[.vary] = "Accept-Language"
        return .text(
            pages.render("reserve", context), status: fault == nil ? .ok : .badRequest, contentType: "text/html; charset=utf-8", headers: headers)
    }

    /// How the shopper is reached: `contact` (the JSON API), else the form's phone, else its e-mail.
    static func contact(_ fields: [String: String]) -> String? {
        [fields["contact"], fields["phone"], fields["email"]].compactMap { $0?.trimmingCharacters(in: .whitespaces) }.first { !$0.isEmpty }
    }

    func reserve(_ request: Request, context: ShelfTagRequestContext, gtin gtinText: String) async throws -> Response {
        if let wait = limiter.take(for: request, context: context) {
            throw ResolverError.tooManyRequests("Too many reservations from this client; try again in \(wait) s.", wait: wait)
        }
        var request = request
        let body = try await request.collectBody(upTo: configuration.maxBodyBytes)
        let isJSON = request.headers[.contentType]?.hasPrefix("application/json") ?? false
        let fields = try isJSON ? Self.jsonFields(Data(buffer: body)) : Self.formFields(String(buffer: body))
        let gtin = try ResolverError.gtin(gtinText)
        var hold: HoldRequest
        do {
            hold = try HoldRequest(
                storeCode: fields["store"] ?? fields["s"] ?? RawQuery(request)["s"], gtin: gtin, quantity: fields["quantity"],
                customerName: fields["name"], contact: Self.contact(fields))
        } catch {
            if !isJSON, ResponseFormat.preferred(by: request, offered: [.html, .json]) == .html {
                return try await renderForm(
                    request, gtin: gtinText, store: fields["s"] ?? fields["store"], values: fields, fault: error.field)
            }
            throw ResolverError(status: 400, title: "Bad request", detail: "\(error.description)", field: error.field)
        }
        // Credited from the link or the remembered code, checked here; never from a field of the form.
        hold.associateCode = try await advisors.credited(for: request, store: hold.storeCode)?.code
        let key = request.headers[.idempotencyKey] ?? fields["token"]
        let wantsJSON = isJSON || ResponseFormat.preferred(by: request, offered: [.html, .json]) == .json
        let outcome: HoldOutcome
        do { outcome = try await Self.hold(hold, key: key, reference: reference, configuration: configuration) } catch let error as ResolverError {
            // A field refused once the store is known (a phone number of its country): the form again, for a person.
            guard !wantsJSON, error.status == 400, let field = error.field else { throw error }
            return try await renderForm(request, gtin: gtinText, store: hold.storeCode, values: fields, fault: field)
        }
        return try await respond(
            outcome, request: hold, json: wantsJSON, language: pages.wording.preferred(by: request))
    }

    /// Holds stock once per idempotency key: a retry with the same key gets the first answer, another request with it
    /// a 422, one while the first runs a 409. Every way of reserving (shopper page, work view, API) goes through here.
    static func hold(_ hold: HoldRequest, key: String?, reference: any ProductReference, configuration: ServerConfiguration) async throws -> HoldOutcome {
        let now = configuration.now()
        var end = now.addingTimeInterval(configuration.holdDuration)
        // A phone number is checked against the store's country once the store is known; the hold ends while it is open.
        if let store = try await reference.store(code: hold.storeCode) {
            do { try hold.checkPhone(storeLocale: store.locale) } catch {
                throw ResolverError(status: 400, title: "Bad request", detail: error.description, field: error.field)
            }
            if let hours = store.openingHours { end = hours.pickupDeadline(holding: end, timeZone: store.timeZone) }
        }
        guard let key else { return try await reference.hold(hold, at: now, until: end, key: nil) }
        guard !key.isEmpty, key.count <= 255 else { throw ResolverError.badRequest("Idempotency-Key must be 1 to 255 characters.") }
        switch try await reference.claim(key: key, fingerprint: SecretHash.of(hold.requestText), at: now, abandonedAfter: 60) {
        case .mismatch:
            throw ResolverError(status: 422, title: "Unprocessable content", detail: "This Idempotency-Key was used with a different request.")
        case .inProgress:
            throw ResolverError(status: 409, title: "Conflict", detail: "A request with this Idempotency-Key is still being processed; retry shortly.")
        case .completed(let first):
            return first
        case .started:
            do { return try await reference.hold(hold, at: now, until: end, key: key) } catch {
                try? await reference.release(key: key)
                throw error
            }
        }
    }

    private func respond(_ outcome: HoldOutcome, request: HoldRequest, json: Bool, language: String?) async throws -> Response {
        switch outcome {
        case .held(let reservation):
            var headers = HTTPFields()
            headers[.location] = "\(configuration.baseURL)/reservations/\(reservation.code)"
            if json { return .json(object: document(reservation, at: configuration.now()), status: .created, headers: headers) }
            return .text(
                try await confirmationPage(reservation, language: language), status: .created, contentType: "text/html; charset=utf-8", headers: headers)
        case .insufficient(let available):
            throw ResolverError(
                status: 409, title: "Not enough stock",
                detail: available == 0
                    ? "None left to reserve in store \(request.storeCode)." : "Only \(available) left to reserve in store \(request.storeCode).")
        case .overLimit(let maximum):
            // The store's own limit, which its stores file sets and may change: its state, like the stock (409).
            throw ResolverError(
                status: 409, title: "Over the store's limit", detail: "quantity: at most \(maximum) per reservation in this store", field: "quantity")
        case .notListed:
            throw ResolverError.notFound("Store \(request.storeCode) does not sell this product.")
        }
    }

    /// The reservation with this pickup code. A client that asked for too many codes that do not exist waits (429),
    /// whatever it asks next: codes cannot be guessed at full speed.
    private func lookUp(_ code: String, request: Request, context: ShelfTagRequestContext) async throws -> Reservation {
        if let wait = lookups.waiting(for: request, context: context) { throw Self.tooManyLookups(wait) }
        guard let reservation = try await reference.reservation(code: code) else {
            if let wait = lookups.take(for: request, context: context) { throw Self.tooManyLookups(wait) }
            throw ResolverError.notFound("No reservation \(code).")
        }
        return reservation
    }

    private static func tooManyLookups(_ wait: Int) -> ResolverError {
        .tooManyRequests("Too many unknown pickup codes from this client; try again in \(wait) s.", wait: wait)
    }

    func confirmation(_ request: Request, reservation: Reservation) async throws -> Response {
        // The pickup QR code scanned by a signed-in tablet of the store opens the reservation in the queue.
        if RawQuery(request)["shopper"] == nil,
            let session = try await WorkController.session(of: request, reference: reference, at: configuration.now())
        {
            guard session.associate.storeCode == reservation.storeCode else {
                throw ResolverError(status: 403, title: "Forbidden", detail: "This reservation belongs to another store's queue.")
            }
            var headers = HTTPFields()
            headers[.location] = "\(configuration.baseURL)/work/queue?code=\(reservation.code)#\(reservation.code)"
            return Response(status: .seeOther, headers: headers)
        }
        if ResponseFormat.preferred(by: request, offered: [.html, .json]) == .json {
            return .json(object: document(reservation, at: configuration.now()))
        }
        var headers = HTTPFields()
        headers[.vary] = "Accept, Accept-Language"
        return .text(
            try await confirmationPage(reservation, language: pages.wording.preferred(by: request)),
            contentType: "text/html; charset=utf-8", headers: headers)
    }

    /// The shopper's own cancel, by pickup code: idempotent (a cancelled hold stays cancelled), and the page then
    /// shows what the reservation is, whatever it was (a collected or lapsed one is not changed).
    func shopperCancel(_ request: Request, reservation: Reservation) async throws -> Response {
        let now = configuration.now()
        let change = try await reference.change(reservation: reservation.code, store: reservation.storeCode, .cancel, by: nil, at: now)
        let current: Reservation
        switch change {
        case .done(let cancelled): current = cancelled
        case .notHeld, .notReady, .notEnoughOnHand, .notFound: current = try await reference.reservation(code: reservation.code) ?? reservation
        }
        if ResponseFormat.preferred(by: request, offered: [.html, .json]) == .json {
            let state = current.state(at: now)
            guard state == "cancelled" else {
                throw ResolverError(status: 409, title: "Conflict", detail: "The reservation is \(state); nothing changed.")
            }
            return .json(object: document(current, at: now))
        }
        // Back to the reservation's page, which says what it now is (and never redirects a shopper to the queue).
        var headers = HTTPFields()
        headers[.location] = "\(pickupURL(reservation.code))?shopper=1"
        return Response(status: .seeOther, headers: headers)
    }

    private func confirmationPage(_ reservation: Reservation, language: String?) async throws -> String {
        let page = try await reference.page(
            of: reservation.gtin, store: reservation.storeCode, tagID: nil, reviewLimit: 0, storesWithin: 0, at: configuration.now())
        let store = page?.details.stores.first { $0.store.code == reservation.storeCode }?.store
        let locale = PageLanguage.locale(preferred: language, storeLocale: store?.locale ?? "en-US")
        let language = pages.wording(locale)
        let words = language.reservation
        var advisor: Associate?
        if let code = reservation.associateCode { advisor = try await reference.associate(code: code) }
        let state = reservation.state(at: configuration.now())
        var context: [String: Any] = [
            "lang": language.language, "title": words.title(state), "code": reservation.code, "quantity": reservation.quantity,
            "product": page?.details.product.title ?? reservation.gtin.digits, "totalLabel": words.total, "total": reservation.total.formatted(locale: locale),
            "store": store?.name ?? reservation.storeCode, "address": store?.address ?? "",
        ]
        // Absent, not nil: Mustache writes an Optional's "nil".
        if let advisor { context["advisor"] = words.advisor(["name": advisor.name]) }
        // A pickup code and its hold time only while the hold exists: never a code to show for nothing.
        if let store { context["map"] = ["href": store.mapURL, "label": language.page.map] }
        if state == "held" || state == "ready" {
            // Whether the store is open now, for the shopper on their way (a page made for each request: never cached).
            if let store, let note = OpeningNotes.shared.note(for: store, locale: locale, words: language.page, at: configuration.now()) {
                context["opening"] = note.text
            }
            let png = try Self.qrPNG(payload: pickupURL(reservation.code))
            context["pickup"] = [
                "qr": "data:image/png;base64," + png.data.base64EncodedString(), "qrSize": png.size, "untilLabel": words.until,
                "expires": DayText.format(reservation.expiresAt, locale: locale, timeZone: store?.timeZone ?? "UTC", style: .moment),
                "cancelAction": "\(pickupURL(reservation.code))/cancel", "cancelLabel": words.cancel, "cancelNote": words.cancelNote,
            ]
        } else {
            context["closed"] = words.closedNote(state)
        }
        return pages.render("reservation", context)
    }

    func qrImage(reservation: Reservation) throws -> Response {
        let png = try Self.qrPNG(payload: pickupURL(reservation.code))
        return Response(status: .ok, headers: [.contentType: "image/png"], body: .init(byteBuffer: ByteBuffer(bytes: png.data)))
    }

    private func pickupURL(_ code: String) -> String { "\(configuration.baseURL)/reservations/\(code)" }

    /// The pickup QR code, 4 pixels a module, as PNG (drawn by the same code as the tags).
    static func qrPNG(payload: String) throws -> (data: Data, size: Int) {
        let image = try QRImage.png(payload, modulePixels: 4)
        return (image.data, image.side)
    }

    // MARK: Documents

    /// A reservation as JSON; `forStaff` adds who prepared and closed it, and when and by whom the shopper was told.
    func document(_ reservation: Reservation, at time: Date, forStaff: Bool = false) -> [String: Any] {
        var document: [String: Any] = [
            "code": reservation.code, "state": reservation.state(at: time), "store": reservation.storeCode, "gtin": reservation.gtin.digits,
            "quantity": reservation.quantity, "unitPrice": ["amount": reservation.unitPrice.decimalString, "currency": reservation.unitPrice.currency.code],
            "total": ["amount": reservation.total.decimalString, "currency": reservation.total.currency.code],
            "createdAt": Timestamp.format(reservation.createdAt), "expiresAt": Timestamp.format(reservation.expiresAt),
            "qrCode": pickupURL(reservation.code) + "/qr.png", "pickupURL": pickupURL(reservation.code),
        ]
        if let associate = reservation.associateCode { document["associate"] = associate }
        if forStaff {
            if let preparer = reservation.preparedBy { document["preparedBy"] = preparer }
            if let told = reservation.toldAt { document["toldAt"] = Timestamp.format(told) }
            if let teller = reservation.toldBy { document["toldBy"] = teller }
            if let closer = reservation.closedBy { document["closedBy"] = closer }
        }
        return document
    }

    static func document(_ help: HelpRequest, at time: Date) -> [String: Any] {
        var document: [String: Any] = [
            "id": help.id, "store": help.storeCode, "gtin": help.gtin.digits, "state": help.state(at: time), "createdAt": Timestamp.format(help.createdAt),
        ]
        if let tag = help.tagID { document["tag"] = tag }
        if let taker = help.takenBy { document["takenBy"] = taker }
        return document
    }

    // MARK: Bodies

    /// `application/x-www-form-urlencoded`: `+` is a space, then percent-decoding.
    static func formFields(_ body: String) -> [String: String] {
        var fields: [String: String] = [:]
        for pair in body.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            func decode(_ text: Substring) -> String { text.replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? String(text) }
            fields[decode(parts[0])] = parts.count > 1 ? decode(parts[1]) : ""
        }
        return fields
    }

    static func jsonFields(_ data: Data) throws -> [String: String] {
        guard let object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
            throw ResolverError.badRequest("The body must be a JSON object: {\"store\", \"quantity\", \"name\", \"contact\"}.")
        }
        return object.compactMapValues { value in
            if let text = value as? String { return text }
            guard let number = value as? NSNumber, !number.isBoolean else { return nil }
            // 2.0 is the integer 2 (as JSON Schema says); 2.5 stays a fraction, to be refused.
            return number.wholeNumber.map(String.init) ?? number.stringValue
        }
    }
}
