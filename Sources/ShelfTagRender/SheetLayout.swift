import Foundation

/// A page that tags are imposed on N-up, with cut marks in its margins.
public struct SheetLayout: Sendable {
    public let name: String
    /// Paper size in millimetres.
    public let width: Double
    public let height: Double
    /// The unprintable border every printer needs, in millimetres.
    public let margin: Double
    /// Space between neighbouring tags, in millimetres (0: one cut serves both).
    public let gap: Double
    public let cutMarkLength: Double
    public let cutMarkThickness: Double

    /// Reads and checks a sheet layout file.
    /// - Throws: `TemplateError` naming the file and the reason.
    public init(contentsOf url: URL) throws(TemplateError) {
        let file = url.path
        guard let data = FileManager.default.contents(atPath: file) else { throw TemplateError(file: file, element: nil, reason: "no such file") }
        guard let object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
            throw TemplateError(file: file, element: nil, reason: "not a JSON object")
        }
        var fields = JSONFields(object, file: file, element: nil)
        name = try fields.string("name", default: url.deletingPathExtension().lastPathComponent)
        var paper = try fields.object("paper")
        width = try paper.number("width", positive: true)
        height = try paper.number("height", positive: true)
        try paper.rejectUnknownKeys()
        margin = try fields.number("margin", default: 8)
        gap = try fields.number("gap", default: 0)
        var marks = try fields.object("cutMarks")
        cutMarkLength = try marks.number("length", default: 4, positive: true)
        cutMarkThickness = try marks.number("thickness", default: 0.2, positive: true)
        try marks.rejectUnknownKeys()
        try fields.rejectUnknownKeys()
        guard margin >= 0, gap >= 0 else { throw fields.error("margin and gap cannot be negative") }
    }

    /// How many tags of a size fit across and down.
    public func grid(for template: TagTemplate) -> (columns: Int, rows: Int) {
        let columns = Int((width - 2 * margin + gap) / (template.width + gap))
        let rows = Int((height - 2 * margin + gap) / (template.height + gap))
        return (max(0, columns), max(0, rows))
    }

    /// Checks that a template fits at least once.
    /// - Throws: `TemplateError` when the tag is larger than the printable area.
    public func check(_ template: TagTemplate) throws(TemplateError) {
        let (columns, rows) = grid(for: template)
        guard columns > 0, rows > 0 else {
            throw TemplateError(
                file: template.file, element: nil, reason: "a \(template.width) × \(template.height) mm tag does not fit on sheet '\(name)'")
        }
    }
}

/// Where tags and cut marks go on one sheet page, in device pixels: the same places on a PNG sheet and a PDF page.
struct SheetComposer {
    let layout: SheetLayout
    let template: TagTemplate
    let drawer: TagDrawer

    /// The page's size in pixels.
    var pageSize: (width: Int, height: Int) { (drawer.pixels(layout.width), drawer.pixels(layout.height)) }

    /// The tag's size in pixels.
    var tagSize: (width: Int, height: Int) { (drawer.pixels(template.width), drawer.pixels(template.height)) }

    private var grid: (columns: Int, rows: Int, left: Double, top: Double, width: Double, height: Double) {
        let (columns, rows) = layout.grid(for: template)
        let gridWidth = Double(columns) * template.width + Double(columns - 1) * layout.gap
        let gridHeight = Double(rows) * template.height + Double(rows - 1) * layout.gap
        return (columns, rows, (layout.width - gridWidth) / 2, (layout.height - gridHeight) / 2, gridWidth, gridHeight)
    }

    /// The top-left corner of the `index`th tag: row by row, the grid centred on the page.
    func origin(ofTag index: Int) -> (x: Int, y: Int) {
        let grid = grid
        let x = grid.left + Double(index % grid.columns) * (template.width + layout.gap)
        let y = grid.top + Double(index / grid.columns) * (template.height + layout.gap)
        return (drawer.pixels(x), drawer.pixels(y))
    }

    /// A cut mark at every tag edge. Marks stay in the margin, off the tags, so a guillotine cut at each one trims
    /// exactly the tag edges.
    var cutMarks: [TagDrawing.Rectangle] {
        let grid = grid
        let thickness = max(1, drawer.pixels(layout.cutMarkThickness))
        let length = drawer.pixels(min(layout.cutMarkLength, max(grid.top, grid.left) - 1))
        let gapPixels = drawer.pixels(1)
        var edgesX: [Double] = []
        for column in 0..<grid.columns {
            let x = grid.left + Double(column) * (template.width + layout.gap)
            edgesX += [x, x + template.width]
        }
        var edgesY: [Double] = []
        for row in 0..<grid.rows {
            let y = grid.top + Double(row) * (template.height + layout.gap)
            edgesY += [y, y + template.height]
        }
        let gridTop = drawer.pixels(grid.top)
        let gridBottom = drawer.pixels(grid.top + grid.height)
        let gridLeft = drawer.pixels(grid.left)
        let gridRight = drawer.pixels(grid.left + grid.width)
        var marks: [TagDrawing.Rectangle] = []
        for x in Set(edgesX.map(drawer.pixels)).sorted() {
            marks.append(.init(x: x - thickness / 2, y: gridTop - gapPixels - length, width: thickness, height: length))
            marks.append(.init(x: x - thickness / 2, y: gridBottom + gapPixels, width: thickness, height: length))
        }
        for y in Set(edgesY.map(drawer.pixels)).sorted() {
            marks.append(.init(x: gridLeft - gapPixels - length, y: y - thickness / 2, width: length, height: thickness))
            marks.append(.init(x: gridRight + gapPixels, y: y - thickness / 2, width: length, height: thickness))
        }
        return marks
    }

    /// The page with `tags` placed and its cut marks.
    func compose(_ tags: [Raster]) -> Raster {
        var page = Raster(width: pageSize.width, height: pageSize.height)
        for (index, tag) in tags.enumerated() {
            let (x, y) = origin(ofTag: index)
            page.place(tag, x: x, y: y)
        }
        for mark in cutMarks { page.fill(x: mark.x, y: mark.y, width: mark.width, height: mark.height) }
        return page
    }

    /// The page of a PDF: `tags` recorded as drawings, each clipped to its place, and the cut marks.
    func page(_ tags: [TagDrawing]) -> PDFPage {
        let size = tagSize
        let placed = tags.enumerated().map { index, drawing in
            let (x, y) = origin(ofTag: index)
            return PDFPage.PlacedTag(drawing: drawing, x: x, y: y, width: size.width, height: size.height)
        }
        return PDFPage(widthMillimetres: layout.width, heightMillimetres: layout.height, tags: placed, cutMarks: cutMarks)
    }
}
