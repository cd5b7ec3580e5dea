import Foundation
import Hummingbird
import NIOCore

/// The resolver's request context: Hummingbird's basics plus the client address, which only the rate limiter reads
/// (it is never stored or logged).
struct ShelfTagRequestContext: RequestContext, RemoteAddressRequestContext {
    var coreContext: CoreRequestContextStorage
    let remoteAddress: SocketAddress?

    init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        remoteAddress = source.channel.remoteAddress
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
