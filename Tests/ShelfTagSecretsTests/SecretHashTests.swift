import ShelfTagSecrets
import Testing

@Suite("Secrets and fingerprints: hashed with swift-crypto, secrets compared in constant time")
struct SecretHashTests {
    @Test("SHA-256 of FIPS 180-4's test messages")
    func fipsVectors() {
        // FIPS 180-4 examples (NIST's SHA256.pdf): one block, two blocks, and the empty message.
        #expect(SecretHash.of("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(
            SecretHash.of("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")
                == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
        #expect(SecretHash.of("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    }

    @Test("a secret matches only itself, whatever the lengths")
    func matching() {
        #expect(SecretHash.matches("st_abc", "st_abc"))
        #expect(!SecretHash.matches("st_abd", "st_abc"))
        #expect(!SecretHash.matches("st_ab", "st_abc"))
        #expect(!SecretHash.matches("", "st_abc"))
        #expect(SecretHash.matches("", ""))
    }

    @Test("a content fingerprint is the first 128 bits of the SHA-256, so every resolver gives the same")
    func fingerprint() {
        #expect(ContentFingerprint.of("abc") == "ba7816bf8f01cfea414140de5dae2223")
        #expect(ContentFingerprint.of("") == "e3b0c44298fc1c149afbf4c8996fb924")
    }
}
