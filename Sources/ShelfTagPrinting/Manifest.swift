import Foundation
import ShelfTagRender

/// The manifest forms.
public enum ManifestFormat: String, Sendable, CaseIterable {
    case csv, json
}

/// What a run rendered, one row per tag, in the order of the run (GTIN order).
struct Manifest {
    let rendered: [RenderedTag]
    let skipped: [SkippedProduct]
    let dpi: Int

    private static let columns = [
        "gtin", "name", "price", "prior_price", "unit_price", "template", "file", "qr_version", "qr_module_mm", "tag_id", "url",
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
            label.unitPrice.map { "\($0.price.feedValue)/\($0.baseLabel)" } ?? "", tag.template, tag.file, tag.qrCode.map { String($0.version) } ?? "",
            module, label.tagID, tag.content.uri,
        ]
    }

    func data(_ format: ManifestFormat) throws -> Data {
        var moduleSizes: [Int: String] = [:]
        switch format {
        case .csv:
            var text = Self.columns.joined(separator: ",") + "\n"
            for tag in rendered {
                for (index, value) in values(tag, moduleSizes: &moduleSizes).enumerated() {
                    if index > 0 { text += "," }
                    text += Self.csvField(value)
                }
                text += "\n"
            }
            return Data(text.utf8)
        case .json:
            let tags = rendered.map { Dictionary(uniqueKeysWithValues: zip(Self.columns, values($0, moduleSizes: &moduleSizes))) }
            let skippedRows = skipped.map { ["gtin": $0.gtin.digits, "reason": $0.reason] }
            return try JSONSerialization.data(withJSONObject: ["tags": tags, "skipped": skippedRows], options: [.prettyPrinted, .sortedKeys])
        }
    }

    /// RFC 4180: quote a field holding a comma, quote or line break, doubling its quotes.
    private static func csvField(_ value: String) -> String {
        guard value.utf8.contains(where: { $0 == UInt8(ascii: ",") || $0 == UInt8(ascii: "\"") || $0 == 0x0A || $0 == 0x0D }) else { return value }
        return "\"" + value.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}
