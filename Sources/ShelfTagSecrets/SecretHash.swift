import Crypto
import Foundation

/// How secrets are kept and checked: bearer tokens, associates' sign-in secrets, session cookies, CSRF tokens.
public enum SecretHash {
    /// The stored form of a secret: its SHA-256 (swift-crypto) in lower-case hex. The secrets carry 256 random bits,
    /// so a fast hash suffices; the database never holds one that would let in whoever reads it.
    public static func of(_ secret: String) -> String {
        hex(SHA256.hash(data: Data(secret.utf8)))
    }

    /// Whether a secret a client sent equals the expected one, in time that depends on neither (their SHA-256
    /// digests are compared, in constant time), so a client timing the answer learns nothing of the expected one.
    public static func matches(_ sent: String, _ expected: String) -> Bool {
        SHA256.hash(data: Data(sent.utf8)) == SHA256.hash(data: Data(expected.utf8))
    }
}

/// A fingerprint of published content, such as an HTTP entity tag: the first 128 bits of its SHA-256 in lower-case
/// hex. Equal content gives equal fingerprints on every process, so resolvers sharing a reference agree on them.
public enum ContentFingerprint {
    public static func of(_ text: String) -> String {
        hex(SHA256.hash(data: Data(text.utf8)).prefix(16))
    }
}

private func hex(_ bytes: some Sequence<UInt8>) -> String {
    let digits = Array("0123456789abcdef".utf8)
    var text: [UInt8] = []
    for byte in bytes {
        text.append(digits[Int(byte >> 4)])
        text.append(digits[Int(byte & 0x0F)])
    }
    return String(decoding: text, as: UTF8.self)
}
