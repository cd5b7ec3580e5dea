import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// The resolver's request context: Hummingbird's basics plus the peer's address, which only the rate limiter reads
/// (`ClientAddresses`; it is never stored or logged).
struct ShelfTagRequestContext: RequestContext, RemoteAddressRequestContext {
    var coreContext: CoreRequestContextStorage
    let remoteAddress: SocketAddress?

    init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        remoteAddress = source.channel.remoteAddress
    }
}

/// A request's query, read pair by pair for the few keys a handler wants: `uri.queryParameters` builds a list of every
/// pair, hashing each key, on every call, which was a measurable share of a cached product page.
struct RawQuery {
    private let text: String

    init(_ request: Request) { text = request.uri.query ?? "" }

    /// The first value of `key`, percent-decoded like `uri.queryParameters`' values (kept as sent when malformed).
    subscript(key: String) -> String? {
        // `withUTF8` is mutating; on the request's native string the copy shares its bytes.
        var text = text
        let raw: String? = text.withUTF8 { bytes in
            var start = 0
            while start < bytes.count {
                let end = bytes[start...].firstIndex(of: UInt8(ascii: "&")) ?? bytes.count
                let equals = bytes[start..<end].firstIndex(of: UInt8(ascii: "=")) ?? end
                if key.utf8.elementsEqual(bytes[start..<equals]) {
                    return equals == end ? "" : String(decoding: bytes[(equals + 1)..<end], as: UTF8.self)
                }
                start = end + 1
            }
            return nil
        }
        guard let raw else { return nil }
        return raw.utf8.contains(UInt8(ascii: "%")) ? raw.removingPercentEncoding ?? raw : raw
    }
}

extension HTTPFields {
    /// What the `String?` subscript gives (values joined with ", ", cookies with "; "), without its join when one
    /// field has the name, as a request's `Accept` does: the join was a measurable share of a cached product page.
    func value(of name: HTTPField.Name) -> String? {
        let separator = name == .cookie ? "; " : ", "
        var value: String?
        for field in self where field.name == name { value = value.map { $0 + separator + field.value } ?? field.value }
        return value
    }
}

extension Request {
    /// The value of the cookie `name` the client sent, if any.
    func cookie(_ name: String) -> String? {
        for header in headers[values: .cookie] {
            for pair in header.split(separator: ";") {
                let parts = pair.trimmingCharacters(in: .whitespaces).split(separator: "=", maxSplits: 1)
                if parts.count == 2, parts[0] == name { return String(parts[1]) }
            }
        }
        return nil
    }
}

extension NSNumber {
    /// A JSON number as a whole number: `2` and `2.0` (JSON has one number type) give 2; a fraction, a number no
    /// Int64 holds or a boolean (which JSONSerialization also gives as NSNumber, of its own class) gives nil.
    var wholeNumber: Int64? { isBoolean ? nil : Int64(exactly: doubleValue) }

    /// A JSON boolean, which JSONSerialization gives as an NSNumber of its own class.
    var isBoolean: Bool { type(of: self) == type(of: NSNumber(value: true)) }
}
