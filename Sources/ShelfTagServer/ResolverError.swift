import Foundation
import Hummingbird
import ShelfTagDomain
import ShelfTagStorage

/// A failure answered to the client: status, a title and what to do, never a stack trace.
struct ResolverError: Error, Sendable {
    let status: Int
    let title: String
    let detail: String
    /// A link the error page offers (the web shop's search for an unknown product).
    var link: String?
    /// The request field at fault, for forms and clients.
    var field: String?
    /// Seconds to wait, for a 429.
    var retryAfter: Int?
    /// The methods the path answers, for a 405.
    var allow: String?

    init(status: Int, title: String, detail: String, field: String? = nil) {
        self.status = status
        self.title = title
        self.detail = detail
        self.field = field
    }

    /// The GTIN a route's path segment names (`/products/{gtin}`), any length; 400 when it is not one.
    static func gtin(_ text: String) throws(ResolverError) -> GTIN {
        do { return try GTIN(text) } catch { throw .badRequest("'\(text)' is not a GTIN: \(error.description).") }
    }

    static func badRequest(_ detail: String) -> ResolverError { ResolverError(status: 400, title: "Bad request", detail: detail) }
    static func notFound(_ detail: String) -> ResolverError { ResolverError(status: 404, title: "Not found", detail: detail) }

    /// Why a reservation was not changed: 404 for none in the store, 409 for one in a state that does not allow it.
    init(_ refused: ReservationChange) {
        let reason = refused.refusalReason ?? "nothing changed"
        let sentence = reason.prefix(1).uppercased() + reason.dropFirst() + "."
        if case .notFound = refused {
            self.init(status: 404, title: "Not found", detail: sentence)
        } else {
            self.init(status: 409, title: "Conflict", detail: sentence)
        }
    }

    /// 429 with `Retry-After: wait`.
    static func tooManyRequests(_ detail: String, wait: Int) -> ResolverError {
        var error = ResolverError(status: 429, title: "Too many requests", detail: detail)
        error.retryAfter = wait
        return error
    }
}
