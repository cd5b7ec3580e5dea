import Foundation
import HTTPTypes
import Hummingbird
import ShelfTagDomain
import ShelfTagRender
import ShelfTagSecrets
import ShelfTagStorage

/// The associates' work view on a store tablet: sign-in, and the staff view of a product (from a scanned tag or a
/// GTIN). Server-rendered, no JavaScript. A session is a random cookie (`HttpOnly`, `SameSite=Strict`, `Secure`
/// under https) of which the reference keeps the hash; every form carries an anti-forgery token.
struct WorkController: Sendable {
    static let sessionCookie = "shelftag_session"
    /// How long the queue still shows a closed reservation: a week, for a shopper back about last weekend's. Older ones
    /// are not read at all (`reservations list` and the API give every one).
    static let closedShownFor: TimeInterval = 7 * 24 * 3600

    /// `5` → `05`, minutes after hours.
    static func twoDigits(_ value: Int) -> String { value < 10 ? "0\(value)" : "\(value)" }
    /// The sign-in form's double-submit token, before there is a session to hold one.
    static let signInCookie = "shelftag_signin"
    static let sessionHours = 12

    let reference: any ProductReference
    let configuration: ServerConfiguration
    let pages: Pages
    /// Failed sign-ins one client may make per minute.
    let failures: RateLimiter

    func addRoutes(to router: Router<ShelfTagRequestContext>) {
        router.get("/work/sign-in") { request, _ in signInForm(request, problem: nil) }
        router.post("/work/sign-in") { request, context in try await signIn(request, context: context) }
        router.post("/work/sign-out") { request, _ in try await signOut(request) }
        router.get("/work") { request, _ in try await home(request) }
        router.get("/work/products/:gtin") { request, context in try await product(request, gtin: try context.parameters.require("gtin")) }
        router.post("/work/products/:gtin/reserve") { request, context in
            try await reserveForShopper(request, gtin: try context.parameters.require("gtin"))
        }
        router.get("/work/queue") { request, _ in try await queue(request) }
        for action in ["take", "close"] {
            router.post("/work/help/:id/\(action)") { request, context in
                try await help(action, request: request, id: try context.parameters.require("id"))
            }
        }
        for action in ReservationAction.allCases {
            router.post("/work/queue/:code/\(action.rawValue)") { request, context in
                try await act(action, request: request, code: try context.parameters.require("code"))
            }
        }
    }

    // MARK: Preparation queue

