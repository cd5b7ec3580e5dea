import Foundation

/// The methods each path of the OpenAPI document answers, so that a request the router has no route for is a `405`
/// with `Allow` when its path is one of the document's (RFC 9110 §15.5.6), and a `404` only when no path matches.
/// The document is the list: a route it lacks is a route the contract test reports.
struct AllowedMethods: Sendable {
    private struct Template: Sendable {
        /// Literal segments, nil for a `{parameter}`.
        let segments: [String?]
        let methods: Set<String>
    }

    private let templates: [Template]

    /// - Parameter document: the OpenAPI document's `paths`, as JSON.
    init(openAPI document: Data) {
        let root = (try? JSONSerialization.jsonObject(with: document)) as? [String: Any]
        let paths = root?["paths"] as? [String: [String: Any]] ?? [:]
        templates = paths.map { path, operations in
            let segments = path.split(separator: "/", omittingEmptySubsequences: false).dropFirst().map { segment -> String? in
                segment.hasPrefix("{") && segment.hasSuffix("}") ? nil : String(segment)
            }
            var methods = Set(operations.keys.map { $0.uppercased() }.filter { !["PARAMETERS", "SUMMARY", "DESCRIPTION"].contains($0) })
            // HEAD answers wherever GET does; OPTIONS answers every path (CORS preflights).
            if methods.contains("GET") { methods.insert("HEAD") }
            methods.insert("OPTIONS")
            return Template(segments: segments, methods: methods)
        }
    }

    /// `GET, HEAD, OPTIONS` for a path the document describes, nil for any other.
    func allow(for path: String) -> String? {
        let segments = path.split(separator: "/", omittingEmptySubsequences: false).dropFirst()
        var methods = Set<String>()
        for template in templates where template.segments.count == segments.count {
            let matches = zip(template.segments, segments).allSatisfy { literal, segment in literal.map { $0 == segment } ?? !segment.isEmpty }
            if matches { methods.formUnion(template.methods) }
        }
        let order = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
        return methods.isEmpty ? nil : order.filter(methods.contains).joined(separator: ", ")
    }
}
