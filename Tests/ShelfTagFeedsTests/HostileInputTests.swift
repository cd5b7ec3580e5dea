import Foundation
import Testing

@testable import ShelfTagDomain
@testable import ShelfTagFeeds

/// Every row a product TSV with these titles gives: the rejections' texts (or "ok").
func titleOutcomes(_ titles: [String]) throws -> [String] {
    let header = "id\ttitle\tlink\tavailability\tprice\tgtin\n"
    let rows = titles.enumerated().map { index, title in
        let body = (0..<12).map { UInt8(("400638133" + String(format: "%03d", index)).utf8.map { $0 - 48 }[$0]) }
        let gtin = body.map(String.init).joined() + String(GTIN.checkDigit(forBody: body))
        return "ID-\(index)\t\(title)\thttps://shop.example.com/\(index)\tin_stock\t1.00 EUR\t\(gtin)\n"
    }
    let path = try temporaryFile(header + rows.joined(), name: "hostile.tsv")
    var outcomes: [String] = []
    try ProductFeed.read(path: path, displayName: "hostile.tsv", row: { _, _ in outcomes.append("ok") }, rejected: { outcomes.append($0.description) })
    return outcomes
}

@Suite("Hostile input: every field bounded, no control character, no crash")
struct HostileInputTests {
    @Test("titles: 150 characters pass (composed or not), 151 do not, nor a letter under 5,000 combining marks, nor NUL or a bidi override")
    func titleRules() throws {
        let composed = String(repeating: "é", count: 150)
        let decomposed = String(repeating: "e\u{301}", count: 150)
        let outcomes = try titleOutcomes([
            composed, decomposed, String(repeating: "a", count: 151), "e" + String(repeating: "\u{301}", count: 5000), "Caf\u{0}e", "Prix \u{202E}05,1",
        ])
        #expect(outcomes.count == 6)
        #expect(outcomes[0] == "ok" && outcomes[1] == "ok")
        #expect(outcomes[2] == "hostile.tsv:4: title: longer than 150 characters")
        #expect(outcomes[3] == "hostile.tsv:5: title: longer than 150 characters")
        #expect(outcomes[4] == "hostile.tsv:6: title: holds the control character U+0000, which is not allowed")
        #expect(outcomes[5] == "hostile.tsv:7: title: holds the control character U+202E, which is not allowed")
    }

    @Test("a 3 MB store name and an inventory quantity past a billion are rejected on their line")
    func storesAndQuantities() throws {
        let stores = try temporaryFile(
            "code,name,address,latitude,longitude,timezone\nPAR01,\(String(repeating: "x", count: 3_000_000)),1 rue,48.8,2.3,Europe/Paris\n", name: "stores.csv"
        )
        var rejected: [String] = []
        try StoresFile.read(
            path: stores, displayName: "stores.csv", row: { _, _ in Issue.record("a 3 MB name was accepted") },
            rejected: {
                rejected.append($0.description)
            })
        #expect(rejected == ["stores.csv:2: name: longer than 100 characters"])

        let inventory = try temporaryFile(
            "store_code\tid\tquantity\nPAR01\tA\t9223372036854775807\nPAR01\tB\t1000000000\nPAR01\tC\t1000000001\n", name: "inventory.tsv")
        var problems: [String] = []
        var loaded = 0
        try InventoryFeed.read(path: inventory, displayName: "inventory.tsv", row: { _, _ in loaded += 1 }, rejected: { problems.append($0.field) })
        #expect(loaded == 1 && problems == ["quantity", "quantity"])
    }