    /// The store's reservations by state, oldest first: to prepare, ready, then closed ones; `mine=1` keeps the
    /// associate's own shoppers. Only the associate's store: another store's reservations are never listed.
    func queue(_ request: Request) async throws -> Response {
        let session = try await requireSignIn(request)
        let store = session.associate.storeCode
        let now = configuration.now()
        let query = RawQuery(request)
        let mine = query["mine"] == "1"
        let highlighted = query["code"]
        let language = pages.wording.preferred(by: request)
        let storeRecord = try await reference.store(code: store)
        let locale = PageLanguage.locale(preferred: language, storeLocale: storeRecord?.locale ?? "en-US")
        let timeZone = storeRecord?.timeZone ?? "UTC"
        let words = pages.wording(locale).work
        let names = Dictionary(uniqueKeysWithValues: try await reference.associates(store: store).map { ($0.code, $0.name) })
        let order = ["held": 0, "ready": 1, "collected": 2, "cancelled": 3, "expired": 4]
        let reservations = try await reference.reservations(store: store, closedSince: now.addingTimeInterval(-Self.closedShownFor))
            .filter { !mine || $0.associateCode == session.associate.code }
            .sorted { (order[$0.state(at: now)] ?? 9, $0.createdAt) < (order[$1.state(at: now)] ?? 9, $1.createdAt) }
        // My shoppers also are those whose call for help I took.
        let myHelp = mine ? try await reference.openHelpRequests(store: store, at: now).filter { $0.takenBy == session.associate.code } : []
        let titles = try await reference.titles(of: Set(reservations.map(\.gtin) + myHelp.map(\.gtin)))
        var lines: [[String: Any]] = []
        for reservation in reservations {
            let state = reservation.state(at: now)
            let minutes = Int(reservation.expiresAt.timeIntervalSince(now) / 60)
            let product = titles[reservation.gtin] ?? reservation.gtin.digits
            var line: [String: Any] = [:]
            if let preparer = reservation.preparedBy { line["preparedBy"] = words.preparedBy(["name": names[preparer] ?? preparer]) }
            if let closer = reservation.closedBy { line["closedBy"] = words.closedBy(["name": names[closer] ?? closer]) }
            if let told = reservation.toldAt {
                let time = DayText.format(told, locale: locale, timeZone: timeZone, style: .recent)
                line["told"] = reservation.toldBy.map { words.toldAtBy(["time": time, "name": names[$0] ?? $0]) } ?? words.toldAt(["time": time])
            }
            if state == "ready" {
                // The tablet's own mail or SMS app sends it; "Told" then records when (again for a reminder).
                let fields = [
                    "name": reservation.customerName, "code": reservation.code, "quantity": String(reservation.quantity), "product": product,
                    "store": storeRecord?.name ?? store, "link": "\(configuration.baseURL)/reservations/\(reservation.code)",
                ]
                line["message"] = reservation.messageLink(subject: words.readySubject(fields), body: words.readyMessage(fields))
                line["notTold"] = reservation.toldAt == nil
            }
            lines.append(
                line.merging([
                    "code": reservation.code, "product": product, "quantity": reservation.quantity,
                    "shopper": reservation.customerName, "contact": reservation.contact,
                    "associate": reservation.associateCode.map { names[$0] ?? $0 } ?? "", "state": words.table["state." + state] ?? state,
                    "stateClass": state,
                    "timeLeft": state == "held" || state == "ready"
                        ? words.timeLeft(["hours": "\(minutes / 60)", "minutes": Self.twoDigits(minutes % 60)]) : "",
                    "canReady": state == "held", "canClose": state == "held" || state == "ready", "highlighted": reservation.code == highlighted,
                    "base": configuration.baseURL,
                ]) { mine, _ in mine })
        }
        var context: [String: Any] = ["lines": lines, "empty": lines.isEmpty, "mine": mine]
        if mine {
            context["myHelp"] = myHelp.map { help in
                [
                    "product": titles[help.gtin] ?? help.gtin.digits, "tag": help.tagID ?? "",
                    "waited": Int(now.timeIntervalSince(help.createdAt) / 60), "id": help.id, "base": configuration.baseURL,
                ] as [String: Any]
            }
        }
        return try await render("work-queue", session: session, request: request, context)
    }

    /// Marks ready, records the shopper told, collects or cancels one of the associate's store's reservations, in the
    /// associate's name.
    func act(_ action: ReservationAction, request: Request, code: String) async throws -> Response {
        let (session, _) = try await postedForm(request)
        let store = session.associate.storeCode
        guard let reservation = try await reference.reservation(code: code) else { throw ResolverError.notFound("No reservation \(code).") }
        guard reservation.storeCode == store else {
            throw ResolverError(status: 403, title: "Forbidden", detail: "This reservation belongs to another store's queue.")
        }
        let change = try await reference.change(reservation: code, store: store, action, by: session.associate.code, at: configuration.now())
        guard case .done = change else { throw ResolverError(change) }
        var headers = HTTPFields()
        headers[.location] = "\(configuration.baseURL)/work/queue?code=\(code)#\(code)"
        return Response(status: .seeOther, headers: headers)
    }

