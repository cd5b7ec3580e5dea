import Foundation
import Hummingbird
import ShelfTagDomain

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

    /// 429 with `Retry-After: wait`.
    static func tooManyRequests(_ detail: String, wait: Int) -> ResolverError {
        var error = ResolverError(status: 429, title: "Too many requests", detail: detail)
        error.retryAfter = wait
        return error
    }
}

extension NSNumber {
    /// A JSON number as a whole number: `2` and `2.0` (JSON has one number type) give 2; a fraction, a number no
    /// Int64 holds or a boolean (which JSONSerialization also gives as NSNumber, of its own class) gives nil.
    var wholeNumber: Int64? { isBoolean ? nil : Int64(exactly: doubleValue) }

    /// A JSON boolean, which JSONSerialization gives as an NSNumber of its own class.
    var isBoolean: Bool { type(of: self) == type(of: NSNumber(value: true)) }
}