    @Test("an undefined entity is a located error in words, not a character silently dropped")
    func undefinedEntity() throws {
        let feed = try temporaryFile(
            """
            <?xml version="1.0"?>
            <rss xmlns:g="http://base.google.com/ns/1.0" version="2.0"><channel>
            <item><g:id>X1</g:id><g:title>Caf&eacute; noir</g:title></item>
            </channel></rss>
            """, name: "entity.xml")
        #expect {
            try ProductFeed.read(path: feed, displayName: "entity.xml", row: { _, _ in }, rejected: { _ in })
        } throws: { error in
            (error as? FeedError)?.description.hasPrefix("entity.xml:3: malformed XML: '&eacute;' is not an XML entity") == true
        }
    }

    @Test("an element name that is not UTF-8 (which made FoundationXML trap: found by make fuzz) is a located error; Latin-1 declared as such still reads")
    func elementNameNotUTF8() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(UUID().uuidString)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let head = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<rss xmlns:g=\"http://base.google.com/ns/1.0\" version=\"2.0\"><channel>\n"
        let broken = directory.appendingPathComponent("broken.xml")
        try (Data(head.utf8) + Data("<item><g:id>X1</g:id><t".utf8) + Data(repeating: 0xF3, count: 40) + Data(">x</t></item>\n</channel></rss>\n".utf8))
            .write(to: broken)
        for read in [
            { try ProductFeed.read(path: broken.path, displayName: "broken.xml", row: { _, _ in }, rejected: { _ in }) },
            { try ReviewFeed.read(path: broken.path, displayName: "broken.xml", row: { _, _ in }, rejected: { _ in }) },
        ] {
            #expect {
                try read()
            } throws: { error in
                (error as? FeedError)?.description == "broken.xml:3: malformed XML: invalid UTF-8 (save the file as UTF-8)"
            }
        }
        // An encoding libxml2 does not know is read as UTF-8 (the second crash make fuzz found).
        let unknown = directory.appendingPathComponent("unknown.xml")
        try
            (Data("<?xml version=\"1.0\" encoding=\"UTFcode\"?>\n<rss><channel>\n<item><t".utf8) + Data(repeating: 0xF3, count: 8)
            + Data(">x</t></item>\n</channel></rss>\n".utf8)).write(to: unknown)
        #expect {
            try ProductFeed.read(path: unknown.path, displayName: "unknown.xml", row: { _, _ in }, rejected: { _ in })
        } throws: { error in
            (error as? FeedError)?.description.hasPrefix("unknown.xml:") == true
        }
        // A processing instruction with no data made FoundationXML read a null C string (the third crash): none is
        // taken but the XML declaration, byte-order mark or not.
        for (name, text) in [
            ("bare.xml", "<?xml?>\n<rss><channel></channel></rss>\n"), ("inside.xml", "<?xml version=\"1.0\"?>\n<rss>\n<?x?><channel></channel></rss>\n"),
        ] {
            let file = directory.appendingPathComponent(name)
            try Data(text.utf8).write(to: file)
            #expect {
                try ProductFeed.read(path: file.path, displayName: name, row: { _, _ in }, rejected: { _ in })
            } throws: { error in
                (error as? FeedError)?.description.contains("malformed XML: a processing instruction") == true
            }
        }
        let withMark = directory.appendingPathComponent("mark.xml")
        try (Data([0xEF, 0xBB, 0xBF]) + Data("<?xml version=\"1.0\"?>\n<rss><channel></channel></rss>\n".utf8)).write(to: withMark)
        try ProductFeed.read(path: withMark.path, displayName: "mark.xml", row: { _, _ in }, rejected: { _ in })
        // The same byte is a letter in a feed that says it is Latin-1: libxml2 converts it.
        let latin1 = directory.appendingPathComponent("latin1.xml")
        let item = """
            <item><g:id>X1</g:id><link>https://shop.example.com/p/1</link><description>Noir.</description>
            <g:image_link>https://img.example.com/1.jpg</g:image_link><g:availability>in stock</g:availability><g:price>3.20 EUR</g:price>
            <g:gtin>3760552126371</g:gtin><g:brand>Torr</g:brand><g:title>Caf
            """
        try
            (Data("<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>\n<rss xmlns:g=\"http://base.google.com/ns/1.0\" version=\"2.0\"><channel>\n".utf8)
            + Data(item.utf8) + Data([0xE9]) + Data(" noir</g:title></item>\n</channel></rss>\n".utf8)).write(to: latin1)
        var titles: [String] = []
        try ProductFeed.read(
            path: latin1.path, displayName: "latin1.xml", row: { row, _ in titles.append(row.product.title) }, rejected: { Issue.record("rejected: \($0)") })
        #expect(titles == ["Café noir"])
    }

    @Test("rows longer than any field allows are rejected on their line without being kept: a 6 MB TSV line, a CSV quote never closed")
    func overlongRows() throws {
        let header = "id\ttitle\tlink\tavailability\tprice\tgtin\n"
        let good = "B\tBon\thttps://shop.example.com/b\tin_stock\t1.00 EUR\t3760001000634\n"
        let products = try temporaryFile(
            header + "A\t" + String(repeating: "a", count: 6 << 20) + "\thttps://shop.example.com/a\tin_stock\t1.00 EUR\t3760001001983\n" + good,
            name: "long.tsv")
        var rejected: [String] = []
        var loaded: [Int] = []
        try ProductFeed.read(path: products, displayName: "long.tsv", row: { _, line in loaded.append(line) }, rejected: { rejected.append($0.description) })
        #expect(rejected == ["long.tsv:2: row: the row is longer than 4194304 bytes, more than any row can hold; it was skipped unread"])
        #expect(loaded == [3])

        let stores = try temporaryFile(
            "code,name,address,latitude,longitude,timezone\nPAR01,\"never closed" + String(repeating: "\nx", count: 3 << 20) + "\n", name: "stores.csv")
        rejected = []
        try StoresFile.read(
            path: stores, displayName: "stores.csv", row: { _, _ in Issue.record("an unclosed quote gave a row") },
            rejected: {
                rejected.append($0.description)
            })
        #expect(rejected.first == "stores.csv:2: row: the row is longer than 4194304 bytes, more than any row can hold; it was skipped unread")
    }

    @Test("a reviews feed nested 40,000 elements deep is a located error, not a crash; and so is one nested past 64 levels anywhere")
    func deepXML() throws {
        let depth = 40_000
        let inside = try temporaryFile(
            "<?xml version=\"1.0\"?>\n<feed><reviews>\n<review>" + String(repeating: "<a>", count: depth) + String(repeating: "</a>", count: depth)
                + "</review></reviews></feed>\n", name: "reviews.xml")
        #expect {
            try ReviewFeed.read(path: inside, displayName: "reviews.xml", row: { _, _ in }, rejected: { _ in })
        } throws: { error in
            (error as? FeedError)?.description.hasPrefix("reviews.xml:3: malformed XML: elements nested more than 16 levels deep inside <review>") == true
        }
        let outside = try temporaryFile(
            "<?xml version=\"1.0\"?>\n<feed>" + String(repeating: "<a>", count: depth) + String(repeating: "</a>", count: depth) + "</feed>\n", name: "deep.xml"
        )
        #expect {
            try ReviewFeed.read(path: outside, displayName: "deep.xml", row: { _, _ in }, rejected: { _ in })
        } throws: { error in
            (error as? FeedError)?.description == "deep.xml:2: malformed XML: elements nested more than 64 levels deep"
        }
    }
}