    /// A reservation the associate makes for a named shopper, here or in another store that lists the product: the same
    /// hold as the shopper's own (never oversold), credited to the associate; the answer is the shopper's confirmation,
    /// whose pickup QR code the shopper's phone can scan from the tablet.
    func reserveForShopper(_ request: Request, gtin text: String) async throws -> Response {
        let (session, fields) = try await postedForm(request)
        let gtin = try ResolverError.gtin(text)
        var hold: HoldRequest
        do {
            hold = try HoldRequest(
                storeCode: fields["store"], gtin: gtin, quantity: fields["quantity"], customerName: fields["name"], contact: fields["contact"])
        } catch {
            throw ResolverError(status: 400, title: "Bad request", detail: "\(error.description)", field: error.field)
        }
        hold.associateCode = session.associate.code
        // The form's token: a double submission holds once.
        switch try await ReservationController.hold(hold, key: fields["token"], reference: reference, configuration: configuration) {
        case .held(let reservation):
            var headers = HTTPFields()
            headers[.location] = "\(configuration.baseURL)/reservations/\(reservation.code)?shopper=1"
            return Response(status: .seeOther, headers: headers)
        case .insufficient(let available):
            throw ResolverError(status: 409, title: "Not enough stock", detail: "Only \(available) left to reserve in store \(hold.storeCode).")
        case .overLimit(let maximum):
            // The store's own limit, which its stores file sets and may change: its state, like the stock (409).
            throw ResolverError(
                status: 409, title: "Over the store's limit", detail: "quantity: at most \(maximum) per reservation in this store", field: "quantity")
        case .notListed:
            throw ResolverError.notFound("Store \(hold.storeCode) does not sell this product.")
        }
    }

    // MARK: Sessions

    /// The signed-in associate, or nil.
    func signedIn(_ request: Request) async throws -> (associate: Associate, csrf: String)? {
        try await Self.session(of: request, reference: reference, at: configuration.now())
    }

    /// The session the request's cookie opens, or nil (no cookie, or the session ended).
    static func session(of request: Request, reference: any ProductReference, at time: Date) async throws -> (associate: Associate, csrf: String)? {
        guard let token = request.cookie(sessionCookie) else { return nil }
        return try await reference.session(tokenHash: SecretHash.of(token), at: time)
    }

    /// A form posted by a signed-in associate, with its anti-forgery token checked: the session and the fields.
    private func postedForm(_ request: Request) async throws -> (session: (associate: Associate, csrf: String), fields: [String: String]) {
        var request = request
        let fields = ReservationController.formFields(String(buffer: try await request.collectBody(upTo: configuration.maxBodyBytes)))
        let session = try await requireSignIn(request)
        guard SecretHash.matches(fields["csrf"] ?? "", session.csrf) else {
            throw ResolverError(status: 403, title: "Forbidden", detail: "This form has expired or was sent from another site.")
        }
        return (session, fields)
    }

    private func requireSignIn(_ request: Request) async throws -> (associate: Associate, csrf: String) {
        guard let session = try await signedIn(request) else {
            throw Redirect(location: configuration.baseURL + "/work/sign-in?next=" + DigitalLink.percentEncoded(request.uri.description))
        }
        return session
    }

    private func setCookie(_ name: String, _ value: String, maxAge: Int) -> String {
        // Path=/: a tag's own URL (/01/…), opened from the tablet's camera, must carry the session to show the staff view.
        "\(name)=\(value); Max-Age=\(maxAge); Path=/; HttpOnly; SameSite=Strict" + (configuration.baseURL.hasPrefix("https:") ? "; Secure" : "")
    }

    private func signInForm(_ request: Request, problem: String?, status: HTTPResponse.Status = .ok) -> Response {
        let token = AccessToken.generate()
        let language = pages.wording(pages.wording.preferred(by: request) ?? MessageCatalog.fallbackLanguage)
        let words = language.work
        var context: [String: Any] = [
            "lang": language.language, "title": words.signInTitle, "codeLabel": words.code, "secretLabel": words.secret, "submit": words.signIn,
            "action": configuration.baseURL + "/work/sign-in", "csrf": token, "next": RawQuery(request)["next"] ?? "",
        ]
        if let problem { context["problem"] = problem }
        var headers = HTTPFields()
        headers[.setCookie] = setCookie(Self.signInCookie, token, maxAge: 3600)
        headers[.cacheControl] = "no-store"
        return .text(pages.render("work-signin", context), status: status, contentType: "text/html; charset=utf-8", headers: headers)
    }

