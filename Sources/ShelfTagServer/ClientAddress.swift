import Foundation
import HTTPTypes
import Hummingbird

/// An IP address or a CIDR range of them (`10.0.0.0/8`, `192.0.2.7`, `fd00::/8`): a load balancer or reverse proxy
/// the resolver trusts to say who its client is.
public struct AddressRange: Sendable, Equatable, CustomStringConvertible {
    private let network: [UInt8]
    private let prefixLength: Int
    public let description: String

    /// - Throws: `AddressRangeError` for text that is not an address, or a prefix longer than the address.
    public init(_ text: String) throws(AddressRangeError) {
        let parts = text.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        guard let address = Self.bytes(of: String(parts[0])) else { throw .notAnAddress(text) }
        let bits = address.count * 8
        var length = bits
        if parts.count == 2 {
            guard let given = Int(parts[1]), (0...bits).contains(given) else { throw .badPrefix(text, maximum: bits) }
            length = given
        }
        network = Self.masked(address, to: length)
        prefixLength = length
        description = text
    }

    /// Whether `address` (text, as a socket or `X-Forwarded-For` gives it) is in the range.
    public func contains(_ address: String) -> Bool {
        guard let bytes = Self.bytes(of: address), bytes.count == network.count else { return false }
        return Self.masked(bytes, to: prefixLength) == network
    }

    /// An address's bytes: 4 for IPv4 (an IPv4-mapped IPv6 address included), 16 for IPv6; nil for anything else.
    static func bytes(of text: String) -> [UInt8]? {
        var v4 = in_addr()
        if inet_pton(AF_INET, text, &v4) == 1 { return withUnsafeBytes(of: &v4) { Array($0) } }
        var v6 = in6_addr()
        guard inet_pton(AF_INET6, text, &v6) == 1 else { return nil }
        let bytes = withUnsafeBytes(of: &v6) { Array($0) }
        let mappedPrefix: [UInt8] = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF]
        return bytes.starts(with: mappedPrefix) ? Array(bytes[12...]) : bytes
    }

    private static func masked(_ bytes: [UInt8], to length: Int) -> [UInt8] {
        bytes.enumerated().map { index, byte in
            let kept = min(8, max(0, length - index * 8))
            return kept == 8 ? byte : byte & ~(0xFF >> kept)
        }
    }
}

public enum AddressRangeError: Error, Equatable, CustomStringConvertible {
    case notAnAddress(String)
    case badPrefix(String, maximum: Int)

    public var description: String {
        switch self {
        case .notAnAddress(let text): "'\(text)' is not an IP address or a CIDR range (10.0.0.0/8, fd00::/8)"
        case .badPrefix(let text, let maximum): "'\(text)': the prefix length must be 0 to \(maximum)"
        }
    }
}

/// Who a request comes from, for the per-client limits: the connection's peer, or, when the peer is a trusted proxy,
/// the address it was forwarded for. Behind a load balancer every request's peer is the balancer, and one client's
/// limit would be every shopper's.
struct ClientAddresses: Sendable {
    let trustedProxies: [AddressRange]

    static let forwardedFor = HTTPField.Name("X-Forwarded-For")!

    func client(of request: Request, context: ShelfTagRequestContext) -> String {
        let peer = context.remoteAddress?.ipAddress
        guard !trustedProxies.isEmpty else { return peer ?? "unknown" }
        return client(peer: peer, forwardedFor: request.headers[values: Self.forwardedFor])
    }

    /// Each proxy appends the address it was sent from: read from the right, the first address no trusted proxy
    /// holds is the client (anything left of it the client could have written). From a peer not trusted, the header
    /// is the client's own claim and is ignored.
    func client(peer: String?, forwardedFor fields: [String]) -> String {
        guard let peer else { return "unknown" }
        guard isTrusted(peer) else { return peer }
        let chain = fields.flatMap { $0.split(separator: ",") }.map { Self.address(in: $0.trimmingCharacters(in: .whitespaces)) }.filter { !$0.isEmpty }
        return chain.last { !isTrusted($0) } ?? chain.first ?? peer
    }

    private func isTrusted(_ address: String) -> Bool { trustedProxies.contains { $0.contains(address) } }

    /// `192.0.2.7` from `192.0.2.7:5123`, `2001:db8::1` from `[2001:db8::1]:5123`: some proxies add the port.
    private static func address(in entry: String) -> String {
        if entry.hasPrefix("["), let close = entry.firstIndex(of: "]") { return String(entry[entry.index(after: entry.startIndex)..<close]) }
        if entry.filter({ $0 == ":" }).count == 1, let colon = entry.firstIndex(of: ":") { return String(entry[..<colon]) }
        return entry
    }
}