@Suite("Feed fields as UTF-8")
struct UTF8TextTests {
    @Test("a field is read exactly when the standard library finds it well-formed: every table 3-7 boundary, and random bytes")
    func agreesWithTheStandardLibrary() {
        // Each lead byte with second bytes at and around its range's ends, then a full or cut-short tail.
        var samples: [[UInt8]] = [[], Array("Épicerie sucrée > Confitures n°3".utf8), Array("😀 ok".utf8)]
        for lead in [0x7F, 0x80, 0xBF, 0xC0, 0xC1, 0xC2, 0xDF, 0xE0, 0xE1, 0xEC, 0xED, 0xEE, 0xEF, 0xF0, 0xF1, 0xF3, 0xF4, 0xF5, 0xFF] as [UInt8] {
            for second in [0x00, 0x7F, 0x80, 0x8F, 0x90, 0x9F, 0xA0, 0xBF, 0xC0] as [UInt8] {
                for tail in [[], [0x80], [0x80, 0x80], [0x80, 0x41], [0xBF, 0xBF, 0xBF]] as [[UInt8]] {
                    samples.append([0x61, lead, second] + tail)
                }
            }
        }
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<20_000 {
            samples.append((0..<Int.random(in: 1...8, using: &generator)).map { _ in UInt8.random(in: 0x7E...0xFF, using: &generator) })
        }
        var valid = 0
        for bytes in samples {
            let ours = bytes.withUnsafeBufferPointer { UTF8Text.string($0) }
            let standard = String(validating: bytes, as: UTF8.self)
            #expect(ours == standard, "\(bytes.map { String($0, radix: 16) })")
            if standard != nil { valid += 1 }
        }
        #expect(valid > 300)
    }
}
