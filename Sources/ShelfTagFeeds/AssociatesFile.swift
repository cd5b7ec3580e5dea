import Foundation
import ShelfTagDomain

/// A row of an associates CSV (`store,name[,languages]`): who works where; codes and secrets are drawn at import.
public struct AssociateRow: Sendable, Equatable {
    public let storeCode: String
    public let name: String
    public let languages: [String]

    public init(storeCode: String, name: String, languages: [String]) {
        self.storeCode = storeCode
        self.name = name
        self.languages = languages
    }
}

/// Reads the associates CSV a chain keeps: `store,name[,languages]`, languages as `fr;en` or quoted `"fr,en"`.
public enum AssociatesFile {
    /// - Throws: `FeedError` when the file cannot be read; rethrows what the callbacks throw.
    public static func read(
        path: String, displayName: String, row: @escaping (AssociateRow, Int) throws -> Void, rejected: @escaping (RowError) throws -> Void
    ) throws {
        try CommaSeparatedReader(path: path, displayName: displayName).read(
            required: ["store", "name"],
            row: { values, line in
                let fields = FieldParser(location: SourceLocation(file: displayName, line: line))
                do {
                    let store = try fields.required("store", values["store"], .identifier)
                    let checked = try Associate.checked(
                        storeCode: store, name: values["name"] ?? "", languages: (values["languages"] ?? "").replacingOccurrences(of: ";", with: ","))
                    try row(AssociateRow(storeCode: store, name: checked.name, languages: checked.languages), line)
                } catch let error as RowError {
                    try rejected(error)
                } catch let error as AssociateError {
                    guard case .field(let field, let reason) = error else { return }
                    try rejected(fields.fail(field, .invalid(reason)))
                }
            }, rejected: rejected)
    }
}
