import Foundation
import HTTPTypes
import Hummingbird
import ShelfTagDomain
import ShelfTagStorage

/// "Ask for help here": a plain form on the shopper's page (no account), and the page that follows the request,
/// refreshing itself (no JavaScript) until an associate has taken and closed it.
struct HelpController: Sendable {
    let reference: any ProductReference
    let configuration: ServerConfiguration
    let pages: Pages
    let limiter: RateLimiter

    /// How often the shopper's page refreshes while the request is open.
    static let refreshSeconds = 10

    func addRoutes(to router: Router<ShelfTagRequestContext>) {
        router.post("/help") { request, context in try await ask(request, context: context) }
        router.get("/help/:id") { request, context in try await status(request, id: try context.parameters.require("id")) }
    }

    func ask(_ request: Request, context: ShelfTagRequestContext) async throws -> Response {
        if let wait = limiter.take(for: request, context: context) {
            throw ResolverError.tooManyRequests("Too many help requests from this phone; try again in \(wait) s.", wait: wait)
        }
        var request = request
        let fields = ReservationController.formFields(String(buffer: try await request.collectBody(upTo: configuration.maxBodyBytes)))
        let gtin = try ResolverError.gtin(fields["gtin"] ?? "")
        guard let store = fields["s"], !store.isEmpty else {
            throw ResolverError(status: 400, title: "Bad request", detail: "store: a help request is made in a store.", field: "s")
        }
        guard try await reference.store(code: store) != nil else {
            throw ResolverError(status: 404, title: "Not found", detail: "store: no store \(store) here.", field: "s")
        }
        let tag = fields["t"].flatMap { $0.isEmpty ? nil : $0 }
        if let tag { do { try TextRule.identifier.check(tag) } catch { throw ResolverError(status: 400, title: "Bad request", detail: "t: \(error)") } }
        let help = HelpRequest(id: HelpRequest.newID(), storeCode: store, gtin: gtin, tagID: tag, createdAt: configuration.now())
        try await reference.openHelpRequest(help)
        var headers = HTTPFields()
        headers[.location] = "\(configuration.baseURL)/help/\(help.id)"
        return Response(status: .seeOther, headers: headers)
    }

    func status(_ request: Request, id: String) async throws -> Response {
        guard let help = try await reference.helpRequest(id: id) else { throw ResolverError.notFound("No help request \(id).") }
        let store = try await reference.store(code: help.storeCode)
        let locale = PageLanguage.locale(preferred: pages.wording.preferred(by: request), storeLocale: store?.locale ?? "en-US")
        let language = pages.wording(locale)
        let words = language.help
        let message: String
        let state = help.state(at: configuration.now())
        switch state {
        case "open": message = words.waiting
        case "taken":
            let name = try await help.takenBy.asyncFlatMap { try await reference.associate(code: $0)?.name }
            message = words.coming(["name": name ?? words.someone])
        case "lapsed": message = words.lapsed
        default: message = words.closed
        }
        var context: [String: Any] = [
            "lang": language.language, "title": words.title, "message": message, "store": store?.name ?? help.storeCode,
            "product": try await reference.titles(of: [help.gtin])[help.gtin] ?? help.gtin.digits,
        ]
        // Waiting or someone coming: the page refreshes itself until the request ends.
        if state == "open" || state == "taken" { context["refresh"] = Self.refreshSeconds }
        var headers = HTTPFields()
        headers[.cacheControl] = "no-store"
        return .text(pages.render("help", context), contentType: "text/html; charset=utf-8", headers: headers)
    }
}
