import Foundation
import ShelfTagDomain
import ShelfTagTestSupport
import Testing

@testable import ShelfTagRender

/// A guillotine or a label die misses by up to half a millimetre: what a tag prints must survive that.
@Suite("Tags keep clear of the cut")
struct TagMarginTests {
    static let cuttingError = 0.5
    /// Ink stays this far inside the tag's edge: the cutting error, and as much again to see a margin.
    static let inkMargin = 1.0
    static let dpi = 300.0

    @Test(
        "no ink within 1 mm of the edge (0.5 mm inside a border box); QR and barcode frames, whose quiet zones they hold, 0.5 mm inside and overlapped by no text or box",
        arguments: ["standard", "promotion", "small"])
    func clearOfTheCut(name: String) throws {
        let url = templates.tagTemplateURL(name)
        var json = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
        let size = try #require(json["size"] as? [String: Double])
        let (width, height) = (try #require(size["width"]), try #require(size["height"]))
        let elements = try #require(json["elements"] as? [[String: Any]])
        // A border: an outline box running round the whole tag. What it encloses keeps 0.5 mm from its inner edge.
        func frame(_ element: [String: Any]) -> (x: Double, y: Double, width: Double, height: Double)? {
            guard let frame = element["frame"] as? [String: Double], let x = frame["x"], let y = frame["y"], let w = frame["width"], let h = frame["height"]
            else { return nil }
            return (x, y, w, h)
        }
        let borders = elements.filter { element in
            guard element["type"] as? String == "box", let box = frame(element) else { return false }
            return box.x < 1.5 && box.y < 1.5 && box.x + box.width > width - 1.5 && box.y + box.height > height - 1.5
        }
        let inside = borders.compactMap { border in frame(border).map { $0.x + ((border["thickness"] as? Double) ?? 0.3) } }.max() ?? 0
        let inkMargin = borders.isEmpty ? Self.inkMargin : inside + Self.cuttingError
        let quietMargin = inside + Self.cuttingError
        for element in elements where ["qr", "barcode"].contains(element["type"] as? String ?? "") {
            let box = try #require(frame(element))
            let name = element["name"] as? String ?? "?"
            #expect(box.x >= quietMargin - 1e-9 && box.y >= quietMargin - 1e-9, "\(name): its quiet zone is cut")
            #expect(box.x + box.width <= width - quietMargin + 1e-9 && box.y + box.height <= height - quietMargin + 1e-9, "\(name): its quiet zone is cut")
            // Nothing else draws into the quiet zones (another code's own quiet zone may meet them: both are white).
            for other in elements where !["qr", "barcode"].contains(other["type"] as? String ?? "") {
                guard !borders.contains(where: { ($0["name"] as? String) == (other["name"] as? String) }), let them = frame(other) else { continue }
                let overlaps =
                    them.x < box.x + box.width - 1e-9 && box.x < them.x + them.width - 1e-9 && them.y < box.y + box.height - 1e-9
                    && box.y < them.y + them.height - 1e-9
                #expect(!overlaps, "\(other["name"] as? String ?? "?") overlaps \(name)'s quiet zone")
            }
        }

        // Drawn without the border, for the rest's ink.
        json["elements"] = elements.filter { element in !borders.contains { ($0["name"] as? String) == (element["name"] as? String) } }
        let unbordered = try TagTemplate(contentsOf: try templateFile(String(decoding: try JSONSerialization.data(withJSONObject: json), as: UTF8.self)))
        let drawer = try TagDrawer(dpi: Int(Self.dpi), correction: .medium, templates: [unbordered])
        let contents = [
            try fixedContent(),
            try fixedContent(title: "Casque audio sans fil à réduction de bruit active, autonomie 40 heures, pliable, étui de transport inclus"),
        ]
        for content in contents {
            let (raster, _) = try drawer.draw(unbordered, content)
            let ink = try #require(Self.inkBounds(raster), "\(name): no ink at all")
            let margin = Int((inkMargin * Self.dpi / 25.4).rounded(.down))
            #expect(ink.minX >= margin && ink.minY >= margin, "\(name): ink at (\(ink.minX), \(ink.minY)) px, under \(inkMargin) mm from the edge")
            #expect(
                ink.maxX < raster.width - margin && ink.maxY < raster.height - margin,
                "\(name): ink at (\(ink.maxX), \(ink.maxY)) px of \(raster.width) × \(raster.height), under \(inkMargin) mm from the edge")
        }
    }

    /// The smallest rectangle holding every pixel darker than mid-grey.
    static func inkBounds(_ raster: Raster) -> (minX: Int, minY: Int, maxX: Int, maxY: Int)? {
        var (minX, minY, maxX, maxY) = (Int.max, Int.max, -1, -1)
        for y in 0..<raster.height {
            for x in 0..<raster.width where raster.pixels[y * raster.width + x] < 128 {
                minX = min(minX, x)
                maxX = max(maxX, x)
                minY = min(minY, y)
                maxY = max(maxY, y)
            }
        }
        return maxX < 0 ? nil : (minX, minY, maxX, maxY)
    }
}