    func signIn(_ request: Request, context: ShelfTagRequestContext) async throws -> Response {
        if let wait = failures.waiting(for: request, context: context) {
            throw ResolverError.tooManyRequests("Too many failed sign-ins from this device; try again in \(wait) s.", wait: wait)
        }
        var request = request
        let fields = ReservationController.formFields(String(buffer: try await request.collectBody(upTo: configuration.maxBodyBytes)))
        guard let token = fields["csrf"], !token.isEmpty, let cookie = request.cookie(Self.signInCookie), SecretHash.matches(token, cookie) else {
            throw ResolverError(status: 403, title: "Forbidden", detail: "This form has expired or was sent from another site: open the sign-in page again.")
        }
        let words = pages.wording(pages.wording.preferred(by: request) ?? MessageCatalog.fallbackLanguage).work
        let now = configuration.now()
        let session = AccessToken.generate()
        let opened = try await Associate.normalizedCode(fields["code"] ?? "").asyncFlatMap { code in
            try await reference.openSession(
                NewSession(
                    tokenHash: SecretHash.of(session), csrf: AccessToken.generate(), createdAt: now,
                    expiresAt: now.addingTimeInterval(TimeInterval(Self.sessionHours * 3600))),
                code: code, secretHash: SecretHash.of(fields["secret"] ?? ""))
        }
        guard opened != nil else {
            _ = failures.take(for: request, context: context)
            return signInForm(request, problem: words.wrongSecret, status: .unauthorized)
        }
        var headers = HTTPFields()
        headers[.setCookie] = setCookie(Self.sessionCookie, session, maxAge: Self.sessionHours * 3600)
        // Only a path of the work view: never a redirect elsewhere.
        let next = fields["next"].flatMap { $0.hasPrefix("/work") || $0.hasPrefix("/01/") ? $0 : nil } ?? "/work"
        headers[.location] = configuration.baseURL + next
        return Response(status: .seeOther, headers: headers)
    }

    func signOut(_ request: Request) async throws -> Response {
        // Checked for its sign-in and CSRF token only.
        _ = try await postedForm(request)
        if let token = request.cookie(Self.sessionCookie) { try await reference.closeSession(tokenHash: SecretHash.of(token)) }
        var headers = HTTPFields()
        headers[.setCookie] = setCookie(Self.sessionCookie, "", maxAge: 0)
        headers[.location] = configuration.baseURL + "/work/sign-in"
        return Response(status: .seeOther, headers: headers)
    }

    // MARK: Pages

