import Foundation
import Testing

@testable import ShelfTagDomain

@Suite("GS1 Digital Link")
struct DigitalLinkTests {
    struct Example: CustomTestStringConvertible {
        let uri: String
        let valid: Bool
        let gtin: String
        var testDescription: String { uri }
    }

    /// GS1's and others' examples (`../shared/gs1/dl_uri_examples.tsv`), read with a plain tab split.
    static let examples: [Example] = {
        let file = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/dl_uri_examples.tsv")
        let text = (try? String(contentsOf: file, encoding: .utf8)) ?? ""
        return text.split(separator: "\n").dropFirst().map { line in
            let columns = line.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
            return Example(uri: columns[0], valid: columns[1] == "1", gtin: columns[2])
        }
    }()

    @Test func examplesAreThere() {
        #expect(Self.examples.count > 50)
    }

    @Test(arguments: examples)
    func example(_ example: Example) async {
        do {
            let parsed = try ParsedDigitalLink.parse(uri: example.uri)
            #expect(example.valid, "accepted an invalid URI")
            if !example.gtin.isEmpty { #expect(parsed.gtin?.digits == example.gtin) }
        } catch {
            #expect(!example.valid, "rejected a valid URI: \(error)")
        }
    }

    @Test("a tag's URI round-trips: built by DigitalLink, parsed back to the same parts")
    func roundTrip() async throws {
        let link = DigitalLink(base: "https://s.example/stem/", gtin: try GTIN("3760001001983"), lot: "AB-12/3", query: [("s", "PAR 01"), ("t", "x7k2")])
        #expect(link.uri == "https://s.example/stem/01/03760001001983/10/AB-12%2F3?s=PAR%2001&t=x7k2")
        let parsed = try ParsedDigitalLink.parse(uri: link.uri)
        #expect(parsed.gtin == link.gtin && parsed.stem == "/stem")
        #expect(parsed.qualifier("10") == "AB-12/3")
        #expect(parsed.extensionValue("s") == "PAR 01" && parsed.extensionValue("t") == "x7k2")
    }

    @Test("errors say which rule broke")
    func errorsNameTheRule() async {
        #expect(throws: DigitalLinkError.badCheckDigit(ai: "01")) { try ParsedDigitalLink.parse(uri: "https://a/01/03760001001984") }
        #expect(throws: DigitalLinkError.qualifierOrder("10")) { try ParsedDigitalLink.parse(uri: "https://a/01/03760001001983/21/x/10/y") }
        #expect(throws: DigitalLinkError.qualifierInQuery("10")) { try ParsedDigitalLink.parse(uri: "https://a/01/03760001001983?10=x") }
        #expect(throws: DigitalLinkError.notAQualifier(ai: "17", key: "01")) { try ParsedDigitalLink.parse(uri: "https://a/01/03760001001983/17/261231") }
        #expect(throws: DigitalLinkError.duplicateAI("99")) { try ParsedDigitalLink.parse(uri: "https://a/01/03760001001983?99=a&99=b") }
        #expect(throws: DigitalLinkError.unknownAI("4999")) { try ParsedDigitalLink.parse(uri: "https://a/01/03760001001983?4999=1") }
        // A trailing slash is tolerated.
        #expect((try? ParsedDigitalLink.parse(path: "/01/03760001001983/", query: nil))?.gtin?.digits == "03760001001983")
    }
}
