import Foundation

/// What a store-update token may do.
public enum TokenScope: String, Sendable, CaseIterable, Codable {
    case prices, stock, reservations
}

/// What a bearer token grants: one store, some scopes.
public struct TokenGrant: Sendable, Equatable {
    public let storeCode: String
    public let scopes: Set<TokenScope>

    public init(storeCode: String, scopes: Set<TokenScope>) {
        self.storeCode = storeCode
        self.scopes = scopes
    }
}

/// Bearer tokens: 32 random bytes shown once; only their hash is stored (`SecretHash`, outside the domain: swift-crypto
/// is a C library).
public enum AccessToken {
    /// A new token: `st_` and 43 base64url characters.
    public static func generate() -> String {
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<32).map { _ in UInt8.random(in: 0...255, using: &generator) }
        let base64 = Data(bytes).base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
        return "st_" + base64.replacingOccurrences(of: "=", with: "")
    }
}