    func home(_ request: Request) async throws -> Response {
        let session = try await requireSignIn(request)
        // A GTIN opens the product; words list the products whose title holds them all.
        var results: [[String: Any]]?
        // A form's GET query: "+" is a space.
        if let text = ReservationController.formFields(request.uri.query ?? "")["q"]?.trimmingCharacters(in: .whitespaces), !text.isEmpty {
            let digits = text.filter { !$0.isWhitespace && $0 != "-" }
            if digits.allSatisfy(\.isNumber) {
                let gtin = try ResolverError.gtin(digits)
                var headers = HTTPFields()
                headers[.location] = "\(configuration.baseURL)/work/products/\(gtin.digits)"
                return Response(status: .seeOther, headers: headers)
            }
            let words = text.split(separator: " ").prefix(8).map { String($0.prefix(50)) }
            results = try await reference.searchProducts(words: words, limit: 50).map {
                ["href": "\(configuration.baseURL)/work/products/\($0.gtin.digits)", "title": $0.title, "gtin": $0.gtin.digits]
            }
        }
        // Open help requests, oldest first; one nobody took within --help-alert-minutes is flagged.
        let now = configuration.now()
        let names = Dictionary(uniqueKeysWithValues: try await reference.associates(store: session.associate.storeCode).map { ($0.code, $0.name) })
        var requests: [[String: Any]] = []
        let helpRequests = try await reference.openHelpRequests(store: session.associate.storeCode, at: configuration.now())
        let titles = try await reference.titles(of: Set(helpRequests.map(\.gtin)))
        for help in helpRequests {
            let waited = Int(now.timeIntervalSince(help.createdAt) / 60)
            var line: [String: Any] = [
                "id": help.id, "product": titles[help.gtin] ?? help.gtin.digits, "gtin": help.gtin.digits,
                "waited": waited, "late": help.takenBy == nil && waited >= configuration.helpAlertMinutes, "canTake": help.takenBy == nil,
                "base": configuration.baseURL,
            ]
            // Absent rather than empty: Mustache shows a section for an empty string.
            if let tag = help.tagID { line["tag"] = tag }
            if let taker = help.takenBy { line["takenBy"] = names[taker] ?? taker }
            requests.append(line)
        }
        var context: [String: Any] = ["requests": requests, "noRequests": requests.isEmpty]
        // The associate's own page, to share as a QR code or a link: the shopper's phone remembers them from it.
        let own = session.associate.link(base: configuration.baseURL)
        let ownQR = try QRImage.png(own, modulePixels: 4)
        context["own"] = ["href": own, "qr": "data:image/png;base64," + ownQR.data.base64EncodedString(), "size": ownQR.side]
        if let results { context["search"] = ["results": results, "none": results.isEmpty] }
        return try await render("work", session: session, request: request, context)
    }

    /// Takes ("Léa is coming" on the shopper's page) or closes a help request of the associate's store.
    func help(_ action: String, request: Request, id: String) async throws -> Response {
        let (session, _) = try await postedForm(request)
        let store = session.associate.storeCode
        guard let help = try await reference.helpRequest(id: id) else { throw ResolverError.notFound("No help request \(id).") }
        guard help.storeCode == store else { throw ResolverError(status: 403, title: "Forbidden", detail: "This request was made in another store.") }
        let taker = action == "take" ? session.associate.code : nil
        let now = configuration.now()
        guard try await reference.changeHelpRequest(id: id, store: store, taking: taker, at: now) != nil else {
            throw ResolverError(status: 409, title: "Conflict", detail: "This request is \(help.state(at: now)); nothing changed.")
        }
        var headers = HTTPFields()
        headers[.location] = "\(configuration.baseURL)/work"
        return Response(status: .seeOther, headers: headers)
    }

    /// The stock table's other stores when the product view is not asked for all of them: a tablet shows about this
    /// many rows without scrolling, and a chain lists a product in hundreds of stores.
    static let nearestStoresShown = 10

