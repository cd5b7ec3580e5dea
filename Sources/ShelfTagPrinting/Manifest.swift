import Foundation
import ShelfTagRender

/// The manifest forms.
public enum ManifestFormat: String, Sendable, CaseIterable {
    case csv, json
}

/// What a run rendered, one row per tag (a product's copies each have theirs), in the order of the run, with where each
/// hangs when the layout says.
struct Manifest {
    let rendered: [RenderedTag]
    let skipped: [SkippedProduct]
    let dpi: Int

    private static let columns = [
        "gtin", "name", "price", "prior_price", "unit_price", "template", "file", "qr_version", "qr_module_mm", "tag_id", "url", "page",
        "aisle", "position",
    ]

    private func values(_ tag: RenderedTag, moduleSizes: inout [Int: String]) -> [String] {
        let label = tag.content.label
        // Few module sizes per run, and String(format:) is slow: each is formatted once.
        let module =
            tag.qrCode.map { qr in
                if let known = moduleSizes[qr.modulePixels] { return known }
                let text = String(format: "%.3f", Double(qr.modulePixels) * 25.4 / Double(dpi))
                moduleSizes[qr.modulePixels] = text
                return text
            } ?? ""
        return [
            label.gtin.digits, tag.content.fields["name"] ?? "", label.price.feedValue, label.priorPrice?.feedValue ?? "",
            label.unitPrice.map { "\($0.price.feedValue)/\($0.baseLabel)" } ?? "", tag.template, tag.file,
            tag.qrCode.map { String($0.version) } ?? "",
            module, label.tagID, tag.content.uri, tag.page.map(String.init) ?? "", tag.spot?.aisle ?? "", tag.spot?.position.map(String.init) ?? "",
        ]
    }

    func data(_ format: ManifestFormat) throws -> Data {
        var moduleSizes: [Int: String] = [:]
        switch format {
        case .csv:
            // Bytes, not a String grown field by field: 10,000 rows took 12 ms, serial at the end of a run.
            var text: [UInt8] = []
            text.reserveCapacity(64 + 192 * rendered.count)
            text.append(contentsOf: Self.columns.joined(separator: ",").utf8)
            text.append(UInt8(ascii: "\n"))
            for tag in rendered {
                for (index, value) in values(tag, moduleSizes: &moduleSizes).enumerated() {
                    if index > 0 { text.append(UInt8(ascii: ",")) }
                    Self.appendCSVField(value, to: &text)
                }
                text.append(UInt8(ascii: "\n"))
            }
            return Data(text)
        case .json:
            let tags = rendered.map { Dictionary(uniqueKeysWithValues: zip(Self.columns, values($0, moduleSizes: &moduleSizes))) }
            let skippedRows = skipped.map { ["gtin": $0.gtin.digits, "reason": $0.reason] }
            return try JSONSerialization.data(withJSONObject: ["tags": tags, "skipped": skippedRows], options: [.prettyPrinted, .sortedKeys])
        }
    }

    /// RFC 4180: a field holding a comma, quote or line break is quoted, its quotes doubled.
    static func appendCSVField(_ value: String, to text: inout [UInt8]) {
        let quote = UInt8(ascii: "\"")
        let isSpecial = { (byte: UInt8) in byte == UInt8(ascii: ",") || byte == quote || byte == 0x0A || byte == 0x0D }
        // Scanned in place: the generic scan of a string's UTF-8 view took half of the manifest's time.
        guard value.utf8.withContiguousStorageIfAvailable({ $0.contains(where: isSpecial) }) ?? value.utf8.contains(where: isSpecial) else {
            text.append(contentsOf: value.utf8)
            return
        }
        text.append(quote)
        for byte in value.utf8 {
            if byte == quote { text.append(quote) }
            text.append(byte)
        }
        text.append(quote)
    }
}
