import CCairo
import Foundation

/// One page of a run's PDF: a tag alone on a page of its size, or a sheet with tags and cut marks. Lengths in device
/// pixels at the run's resolution, the page's size in millimetres.
struct PDFPage {
    struct PlacedTag {
        let drawing: TagDrawing
        /// The tag's rectangle on the page: its marks are clipped to it, as a tag's raster clips them.
        let x: Int
        let y: Int
        let width: Int
        let height: Int
    }

    let widthMillimetres: Double
    let heightMillimetres: Double
    let tags: [PlacedTag]
    let cutMarks: [TagDrawing.Rectangle]
}

/// A run's PDF, written with cairo's PDF surface: QR modules and bars as filled rectangles on the printer's dot grid
/// at the run's resolution, text as glyphs of the embedded (subset) DejaVu fonts with the text they spell, so it can
/// be searched and copied. Not thread-safe: one writer adds the pages, in order.
final class PDFDocument {
    private let surface: OpaquePointer
    private let context: OpaquePointer
    private let path: String
    /// Device pixels to PDF points.
    private let scale: Double
    private var faces: [String: OpaquePointer] = [:]

    /// Starts a PDF at `path`. `title` and `created` go into its metadata, with ShelfTag as its creator.
    /// - Throws: `RenderError.cannotWrite` when cairo cannot create the file.
    init(path: String, dpi: Int, title: String, created: Date) throws(RenderError) {
        self.path = path
        scale = 72 / Double(dpi)
        // The first page's size is set before it is drawn; this one is never shown.
        let surface = cairo_pdf_surface_create(path, 72, 72)!
        let status = cairo_surface_status(surface)
        guard status == CAIRO_STATUS_SUCCESS else {
            cairo_surface_destroy(surface)
            throw .cannotWrite(path: path, reason: String(cString: cairo_status_to_string(status)))
        }
        self.surface = surface
        context = cairo_create(surface)
        cairo_pdf_surface_set_metadata(surface, CAIRO_PDF_METADATA_TITLE, title)
        cairo_pdf_surface_set_metadata(surface, CAIRO_PDF_METADATA_CREATOR, "ShelfTag")
        cairo_pdf_surface_set_metadata(surface, CAIRO_PDF_METADATA_CREATE_DATE, Self.metadataDate(created))
        // Glyphs go where the layout put them: no hinting of outlines or metrics on a vector page.
        let options = cairo_font_options_create()
        cairo_font_options_set_hint_style(options, CAIRO_HINT_STYLE_NONE)
        cairo_font_options_set_hint_metrics(options, CAIRO_HINT_METRICS_OFF)
        cairo_set_font_options(context, options)
        cairo_font_options_destroy(options)
    }

    deinit {
        cairo_destroy(context)
        cairo_surface_destroy(surface)
        for face in faces.values { cairo_font_face_destroy(face) }
    }

    /// Draws one page.
    /// - Throws: `RenderError.cannotWrite` when cairo fails (the disk is full, a font cannot be read).
    func add(_ page: PDFPage) throws(RenderError) {
        cairo_pdf_surface_set_size(surface, page.widthMillimetres * 72 / 25.4, page.heightMillimetres * 72 / 25.4)
        cairo_save(context)
        cairo_scale(context, scale, scale)
        cairo_set_source_rgb(context, 0, 0, 0)
        for tag in page.tags {
            cairo_save(context)
            cairo_rectangle(context, Double(tag.x), Double(tag.y), Double(tag.width), Double(tag.height))
            cairo_clip(context)
            cairo_translate(context, Double(tag.x), Double(tag.y))
            draw(tag.drawing)
            cairo_restore(context)
        }
        for mark in page.cutMarks { cairo_rectangle(context, Double(mark.x), Double(mark.y), Double(mark.width), Double(mark.height)) }
        cairo_fill(context)
        cairo_restore(context)
        cairo_show_page(context)
        try check()
    }

    /// Writes what is left (the fonts, the cross-reference table) and closes the file.
    /// - Throws: `RenderError.cannotWrite`.
    func finish() throws(RenderError) {
        cairo_surface_finish(surface)
        try check()
    }

    private func draw(_ drawing: TagDrawing) {
        // One path for every rectangle of the tag: one fill operator, not one per QR module.
        for rectangle in drawing.rectangles {
            cairo_rectangle(context, Double(rectangle.x), Double(rectangle.y), Double(rectangle.width), Double(rectangle.height))
        }
        cairo_fill(context)
        for run in drawing.glyphRuns {
            guard let face = face(run.fontPath) else { continue }
            cairo_set_font_face(context, face)
            cairo_set_font_size(context, run.size)
            var glyphs = zip(run.glyphs, run.positions).map { cairo_glyph_t(index: UInt($0), x: $1, y: Double(run.baseline)) }
            // One glyph per scalar: each cluster maps a scalar's UTF-8 bytes to its glyph, which is what text
            // extraction reads.
            var clusters = run.text.unicodeScalars.map { cairo_text_cluster_t(num_bytes: Int32(UTF8.width($0)), num_glyphs: 1) }
            let text = String(run.text)
            cairo_show_text_glyphs(
                context, text, Int32(text.utf8.count), &glyphs, Int32(glyphs.count), &clusters, Int32(clusters.count), cairo_text_cluster_flags_t(0))
        }
    }

    private func face(_ path: String) -> OpaquePointer? {
        if let face = faces[path] { return face }
        guard let face = shelftag_cairo_font_face(path) else { return nil }
        faces[path] = face
        return face
    }

    private func check() throws(RenderError) {
        let status = cairo_surface_status(surface)
        guard status == CAIRO_STATUS_SUCCESS else {
            throw .cannotWrite(path: path, reason: String(cString: cairo_status_to_string(status)))
        }
        let drawing = cairo_status(context)
        guard drawing == CAIRO_STATUS_SUCCESS else { throw .cannotWrite(path: path, reason: String(cString: cairo_status_to_string(drawing))) }
    }

    /// The metadata's date form: ISO 8601 in UTC.
    private static func metadataDate(_ date: Date) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        return formatter.string(from: date)
    }
}