    /// The staff view of a product: the shelf price as the tag shows it, stock here and in the other stores by distance
    /// (for a product more than `nearestStoresShown` other stores list, the nearest with some available, and every
    /// store with `?stores=all`).
    func product(_ request: Request, gtin text: String) async throws -> Response {
        let session = try await requireSignIn(request)
        let gtin = try ResolverError.gtin(text)
        let query = RawQuery(request)
        let tagID = query["t"]
        let everyStore = query["stores"] == "all"
        // Words that every store listed must have in its name, code or address (all stores view), from a form's GET
        // query ("+" is a space), bounded as the product search is.
        let filter = (ReservationController.formFields(request.uri.query ?? "")["filter"] ?? "").split(whereSeparator: \.isWhitespace).prefix(8)
            .map { String($0.prefix(50)) }
        let now = configuration.now()
        let here = session.associate.storeCode
        // Every store's listing: the nearest with stock may be far.
        guard let page = try await reference.page(of: gtin, store: here, tagID: tagID, reviewLimit: 0, storesWithin: nil, at: now) else {
            throw ResolverError.notFound("No product with GTIN \(gtin.digits) is known here.")
        }
        let view = ProductView(
            details: page.details, storeCode: here, tagID: tagID, printedTag: page.printedTag, reviews: [], holds: page.holds,
            language: pages.wording.preferred(by: request), wording: pages.wording, configuration: configuration, at: now)
        let locale = view.locale
        let words = pages.wording(locale).work
        // Distances from the associate's store, whether or not it lists the product.
        var origin = view.listing?.store
        if origin == nil { origin = try await reference.store(code: here) }
        let ranked = page.details.stores.map { listing -> (listing: StoreListing, distance: Double?, available: Int) in
            let onHand = listing.offer.stock.onHand
            return (listing, origin.map { $0.distanceKilometres(to: listing.store) }, max(0, onHand - (page.holds[listing.store.code] ?? 0)))
        }.sorted { ($0.listing.store.code == here ? -1 : $0.distance ?? .infinity) < ($1.listing.store.code == here ? -1 : $1.distance ?? .infinity) }
        let others = ranked.count - (ranked.first?.listing.store.code == here ? 1 : 0)
        let pageWords = pages.wording(locale).page
        func openingNote(_ store: Store) -> OpeningNotes.Note? { OpeningNotes.shared.note(for: store, locale: locale, words: pageWords, at: now) }
        let hereNote = origin.flatMap(openingNote)
        let shortened = !everyStore && others > Self.nearestStoresShown
        let shown =
            shortened
            ? Array(ranked.filter { $0.listing.store.code == here || $0.available > 0 }.prefix(Self.nearestStoresShown + 1))
            : ranked.filter { entry in
                let store = entry.listing.store
                return store.code == here
                    || filter.allSatisfy { word in
                        [store.name, store.code, store.address].contains { $0.range(of: word, options: [.caseInsensitive, .diacriticInsensitive]) != nil }
                    }
            }
        var link = "\(configuration.baseURL)/work/products/\(gtin.digits)?"
        if let tagID { link += "t=\(DigitalLink.percentEncoded(tagID))&" }
        var context: [String: Any] = [
            "reserveAction": "\(configuration.baseURL)/work/products/\(gtin.digits)/reserve",
            "name": page.details.product.title, "gtin": gtin.digits, "brand": page.details.product.brand,
            "webPrice": page.details.webOffer.pricing.effectivePrice(at: now).formatted(locale: locale),
            "webAvailability": words.webAvailability[page.details.webOffer.availability] ?? page.details.webOffer.availability.rawValue,
            "stores": shown.map { entry -> [String: Any] in
                let isHere = entry.listing.store.code == here
                // A store that is shut now says when it opens (the shopper sent there should find it open); another
                // store saying what the associate's own says does not repeat it: at night a whole chain is shut.
                var row: [String: Any] = [:]
                if let note = isHere ? hereNote : openingNote(entry.listing.store), case .closed = note.status, isHere || note.text != hereNote?.text {
                    row["closed"] = note.text
                }
                return row.merging([
                    "canReserve": entry.available > 0,
                    "name": entry.listing.store.name, "code": entry.listing.store.code, "here": isHere,
                    "distance": isHere ? "" : entry.distance.map { MeasureText.kilometres($0, locale: locale) } ?? "",
                    "onHand": entry.listing.offer.stock.onHand, "held": page.holds[entry.listing.store.code] ?? 0, "available": entry.available,
                ]) { mine, _ in mine }
            },
        ]
        if shortened {
            context["allStores"] = ["href": link + "stores=all", "text": words.allStores(["count": String(ranked.count)])]
        } else if everyStore && others > Self.nearestStoresShown {
            context["nearestStores"] = ["href": String(link.dropLast())]
            var form: [String: Any] = ["action": "\(configuration.baseURL)/work/products/\(gtin.digits)", "filter": filter.joined(separator: " ")]
            if let tagID { form["tag"] = tagID }
            context["storeFilter"] = form
        }
        // The associate's own link to this product, to share from the tablet (a=CODE: the shopper's phone remembers them).
        let shared = session.associate.link(base: configuration.baseURL, gtin: gtin)
        let sharedQR = try QRImage.png(shared, modulePixels: 4)
        context["shared"] = ["href": shared, "qr": "data:image/png;base64," + sharedQR.data.base64EncodedString(), "size": sharedQR.side]
        if let last = try await reference.printedTag(store: here, gtin: gtin, tagID: nil) {
            let printed = DayText.format(last.printedAt, locale: locale, timeZone: origin?.timeZone ?? "UTC", style: .long)
            let stale = last.label.tagID != view.label?.tagID
            context["lastPrint"] = [
                "text": (stale ? words.lastPrintStale : words.lastPrintCurrent)(["date": printed, "price": last.label.price.formatted(locale: locale)]),
                "stale": stale,
            ]
        }
        // The web shop for the shopper's phone: through the click-out route, so the sale is credited and counted.
        let delivery =
            "\(configuration.baseURL)/products/\(gtin.digits)/web?type=deliver&s=\(DigitalLink.percentEncoded(here))&a=\(session.associate.code)"
        let qr = try QRImage.png(delivery, modulePixels: 4)
        context["delivery"] = ["href": delivery, "qr": "data:image/png;base64," + qr.data.base64EncodedString(), "size": qr.side]
        if let label = view.label {
            var shelf: [String: Any] = ["price": label.price.formatted(locale: locale)]
            if let unit = label.unitPrice { shelf["unitPrice"] = unit.formatted(locale: locale) }
            if let prior = label.priorPrice { shelf["priorPrice"] = prior.formatted(locale: locale) }
            if let end = label.promotionEnd, let store = origin {
                shelf["promotionEnd"] = DayText.format(end.addingTimeInterval(-1), locale: locale, timeZone: store.timeZone, style: .long)
            }
            context["shelf"] = shelf
        } else {
            context["notListed"] = words.notListed
        }
        if let tagID {
            context["tag"] =
                view.stale
                ? words.staleTag(["tag": tagID, "price": page.printedTag.map { $0.label.price.formatted(locale: locale) } ?? "?"])
                : page.printedTag == nil ? words.unknownTag(["tag": tagID]) : words.currentTag(["tag": tagID])
            context["tagStale"] = view.stale
        }
        return try await render("work-product", session: session, request: request, context)
    }

