import ShelfTagDomain
import Testing

@Suite("Compressed Digital Links")
struct CompressedDigitalLinkTests {
    /// Compressed forms GS1's toolkit (GS1DigitalLinkToolkit.js) writes for these URIs, with and without its
    /// sequence codes, and with other key=value pairs compressed too.
    @Test(
        "GS1's toolkit's compressed forms read back as the uncompressed URI",
        arguments: [
            ("AQbW4wxJdA", "/01/03760001000634", ""),
            ("CwbW4wxT_shZyfY", "/01/03760001001983/10/LOT7", ""),
            ("AQbW4wxT_iDIWcn2", "/01/03760001001983/10/LOT7", ""),
            ("CgbW4wxT_sSuwgzgAhfa7bkMLzy8l7k", "/01/03760001001983/22/V2/10/ABC-123/21/ser%2F9", ""),
            ("AQbW4wxT_iDOACF9rtuQwvPLyXuSJiV2", "/01/03760001001983/22/V2/10/ABC-123/21/ser%2F9", ""),
            ("DQbW4wxT_n-N4", "/01/03760001001983", "17=261231"),
            ("AQbW4wxT_i5_je", "/01/03760001001983", "17=261231"),
            ("AQbW4wxT_-BsYU8BHTXwNrEX4STz7VWg", "/01/03760001001983", "s=PAR01&t=vwknn2qt"),
            ("AQbW4wxT_g", "/01/03760001001983", ""),
        ])
    func toolkitForms(compressed: String, path: String, query: String) throws {
        #expect(CompressedDigitalLink.isCandidate(path: Substring("/" + compressed)))
        let elements = try CompressedDigitalLink.elements(Substring(compressed))
        let uncompressed = CompressedDigitalLink.uncompressedPathAndQuery(elements)
        #expect(uncompressed.path == path && uncompressed.query == query, "\(elements)")
        // What it stands for is a valid Digital Link.
        _ = try ParsedDigitalLink.parse(path: uncompressed.path, query: uncompressed.query.isEmpty ? nil : uncompressed.query)
    }

    @Test("bad compressed data is refused with the reason, never read past its end")
    func badData() {
        #expect(throws: CompressedDigitalLinkError.notBase64URL) { try CompressedDigitalLink.elements("AQbW4wx+dA") }
        #expect(throws: CompressedDigitalLinkError.truncated) { try CompressedDigitalLink.elements("AQbW4w") }
        // h1h2 = 0x5F: neither an AI prefix nor a sequence code nor another key.
        #expect(throws: CompressedDigitalLinkError.unknownOptimisation("5F")) { try CompressedDigitalLink.elements("X_______") }
        // AI 00 (an SSCC) is defined but not one this resolver decompresses.
        #expect(throws: CompressedDigitalLinkError.unsupportedAI("00")) { try CompressedDigitalLink.elements("AAAAAAAAAAAA") }
        #expect(!CompressedDigitalLink.isCandidate(path: "/01/03760001001983"))
        #expect(!CompressedDigitalLink.isCandidate(path: "/healthz"))
    }
}
