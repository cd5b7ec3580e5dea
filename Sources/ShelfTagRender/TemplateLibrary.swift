import Foundation
import ShelfTagDomain

/// Finds tag templates and sheet layouts: by name in a templates directory, or by path.
public struct TemplateLibrary: Sendable {
    /// The directory holding `tags/` and `sheets/`.
    public let directory: URL

    public init(directory: URL) {
        self.directory = directory
    }

    /// `$SHELFTAG_TEMPLATES`, else `./Templates`, else the `Templates` folder of the checkout the binary was built in.
    public static func locate(environment: [String: String] = ProcessInfo.processInfo.environment) -> TemplateLibrary {
        if let path = environment["SHELFTAG_TEMPLATES"], !path.isEmpty { return TemplateLibrary(directory: URL(fileURLWithPath: path)) }
        let local = URL(fileURLWithPath: "Templates")
        if FileManager.default.fileExists(atPath: local.appendingPathComponent("tags").path) { return TemplateLibrary(directory: local) }
        // .build/<triple>/<configuration>/shelftag → the checkout.
        var checkout = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        for _ in 0..<4 { checkout.deleteLastPathComponent() }
        return TemplateLibrary(directory: checkout.appendingPathComponent("Templates"))
    }

    /// A name (`standard`) looks in `tags/`; anything with a slash or `.json` is a path.
    public func tagTemplateURL(_ nameOrPath: String) -> URL {
        Self.isPath(nameOrPath) ? URL(fileURLWithPath: nameOrPath) : directory.appendingPathComponent("tags/\(nameOrPath).json")
    }

    public func sheetLayoutURL(_ nameOrPath: String) -> URL {
        Self.isPath(nameOrPath) ? URL(fileURLWithPath: nameOrPath) : directory.appendingPathComponent("sheets/\(nameOrPath).json")
    }

    /// The words of tags and pages, `messages/<language>.json`.
    public func messages() throws(MessageCatalogError) -> MessageCatalog {
        try MessageCatalog.load(from: directory.appendingPathComponent("messages"))
    }

    /// The names of the shipped (and dropped-in) templates of a kind: `tags` or `sheets`.
    public func names(_ kind: String) -> [String] {
        let files = (try? FileManager.default.contentsOfDirectory(atPath: directory.appendingPathComponent(kind).path)) ?? []
        return files.filter { $0.hasSuffix(".json") }.map { String($0.dropLast(5)) }.sorted()
    }

    private static func isPath(_ text: String) -> Bool { text.contains("/") || text.hasSuffix(".json") }
}