    private func render(_ name: String, session: (associate: Associate, csrf: String), request: Request, _ context: [String: Any]) async throws -> Response {
        let store = try await reference.store(code: session.associate.storeCode)
        let locale = PageLanguage.locale(preferred: pages.wording.preferred(by: request), storeLocale: store?.locale ?? "en-US")
        let language = pages.wording(locale)
        let words = language.work
        var context = context
        context.merge(
            [
                "lang": language.language, "associate": session.associate.name, "store": store?.name ?? session.associate.storeCode,
                "csrf": session.csrf, "signOut": words.signOut, "signOutAction": configuration.baseURL + "/work/sign-out",
                "searchAction": configuration.baseURL + "/work", "searchLabel": words.search, "searchButton": words.show, "words": words.table,
                "queueLink": configuration.baseURL + "/work/queue", "mineLink": configuration.baseURL + "/work/queue?mine=1", "token": AccessToken.generate(),
            ]
        ) { mine, _ in mine }
        var headers = HTTPFields()
        headers[.cacheControl] = "no-store"
        return .text(pages.render(name, context), contentType: "text/html; charset=utf-8", headers: headers)
    }
}

/// Ends a request with a 303 to `location` (signing in first).
struct Redirect: Error {
    let location: String
}

extension Optional {
    /// `flatMap` for an async transform.
    func asyncFlatMap<T>(_ transform: (Wrapped) async throws -> T?) async rethrows -> T? {
        guard let self else { return nil }
        return try await transform(self)
    }
}
